using System;

namespace Dsl;

/// <summary>
/// A per-epoch cosine learning-rate schedule, as a <see cref="Trainer.Fit"/> observer: epoch <c>e</c> (0-based) of
/// <c>E</c> trains with <c>lr0 · (1 + cos(π e / E)) / 2</c>, from <c>lr0</c> down towards 0 (PyTorch's
/// <c>CosineAnnealingLR(T_max=E)</c> stepped once per epoch). It sets <see cref="Optimizer.LearningRate"/> after each epoch.
/// </summary>
public sealed class CosineDecay : ITrainingObserver
{
    private readonly Optimizer _optimizer;

    /// <summary>Creates the schedule and sets the optimiser's rate to <paramref name="initialRate"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> is not positive, or the rate is negative or not finite.</exception>
    public CosineDecay(Optimizer optimizer, float initialRate, int epochs)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        optimizer.LearningRate = initialRate;
        _optimizer = optimizer;
        InitialRate = initialRate;
        Epochs = epochs;
    }

    /// <summary>lr0, the rate of the first epoch.</summary>
    public float InitialRate { get; }

    /// <summary>E, the epochs the rate decays over.</summary>
    public int Epochs { get; }

    /// <inheritdoc/>
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
    }

    // report.Epoch is 1-based, so it is the 0-based index of the next epoch.
    /// <inheritdoc/>
    public void OnEpoch(EpochReport report) =>
        _optimizer.LearningRate = (float)(InitialRate * (1 + Math.Cos(Math.PI * report.Epoch / Epochs)) / 2);
}
