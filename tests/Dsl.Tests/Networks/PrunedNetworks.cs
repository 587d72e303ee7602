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

/// <summary>
/// Pruned convolutions on each inference path they have: a stride-1 one whose dense path is the direct kernel and
/// folds the batch norm after it (blocks of 16), a strided one through im2col with its own bias and ReLU (blocks of 8),
/// and a causal 1-D one that calls exp (blocks of 4) in <see cref="SparseConv1DNet"/>.
/// </summary>
[Network(Channels = 3, Height = 16, Width = 16)]
public partial class SparseConvNet
{
    [Conv2D(16, 3, Padding = 1, Bias = false)][Pruned(0.9)] public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
    [Conv2D(32, 3, Stride = 2, Activation = Activation.Relu)][Pruned(0.9, Block = 8)] public partial Conv2D Conv2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>A causal 1-D convolution pruned in blocks of 4, its activation one that calls exp.</summary>
[Network(Channels = 4, Length = 12)]
public partial class SparseConv1DNet
{
    [Conv1D(8, 3, Causal = true, Activation = Activation.Tanh)][Pruned(0.9, Block = 4)] public partial Conv1D Causal { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(2)] public partial Dense Out { get; }
}
