using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Dsl;

/// <summary>
/// Minibatch training of one network with one optimiser and loss. Each step zeroes the gradients, runs
/// <see cref="INetwork.ForwardTrain"/>, the loss, <see cref="INetwork.Backward"/> (without input gradient) and
/// <see cref="Optimizer.Step"/>. It does not initialise the parameters: call
/// <see cref="Parameters.Initialize"/> (or load weights) first. Not thread-safe; one trainer per thread.
/// </summary>
public sealed class Trainer
{
    /// <summary>Binds a network, optimiser and loss.</summary>
    public Trainer(INetwork network, Optimizer optimizer, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        Network = network;
        Optimizer = optimizer;
        Loss = loss;
    }

    /// <summary>The network being trained.</summary>
    public INetwork Network { get; }

    /// <summary>The optimiser updating <see cref="INetwork.Parameters"/>.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss minimised.</summary>
    public Loss Loss { get; }

    /// <summary>
    /// Checks every step's output and input gradient during <see cref="Fit"/> and stops at the first NaN or
    /// infinity with a <see cref="NonFiniteException"/> naming the step (<see cref="Workspace.CheckFinite"/>).
    /// Off by default.
    /// </summary>
    public bool CheckFinite { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over <paramref name="train"/>. Epoch <c>e</c> (0-based) visits
    /// the samples in the order of <c>new Rng(seed + e).Shuffle</c> applied to <c>0 .. Count−1</c>, so a run is
    /// reproducible from the seed and the initial parameters alone. Dropout masks are keyed on the seed and the
    /// batch's number within the call, counted over all epochs (see <see cref="Kernels.DropoutKernels"/>), so they
    /// are reproducible too.
    /// The last batch of an epoch holds the remaining samples and is trained on, not dropped.
    /// </summary>
    /// <param name="train">Training samples.</param>
    /// <param name="epochs">Passes over the data, at least 1.</param>
    /// <param name="batchSize">Samples per optimiser step.</param>
    /// <param name="seed">Seeds the per-epoch shuffles and, as <see cref="Workspace.Seed"/>, the dropout masks, so different seeds give different masks. The workspace is new for each call and its <see cref="Workspace.Step"/> counts the batches from 0.</param>
    /// <param name="validation">Evaluated after every epoch when given.</param>
    /// <param name="observer">Receives progress, e.g. <see cref="ConsoleProgress"/>.</param>
    /// <returns>One report per epoch.</returns>
    /// <exception cref="ArgumentException">A data set is empty or does not match the network's input or output size.</exception>
    public TrainingHistory Fit(Dataset train, int epochs, int batchSize, int seed = 0, Dataset? validation = null, ITrainingObserver? observer = null)
    {
        CheckData(train, nameof(train));
        if (validation is not null) CheckData(validation, nameof(validation));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);

        int count = train.Count;
        int maxBatch = Math.Min(batchSize, count);
        int inputSize = Network.InputSize;
        int outputSize = Network.OutputSize;
        int batchCount = (count + maxBatch - 1) / maxBatch;
        Parameters parameters = Network.Parameters;

        // Allocated once per Fit; the batch loop allocates nothing.
        Workspace workspace = Network.CreateWorkspace(maxBatch);
        workspace.CheckFinite = CheckFinite;
        workspace.Seed = unchecked((ulong)seed);
        float[] inputs = new float[maxBatch * inputSize];
        float[] outputs = new float[maxBatch * outputSize];
        float[] outputGradient = new float[maxBatch * outputSize];
        int[] order = new int[count];
        var reports = new List<EpochReport>(epochs);

        for (int e = 0; e < epochs; e++)
        {
            long start = Stopwatch.GetTimestamp();
            // Reset before shuffling so each epoch's order depends on seed + e only, not on earlier epochs.
            for (int i = 0; i < count; i++) order[i] = i;
            new Rng((long)seed + e).Shuffle(order);

            double lossSum = 0;
            int correct = 0;
            for (int b = 0; b < batchCount; b++)
            {
                int first = b * maxBatch;
                int batch = Math.Min(maxBatch, count - first);
                ReadOnlySpan<int> indices = order.AsSpan(first, batch);
                Span<float> x = inputs.AsSpan(0, batch * inputSize);
                Span<float> y = outputs.AsSpan(0, batch * outputSize);
                Span<float> dy = outputGradient.AsSpan(0, batch * outputSize);
                Gather(train, indices, x);

                parameters.ZeroGradients();
                Network.ForwardTrain(x, y, batch, workspace);
                float loss = Loss.Compute(y, train, indices, dy);
                if (train.IsClassification) correct += Metrics.CountCorrect(y, train, indices);
                Network.Backward(dy, Span<float>.Empty, batch, workspace);
                Optimizer.Step(parameters);

                lossSum += (double)loss * batch;
                observer?.OnBatch(e + 1, b, batchCount, (float)(lossSum / (first + batch)));
            }

            EvaluationResult? validated = validation is null ? null : Evaluate(validation, batchSize);
            var report = new EpochReport(
                e + 1,
                (float)(lossSum / count),
                train.IsClassification ? (float)((double)correct / count) : null,
                validated?.Loss,
                validated?.Accuracy,
                Stopwatch.GetElapsedTime(start));
            reports.Add(report);
            observer?.OnEpoch(report);
        }
        return new TrainingHistory(reports);
    }

    /// <summary>
    /// Mean loss and accuracy (classification only) of the network on <paramref name="data"/>, by batched
    /// inference (<see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float}, int)"/>); gradients and
    /// parameters are untouched.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty or does not match the network.</exception>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 256)
    {
        CheckData(data, nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int count = data.Count;
        int maxBatch = Math.Min(batchSize, count);
        int inputSize = Network.InputSize;
        int outputSize = Network.OutputSize;
        float[] inputs = new float[maxBatch * inputSize];
        float[] outputs = new float[maxBatch * outputSize];
        int[] indices = new int[maxBatch];

        double lossSum = 0;
        int correct = 0;
        for (int first = 0; first < count; first += maxBatch)
        {
            int batch = Math.Min(maxBatch, count - first);
            Span<int> idx = indices.AsSpan(0, batch);
            for (int i = 0; i < batch; i++) idx[i] = first + i;
            Span<float> x = inputs.AsSpan(0, batch * inputSize);
            Span<float> y = outputs.AsSpan(0, batch * outputSize);
            Gather(data, idx, x);

            Network.Forward(x, y, batch);
            lossSum += (double)Loss.Compute(y, data, idx, Span<float>.Empty) * batch;
            if (data.IsClassification) correct += Metrics.CountCorrect(y, data, idx);
        }
        return new EvaluationResult((float)(lossSum / count), data.IsClassification ? (float)((double)correct / count) : null);
    }

    private static void Gather(Dataset data, ReadOnlySpan<int> indices, Span<float> destination)
    {
        int size = data.InputSize;
        for (int i = 0; i < indices.Length; i++) data.Input(indices[i]).CopyTo(destination.Slice(i * size, size));
    }

    private void CheckData(Dataset data, string name)
    {
        ArgumentNullException.ThrowIfNull(data, name);
        if (data.Count == 0) throw new ArgumentException("The data set is empty.", name);
        if (data.InputSize != Network.InputSize)
            throw new ArgumentException($"The data set has {data.InputSize} features per sample but the network takes {Network.InputSize}.", name);
        if (data.OutputSize != Network.OutputSize)
        {
            string what = data.IsClassification ? $"{data.ClassCount} classes" : $"{data.TargetSize} targets per sample";
            throw new ArgumentException($"The data set has {what} but the network has {Network.OutputSize} outputs.", name);
        }
    }
}
