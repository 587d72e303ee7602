using System;
using System.Collections.Generic;
using Dsl;

namespace ResidualDepth;

// The networks of the experiment: 784 -> Dense(64, ReLU) stem -> `depth` blocks -> LayerNorm -> Dense(10) head, once as a
// plain stack and once with a skip around every block. Every block is LayerNorm -> Dense(64, ReLU) ->
// Dense(64, ReLU): the plain block declares its norm, the residual one gets it from ResidualNorm.Pre, so
// both have the same layers, parameter count and, for a seed, the same initial weights (the norms start at
// weight 1, bias 0 and take no random numbers); the residual network only adds the skip, h + F(LN(h)).
// Without the norm, x + F(x) with ReLU after both layers doubles the stream's variance per block
// (F(x) has about the variance of x under Kaiming init), about 2^64 at depth 64. With it, each block still
// adds a non-negative F (ReLU comes last), so the stream's mean grows with depth; a final LayerNorm before the
// head (as in GPT-2 and ViT) keeps the logits' scale independent of depth. Both networks have it.

/// <summary>The residual branch F: two 64 -> 64 dense layers with ReLU (the norm comes from the residual connection).</summary>
[Block]
public partial class MlpBlock
{
    [Dense(64, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64, Activation.Relu)] public partial Dense fc2 { get; }
}

/// <summary>The plain block: the residual block's LayerNorm and two dense layers, without the skip.</summary>
[Block]
public partial class PlainBlock
{
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(64, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64, Activation.Relu)] public partial Dense fc2 { get; }
}

/// <summary>2 plain blocks stacked: h = F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Plain2
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(2)] public partial IReadOnlyList<PlainBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>2 pre-norm residual blocks: h = h + F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Residual2
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<MlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>8 plain blocks stacked: h = F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Plain8
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(8)] public partial IReadOnlyList<PlainBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>8 pre-norm residual blocks: h = h + F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Residual8
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(8)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<MlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>32 plain blocks stacked: h = F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Plain32
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(32)] public partial IReadOnlyList<PlainBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>32 pre-norm residual blocks: h = h + F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Residual32
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(32)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<MlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>64 plain blocks stacked: h = F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Plain64
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(64)] public partial IReadOnlyList<PlainBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>64 pre-norm residual blocks: h = h + F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Residual64
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(64)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<MlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>128 plain blocks stacked: h = F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Plain128
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(128)] public partial IReadOnlyList<PlainBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>128 pre-norm residual blocks: h = h + F(LN(h)); then LN and the head.</summary>
[Network(Input = 784)]
public partial class Residual128
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(128)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<MlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>dL/dh of residual connection <paramref name="index"/> after the last Backward with <paramref name="workspace"/>; empty for a plain network.</summary>
internal delegate ReadOnlySpan<float> StreamGradient(INetwork network, Workspace workspace, int index);

/// <summary>
/// One kind of network the experiment compares at several depths: its declared depths (the generator needs every
/// size at build time), how to build the plain or the residual network of a depth, the name of a block's first
/// layer (whose gradient norm is probed), and the defaults of its run.
/// </summary>
internal sealed record Family(string Name, string Layers, string FirstLayer, int[] Depths, int DefaultSteps, float DefaultLearningRate,
    string FigureFile, Func<int, bool, int, INetwork> Create, StreamGradient StreamGradient);

/// <summary>The multilayer perceptrons declared above.</summary>
internal static class Networks
{
    public static readonly Family Family = new(
        Name: "multilayer perceptron",
        Layers: "dense layers",
        FirstLayer: "fc1",
        Depths: [2, 8, 32, 64, 128],
        DefaultSteps: 936, // two epochs of full batches of 128 (60,000 / 128 = 468 per epoch)
        DefaultLearningRate: 0.01f,
        FigureFile: "residual-depth.png",
        Create: (depth, residual, seed) => (depth, residual) switch
        {
            (2, false) => new Plain2(seed),
            (8, false) => new Plain8(seed),
            (32, false) => new Plain32(seed),
            (64, false) => new Plain64(seed),
            (128, false) => new Plain128(seed),
            (2, true) => new Residual2(seed),
            (8, true) => new Residual8(seed),
            (32, true) => new Residual32(seed),
            (64, true) => new Residual64(seed),
            (128, true) => new Residual128(seed),
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "not a declared depth"),
        },
        StreamGradient: (network, workspace, index) => network switch
        {
            Residual2 n => n.ResidualOutputGradient(workspace, index),
            Residual8 n => n.ResidualOutputGradient(workspace, index),
            Residual32 n => n.ResidualOutputGradient(workspace, index),
            Residual64 n => n.ResidualOutputGradient(workspace, index),
            Residual128 n => n.ResidualOutputGradient(workspace, index),
            _ => ReadOnlySpan<float>.Empty,
        });
}
