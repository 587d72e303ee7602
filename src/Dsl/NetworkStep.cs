using System;
using System.Collections.Generic;

namespace Dsl;

/// <summary>What a <see cref="NetworkStep"/> computes; the layer kinds of the attributes, and the two ends of a residual connection.</summary>
public enum StepKind
{
    /// <summary><see cref="DenseAttribute"/>, on a flat vector or on every token.</summary>
    Dense,
    /// <summary><see cref="Conv2DAttribute"/>.</summary>
    Conv2D,
    /// <summary><see cref="Conv1DAttribute"/>.</summary>
    Conv1D,
    /// <summary><see cref="MaxPool2DAttribute"/>.</summary>
    MaxPool2D,
    /// <summary><see cref="AvgPool2DAttribute"/>.</summary>
    AvgPool2D,
    /// <summary><see cref="MaxPool1DAttribute"/>.</summary>
    MaxPool1D,
    /// <summary><see cref="GlobalAvgPoolAttribute"/>: the mean over positions (channel-major inputs) or tokens.</summary>
    GlobalAvgPool,
    /// <summary><see cref="FlattenAttribute"/>.</summary>
    Flatten,
    /// <summary><see cref="BatchNorm2DAttribute"/>.</summary>
    BatchNorm2D,
    /// <summary><see cref="BatchNorm1DAttribute"/>.</summary>
    BatchNorm1D,
    /// <summary><see cref="TokensAttribute"/>.</summary>
    Tokens,
    /// <summary><see cref="LayerNormAttribute"/>.</summary>
    LayerNorm,
    /// <summary><see cref="RMSNormAttribute"/>.</summary>
    RMSNorm,
    /// <summary><see cref="MultiHeadSelfAttentionAttribute"/>.</summary>
    MultiHeadSelfAttention,
    /// <summary><see cref="EmbeddingAttribute"/>.</summary>
    Embedding,
    /// <summary><see cref="PositionalEmbeddingAttribute"/>.</summary>
    PositionalEmbedding,
    /// <summary>A residual connection begins: its output is its input, x, kept for the end.</summary>
    ResidualBegin,
    /// <summary>A residual connection ends: <c>x + F(x)</c>, <c>x W_s + F(x)</c> or the highway mix (see <see cref="NetworkStep.Projection"/> and <see cref="NetworkStep.Gated"/>).</summary>
    ResidualEnd,
    /// <summary><see cref="DropoutAttribute"/>: <see cref="NetworkStep.Probability"/> in training, the identity at inference. After the residual kinds, so the earlier kinds keep their values.</summary>
    Dropout,
    /// <summary>
    /// A residual connection's shortcut path begins after its branch: the branch's output F(x) is kept for the end,
    /// and the steps that follow (a 1×1 convolution, maybe a batch norm; or a highway's gate, a 1×1 convolution with a
    /// sigmoid, when the end is <see cref="NetworkStep.Gated"/>) read x, the input of the
    /// <see cref="StepKind.ResidualBegin"/> at <see cref="NetworkStep.Skip"/>. After <see cref="Dropout"/>, so the earlier kinds keep their values.
    /// </summary>
    ResidualShortcut,

    /// <summary>A mixture of experts: <see cref="NetworkStep.Experts"/>, <see cref="NetworkStep.TopK"/>, the router's tensors, then each expert's (<see cref="NetworkStep.Expert"/> lists expert 0's layers).</summary>
    MixtureOfExperts,
}

