using System;

namespace Dsl;

/// <summary>
/// A per-epoch cosine learning-rate schedule, as a <see cref="Trainer.Fit"/> observer: epoch <c>e</c> (0-based) of
/// <c>E</c> trains with <c>lr0 · (1 + cos(π e / E)) / 2</c>, from <c>lr0</c> down towards 0 (PyTorch's
/// <c>CosineAnnealingLR(T_max=E)</c> stepped once per epoch). It sets <see cref="Optimizer.LearningRate"/> after each epoch.
/// With a warm-up, the first <see cref="WarmupBatches"/> batches of the run instead rise linearly to <c>lr0</c>
/// (batch <c>k</c> trains with <c>lr0 · (k + 1) / W</c>), as transformers are usually trained, and the cosine takes
/// over from the batch after. With <see cref="PerBatch"/> the cosine runs over batches instead:
/// <c>lr0 · (1 + cos(π t)) / 2</c> with t the fraction of the run's batches after the warm-up done.
/// </summary>
public sealed class CosineDecay : ITrainingObserver
{
    private readonly Optimizer _optimizer;

    /// <summary>Creates the schedule and sets the optimiser's rate to the first batch's: <paramref name="initialRate"/>, or its warm-up fraction.</summary>
    /// <param name="optimizer">The optimiser whose rate it sets.</param>
    /// <param name="initialRate">lr0.</param>
    /// <param name="epochs">E, the epochs the rate decays over.</param>
    /// <param name="warmupBatches">W, batches of linear warm-up at the start of the run (0: none).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> is not positive, <paramref name="warmupBatches"/> is negative, or the rate is negative or not finite.</exception>
    /// <param name="perBatch">Decay smoothly over every batch of the run (after the warm-up) instead of once per epoch: for runs of a few long epochs, a language model's.</param>
    public CosineDecay(Optimizer optimizer, float initialRate, int epochs, int warmupBatches = 0, bool perBatch = false)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupBatches);
        optimizer.LearningRate = initialRate;
        if (warmupBatches > 0) optimizer.LearningRate = initialRate / warmupBatches;
        _optimizer = optimizer;
        InitialRate = initialRate;
        Epochs = epochs;
        WarmupBatches = warmupBatches;
        PerBatch = perBatch;
    }

    /// <summary>Whether the rate decays after every batch rather than every epoch.</summary>
    public bool PerBatch { get; }

    /// <summary>lr0, the rate of the first epoch.</summary>
    public float InitialRate { get; }

    /// <summary>E, the epochs the rate decays over.</summary>
    public int Epochs { get; }

    /// <summary>W, the batches of linear warm-up at the start of the run.</summary>
    public int WarmupBatches { get; }

    private long _batches;

    // Sets the rate of the next batch while the warm-up lasts, and the cosine's for the current epoch after its last batch.
    /// <inheritdoc/>
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
        long next = ++_batches;
        if (next < WarmupBatches) _optimizer.LearningRate = InitialRate * (next + 1) / WarmupBatches;
        else if (PerBatch)
        {
            // Batch `next` of the run's Epochs x batchCount, counted from the end of the warm-up.
            double total = Math.Max(1, (long)Epochs * batchCount - WarmupBatches);
            _optimizer.LearningRate = Cosine(Math.PI * Math.Min(1.0, (next - WarmupBatches) / total));
        }
        else if (next == WarmupBatches) _optimizer.LearningRate = Cosine(Math.PI * (epoch - 1) / Epochs);
    }

    // report.Epoch is 1-based, so it is the 0-based index of the next epoch.
    /// <inheritdoc/>
    public void OnEpoch(EpochReport report)
    {
        if (!PerBatch && _batches >= WarmupBatches) _optimizer.LearningRate = Cosine(Math.PI * report.Epoch / Epochs);
    }

    // lr0 (1 + cos(angle)) / 2, the angle pi times the fraction of the decay done.
    private float Cosine(double angle) => (float)(InitialRate * (1 + Math.Cos(angle)) / 2);
}
