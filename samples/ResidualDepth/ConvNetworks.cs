using System;
using System.Collections.Generic;
using Dsl;

namespace ResidualDepth;

// The convolutional form of the experiment (--conv): 1x28x28 -> a stride-2 3x3 convolution stem with batch norm and
// ReLU (16x14x14) -> `depth` blocks at 16x14x14 -> global average pooling -> Dense(10), as the CIFAR ResNets of He et
// al. (2015, section 4.2) in one stage. A block is conv3x3 -> BN -> ReLU -> conv3x3 -> BN; the plain block ends in a
// ReLU of its own, the residual one has its ReLU after the sum, relu(x + F(x)) (ResNet v1). Both have the same
// layers in the same order, so for a seed they start from the same weights; the residual network only adds the skip.

/// <summary>The residual branch F: two 3x3 convolutions with batch norms, ReLU between (the last ReLU follows the sum).</summary>
[Block]
public partial class ConvBlock
{
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
}

/// <summary>The plain block: the residual block's layers with the ReLU after the second batch norm, without the skip.</summary>
[Block]
public partial class PlainConvBlock
{
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn2 { get; }
}

/// <summary>3 plain convolution blocks: 8 layers.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class PlainConv3
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(3)] public partial IReadOnlyList<PlainConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>3 residual convolution blocks: 8 layers.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class ResidualConv3
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(3)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<ConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>9 plain convolution blocks: 20 layers.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class PlainConv9
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(9)] public partial IReadOnlyList<PlainConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>9 residual convolution blocks: 20 layers.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class ResidualConv9
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(9)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<ConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>27 plain convolution blocks: 56 layers, as the plain network whose degradation He et al. show.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class PlainConv27
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(27)] public partial IReadOnlyList<PlainConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>27 residual convolution blocks: 56 layers.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class ResidualConv27
{
    [Conv2D(16, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D stem { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D stem_bn { get; }
    [Repeat(27)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<ConvBlock> blocks { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>The convolutional networks of the experiment.</summary>
internal static class ConvNetworks
{
    public static readonly Family Family = new(
        Name: "convolutional",
        Layers: "3x3 convolutions",
        FirstLayer: "conv1",
        Depths: [3, 9, 27],
        DefaultSteps: 300,
        DefaultLearningRate: 0.05f,
        FigureFile: "residual-depth-conv.png",
        Create: (depth, residual, seed) => (depth, residual) switch
        {
            (3, false) => new PlainConv3(seed),
            (9, false) => new PlainConv9(seed),
            (27, false) => new PlainConv27(seed),
            (3, true) => new ResidualConv3(seed),
            (9, true) => new ResidualConv9(seed),
            (27, true) => new ResidualConv27(seed),
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "not a declared depth"),
        },
        StreamGradient: (network, workspace, index) => network switch
        {
            ResidualConv3 n => n.ResidualOutputGradient(workspace, index),
            ResidualConv9 n => n.ResidualOutputGradient(workspace, index),
            ResidualConv27 n => n.ResidualOutputGradient(workspace, index),
            _ => ReadOnlySpan<float>.Empty,
        });
}