/// <summary>
/// One step of a network as its generated code runs it, in order: what it computes, on which shapes, with which
/// options and tensors. Each step reads the previous step's output, except that a
/// <see cref="StepKind.ResidualEnd"/> also reads the input of the <see cref="StepKind.ResidualBegin"/> at
/// <see cref="Skip"/> (or, after a shortcut path, the branch output its <see cref="StepKind.ResidualShortcut"/> kept),
/// and a <see cref="StepKind.ResidualShortcut"/> passes that input on instead of its own. Shapes are per sample, PyTorch-style: <c>[n]</c> flat, <c>[C, L]</c> channel-major
/// sequence, <c>[C, H, W]</c> image, <c>[L, D]</c> token sequence. This is what exporters (ONNX) and tools read.
/// </summary>
public sealed class NetworkStep
{
    /// <summary>Created by generated network code.</summary>
    public NetworkStep(StepKind kind, string name, int[] inputShape, int[] outputShape, string[] tensors)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(outputShape);
        ArgumentNullException.ThrowIfNull(tensors);
        Kind = kind;
        Name = name;
        InputShape = Array.AsReadOnly(inputShape);
        OutputShape = Array.AsReadOnly(outputShape);
        Tensors = Array.AsReadOnly(tensors);
    }

    /// <summary>What the step computes.</summary>
    public StepKind Kind { get; }

    /// <summary>Its weight-name prefix (<c>blocks.0.attn</c>); for the ends of a residual connection, the wrapped member's.</summary>
    public string Name { get; }

    /// <summary>Per-sample input shape.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>Per-sample output shape.</summary>
    public IReadOnlyList<int> OutputShape { get; }

    /// <summary>Its tensors' names in <see cref="INetwork.Parameters"/>, in PyTorch order (weight before bias).</summary>
    public IReadOnlyList<string> Tensors { get; }

    /// <summary>True when <see cref="InputShape"/> is a token sequence <c>[L, D]</c> (token-major) rather than a channel-major <c>[C, L]</c>.</summary>
    public bool InputIsTokens { get; init; }

    /// <summary>True when <see cref="OutputShape"/> is a token sequence <c>[L, D]</c>.</summary>
    public bool OutputIsTokens { get; init; }

    /// <summary>Fused activation (dense, convolution, batch norm).</summary>
    public Activation Activation { get; init; }

    /// <summary>Whether a dense or convolution layer, or attention, has biases.</summary>
    public bool Bias { get; init; }

    /// <summary>Convolution or pooling window (1 otherwise).</summary>
    public int Kernel { get; init; } = 1;

    /// <summary>Convolution or pooling stride.</summary>
    public int Stride { get; init; } = 1;

    /// <summary>Padding on each side (for a causal convolution, see <see cref="Causal"/>).</summary>
    public int Padding { get; init; }

    /// <summary>Convolution dilation.</summary>
    public int Dilation { get; init; } = 1;

    /// <summary>Convolution groups.</summary>
    public int Groups { get; init; } = 1;

    /// <summary>A causal 1-D convolution (padded (kernel − 1)·dilation on the left only) or causally masked attention.</summary>
    public bool Causal { get; init; }

    /// <summary>A norm's epsilon.</summary>
    public float Epsilon { get; init; }

    /// <summary>Dropout: the probability of zeroing a value in training (0 otherwise).</summary>
    public float Probability { get; init; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 1;

    /// <summary>For a <see cref="StepKind.ResidualEnd"/> or <see cref="StepKind.ResidualShortcut"/>, the index of its <see cref="StepKind.ResidualBegin"/>; −1 otherwise.</summary>
    public int Skip { get; init; } = -1;

    /// <summary>A residual end with a projection shortcut (its tensor is <c>{member}_shortcut.weight</c>).</summary>
    public bool Projection { get; init; }

    /// <summary>A residual end in the highway form (its tensors are <c>{member}_gate.*</c>).</summary>
    public bool Gated { get; init; }

    /// <summary>A mixture's experts, N.</summary>
    public int Experts { get; init; }

    /// <summary>A mixture's experts per input, k.</summary>
    public int TopK { get; init; }

    /// <summary>How a mixture weights its chosen experts.</summary>
    public MixtureGate Gate { get; init; }

    /// <summary>A mixture's balancing-loss weight.</summary>
    public float BalanceWeight { get; init; }

    /// <summary>A mixture's expert capacity factor in training (0: no limit).</summary>
    public float CapacityFactor { get; init; }

    /// <summary>A mixture's expert: its dense layers, named as expert 0's (expert e's tensors replace <c>experts.0.</c> by <c>experts.e.</c>); empty for other kinds.</summary>
    public IReadOnlyList<NetworkStep> Expert { get; init; } = Array.Empty<NetworkStep>();

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Kind} [{string.Join(", ", InputShape)}] -> [{string.Join(", ", OutputShape)}]";
}
