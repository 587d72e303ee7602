using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Dsl;
using FashionMnist;
using PruningSample;

// Trains a Fashion-MNIST network dense and with gradual magnitude pruning (Zhu & Gupta: the sparsity rises on a cubic
// from 20 % to 70 % of the training, then the kept weights fine-tune), for the same number of epochs, and compares
// their test accuracy; --sweep does it at 50-95 % sparsity, in blocks of 16 and weight by weight, beside one-shot
// pruning of the dense model without retraining, and draws the figure. Exit codes: 0 success, 1 failure, 2 bad
// command line or data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string usage = """
    usage: dotnet run -c Release --project samples/Pruning -- [options]
      --model mlp|cnn   FashionMlp (784-256-128-10, default) or FashionCnn
      --sparsity F      fraction of the prunable layers' connections to remove, in [0, 1) (default: the declared 0.9 for mlp, 0.8 for cnn)
      --unstructured    prune single weights instead of blocks of 16 outputs
      --sweep           every sparsity of 50, 70, 80, 90, 95 %, blocks and single weights, gradual and one-shot; writes the table and the figure
      --epochs N        training epochs of every model (default 20 for mlp, 10 for cnn)
      --seed N          initialisation and shuffling seed (default 42)
      --threads N       training threads (default: every core)
      --data DIR        the four Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
      --figure FILE     where --sweep draws its figure (default pruning.png)
    """;

string model = "mlp", dataDirectory = FashionData.DefaultDirectory, figurePath = "pruning.png";
float? chosenSparsity = null;
int? chosenEpochs = null;
int seed = 42, threads = Environment.ProcessorCount;
bool unstructured = false, sweep = false;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        int Positive() => int.TryParse(Value(), out int v) && v > 0 ? v : throw new FormatException($"{args[i - 1]} needs a positive integer, not '{args[i]}'");
        switch (args[i])
        {
            case "--model": model = Value() is "mlp" or "cnn" ? args[i] : throw new FormatException($"--model is mlp or cnn, not '{args[i]}'"); break;
            case "--sparsity": chosenSparsity = float.TryParse(Value(), out float s) && s is >= 0f and < 1f ? s : throw new FormatException($"--sparsity needs a number in [0, 1), not '{args[i]}'"); break;
            case "--unstructured": unstructured = true; break;
            case "--sweep": sweep = true; break;
            case "--epochs": chosenEpochs = Positive(); break;
            case "--seed": seed = int.TryParse(Value(), out int n) ? n : throw new FormatException($"--seed needs an integer, not '{args[i]}'"); break;
            case "--threads": threads = Positive(); break;
            case "--data": dataDirectory = Value(); break;
            case "--figure": figurePath = Value(); break;
            case "--help" or "-h": Console.WriteLine(usage); return 0;
            default: throw new FormatException($"unknown option '{args[i]}'");
        }
    }
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(usage);
    return 2;
}

int epochs = chosenEpochs ?? (model == "cnn" ? 10 : 20);
int loadFailure = SampleSupport.TryLoad(dataDirectory, "Pruning", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;
const int batchSize = 64;
int batchesPerEpoch = (train.Count + batchSize - 1) / batchSize;
var experiment = new Experiment(model, train, test, epochs, batchSize, seed, threads);
Console.WriteLine($"{model}: {epochs} epochs of {batchesPerEpoch} batches of {batchSize}, AdamW lr 1e-3 with cosine decay, weight decay 1e-4, seed {seed}, " +
                  $"{threads} thread(s), SIMD {SampleSupport.Simd()}; pruning from step {experiment.StartStep} to {experiment.EndStep} every {experiment.Frequency} steps, then fine-tuning");

INetwork dense = experiment.CreateDense();
double denseAccuracy = experiment.Train(dense, "dense");
float[] probe = test.Features[..784].ToArray();
double denseMicroseconds = SampleSupport.MicrosecondsPerCall(dense, probe);

if (sweep)
{
    var rows = new List<SweepRow>();
    foreach (bool single in new[] { false, true })
    {
        foreach (float s in new[] { 0.5f, 0.7f, 0.8f, 0.9f, 0.95f })
        {
            INetwork pruned = experiment.CreatePruned(single);
            double accuracy = experiment.Train(pruned, $"gradual {(single ? "unstructured" : "blocks")} {s:P0}", s);
            rows.Add(SweepRow.Of("gradual", single, s, pruned, accuracy, denseAccuracy, denseMicroseconds, probe));
            INetwork oneShot = experiment.OneShot(dense, single, s);
            rows.Add(SweepRow.Of("one-shot", single, s, oneShot, SampleSupport.Accuracy(oneShot, test), denseAccuracy, denseMicroseconds, probe));
        }
    }
    Console.WriteLine();
    Console.WriteLine($"dense: test accuracy {denseAccuracy:F4}, {dense.Parameters.Connections():N0} connections, {denseMicroseconds:F1} us per image (Stopwatch, rough)");
    Console.WriteLine(SweepRow.Table(rows));
    SweepFigure.Save(figurePath, model, rows, denseAccuracy);
    Console.WriteLine($"figure: {Path.GetFullPath(figurePath)}");
}

INetwork network = experiment.CreatePruned(unstructured);
double prunedAccuracy = experiment.Train(network, "pruned", chosenSparsity);
Console.WriteLine(network.Parameters.Pruning!.Describe());
Console.WriteLine($"batch-1 inference: dense {denseMicroseconds:F1} us, pruned {SampleSupport.MicrosecondsPerCall(network, probe):F1} us per image (Stopwatch, rough; BenchmarkDotNet's figures are in docs/pruning.md)");

// A pruned model saved and loaded into a fresh instance scores the same (its masks come back from the zeros).
string path = Path.Combine(Path.GetTempPath(), $"pruned-{model}-{Environment.ProcessId}.safetensors");
int reload = SampleSupport.SaveAndCheckReload(network, experiment.CreatePruned(unstructured), path, test, prunedAccuracy);
File.Delete(path);
Console.WriteLine($"dense test accuracy: {denseAccuracy:F4}");
Console.WriteLine($"pruned test accuracy: {prunedAccuracy:F4} (sparsity {network.Parameters.Pruning.TotalSparsity:F2})");
return reload;
