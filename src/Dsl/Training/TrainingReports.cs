using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl;

/// <summary>What one training epoch achieved.</summary>
/// <param name="Epoch">Epoch number, 1-based (the first epoch is 1).</param>
/// <param name="TrainLoss">Mean loss over the epoch's training samples, each measured when its batch was trained (the weights change during the epoch).</param>
/// <param name="TrainAccuracy">Fraction of training samples (positions, for token sequences) classified correctly, measured like <paramref name="TrainLoss"/>; null for regression.</param>
/// <param name="ValidationLoss">Mean loss on the validation set after the epoch; null without one.</param>
/// <param name="ValidationAccuracy">Validation accuracy after the epoch; null without a validation set or for regression.</param>
/// <param name="Elapsed">Wall time of the epoch, validation included.</param>
public readonly record struct EpochReport(
    int Epoch,
    float TrainLoss,
    float? TrainAccuracy,
    float? ValidationLoss,
    float? ValidationAccuracy,
    TimeSpan Elapsed)
{
    /// <summary><c>exp(TrainLoss)</c>: the training perplexity when the loss is a cross-entropy in nats (a language model's per token).</summary>
    public float TrainPerplexity => MathF.Exp(TrainLoss);

    /// <summary>
    /// The network's auxiliary losses (<see cref="INetwork.AuxiliaryLoss"/>: mixture-of-experts balancing), averaged over
    /// the epoch's batches; minimised with <see cref="TrainLoss"/>, reported apart from it. 0 for a network without.
    /// </summary>
    public float AuxiliaryLoss { get; init; }

    /// <summary>Each mixture-of-experts layer's routing over the epoch (<see cref="INetwork.Mixture"/>); empty for a network without.</summary>
    public IReadOnlyList<MixtureReport> Mixtures { get; init; } = [];

    /// <summary><c>exp(ValidationLoss)</c>: the validation perplexity when the loss is a cross-entropy in nats; null without a validation set.</summary>
    public float? ValidationPerplexity => ValidationLoss is float loss ? MathF.Exp(loss) : null;
}

/// <summary>How one mixture-of-experts layer routed an epoch's training batches, averaged over the batches.</summary>
/// <param name="Name">The layer's member path (its tensors' prefix).</param>
/// <param name="Load">Each expert's share of the routing assignments (1/N each is balanced).</param>
/// <param name="Balance">N · Σ load · mean probability: 1 balanced, up to N collapsed.</param>
/// <param name="AuxiliaryLoss">The layer's weighted balancing loss.</param>
/// <param name="RouterEntropy">The router's mean entropy in nats.</param>
/// <param name="Dropped">Assignments dropped over capacity in the epoch.</param>
public sealed record MixtureReport(string Name, IReadOnlyList<float> Load, float Balance, float AuxiliaryLoss, float RouterEntropy, long Dropped)
{
    /// <summary>The least-loaded expert's share.</summary>
    public float MinLoad => Load.Count == 0 ? 0f : Load.Min();

    /// <summary>The most-loaded expert's share.</summary>
    public float MaxLoad => Load.Count == 0 ? 0f : Load.Max();
}

/// <summary>Loss and accuracy of a network on a data set.</summary>
/// <param name="Loss">Mean loss over all samples (over all counted positions, for token sequences).</param>
/// <param name="Accuracy">Fraction classified correctly (of the counted positions, for token sequences); null for regression.</param>
public readonly record struct EvaluationResult(float Loss, float? Accuracy)
{
    /// <summary><c>exp(Loss)</c>: the perplexity when the loss is a cross-entropy in nats (a language model's per token).</summary>
    public float Perplexity => MathF.Exp(Loss);
}

/// <summary>The per-epoch reports of one <see cref="Trainer.Fit"/> call.</summary>
public sealed class TrainingHistory
{
    /// <summary>Wraps the reports, in epoch order.</summary>
    public TrainingHistory(IReadOnlyList<EpochReport> epochs)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        if (epochs.Count == 0) throw new ArgumentException("A history has at least one epoch.", nameof(epochs));
        Epochs = epochs;
    }

    /// <summary>One report per epoch, first epoch first.</summary>
    public IReadOnlyList<EpochReport> Epochs { get; }

    /// <summary>The last epoch's report.</summary>
    public EpochReport Final => Epochs[^1];

    /// <summary>Sum of the epochs' wall times.</summary>
    public TimeSpan Elapsed
    {
        get
        {
            TimeSpan total = TimeSpan.Zero;
            foreach (EpochReport e in Epochs) total += e.Elapsed;
            return total;
        }
    }
}

/// <summary>Receives progress from <see cref="Trainer.Fit"/>, on the training thread, between batches.</summary>
public interface ITrainingObserver
{
    /// <summary>After each batch's optimiser step.</summary>
    /// <param name="epoch">Epoch number, 1-based.</param>
    /// <param name="batchIndex">Batch within the epoch, 0-based; the last is <paramref name="batchCount"/> − 1.</param>
    /// <param name="batchCount">Batches per epoch (the last may be smaller than the batch size).</param>
    /// <param name="runningLoss">Mean loss of this epoch's samples so far.</param>
    void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss);

    /// <summary>After each epoch, validation included. Setting <see cref="Optimizer.LearningRate"/> here applies a per-epoch schedule.</summary>
    void OnEpoch(EpochReport report);
}
