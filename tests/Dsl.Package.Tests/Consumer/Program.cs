// The package tests' consumer app (copied into a project outside the repository, not compiled by the tests).
System.Console.WriteLine("outputs " + PackageConsumer.Tiny.Outputs());
System.Console.WriteLine("isa " + Dsl.Runtime.Isa);
System.Console.WriteLine("machine " + Dsl.Runtime.MachineIsa);
