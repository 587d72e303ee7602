using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using Dsl;
using FashionMnist;

namespace PruningSample;

/// <summary>
/// One model's training recipe, the same for the dense network and every pruned one: AdamW (lr 1e-3, weight decay
/// 1e-4) with a per-epoch cosine decay, batch 64, <see cref="Epochs"/> epochs; pruned networks prune from 20 % to
/// 70 % of the steps, ten times an epoch, then fine-tune.
/// </summary>
internal sealed class Experiment(string model, Dataset train, Dataset test, int epochs, int batchSize, int seed, int threads)
{
    private const float LearningRate = 1e-3f;

    public int Epochs => epochs;

    private int Batches => (train.Count + batchSize - 1) / batchSize;

    /// <summary>t0: the first pruning step, a fifth of the way in.</summary>
    public long StartStep => (long)Batches * epochs / 5 + 1;

    /// <summary>t1: the last pruning step, at 70 % of the training; the rest fine-tunes.</summary>
    public long EndStep => (long)Batches * epochs * 7 / 10;

    /// <summary>Δt: ten pruning steps an epoch.</summary>
    public int Frequency => Math.Max(1, Batches / 10);

    public INetwork CreateDense() => model == "cnn" ? new FashionCnn(seed) : new FashionMlp(seed);

    public INetwork CreatePruned(bool unstructured) => (model, unstructured) switch
    {
        ("cnn", false) => new PrunedFashionCnn(seed),
        ("cnn", true) => new UnstructuredFashionCnn(seed),
        (_, false) => new PrunedFashionMlp(seed),
        _ => new UnstructuredFashionMlp(seed),
    };

    /// <summary>Trains <paramref name="network"/> by the recipe (pruning it gradually to <paramref name="sparsity"/>, or its declared targets, when it is prunable) and returns its test accuracy.</summary>
    public double Train(INetwork network, string label, float? sparsity = null)
    {
        var optimizer = new AdamW(LearningRate, weightDecay: 1e-4f);
        var observers = new List<ITrainingObserver> { new CosineDecay(optimizer, LearningRate, epochs) };
        if (network.Parameters.Pruning is not null)
            observers.Add(new MagnitudePruning(network, StartStep, EndStep, Frequency, finalSparsity: sparsity));
        observers.Add(new EpochLine(label));
        var clock = Stopwatch.StartNew();
        new Trainer(network, optimizer, Loss.SoftmaxCrossEntropy) { Threads = threads }.Fit(train, epochs, batchSize, seed, validation: test, [.. observers]);
        double accuracy = SampleSupport.Accuracy(network, test);
        Console.WriteLine($"{label}: test accuracy {accuracy:F4} after {clock.Elapsed.TotalSeconds:F0} s");
        return accuracy;
    }

    /// <summary>The trained dense network's weights in a prunable network, pruned once by magnitude to <paramref name="sparsity"/> without retraining.</summary>
    public INetwork OneShot(INetwork dense, bool unstructured, float sparsity)
    {
        INetwork pruned = CreatePruned(unstructured);
        foreach (TensorInfo t in dense.Parameters.Tensors)
            dense.Parameters.Value(t).CopyTo(pruned.Parameters.Value(pruned.Parameters.Find(t.Name)!));
        pruned.Parameters.Pruning!.Prune(sparsity);
        return pruned;
    }

    /// <summary>One line per epoch: the validation accuracy and the time, under a label.</summary>
    private sealed class EpochLine(string label) : ITrainingObserver
    {
        public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
        {
        }

        public void OnEpoch(EpochReport report) =>
            Console.WriteLine($"  {label} epoch {report.Epoch}: loss {report.TrainLoss:F4}, val_acc {report.ValidationAccuracy:P2}, {report.Elapsed.TotalSeconds:F1} s");
    }
}

/// <summary>One network of the sweep.</summary>
internal sealed record SweepRow(string Method, bool Unstructured, float Target, float Sparsity, double Accuracy, double Kept, long Connections, long Parameters, double SpeedUp)
{
    public static SweepRow Of(string method, bool unstructured, float target, INetwork network, double accuracy, double denseAccuracy, double denseMicroseconds, float[] probe) =>
        new(method, unstructured, target, network.Parameters.Pruning!.TotalSparsity, accuracy, accuracy / denseAccuracy,
            network.Parameters.Connections(), network.Parameters.ParameterCount, denseMicroseconds / SampleSupport.MicrosecondsPerCall(network, probe));

    public string Granularity => Unstructured ? "single weights" : "blocks of 16";

    /// <summary>The sweep as a Markdown table.</summary>
    public static string Table(IEnumerable<SweepRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| method | granularity | sparsity | test accuracy | of dense | connections | batch-1 speed-up (rough) |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (SweepRow r in rows.OrderBy(r => r.Method).ThenBy(r => r.Unstructured).ThenBy(r => r.Target))
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Method} | {r.Granularity} | {r.Sparsity:P0} | {r.Accuracy:F4} | {r.Kept:P1} | {r.Connections:N0} of {r.Parameters:N0} | {r.SpeedUp:F2}x |");
        return text.ToString();
    }
}
