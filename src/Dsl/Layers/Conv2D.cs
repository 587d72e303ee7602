using System;

namespace Dsl;

/// <summary>
/// A 2-D convolution's parameters inside its network's <see cref="Dsl.Parameters"/> (see
/// <see cref="Conv2DAttribute"/> for the maths). Input <c>[InChannels, InputHeight, InputWidth]</c>, output
/// <c>[OutChannels, OutputHeight, OutputWidth]</c>, both channel-major and row-major per sample.
/// </summary>
/// <remarks>
/// The weight is PyTorch's <c>[OutChannels, InChannels/Groups, Kernel, Kernel]</c>, stored per group
/// input-major (<see cref="TensorInfo.TransposeGroups"/> = Groups): with <c>M = OutChannels/Groups</c> and
/// <c>R = (InChannels/Groups)·Kernel·Kernel</c>, the weight of output channel <c>o = g·M + m</c>, input channel
/// <c>c</c> of its group and tap <c>(kh, kw)</c> is at <c>(g·R + (c·Kernel + kh)·Kernel + kw)·M + m</c> — for each
/// group a <c>[R, M]</c> matrix whose rows are im2col rows. Safetensors load/save convert; use
/// <see cref="GetWeight"/>/<see cref="SetWeight"/> to address it PyTorch-style. The bias is <c>[OutChannels]</c>.
/// </remarks>
public sealed class Conv2D : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code; the output size is computed from the others.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the groups do not divide the channels, the window does not fit, or a tensor does not match.</exception>
    public Conv2D(Parameters parameters, string name, int inChannels, int height, int width, int outChannels, int kernel,
        int stride, int padding, int dilation, int groups, Activation activation, TensorInfo weight, TensorInfo? bias)
        : base(name, [inChannels, height, width], [outChannels, OutputExtent(height, kernel, stride, padding, dilation, name, "height"), OutputExtent(width, kernel, stride, padding, dilation, name, "width")])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LayerChecks.Positive(outChannels, name, nameof(outChannels));
        LayerChecks.Positive(groups, name, nameof(groups));
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Layer '{name}': {groups} groups must divide both {inChannels} input and {outChannels} output channels.", nameof(groups));
        LayerChecks.Tensor(parameters, weight, name, "weight", [outChannels, inChannels / groups, kernel, kernel], TensorKind.Parameter, transposeGroups: groups);
        if (bias is not null) LayerChecks.Tensor(parameters, bias, name, "bias", [outChannels], TensorKind.Parameter);
        _parameters = parameters;
        InChannels = inChannels;
        InputHeight = height;
        InputWidth = width;
        OutChannels = outChannels;
        int[] output = OutputShape;
        OutputHeight = output[1];
        OutputWidth = output[2];
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Activation = activation;
        WeightInfo = weight;
        BiasInfo = bias;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Input rows.</summary>
    public int InputHeight { get; }

    /// <summary>Input columns.</summary>
    public int InputWidth { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Output rows: <c>floor((InputHeight + 2·Padding − Dilation·(Kernel − 1) − 1) / Stride) + 1</c>.</summary>
    public int OutputHeight { get; }

    /// <summary>Output columns, likewise.</summary>
    public int OutputWidth { get; }

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <summary>Zeros on each side of each spatial dimension.</summary>
    public int Padding { get; }

    /// <summary>Spacing between taps.</summary>
    public int Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Fused activation.</summary>
    public Activation Activation { get; }

    /// <summary><c>{Name}.weight</c>, shape [OutChannels, InChannels/Groups, Kernel, Kernel], stored per group input-major.</summary>
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

    /// <summary>PyTorch's <c>weight[outChannel, inChannelInGroup, kh, kw]</c>.</summary>
    public float GetWeight(int outChannel, int inChannelInGroup, int kh, int kw) => Weight[Index(outChannel, inChannelInGroup, kh, kw)];

    /// <summary>Sets PyTorch's <c>weight[outChannel, inChannelInGroup, kh, kw]</c>.</summary>
    public void SetWeight(int outChannel, int inChannelInGroup, int kh, int kw, float value) => Weight[Index(outChannel, inChannelInGroup, kh, kw)] = value;

    private int Index(int outChannel, int inChannelInGroup, int kh, int kw)
    {
        LayerChecks.Index(outChannel, OutChannels, nameof(outChannel));
        LayerChecks.Index(inChannelInGroup, InChannels / Groups, nameof(inChannelInGroup));
        LayerChecks.Index(kh, Kernel, nameof(kh));
        LayerChecks.Index(kw, Kernel, nameof(kw));
        return WeightInfo.StoredIndex(((outChannel * (InChannels / Groups) + inChannelInGroup) * Kernel + kh) * Kernel + kw);
    }

    private static int OutputExtent(int size, int kernel, int stride, int padding, int dilation, string name, string dimension)
    {
        LayerChecks.Positive(size, name, dimension);
        LayerChecks.Positive(kernel, name, nameof(kernel));
        LayerChecks.Positive(stride, name, nameof(stride));
        LayerChecks.NonNegative(padding, name, nameof(padding));
        LayerChecks.Positive(dilation, name, nameof(dilation));
        return LayerChecks.WindowOutput(size, kernel, stride, 2 * padding, dilation, name, dimension);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: Conv2D {FormatShape(InputShape)} -> {FormatShape(OutputShape)}, kernel {Kernel}, stride {Stride}, padding {Padding}, dilation {Dilation}, groups {Groups}, {Activation}";
}
