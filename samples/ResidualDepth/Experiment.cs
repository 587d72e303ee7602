using System;
using System.Diagnostics;
using Dsl;

namespace ResidualDepth;

/// <summary>Gradient norms of a freshly initialised network, each averaged over the probe batches.</summary>
/// <param name="Stem">‖dL/dW‖ of the stem, the first layer.</param>
/// <param name="Blocks">‖dL/dW‖ of each block's first layer (blocks.i.fc1.weight, blocks.i.conv1.weight), first block first.</param>
/// <param name="ResidualStream">‖dL/dh‖ at each residual connection's output, first block first; empty for a plain network.</param>
internal sealed record GradientProbe(double Stem, double[] Blocks, double[] ResidualStream);

/// <summary>What one network reached.</summary>
/// <param name="Depth">Blocks between stem and head.</param>
/// <param name="Residual">Whether each block had an identity skip.</param>
/// <param name="AtInit">Gradient norms before training.</param>
/// <param name="TrainLoss">Mean loss of the final weights on all 60,000 training images (NaN when training diverged).</param>
/// <param name="TestAccuracy">Accuracy of the final weights on the 10,000 test images.</param>
/// <param name="DivergedAtStep">The first step (1-based) whose loss was not finite; training stopped there. Null if it never happened.</param>
/// <param name="Elapsed">Wall time of the probe, the training and the two evaluations.</param>
internal sealed record RunResult(int Depth, bool Residual, GradientProbe AtInit, float TrainLoss, float TestAccuracy, int? DivergedAtStep, TimeSpan Elapsed);

/// <summary>Trains and measures one network; every network sees the same batches in the same order for a seed.</summary>
internal sealed class Experiment(Family family, Dataset train, Dataset test, int steps, int batchSize, float learningRate, float momentum, int seed)
{
    /// <summary>Batches the gradient probe averages over (the first batches of the first epoch).</summary>
    public const int ProbeBatches = 8;

    private readonly int _batchesPerEpoch = train.Count / batchSize; // full batches only: every step sees batchSize images

