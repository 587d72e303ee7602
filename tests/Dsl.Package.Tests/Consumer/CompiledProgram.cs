// The package tests' consumer with compiled-in weights (copied into a project outside the repository as Program.cs).
var net = PackageConsumer.CompiledTiny.Pretrained();
System.Console.WriteLine("outputs " + PackageConsumer.Tiny.Outputs(net));
System.Console.WriteLine("reads-compiled " + net.Parameters.ReadsCompiledWeights);
