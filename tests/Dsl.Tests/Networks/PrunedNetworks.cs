using Dsl;

namespace Dsl.Tests.Networks;

/// <summary>Two prunable dense layers, one in blocks of 16 and one weight by weight, and an output layer left dense.</summary>
[Network(Input = 24)]
public partial class PrunedMlp
{
    [Dense(64, Activation.Relu)][Pruned(0.75)] public partial Dense Hidden { get; }
    [Dense(16, Activation.Tanh)][Pruned(0.5, Block = 1)] public partial Dense Second { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary>A prunable convolution (blocks of 8 output channels) before a prunable dense layer (blocks of 4).</summary>
[Network(Channels = 2, Height = 6, Width = 6)]
public partial class PrunedCnn
{
    [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)][Pruned(0.8, Block = 8)] public partial Conv2D Conv { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(8, Activation.Relu)][Pruned(0.6, Block = 4)] public partial Dense Fc { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>
/// Every block size the sparse kernel has (16, 8, 4, single weights), with widths of several runs and one, a layer
/// without bias, and each kind of activation (inline ReLU, tanh and sigmoid that call exp, none).
/// </summary>
[Network(Input = 20)]
public partial class SparseBlocksNet
{
    [Dense(48, Activation.Relu)][Pruned(0.9)] public partial Dense Wide { get; }
    [Dense(24, Activation.Tanh, Bias = false)][Pruned(0.9, Block = 8)] public partial Dense Eights { get; }
    [Dense(12, Activation.Sigmoid)][Pruned(0.9, Block = 4)] public partial Dense Fours { get; }
    [Dense(16)][Pruned(0.9, Block = 16)] public partial Dense One { get; }
    [Dense(8, Activation.Relu)][Pruned(0.9, Block = 1)] public partial Dense Singles { get; }
    [Dense(3)] public partial Dense Out { get; }
}
