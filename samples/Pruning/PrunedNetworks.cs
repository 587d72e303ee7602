using Dsl;

namespace PruningSample;

/// <summary>
/// The Fashion-MNIST sample's MLP 784 → 256 → 128 → 10 with both hidden layers prunable to 90 % in blocks of 16
/// consecutive outputs (one 512-bit vector, two 256-bit ones), the sparse kernels' granularity. The head stays dense:
/// 1,290 weights that decide every class. PyTorch's equivalent is the plain MLP; its pruned <c>state_dict</c>
/// (after <c>prune.remove</c>) is the same tensors with zeros.
/// </summary>
[Network(Input = 784)]
public partial class PrunedFashionMlp
{
    [Dense(256, Activation.Relu)][Pruned(0.9)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)][Pruned(0.9)] public partial Dense Fc2 { get; }
    [Dense(10)]                                public partial Dense Head { get; }
}

/// <summary>The same MLP pruned weight by weight (unstructured), to compare what blocks cost in accuracy.</summary>
[Network(Input = 784)]
public partial class UnstructuredFashionMlp
{
    [Dense(256, Activation.Relu)][Pruned(0.9, Block = 1)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)][Pruned(0.9, Block = 1)] public partial Dense Fc2 { get; }
    [Dense(10)]                                           public partial Dense Head { get; }
}

/// <summary>
/// The Fashion-MNIST sample's CNN with its second convolution and its hidden dense layer prunable to 80 % in blocks
/// of 16 output channels or outputs. The first convolution (288 weights, every pixel's only path in) and the head stay dense.
/// </summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class PrunedFashionCnn
{
    [Conv2D(32, 3, Padding = 1, Bias = false)]              public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)]             public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)]                                          public partial MaxPool2D Pool1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)][Pruned(0.8)] public partial Conv2D Conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)]             public partial BatchNorm2D Bn2 { get; }
    [MaxPool2D(2)]                                          public partial MaxPool2D Pool2 { get; }
    [Flatten]                                               public partial Flatten Flat { get; }
    [Dense(128, Activation.Relu)][Pruned(0.8)]              public partial Dense Fc1 { get; }
    [Dense(10)]                                             public partial Dense Head { get; }
}

/// <summary>The CNN pruned weight by weight (unstructured), beside the blocks.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class UnstructuredFashionCnn
{
    [Conv2D(32, 3, Padding = 1, Bias = false)]                         public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)]                        public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)]                                                     public partial MaxPool2D Pool1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)][Pruned(0.8, Block = 1)] public partial Conv2D Conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)]                        public partial BatchNorm2D Bn2 { get; }
    [MaxPool2D(2)]                                                     public partial MaxPool2D Pool2 { get; }
    [Flatten]                                                          public partial Flatten Flat { get; }
    [Dense(128, Activation.Relu)][Pruned(0.8, Block = 1)]              public partial Dense Fc1 { get; }
    [Dense(10)]                                                        public partial Dense Head { get; }
}
