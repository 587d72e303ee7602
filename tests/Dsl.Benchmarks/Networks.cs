using Dsl;

namespace Dsl.Benchmarks;

// The benchmarked networks, declared with the same attributes a user writes, so the generator emits their
// kernels into this assembly (see obj/<Configuration>/net10.0/generated). The FLOP and byte counts of each
// case sit on its benchmark class (CaseAttribute), next to the class that times it.

/// <summary>Case T: a tiny tanh MLP 16-64-64-4, where per-call overhead dominates (5,508 parameters).</summary>
[Network(Input = 16)]
public partial class TinyMlp
{
    [Dense(64, Activation.Tanh)] public partial Dense Fc1 { get; }
    [Dense(64, Activation.Tanh)] public partial Dense Fc2 { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary>Case T: a single dense layer 64-&gt;64 with no activation (4,160 parameters): the smallest call there is.</summary>
[Network(Input = 64)]
public partial class Dense64
{
    [Dense(64)] public partial Dense Fc { get; }
}

/// <summary>Case A: MLP 784-128-10 (ReLU). 101,770 parameters, 407 KB of fp32: fits the 1 MB L2.</summary>
[Network(Input = 784)]
public partial class MlpA
{
    [Dense(128, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Cases B and C: MLP 784-512-512-10 (ReLU, ReLU, none). 669,706 parameters, 2.68 MB of fp32: lives in L3.</summary>
[Network(Input = 784)]
public partial class MlpB
{
    [Dense(512, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Case D: conv3x3(8, pad 1) + ReLU, conv3x3(16, pad 1) + ReLU, flatten, dense 10, on 1x28x28.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class SmallCnn
{
    [Conv2D(8, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv1 { get; }
    [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>
/// Case E: one post-norm transformer encoder block over 16 tokens of 64 (4 heads), FFN 64-256-64 with ReLU,
/// as PyTorch's nn.TransformerEncoderLayer(64, 4, 256, norm_first=False) computes it.
/// </summary>
[Network(Length = 16, Features = 64)]
public partial class EncoderBlockE
{
    [Residual(Norm = ResidualNorm.Post)] [MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention self_attn { get; }
    [Residual(Norm = ResidualNorm.Post)] public partial FeedForward ff { get; }

    /// <summary>The position-wise feed-forward network.</summary>
    [Block]
    public partial class FeedForward
    {
        [Dense(256, Activation.Relu)] public partial Dense linear1 { get; }
        [Dense(64)] public partial Dense linear2 { get; }
    }
}

/// <summary>Not an issue case: the Fashion-MNIST sample's MLP, 784-256-128-10 (940 KB of fp32).</summary>
[Network(Input = 784)]
public partial class FashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Not an issue case: the sample's CNN: conv 32 + folded batch norm + pool, conv 64 + folded batch norm + pool, dense 128, dense 10.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class FashionCnn
{
    [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D Conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn2 { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>
/// ResNet v1's basic block at the first stage of the planned ResNet sample: 16 channels of 28x28,
/// <c>relu(x + bn2(conv2(relu(bn1(conv1(x))))))</c>, batch norms folded for inference.
/// </summary>
[Network(Channels = 16, Height = 28, Width = 28)]
public partial class BasicBlock16
{
    [Residual(Activation = Activation.Relu)] public partial BasicBlockBranch16 block { get; }
}

/// <summary>The branch of <see cref="BasicBlock16"/>: torchvision's BasicBlock without a downsample.</summary>
[Block]
public partial class BasicBlockBranch16
{
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
}

/// <summary>ResNet-18's <c>layer1.0</c>: the same block at 64 channels of 56x56.</summary>
[Network(Channels = 64, Height = 56, Width = 56)]
public partial class BasicBlock64
{
    [Residual(Activation = Activation.Relu)] public partial BasicBlockBranch64 block { get; }
}

/// <summary>The branch of <see cref="BasicBlock64"/>.</summary>
[Block]
public partial class BasicBlockBranch64
{
    [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
}

/// <summary>Pruning (issue #15): case B's MLP with both hidden layers prunable in blocks of 16 outputs; the names are <see cref="MlpB"/>'s.</summary>
[Network(Input = 784)]
public partial class PrunedMlpB16
{
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 16)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 16)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Pruning: case B's MLP, blocks of 8 outputs.</summary>
[Network(Input = 784)]
public partial class PrunedMlpB8
{
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 8)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 8)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Pruning: case B's MLP, blocks of 4 outputs.</summary>
[Network(Input = 784)]
public partial class PrunedMlpB4
{
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 4)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 4)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Pruning: case B's MLP, single weights (unstructured).</summary>
[Network(Input = 784)]
public partial class PrunedMlpB1
{
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 1)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)][Pruned(0.9, Block = 1)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>The FashionCnn's second convolution and its batch norm, pruned in blocks of 16 output channels.</summary>
[Network(Channels = 32, Height = 14, Width = 14)]
public partial class PrunedConvLayer
{
    [Conv2D(64, 3, Padding = 1, Bias = false)][Pruned(0.8)] public partial Conv2D Conv { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn { get; }
}

/// <summary><see cref="PrunedConvLayer"/> without [Pruned].</summary>
[Network(Channels = 32, Height = 14, Width = 14)]
public partial class DenseConvLayer
{
    [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn { get; }
}

/// <summary>The mixture benchmarks' expert: a feed-forward block 64 → 256 (ReLU) → 64.</summary>
[Block]
public partial class FeedForward256
{
    [Dense(256, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64)] public partial Dense fc2 { get; }
}

/// <summary>A mixture of 8 feed-forward experts (64 → 256 → 64), top-2, on one 64-vector: 264,704 parameters (1.06 MB), 2 experts' 66,112 read per call.</summary>
[Network(Input = 64)]
public partial class MixtureFfn
{
    [MixtureOfExperts(Experts = 8, TopK = 2)] public partial MixtureOfExperts<FeedForward256> moe { get; }
}

/// <summary>The dense feed-forward of the mixture's active width (2 × 256): 64 → 512 → 64, 66,112 parameters.</summary>
[Network(Input = 64)]
public partial class DenseFfn512
{
    [Dense(512, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64)] public partial Dense fc2 { get; }
}

/// <summary>The dense feed-forward of the mixture's total width (8 × 256): 64 → 2048 → 64, 264,256 parameters.</summary>
[Network(Input = 64)]
public partial class DenseFfn2048
{
    [Dense(2048, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64)] public partial Dense fc2 { get; }
}

/// <summary><see cref="MixtureFfn"/> on a sequence of 16 tokens of 64.</summary>
[Network(Length = 16, Features = 64)]
public partial class MixtureFfnTokens
{
    [MixtureOfExperts(Experts = 8, TopK = 2)] public partial MixtureOfExperts<FeedForward256> moe { get; }
}

/// <summary><see cref="DenseFfn512"/> on 16 tokens.</summary>
[Network(Length = 16, Features = 64)]
public partial class DenseFfn512Tokens
{
    [Dense(512, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64)] public partial Dense fc2 { get; }
}

/// <summary><see cref="DenseFfn2048"/> on 16 tokens.</summary>
[Network(Length = 16, Features = 64)]
public partial class DenseFfn2048Tokens
{
    [Dense(2048, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64)] public partial Dense fc2 { get; }
}

/// <summary><see cref="MlpB"/> with bfloat16 weights (1.34 MB instead of 2.68 MB): the BFloat16_Forward benchmark.</summary>
[Network(Input = 784, WeightType = WeightType.BFloat16)]
public partial class MlpBHalf
{
    [Dense(512, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}
