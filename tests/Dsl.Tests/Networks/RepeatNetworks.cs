using System.Collections.Generic;
using Dsl;

namespace Dsl.Tests.Networks;

// Repeated blocks, whose copies the generated code runs as a loop, each beside a twin that declares the same
// copies as separate members (straight-line code). Same steps in the same order, so the same tensor layout:
// RepeatLoopTests copies the weights across and expects identical bits. Member names are lower case.

/// <summary>Convolution, batch norm (running statistics, batch statistics in the shared area) and dropout in each copy.</summary>
[Network(Channels = 2, Height = 6, Width = 6)]
public partial class ConvRepeat
{
    [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D stem { get; }
    [Repeat(3)] public partial IReadOnlyList<ConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary><see cref="ConvRepeat"/> with its three copies written out.</summary>
[Network(Channels = 2, Height = 6, Width = 6)]
public partial class ConvRepeatUnrolled
{
    [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D stem { get; }
    public partial ConvBlock b0 { get; }
    public partial ConvBlock b1 { get; }
    public partial ConvBlock b2 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

[Block]
public partial class ConvBlock
{
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn { get; }
    [Dropout(0.2)] public partial Dropout drop { get; }
}

/// <summary>
/// Repeated residual blocks first in the network (the first copy stays outside the loop) and last before the
/// head: gated post-norm causal attention with dropout, then pre-norm projection shortcuts.
/// </summary>
[Network(Length = 4, Features = 8)]
public partial class ResidualRepeat
{
    [Repeat(3)] [Residual(Gated = true, Norm = ResidualNorm.Post)] public partial IReadOnlyList<AttentionDrop> blocks { get; }
    [Repeat(3)] [Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)] [Dense(8, Activation.Gelu)] public partial IReadOnlyList<Dense> proj { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(2)] public partial Dense head { get; }
}

/// <summary><see cref="ResidualRepeat"/> with its copies written out.</summary>
[Network(Length = 4, Features = 8)]
public partial class ResidualRepeatUnrolled
{
    [Residual(Gated = true, Norm = ResidualNorm.Post)] public partial AttentionDrop a0 { get; }
    [Residual(Gated = true, Norm = ResidualNorm.Post)] public partial AttentionDrop a1 { get; }
    [Residual(Gated = true, Norm = ResidualNorm.Post)] public partial AttentionDrop a2 { get; }
    [Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)] [Dense(8, Activation.Gelu)] public partial Dense p0 { get; }
    [Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)] [Dense(8, Activation.Gelu)] public partial Dense p1 { get; }
    [Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)] [Dense(8, Activation.Gelu)] public partial Dense p2 { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(2)] public partial Dense head { get; }
}

[Block]
public partial class AttentionDrop
{
    [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
    [Dropout(0.3)] public partial Dropout drop { get; }
}