    public RunResult Run(int depth, bool residual)
    {
        long start = Stopwatch.GetTimestamp();
        INetwork net = Create(family, depth, residual, seed);
        GradientProbe probe = Probe(net, depth, residual);

        var optimizer = new Sgd(learningRate, momentum);
        int? diverged = Train(net, optimizer);

        var evaluator = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy);
        EvaluationResult onTrain = evaluator.Evaluate(train);
        EvaluationResult onTest = evaluator.Evaluate(test);
        return new RunResult(depth, residual, probe, onTrain.Loss, onTest.Accuracy ?? float.NaN, diverged, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>
    /// Whether the plain and the residual network of <paramref name="depth"/> start from the same parameters:
    /// the same tensors in the same order (names aside: the residual norm is <c>blocks_norm.i</c>, the plain
    /// one <c>blocks.i.norm</c>) with the same shapes and values.
    /// </summary>
    public static bool SameInitialParameters(Family family, int depth, int seed)
    {
        Parameters plain = Create(family, depth, false, seed).Parameters;
        Parameters residual = Create(family, depth, true, seed).Parameters;
        if (plain.Tensors.Count != residual.Tensors.Count || plain.ParameterCount != residual.ParameterCount) return false;
        for (int i = 0; i < plain.Tensors.Count; i++)
        {
            TensorInfo p = plain.Tensors[i], r = residual.Tensors[i];
            if (!p.Shape.AsSpan().SequenceEqual(r.Shape) || !plain.Value(p).SequenceEqual(residual.Value(r))) return false;
        }
        return true;
    }

    /// <summary>
    /// The network the experiment trains: the residual one starts from the plain one's values (the same tensors in
    /// the same order). The initialiser picks Kaiming for a convolution whose batch norm feeds a ReLU and Xavier
    /// otherwise, so a residual block's second convolution, whose ReLU comes after the sum, would start differently.
    /// </summary>
    private static INetwork Create(Family family, int depth, bool residual, int seed)
    {
        INetwork net = family.Create(depth, residual, seed);
        if (!residual) return net;
        Parameters from = family.Create(depth, false, seed).Parameters, to = net.Parameters;
        if (from.Tensors.Count != to.Tensors.Count) return net; // SameInitialParameters reports it
        for (int i = 0; i < from.Tensors.Count; i++)
            if (from.Tensors[i].Shape.AsSpan().SequenceEqual(to.Tensors[i].Shape))
                from.Value(from.Tensors[i]).CopyTo(to.Value(to.Tensors[i]));
        return net;
    }

    /// <summary>
    /// Gradient norms at initialisation: for each of the first <see cref="ProbeBatches"/> batches, zero the
    /// gradients, run ForwardTrain, the loss and Backward, and read the norms; the result is their mean.
    /// </summary>
    private GradientProbe Probe(INetwork net, int depth, bool residual)
    {
        Parameters parameters = net.Parameters;
        TensorInfo stem = Tensor(parameters, "stem.weight");
        var blocks = new TensorInfo[depth];
        for (int i = 0; i < depth; i++) blocks[i] = Tensor(parameters, $"blocks.{i}.{family.FirstLayer}.weight");

        int[] order = Order(epoch: 0);
        Workspace workspace = net.CreateWorkspace(batchSize);
        var x = new float[batchSize * net.InputSize];
        var y = new float[batchSize * net.OutputSize];
        var dy = new float[batchSize * net.OutputSize];

        double stemSum = 0;
        var blockSums = new double[depth];
        double[]? streamSums = null;
        for (int b = 0; b < ProbeBatches; b++)
        {
            ReadOnlySpan<int> indices = order.AsSpan(b * batchSize, batchSize);
            Gather(train, indices, x);
            parameters.ZeroGradients();
            net.ForwardTrain(x, y, batchSize, workspace);
            Loss.SoftmaxCrossEntropy.Compute(y, train, indices, dy);
            net.Backward(dy, Span<float>.Empty, batchSize, workspace);

            stemSum += Norm(parameters.Gradient(stem));
            for (int i = 0; i < depth; i++) blockSums[i] += Norm(parameters.Gradient(blocks[i]));
            if (residual)
            {
                streamSums ??= new double[depth];
                for (int i = 0; i < depth; i++) streamSums[i] += Norm(family.StreamGradient(net, workspace, i));
            }
        }
        parameters.ZeroGradients();

        for (int i = 0; i < depth; i++) blockSums[i] /= ProbeBatches;
        if (streamSums is not null) for (int i = 0; i < depth; i++) streamSums[i] /= ProbeBatches;
        return new GradientProbe(stemSum / ProbeBatches, blockSums, streamSums ?? []);
    }

    /// <summary>
    /// <c>steps</c> SGD steps on full batches, epoch e visiting the images in the order of
    /// <c>new Rng(seed + e).Shuffle</c> as <see cref="Trainer.Fit"/> does. Returns the first step whose loss
    /// was not finite (training stops there), or null.
    /// </summary>
    private int? Train(INetwork net, Optimizer optimizer)
    {
        Parameters parameters = net.Parameters;
        Workspace workspace = net.CreateWorkspace(batchSize);
        var x = new float[batchSize * net.InputSize];
        var y = new float[batchSize * net.OutputSize];
        var dy = new float[batchSize * net.OutputSize];
        int[] order = [];
        for (int step = 0; step < steps; step++)
        {
            int epoch = step / _batchesPerEpoch, b = step % _batchesPerEpoch;
            if (b == 0) order = Order(epoch);
            ReadOnlySpan<int> indices = order.AsSpan(b * batchSize, batchSize);
            Gather(train, indices, x);
            parameters.ZeroGradients();
            net.ForwardTrain(x, y, batchSize, workspace);
            float loss = Loss.SoftmaxCrossEntropy.Compute(y, train, indices, dy);
            if (!float.IsFinite(loss)) return step + 1;
            net.Backward(dy, Span<float>.Empty, batchSize, workspace);
            optimizer.Step(parameters);
        }
        return null;
    }

    private int[] Order(int epoch)
    {
        var order = new int[train.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Rng((long)seed + epoch).Shuffle(order);
        return order;
    }

    private static TensorInfo Tensor(Parameters parameters, string name) =>
        parameters.Find(name) ?? throw new InvalidOperationException($"The network has no tensor '{name}'.");

    private static void Gather(Dataset data, ReadOnlySpan<int> indices, Span<float> destination)
    {
        int size = data.InputSize;
        for (int i = 0; i < indices.Length; i++) data.Input(indices[i]).CopyTo(destination.Slice(i * size, size));
    }

    // Summed in double: a vanishing gradient's squares can underflow float long before the norm does.
    private static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += (double)v * v;
        return Math.Sqrt(sum);
    }
}
