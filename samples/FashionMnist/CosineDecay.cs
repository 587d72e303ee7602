using System;
using Dsl;

namespace FashionMnist;

/// <summary>
/// A per-epoch cosine learning-rate schedule: epoch <c>e</c> (0-based) of <c>E</c> trains with
/// <c>lr0 · (1 + cos(π e / E)) / 2</c>, from <c>lr0</c> down towards 0. It sets
/// <see cref="Optimizer.LearningRate"/> after each epoch and passes progress on to <paramref name="inner"/>.
/// </summary>
internal sealed class CosineDecay(Optimizer optimizer, float initialRate, int epochs, ITrainingObserver inner) : ITrainingObserver
{
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss) =>
        inner.OnBatch(epoch, batchIndex, batchCount, runningLoss);

    public void OnEpoch(EpochReport report)
    {
        inner.OnEpoch(report);
        // report.Epoch is 1-based, so it is the 0-based index of the next epoch.
        optimizer.LearningRate = (float)(initialRate * (1 + Math.Cos(Math.PI * report.Epoch / epochs)) / 2);
    }
}
