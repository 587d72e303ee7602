using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Dsl;
using FashionMnist;
using MixtureSample;

// Trains four Fashion-MNIST classifiers that differ only in their residual feed-forward block (Networks.cs): dense at
// the mixture's active width, a mixture of 8 experts top-2, dense at the mixture's total width, and the mixture without
// its balancing loss; prints their test accuracy, parameters, expert loads and batch-1 latency as a table, and draws the
// experts' loads over training. Exit codes: 0 success, 1 failure, 2 bad command line or data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string usage = """
    usage: dotnet run -c Release --project samples/MixtureOfExperts -- [options]
      --epochs N        training epochs of every model (default 15)
      --seed N          initialisation and shuffling seed (default 42)
      --threads N       training threads (default: every core)
      --data DIR        the four Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
      --figure FILE     where to draw the expert loads over training (default mixture-load.png)
    """;

string dataDirectory = FashionData.DefaultDirectory, figurePath = "mixture-load.png";
int epochs = 15, seed = 42, threads = Environment.ProcessorCount;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        int Positive() => int.TryParse(Value(), out int v) && v > 0 ? v : throw new FormatException($"{args[i - 1]} needs a positive integer, not '{args[i]}'");
        switch (args[i])
        {
            case "--epochs": epochs = Positive(); break;
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

int loadFailure = SampleSupport.TryLoad(dataDirectory, "MixtureOfExperts", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;
const int batchSize = 64;
const float learningRate = 1e-3f;
Console.WriteLine($"{epochs} epochs of batches of {batchSize}, AdamW lr 1e-3 with cosine decay, weight decay 1e-4, seed {seed}, {threads} thread(s), SIMD {SampleSupport.Simd()}");

var rows = new List<Row>();
var loads = new Dictionary<string, List<float[]>>();
foreach ((string name, INetwork network) in new (string, INetwork)[]
         {
             ("dense, active width", new DenseActive(seed)),
             ("8 experts, top-2", new MixtureMlp(seed)),
             ("dense, total width", new DenseTotal(seed)),
             ("8 experts, top-2, no balancing loss", new UnbalancedMixture(seed)),
         })
{
    var optimizer = new AdamW(learningRate, weightDecay: 1e-4f);
    var epochLoads = new List<float[]>();
    var clock = Stopwatch.StartNew();
    TrainingHistory history = new Trainer(network, optimizer, Loss.SoftmaxCrossEntropy) { Threads = threads }
        .Fit(train, epochs, batchSize, seed, validation: test, new CosineDecay(optimizer, learningRate, epochs), new Progress(name, epochLoads));
    double accuracy = SampleSupport.Accuracy(network, test);
    Console.WriteLine($"{name}: test accuracy {accuracy:F4} after {clock.Elapsed.TotalSeconds:F0} s");
    if (epochLoads.Count > 0) loads[name] = epochLoads;
    rows.Add(new Row(name, accuracy, network.Parameters.ParameterCount, ActiveParameters(network), epochLoads.LastOrDefault(),
        SampleSupport.MicrosecondsPerCall(network, test.Features[..784].ToArray()), history.Final.AuxiliaryLoss));
}

Console.WriteLine();
Console.WriteLine("| model | test accuracy | parameters | used per image | expert load, last epoch (min-max, of 1/8 = 0.125) | batch-1 latency (Stopwatch, rough) |");
Console.WriteLine("|---|---:|---:|---:|---|---:|");
foreach (Row r in rows)
{
    string load = r.Load is null ? "" : $"{r.Load.Min():F3}-{r.Load.Max():F3}{(r.Load.Min() >= 0.5f / 8 && r.Load.Max() <= 2f / 8 ? " (balanced)" : " (collapsed)")}";
    Console.WriteLine($"| {r.Name} | {r.Accuracy:F4} | {r.Parameters:N0} | {r.Active:N0} | {load} | {r.Microseconds:F1} us |");
}
LoadFigure.Save(figurePath, loads);
Console.WriteLine($"figure: {Path.GetFullPath(figurePath)}");
Row mixture = rows[1], dense = rows[0];
Console.WriteLine($"mixture against dense at its active width: {100 * (mixture.Accuracy - dense.Accuracy):+0.00;-0.00} points");
return 0;

// Parameters an image uses: all but the experts the router did not choose (N - k of them per mixture layer).
static long ActiveParameters(INetwork network)
{
    long total = network.Parameters.ParameterCount;
    foreach (NetworkStep step in network.Steps)
    {
        if (step.Kind != StepKind.MixtureOfExperts) continue;
        long perExpert = step.Tensors.Where(t => t.StartsWith(step.Name + ".experts.0.", StringComparison.Ordinal)).Sum(t => network.Parameters.Find(t)!.Length);
        total -= (step.Experts - step.TopK) * perExpert;
    }
    return total;
}

/// <summary>One model's row of the table.</summary>
internal sealed record Row(string Name, double Accuracy, long Parameters, long Active, float[]? Load, double Microseconds, float AuxiliaryLoss);

/// <summary>One line per epoch, and each epoch's expert loads.</summary>
internal sealed class Progress(string label, List<float[]> loads) : ITrainingObserver
{
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
    }

    public void OnEpoch(EpochReport report)
    {
        foreach (MixtureReport m in report.Mixtures) loads.Add(m.Load.ToArray());
        Console.WriteLine($"  {label} {ConsoleProgress.Format(report)}");
    }
}

