using System;
using System.IO;
using Dsl;
using Dsl.Onnx;
using FashionMnist;

// Loads samples/EmbeddedClassifier/weights/fashion-{mlp,cnn}.safetensors into the FashionMnist sample's FashionMlp and
// FashionCnn, prints their accuracy on the 10,000 test images (the FashionMnist sample's, if the files are its output),
// and writes fashion-mlp.onnx and fashion-cnn.onnx to the output directory (first argument, default: the current one).
// Exit codes: 0 success, 1 failure, 2 data set not installed.

string weights = Path.Combine(AppContext.BaseDirectory, "weights");
string output = args.Length > 0 ? args[0] : ".";
if (!File.Exists(Path.Combine(FashionData.DefaultDirectory, FashionData.TestImages)))
{
    Console.Error.WriteLine($"error: Fashion-MNIST not found in {FashionData.DefaultDirectory}: run bash scripts/install-data.sh");
    return 2;
}
Dataset test = FashionData.Load(FashionData.DefaultDirectory, FashionData.TestImages, FashionData.TestLabels);

foreach ((string name, INetwork network) in new (string, INetwork)[] { ("mlp", new FashionMlp()), ("cnn", new FashionCnn()) })
{
    network.Load(Path.Combine(weights, $"fashion-{name}.safetensors"));
    var logits = new float[test.Count * network.OutputSize];
    network.Forward(test.Features, logits, test.Count);
    int correct = 0;
    for (int i = 0; i < test.Count; i++)
        if (Metrics.ArgMax(logits.AsSpan(i * network.OutputSize, network.OutputSize)) == test.Label(i)) correct++;
    string path = Path.Combine(output, $"fashion-{name}.onnx");
    network.ExportOnnx(path);
    Console.WriteLine($"{name}: test accuracy {(double)correct / test.Count:F4}, exported to {Path.GetFullPath(path)} ({new FileInfo(path).Length:N0} bytes)");
}
return 0;
