using System;

namespace Dsl;

/// <summary>
/// A 1-D convolution's parameters inside its network's <see cref="Dsl.Parameters"/> (see
/// <see cref="Conv1DAttribute"/> for the maths). Input <c>[InChannels, InputLength]</c>, output
/// <c>[OutChannels, OutputLength]</c>, channel-major per sample.
/// </summary>
/// <remarks>
/// The weight is PyTorch's <c>[OutChannels, InChannels/Groups, Kernel]</c>, stored per group input-major
/// (<see cref="TensorInfo.TransposeGroups"/> = Groups): with <c>M = OutChannels/Groups</c> and
/// <c>R = (InChannels/Groups)·Kernel</c>, the weight of output channel <c>o = g·M + m</c>, input channel <c>c</c> of
/// its group and tap <c>k</c> is at <c>(g·R + c·Kernel + k)·M + m</c>. Use
/// <see cref="GetWeight"/>/<see cref="SetWeight"/> to address it PyTorch-style. The bias is <c>[OutChannels]</c>.
/// </remarks>
public sealed class Conv1D : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code; the output length is computed from the others.</summary>
    /// <exception cref="ArgumentException">A size is not positive, padding is set with <paramref name="causal"/>, the groups do not divide the channels, the window does not fit, or a tensor does not match.</exception>
    public Conv1D(Parameters parameters, string name, int inChannels, int length, int outChannels, int kernel,
        int stride, int padding, int dilation, int groups, bool causal, Activation activation, TensorInfo weight, TensorInfo? bias)
        : base(name, [inChannels, length], [outChannels, OutputExtent(length, kernel, stride, padding, dilation, causal, name)])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LayerChecks.Positive(outChannels, name, nameof(outChannels));
        LayerChecks.Positive(groups, name, nameof(groups));
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Layer '{name}': {groups} groups must divide both {inChannels} input and {outChannels} output channels.", nameof(groups));
        LayerChecks.Tensor(parameters, weight, name, "weight", [outChannels, inChannels / groups, kernel], TensorKind.Parameter, transposeGroups: groups);
        if (bias is not null) LayerChecks.Tensor(parameters, bias, name, "bias", [outChannels], TensorKind.Parameter);
        _parameters = parameters;
        InChannels = inChannels;
        InputLength = length;
        OutChannels = outChannels;
        OutputLength = OutputShape[1];
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Causal = causal;
        Activation = activation;
        WeightInfo = weight;
        BiasInfo = bias;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Input positions.</summary>
    public int InputLength { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Output positions: <c>floor((InputLength + LeftPadding + RightPadding − Dilation·(Kernel − 1) − 1) / Stride) + 1</c>.</summary>
    public int OutputLength { get; }

    /// <summary>Window length.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <summary>Zeros on each side (0 when <see cref="Causal"/>).</summary>
    public int Padding { get; }

    /// <summary>Spacing between taps.</summary>
    public int Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Whether the padding is <c>(Kernel − 1)·Dilation</c> zeros on the left only.</summary>
    public bool Causal { get; }

    /// <summary>Zeros before the input: <c>(Kernel − 1)·Dilation</c> when <see cref="Causal"/>, else <see cref="Padding"/>.</summary>
    public int LeftPadding => Causal ? (Kernel - 1) * Dilation : Padding;

    /// <summary>Zeros after the input: 0 when <see cref="Causal"/>, else <see cref="Padding"/>.</summary>
    public int RightPadding => Causal ? 0 : Padding;

    /// <summary>Fused activation.</summary>
    public Activation Activation { get; }

    /// <summary><c>{Name}.weight</c>, shape [OutChannels, InChannels/Groups, Kernel], stored per group input-major.</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary><c>{Name}.bias</c>, shape [OutChannels], or null without bias.</summary>
    public TensorInfo? BiasInfo { get; }

    /// <summary>Weight values in the stored layout (see remarks).</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>Bias values (empty without bias).</summary>
    public Span<float> Bias => BiasInfo is null ? Span<float>.Empty : _parameters.Value(BiasInfo);

    /// <summary>Accumulated weight gradient, stored layout.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <summary>Accumulated bias gradient (empty without bias).</summary>
    public Span<float> BiasGradient => BiasInfo is null ? Span<float>.Empty : _parameters.Gradient(BiasInfo);

    /// <summary>PyTorch's <c>weight[outChannel, inChannelInGroup, k]</c>.</summary>
    public float GetWeight(int outChannel, int inChannelInGroup, int k) => Weight[Index(outChannel, inChannelInGroup, k)];

    /// <summary>Sets PyTorch's <c>weight[outChannel, inChannelInGroup, k]</c>.</summary>
    public void SetWeight(int outChannel, int inChannelInGroup, int k, float value) => Weight[Index(outChannel, inChannelInGroup, k)] = value;

    private int Index(int outChannel, int inChannelInGroup, int k)
    {
        LayerChecks.Index(outChannel, OutChannels, nameof(outChannel));
        LayerChecks.Index(inChannelInGroup, InChannels / Groups, nameof(inChannelInGroup));
        LayerChecks.Index(k, Kernel, nameof(k));
        return WeightInfo.StoredIndex((outChannel * (InChannels / Groups) + inChannelInGroup) * Kernel + k);
    }

    private static int OutputExtent(int length, int kernel, int stride, int padding, int dilation, bool causal, string name)
    {
        LayerChecks.Positive(length, name, nameof(length));
        LayerChecks.Positive(kernel, name, nameof(kernel));
        LayerChecks.Positive(stride, name, nameof(stride));
        LayerChecks.NonNegative(padding, name, nameof(padding));
        LayerChecks.Positive(dilation, name, nameof(dilation));
        if (causal && padding != 0)
            throw new ArgumentException($"Layer '{name}': a causal convolution pads (kernel - 1) * dilation on the left by itself; padding must be 0, not {padding}.", nameof(padding));
        int totalPadding = causal ? checked((kernel - 1) * dilation) : checked(2 * padding);
        return LayerChecks.WindowOutput(length, kernel, stride, totalPadding, dilation, name, "length");
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: Conv1D {FormatShape(InputShape)} -> {FormatShape(OutputShape)}, kernel {Kernel}, stride {Stride}, {(Causal ? "causal" : $"padding {Padding}")}, dilation {Dilation}, groups {Groups}, {Activation}";
}
