using System;

namespace Dsl;

/// <summary>
/// How one mixture-of-experts layer routed the batch of the last <see cref="INetwork.ForwardTrain"/> with a
/// workspace (the whole batch, when it was split across threads). Read it through
/// <see cref="INetwork.Mixture"/>; it views the workspace, so copy what you keep before the next batch.
/// </summary>
public readonly ref struct MixtureStatistics
{
    private readonly ReadOnlySpan<float> _values;
    private readonly Layout _layout;

    /// <summary>Wraps a mixture layer's statistics region of a workspace (generated code calls this).</summary>
    public MixtureStatistics(string name, ReadOnlySpan<float> values, int experts)
    {
        _layout = new Layout(experts);
        if (values.Length < _layout.Floats) throw new ArgumentException($"A mixture of {experts} experts keeps {_layout.Floats} floats of statistics.", nameof(values));
        Name = name;
        _values = values;
    }

    /// <summary>The layer's member path, its tensors' prefix (e.g. <c>blocks.0.moe</c>).</summary>
    public string Name { get; }

    /// <summary>Experts in the layer.</summary>
    public int Experts => _layout.Experts;

    /// <summary>Each expert's load: its share of the batch's routing assignments (each input makes k), before capacity dropped any; they sum to 1, and 1/N each is balanced.</summary>
    public ReadOnlySpan<float> Load => _values.Slice(_layout.Load, Experts);

    /// <summary>Each expert's router probability, averaged over the batch's inputs.</summary>
    public ReadOnlySpan<float> MeanProbability => _values.Slice(_layout.Probability, Experts);

    /// <summary>N · Σ load · mean probability: 1 when the routing is balanced, up to N when it has collapsed onto one expert.</summary>
    public float Balance => _values[_layout.Balance];

    /// <summary>The balancing loss added to the task loss: the layer's weight times <see cref="Balance"/>.</summary>
    public float AuxiliaryLoss => _values[_layout.AuxiliaryLoss];

    /// <summary>The router's mean entropy in nats (ln N for a uniform router, 0 for a certain one).</summary>
    public float RouterEntropy => _values[_layout.Entropy];

    /// <summary>Assignments dropped because their expert was full (only with a capacity factor).</summary>
    public int Dropped => (int)_values[_layout.Dropped];

    /// <summary>Inputs routed (rows: samples, or tokens of sequences).</summary>
    public int Inputs => (int)_values[_layout.Inputs];

    /// <summary>
    /// Where each figure sits in a layer's statistics: the sorted rows' starts (N + 1 ints) first, which only the
    /// kernels read, then load, mean probability and the balancing gradient per expert, then the scalars.
    /// </summary>
    public readonly struct Layout
    {
        /// <summary>The layout for <paramref name="experts"/> experts.</summary>
        public Layout(int experts) => Experts = experts;

        /// <summary>Experts in the layer.</summary>
        public int Experts { get; }

        /// <summary>The N + 1 starts of each expert's sorted rows, as ints.</summary>
        public int Starts => 0;

        /// <summary>Per expert: its share of the assignments.</summary>
        public int Load => Experts + 1;

        /// <summary>Per expert: its mean router probability.</summary>
        public int Probability => Load + Experts;

        /// <summary>Per expert: dL_aux/dp for each row's probability.</summary>
        public int BalanceGradient => Probability + Experts;

        /// <summary>N · Σ load · probability.</summary>
        public int Balance => BalanceGradient + Experts;

        /// <summary>weight · Balance.</summary>
        public int AuxiliaryLoss => Balance + 1;

        /// <summary>Mean router entropy.</summary>
        public int Entropy => Balance + 2;

        /// <summary>Assignments dropped.</summary>
        public int Dropped => Balance + 3;

        /// <summary>Inputs routed.</summary>
        public int Inputs => Balance + 4;

        /// <summary>Floats in all.</summary>
        public int Floats => Balance + 5;
    }
}
