using Dsl;

namespace Dsl.Tests.Networks;

/// <summary>
/// Odd image sizes and every 2-D option: padding 1 and 2, stride 2, dilation 2, groups, a 1x1 kernel, a
/// batch norm folded into the convolution before it (C2 has no activation), max and average pools (with
/// padding), flatten, then dense layers.
/// </summary>
[Network(Channels = 2, Height = 9, Width = 8)]
public partial class ConvNet
{
    [Conv2D(6, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D C1 { get; }
    [Conv2D(4, 3, Stride = 2, Padding = 2, Dilation = 2, Groups = 2)] public partial Conv2D C2 { get; }
    [BatchNorm2D(Activation = Activation.Tanh)] public partial BatchNorm2D Bn { get; }
    [MaxPool2D(2, Stride = 1)] public partial MaxPool2D Pool { get; }
    [Conv2D(5, 1, Bias = false)] public partial Conv2D Pointwise { get; }
    [AvgPool2D(2, Padding = 1)] public partial AvgPool2D Average { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(7, Activation.Silu)] public partial Dense Fc { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>Sequences: a causal dilated Conv1D, a batch norm that cannot fold (GELU before it), pooling, a depthwise Conv1D, global pooling.</summary>
[Network(Channels = 3, Length = 20)]
public partial class SequenceNet
{
    [Conv1D(8, 3, Causal = true, Dilation = 2, Activation = Activation.Gelu)] public partial Conv1D Causal { get; }
    [BatchNorm1D] public partial BatchNorm1D Norm { get; }
    [MaxPool1D(2)] public partial MaxPool1D Pool { get; }
    [Conv1D(8, 3, Groups = 8, Padding = 1, Activation = Activation.Sigmoid)] public partial Conv1D Depthwise { get; }
    [GlobalAvgPool] public partial GlobalAvgPool Gap { get; }
    [Dense(2)] public partial Dense Out { get; }
}

/// <summary>A batch norm first, on flat features, then a folded Conv1D + BatchNorm1D pair with no bias.</summary>
[Network(Input = 12)]
public partial class NormFirstNet
{
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }
    [Dense(10, Activation.Tanh)] public partial Dense Fc { get; }
}

/// <summary>Benchmark case D and the first layer of the Fashion-MNIST CNN: 28x28 with padding.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class SmallCnn
{
    [Conv2D(8, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv1 { get; }
    [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(10)] public partial Dense Head { get; }
}
