using System;

namespace Dsl;

/// <summary>
/// Gradual magnitude pruning (Zhu &amp; Gupta 2017) as a <see cref="Trainer.Fit"/> observer: from optimiser step
/// <see cref="StartStep"/> to <see cref="EndStep"/>, every <see cref="Frequency"/> steps, each prunable tensor's
/// sparsity rises as <c>s_t = s_f + (s_i − s_f)(1 − (t − t0)/(t1 − t0))³</c>, from <see cref="InitialSparsity"/>
/// s_i to its target s_f (its declared <see cref="PruningTarget.Sparsity"/>, or <see cref="FinalSparsity"/>), by
/// removing the smallest blocks of weights; training after <see cref="EndStep"/> fine-tunes the pruned network.
/// Steps count the optimiser steps of the <see cref="Trainer.Fit"/> call from 1, the first batch being step 1.
/// </summary>
public sealed class MagnitudePruning : ITrainingObserver
{
    private readonly Pruning _pruning;

    /// <summary>Creates the schedule for <paramref name="network"/>'s prunable layers.</summary>
    /// <param name="network">A network with layers declared <see cref="PrunedAttribute"/>.</param>
    /// <param name="startStep">The first pruning step t0 (≥ 1), where the sparsity is <paramref name="initialSparsity"/>.</param>
    /// <param name="endStep">The last pruning step t1 (≥ t0), where each tensor reaches its target.</param>
    /// <param name="frequency">Steps between pruning steps Δt (≥ 1); t1 prunes whatever the remainder.</param>
    /// <param name="finalSparsity">Every prunable tensor's target, overriding the declared ones; null keeps them.</param>
    /// <param name="initialSparsity">s_i, in [0, 1) and not above a target.</param>
    /// <param name="scope">Per tensor (each to its own target) or one threshold across the prunable tensors.</param>
    /// <exception cref="ArgumentException">The network has no prunable layer, or a value is out of range.</exception>
    public MagnitudePruning(INetwork network, long startStep, long endStep, int frequency, float? finalSparsity = null,
        float initialSparsity = 0f, PruningScope scope = PruningScope.PerLayer)
    {
        ArgumentNullException.ThrowIfNull(network);
        _pruning = network.Parameters.Pruning
            ?? throw new ArgumentException("The network has no prunable layer: declare one [Pruned].", nameof(network));
        ArgumentOutOfRangeException.ThrowIfLessThan(startStep, 1L);
        ArgumentOutOfRangeException.ThrowIfLessThan(endStep, startStep);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frequency);
        if (finalSparsity is float f) Dsl.Pruning.CheckSparsity(f, nameof(finalSparsity));
        float lowestTarget = finalSparsity ?? float.PositiveInfinity;
        if (finalSparsity is null)
            foreach (TensorInfo t in _pruning.Tensors) lowestTarget = Math.Min(lowestTarget, t.Pruning!.Sparsity);
        if (!(initialSparsity >= 0f && initialSparsity <= lowestTarget))
            throw new ArgumentOutOfRangeException(nameof(initialSparsity), initialSparsity, $"The initial sparsity must be in [0, {lowestTarget}], the lowest target.");
        StartStep = startStep;
        EndStep = endStep;
        Frequency = frequency;
        FinalSparsity = finalSparsity;
        InitialSparsity = initialSparsity;
        Scope = scope;
    }

    /// <summary>t0: the first pruning step.</summary>
    public long StartStep { get; }

    /// <summary>t1: the step at which every tensor reaches its target.</summary>
    public long EndStep { get; }

    /// <summary>Δt: steps between pruning steps.</summary>
    public int Frequency { get; }

    /// <summary>The target of every prunable tensor, or null for the declared targets.</summary>
    public float? FinalSparsity { get; }

    /// <summary>s_i: the sparsity at <see cref="StartStep"/>.</summary>
    public float InitialSparsity { get; }

    /// <summary>Per tensor or global ranking.</summary>
    public PruningScope Scope { get; }

    /// <summary>The steps taken in this <see cref="Trainer.Fit"/> call so far.</summary>
    public long Step { get; private set; }

    /// <summary>The fraction of the way from s_i to the targets at step <paramref name="step"/>: <c>1 − (1 − (t − t0)/(t1 − t0))³</c>, clamped to [0, 1].</summary>
    public double Progress(long step)
    {
        if (step <= StartStep) return step == StartStep && EndStep == StartStep ? 1 : 0;
        if (step >= EndStep) return 1;
        double remaining = 1 - (double)(step - StartStep) / (EndStep - StartStep);
        return 1 - remaining * remaining * remaining;
    }

    /// <inheritdoc/>
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
        Step = (long)(epoch - 1) * batchCount + batchIndex + 1;
        if (Step < StartStep || Step > EndStep || ((Step - StartStep) % Frequency != 0 && Step != EndStep)) return;
        double progress = Progress(Step);
        _pruning.Prune(t => (float)(InitialSparsity + ((FinalSparsity ?? t.Pruning!.Sparsity) - InitialSparsity) * progress), Scope);
    }

    /// <inheritdoc/>
    public void OnEpoch(EpochReport report)
    {
    }
}
