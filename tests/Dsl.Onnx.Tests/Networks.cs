using System.Collections.Generic;
using Dsl;

namespace Dsl.Onnx.Tests;

// The networks exported and run through ONNX Runtime by OnnxExportTests: every step kind and option, each in a
// network small enough that its deviation is mostly that of the step under test, then copies of the samples'
// declarations. Member names are lower case so tensor names are the member paths.

// ------------------------------------------------------------------ dense layers, one per activation

/// <summary>Flat dense with ReLU.</summary>
[Network(Input = 20)]
public partial class DenseRelu { [Dense(16, Activation.Relu)] public partial Dense fc { get; } }

/// <summary>Flat dense with tanh.</summary>
[Network(Input = 20)]
public partial class DenseTanh { [Dense(16, Activation.Tanh)] public partial Dense fc { get; } }

/// <summary>Flat dense with sigmoid.</summary>
[Network(Input = 20)]
public partial class DenseSigmoid { [Dense(16, Activation.Sigmoid)] public partial Dense fc { get; } }

/// <summary>Flat dense with SiLU.</summary>
[Network(Input = 20)]
public partial class DenseSilu { [Dense(16, Activation.Silu)] public partial Dense fc { get; } }

/// <summary>Flat dense with exact (erf) GELU.</summary>
[Network(Input = 20)]
public partial class DenseGelu { [Dense(16, Activation.Gelu)] public partial Dense fc { get; } }

/// <summary>Flat dense with tanh-approximated GELU.</summary>
[Network(Input = 20)]
public partial class DenseGeluTanh { [Dense(16, Activation.GeluTanh)] public partial Dense fc { get; } }

/// <summary>Flat dense with softmax over its outputs.</summary>
[Network(Input = 20)]
public partial class DenseSoftmax { [Dense(16, Activation.Softmax)] public partial Dense fc { get; } }

/// <summary>Flat dense without bias or activation.</summary>
[Network(Input = 20)]
public partial class DenseNoBias { [Dense(7, Bias = false)] public partial Dense fc { get; } }

/// <summary>Per-token dense layers on 5 tokens of 8: SiLU, tanh-GELU without bias, then a softmax per token.</summary>
[Network(Length = 5, Features = 8)]
public partial class TokenDense
{
    [Dense(12, Activation.Silu)] public partial Dense fc1 { get; }
    [Dense(9, Activation.GeluTanh, Bias = false)] public partial Dense fc2 { get; }
    [Dense(6, Activation.Softmax)] public partial Dense probs { get; }
}

// ------------------------------------------------------------------ convolutions

/// <summary>3×3 convolution, stride 2, padding 1, ReLU, on 3×9×8.</summary>
[Network(Channels = 3, Height = 9, Width = 8)]
public partial class Conv2DStridePad
{
    [Conv2D(6, 3, Stride = 2, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv { get; }
}

/// <summary>Dilated grouped 3×3 (tanh), depthwise without bias, then a pointwise 1×1 with GELU, on 4×10×9.</summary>
[Network(Channels = 4, Height = 10, Width = 9)]
public partial class Conv2DDilatedGrouped
{
    [Conv2D(8, 3, Padding = 2, Dilation = 2, Groups = 2, Activation = Activation.Tanh)] public partial Conv2D dilated { get; }
    [Conv2D(8, 3, Padding = 1, Groups = 8, Bias = false)] public partial Conv2D depthwise { get; }
    [Conv2D(5, 1, Activation = Activation.Gelu)] public partial Conv2D pointwise { get; }
}

/// <summary>1-D convolutions on 4×17: stride 2 and padding 1 (sigmoid), then dilated, padded and grouped (SiLU).</summary>
[Network(Channels = 4, Length = 17)]
public partial class Conv1DNet
{
    [Conv1D(6, 3, Stride = 2, Padding = 1, Activation = Activation.Sigmoid)] public partial Conv1D conv1 { get; }
    [Conv1D(6, 5, Padding = 4, Dilation = 2, Groups = 3, Activation = Activation.Silu)] public partial Conv1D conv2 { get; }
}

/// <summary>Causal 1-D convolutions on 3×16: dilation 2 (ReLU), then depthwise with stride 2, no bias, tanh-GELU.</summary>
[Network(Channels = 3, Length = 16)]
public partial class CausalConv1DNet
{
    [Conv1D(6, 3, Dilation = 2, Causal = true, Activation = Activation.Relu)] public partial Conv1D conv1 { get; }
    [Conv1D(6, 2, Stride = 2, Groups = 6, Causal = true, Bias = false, Activation = Activation.GeluTanh)] public partial Conv1D conv2 { get; }
}

// ------------------------------------------------------------------ pooling

/// <summary>Max pooling 3×3 stride 2 padding 1, average pooling 3×3 stride 1 padding 1 (padding counts as zeros), average 2×2, on 3×11×10.</summary>
[Network(Channels = 3, Height = 11, Width = 10)]
public partial class Pool2DNet
{
    [MaxPool2D(3, Stride = 2, Padding = 1)] public partial MaxPool2D max { get; }
    [AvgPool2D(3, Stride = 1, Padding = 1)] public partial AvgPool2D avg { get; }
    [AvgPool2D(2)] public partial AvgPool2D avg2 { get; }
}

/// <summary>1-D max pooling 3 stride 2 padding 1, then 2, on 4×15.</summary>
[Network(Channels = 4, Length = 15)]
public partial class Pool1DNet
{
    [MaxPool1D(3, Stride = 2, Padding = 1)] public partial MaxPool1D pool1 { get; }
    [MaxPool1D(2)] public partial MaxPool1D pool2 { get; }
}

/// <summary>Global average pooling of an image, then a dense head.</summary>
[Network(Channels = 5, Height = 6, Width = 7)]
public partial class GlobalPoolImage
{
    [Conv2D(6, 3, Padding = 1)] public partial Conv2D conv { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Global average pooling of a channel-major sequence, as the first step (the input's layout is told by the pool's output: 6 channels).</summary>
[Network(Channels = 6, Length = 4)]
public partial class GlobalPoolSequence
{
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Global average pooling of tokens (the mean over the 4 tokens of 6), as the first step.</summary>
[Network(Length = 4, Features = 6)]
public partial class GlobalPoolTokens
{
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>A square channel-major input [5, 5] pooled first: only NetworkStep.InputIsTokens tells it from 5 tokens of 5.</summary>
[Network(Channels = 5, Length = 5)]
public partial class SquareSequencePool
{
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
}

/// <summary>5 tokens of 5 pooled first: the mean over tokens, not over positions.</summary>
[Network(Length = 5, Features = 5)]
public partial class SquareTokensPool
{
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
}

// ------------------------------------------------------------------ flatten, batch norm, tokens

/// <summary>Convolution, Flatten (channel-major order), dense.</summary>
[Network(Channels = 2, Height = 5, Width = 4)]
public partial class FlattenNet
{
    [Conv2D(3, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(4)] public partial Dense head { get; }
}

/// <summary>A per-token softmax, then Flatten of the 4 tokens of 5 (token-major order) into a dense layer.</summary>
[Network(Length = 4, Features = 6)]
public partial class TokenFlatten
{
    [Dense(5, Activation.Softmax)] public partial Dense probs { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3, Activation.Sigmoid)] public partial Dense head { get; }
}

/// <summary>Dropout on an image and on flat features: the identity at inference, so no node of its own.</summary>
[Network(Channels = 2, Height = 4, Width = 4)]
public partial class DropoutNet
{
    [Conv2D(3, 3, Padding = 1, Activation = Activation.Tanh)] public partial Conv2D conv { get; }
    [Dropout(0.25)] public partial Dropout drop { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(4)] public partial Dense head { get; }
    [Dropout(0.5)] public partial Dropout last { get; }
}

/// <summary>Dropout as the first step, on tokens: the graph's input feeds the next step directly.</summary>
[Network(Length = 3, Features = 4)]
public partial class DropoutFirst
{
    [Dropout(0.1)] public partial Dropout drop { get; }
    [Dense(5, Activation.Relu)] public partial Dense fc { get; }
}

/// <summary>BatchNorm2D on the input (ReLU), a bias-free convolution and a batch norm folded into it for inference (SiLU, epsilon 1e-3).</summary>
[Network(Channels = 3, Height = 6, Width = 5)]
public partial class BatchNorm2DNet
{
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn0 { get; }
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv { get; }
    [BatchNorm2D(Activation = Activation.Silu, Epsilon = 1e-3f)] public partial BatchNorm2D bn1 { get; }
}

/// <summary>BatchNorm1D on a channel-major sequence (tanh), a convolution, and another with epsilon 1e-2.</summary>
[Network(Channels = 4, Length = 7)]
public partial class BatchNorm1DSequence
{
    [BatchNorm1D(Activation = Activation.Tanh)] public partial BatchNorm1D bn0 { get; }
    [Conv1D(5, 3, Bias = false)] public partial Conv1D conv { get; }
    [BatchNorm1D(Epsilon = 1e-2f)] public partial BatchNorm1D bn1 { get; }
}

/// <summary>BatchNorm1D on flat features between dense layers.</summary>
[Network(Input = 12)]
public partial class BatchNorm1DFlat
{
    [Dense(10, Bias = false)] public partial Dense fc { get; }
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D bn { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>An image's positions as tokens (x.flatten(2).transpose(1, 2)), then a per-token dense layer.</summary>
[Network(Channels = 6, Height = 3, Width = 4)]
public partial class TokensImage
{
    [Tokens] public partial Tokens tokens { get; }
    [Dense(5)] public partial Dense fc { get; }
}

/// <summary>A 1-D convolution's positions as tokens, then LayerNorm per token.</summary>
[Network(Channels = 5, Length = 7)]
public partial class TokensSequence
{
    [Conv1D(6, 3, Padding = 1)] public partial Conv1D conv { get; }
    [Tokens] public partial Tokens tokens { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
}

// ------------------------------------------------------------------ norms

/// <summary>LayerNorm and RMSNorm (epsilon 1e-3) on each of 5 tokens of 8.</summary>
[Network(Length = 5, Features = 8)]
public partial class TokenNorms
{
    [LayerNorm] public partial LayerNorm ln { get; }
    [RMSNorm(Epsilon = 1e-3f)] public partial RMSNorm rms { get; }
}

/// <summary>LayerNorm (epsilon 1e-3) and RMSNorm (default epsilon) of a flat vector.</summary>
[Network(Input = 10)]
public partial class FlatNorms
{
    [LayerNorm(Epsilon = 1e-3f)] public partial LayerNorm ln { get; }
    [RMSNorm] public partial RMSNorm rms { get; }
    [Dense(4)] public partial Dense head { get; }
}

// ------------------------------------------------------------------ attention

/// <summary>One head over 5 tokens of 8.</summary>
[Network(Length = 5, Features = 8)]
public partial class Attention1Head { [MultiHeadSelfAttention(1)] public partial MultiHeadSelfAttention attn { get; } }

/// <summary>Two heads, causal, over 6 tokens of 8.</summary>
[Network(Length = 6, Features = 8)]
public partial class Attention2HeadsCausal { [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; } }

/// <summary>Four heads without biases over 7 tokens of 12.</summary>
[Network(Length = 7, Features = 12)]
public partial class Attention4HeadsNoBias { [MultiHeadSelfAttention(4, Bias = false)] public partial MultiHeadSelfAttention attn { get; } }

/// <summary>Three heads, causal, without biases, over 5 tokens of 12.</summary>
[Network(Length = 5, Features = 12)]
public partial class Attention3HeadsCausalNoBias { [MultiHeadSelfAttention(3, Causal = true, Bias = false)] public partial MultiHeadSelfAttention attn { get; } }

// ------------------------------------------------------------------ embeddings

/// <summary>A tiny causal language model: 6 token ids, embedding (vocabulary 11, 8 features), positions, causal attention, LayerNorm, logits per token.</summary>
[Network(Input = 6)]
public partial class EmbeddingLm
{
    [Embedding(11, 8)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(11)] public partial Dense logits { get; }
}

// ------------------------------------------------------------------ residual connections

/// <summary><c>y = x + tanh(x Wᵀ + b)</c>.</summary>
[Network(Input = 8)]
public partial class IdentityResidual
{
    [Residual][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Pre-norm with LayerNorm and with RMSNorm.</summary>
[Network(Input = 8)]
public partial class PreNormResidual
{
    [Residual(Norm = ResidualNorm.Pre)][Dense(8, Activation.Silu)] public partial Dense fc { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][Dense(8, Activation.Gelu)] public partial Dense fc2 { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Post-norm with LayerNorm and with RMSNorm.</summary>
[Network(Input = 8)]
public partial class PostNormResidual
{
    [Residual(Norm = ResidualNorm.Post)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Residual(Norm = ResidualNorm.Post, NormKind = NormKind.RMSNorm)][Dense(8, Activation.Relu)] public partial Dense fc2 { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Projection shortcuts: forced on 8 → 8, forced on repeated pre-norm copies, inferred on 8 → 12.</summary>
[Network(Input = 8)]
public partial class ProjectionResidual
{
    [Residual(Shortcut = Shortcut.Projection)][Dense(8, Activation.Tanh)] public partial Dense same { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> projected { get; }
    [Residual][Dense(12, Activation.Tanh)] public partial Dense widen { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Highway connections, then two repeated gated copies with pre-norm.</summary>
[Network(Input = 8)]
public partial class GatedResidual
{
    [Residual(Gated = true)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Repeat(2)][Residual(Gated = true, Norm = ResidualNorm.Pre)][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> highway { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Activations after the sum: ReLU on an identity connection, tanh after a projection, GELU after a highway mix, SiLU on repeated pre-norm copies.</summary>
[Network(Input = 8)]
public partial class ActivatedResidual
{
    [Residual(Activation = Activation.Relu)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Residual(Activation = Activation.Tanh)][Dense(12, Activation.Relu)] public partial Dense widen { get; }
    [Residual(Gated = true, Activation = Activation.Gelu)][Dense(12, Activation.Tanh)] public partial Dense highway { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, Activation = Activation.Silu)][Dense(12, Activation.Tanh)] public partial IReadOnlyList<Dense> stack { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>ResNet v1's basic block on an image, identity shortcut: <c>relu(x + bn2(conv2(relu(bn1(conv1(x))))))</c>, batch norms folded on export.</summary>
[Network(Channels = 4, Height = 6, Width = 6)]
public partial class BasicBlockNet
{
    [Residual(Activation = Activation.Relu)] public partial BasicBlock layer1 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense fc { get; }
}

/// <summary>torchvision's BasicBlock branch for a block that keeps the shape.</summary>
[Block]
public partial class BasicBlock
{
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
}

/// <summary>
/// ResNet's downsampling block: <c>relu(bn(conv1x1_s2(x)) + bn2(conv2(relu(bn1(conv1_s2(x))))))</c>, 4x7x7 to 8x4x4
/// (torchvision's <c>downsample</c> shortcut, both batch norms folded on export), then an identity block.
/// </summary>
[Network(Channels = 4, Height = 7, Width = 7)]
public partial class DownsampleBlockNet
{
    [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial DownBlock layer1 { get; }
    [Residual(Activation = Activation.Relu)] public partial WideBlock layer2 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense fc { get; }

    /// <summary>Stride 2, 4 to 8 channels.</summary>
    [Block]
    public partial class DownBlock
    {
        [Conv2D(8, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(8, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>Keeps 8 channels.</summary>
    [Block]
    public partial class WideBlock
    {
        [Conv2D(8, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(8, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }
}

/// <summary>The 1-D form: a channel-major sequence 3x9 to 6x5 with a strided 1×1 convolution and a batch norm as shortcut, tanh after the sum.</summary>
[Network(Channels = 3, Length = 9)]
public partial class DownsampleSequenceNet
{
    [Residual(Activation = Activation.Tanh, ShortcutBatchNorm = true)] public partial DownSequence down { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(2)] public partial Dense fc { get; }

    /// <summary>Stride 2, 3 to 6 channels.</summary>
    [Block]
    public partial class DownSequence
    {
        [Conv1D(6, 3, Stride = 2, Padding = 1)] public partial Conv1D conv1 { get; }
        [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D bn1 { get; }
        [Conv1D(6, 3, Padding = 1)] public partial Conv1D conv2 { get; }
    }
}

/// <summary>Highway blocks on an image, the gate a 1×1 convolution with a sigmoid, ReLU after the mix.</summary>
[Network(Channels = 3, Height = 6, Width = 5)]
public partial class GatedImageBlockNet
{
    [Residual(Gated = true, Activation = Activation.Relu)] public partial ConvBranch layer1 { get; }
    [Residual(Gated = true)] public partial ConvBranch layer2 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense fc { get; }

    /// <summary>Two 3x3 convolutions keeping 3 channels, a batch norm between.</summary>
    [Block]
    public partial class ConvBranch
    {
        [Conv2D(3, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(3, 3, Padding = 1)] public partial Conv2D conv2 { get; }
    }
}

/// <summary>Three repeated identity residual layers.</summary>
[Network(Input = 8)]
public partial class RepeatedResidual
{
    [Repeat(3)][Residual][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> hidden { get; }
    [Dense(2)] public partial Dense head { get; }
}

/// <summary>Innermost block of <see cref="NestedResidual"/>.</summary>
[Block]
public partial class InnerBlock
{
    [Dense(8, Activation.Tanh)] public partial Dense fc { get; }
}

/// <summary>A block holding a residual block member and a dense layer.</summary>
[Block]
public partial class OuterBlock
{
    [Residual] public partial InnerBlock inner { get; }
    [Dense(8, Activation.Silu)] public partial Dense proj { get; }
}

/// <summary>Residual blocks in blocks: outer.inner, stack.0, stack.0.inner, stack.1, stack.1.inner.</summary>
[Network(Input = 8)]
public partial class NestedResidual
{
    public partial OuterBlock outer { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)] public partial IReadOnlyList<OuterBlock> stack { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>On 3 tokens of 6: an inferred projection (6 → 10 per token), a gate per token, pre-RMSNorm residual attention.</summary>
[Network(Length = 3, Features = 6)]
public partial class SequenceResidual
{
    [Residual][Dense(10, Activation.Tanh)] public partial Dense widen { get; }
    [Residual(Gated = true)][Dense(10, Activation.Silu)] public partial Dense mix { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention attn { get; }
}

/// <summary>An identity residual around a shape-keeping convolution on an image.</summary>
[Network(Channels = 4, Height = 5, Width = 5)]
public partial class ImageResidual
{
    [Residual][Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
}

/// <summary>PyTorch's post-norm nn.TransformerEncoderLayer(8, 2, 16, relu) on 4 tokens (the benchmarks' encoder block, smaller).</summary>
[Network(Length = 4, Features = 8)]
public partial class PostNormEncoder
{
    [Residual(Norm = ResidualNorm.Post)][MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention attn { get; }
    [Residual(Norm = ResidualNorm.Post)] public partial FeedForward ff { get; }

    /// <summary>linear1 → ReLU → linear2.</summary>
    [Block]
    public partial class FeedForward
    {
        [Dense(16, Activation.Relu)] public partial Dense linear1 { get; }
        [Dense(8)] public partial Dense linear2 { get; }
    }
}

// ------------------------------------------------------------------ mixtures of experts

/// <summary>A ReLU feed-forward expert 12 → 16 → 12.</summary>
[Block]
public partial class MoeReluExpert
{
    [Dense(16, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(12)] public partial Dense fc2 { get; }
}

/// <summary>Three layers, GELU then tanh, no bias on the last: 12 → 10 → 7 → 12.</summary>
[Block]
public partial class MoeGeluExpert
{
    [Dense(10, Activation.Gelu)] public partial Dense fc1 { get; }
    [Dense(7, Activation.Tanh)] public partial Dense fc2 { get; }
    [Dense(12, Bias = false)] public partial Dense fc3 { get; }
}

/// <summary>A SiLU feed-forward expert 12 → 16 → 12.</summary>
[Block]
public partial class MoeSiluExpert
{
    [Dense(16, Activation.Silu)] public partial Dense fc1 { get; }
    [Dense(12)] public partial Dense fc2 { get; }
}

/// <summary>A tanh-GELU feed-forward expert 12 → 16 → 12.</summary>
[Block]
public partial class MoeGeluTanhExpert
{
    [Dense(16, Activation.GeluTanh)] public partial Dense fc1 { get; }
    [Dense(12)] public partial Dense fc2 { get; }
}

/// <summary>One dense layer as the expert, changing the width: 12 → 5.</summary>
[Block]
public partial class MoeLinearExpert
{
    [Dense(5)] public partial Dense proj { get; }
}

/// <summary>Flat: 4 ReLU experts, top-2, Switch gates (the chosen probabilities), then a head. A PyTorch twin.</summary>
[Network(Input = 12)]
public partial class MixtureOfExpertsSwitch
{
    [MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<MoeReluExpert> moe { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Flat: 6 three-layer GELU experts, top-3, Mixtral's renormalised gates, a router bias.</summary>
[Network(Input = 12)]
public partial class MixtureOfExpertsRenormalized
{
    [MixtureOfExperts(Experts = 6, TopK = 3, Gate = MixtureGate.TopKSoftmax, RouterBias = true)] public partial MixtureOfExperts<MoeGeluExpert> moe { get; }
}

/// <summary>Flat: top-1 of 3 single-layer experts 12 → 5, Switch gates (the gate is p, not 1).</summary>
[Network(Input = 12)]
public partial class MixtureOfExpertsTop1
{
    [MixtureOfExperts(Experts = 3, TopK = 1)] public partial MixtureOfExperts<MoeLinearExpert> moe { get; }
}

/// <summary>
/// 6 tokens of 12: a dense layer, then a pre-norm residual around 4 SiLU experts top-2 with renormalised gates and
/// a router bias (each token routed on its own), then a head per token. A PyTorch twin.
/// </summary>
[Network(Length = 6, Features = 12)]
public partial class MixtureOfExpertsTokens
{
    [Dense(12, Activation.Tanh)] public partial Dense embed { get; }
    [Residual(Norm = ResidualNorm.Pre), MixtureOfExperts(Experts = 4, TopK = 2, Gate = MixtureGate.TopKSoftmax, RouterBias = true)]
    public partial MixtureOfExperts<MoeSiluExpert> moe { get; }
    [Dense(2)] public partial Dense head { get; }
}

/// <summary>A transformer block with a mixture feed-forward: causal attention, then 4 tanh-GELU experts top-2 (Switch), both pre-norm.</summary>
[Block]
public partial class MoeTransformerBlock
{
    [Residual(Norm = ResidualNorm.Pre), MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
    [Residual(Norm = ResidualNorm.Pre), MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<MoeGeluTanhExpert> moe { get; }
}

/// <summary>Two mixture transformer blocks over 5 tokens of 12 (expert tensors blocks.1.moe.experts.3.fc2.weight).</summary>
[Network(Length = 5, Features = 12)]
public partial class MixtureOfExpertsRepeated
{
    [Dense(12)] public partial Dense embed { get; }
    [Repeat(2)] public partial IReadOnlyList<MoeTransformerBlock> blocks { get; }
    [Dense(3)] public partial Dense head { get; }
}

// ------------------------------------------------------------------ the samples' networks, copied

/// <summary>samples/FashionMnist's FashionMlp.</summary>
[Network(Input = 784)]
public partial class SampleFashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>samples/FashionMnist's FashionCnn.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class SampleFashionCnn
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

/// <summary>samples/TinyTransformer's VisionTransformer.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class SampleVisionTransformer
{
    [Conv2D(64, 7, Stride = 7)] public partial Conv2D patch_embed { get; }
    [Tokens] public partial Tokens tokens { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos_embed { get; }
    [Repeat(4)] public partial IReadOnlyList<EncoderBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }

    /// <summary>Pre-norm encoder block.</summary>
    [Block]
    public partial class EncoderBlock
    {
        [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre)] public partial FeedForward mlp { get; }
    }

    /// <summary>The encoder's MLP.</summary>
    [Block]
    public partial class FeedForward
    {
        [Dense(128, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dropout(0.1)] public partial Dropout drop1 { get; }
        [Dense(64)] public partial Dense fc2 { get; }
        [Dropout(0.1)] public partial Dropout drop2 { get; }
    }
}

/// <summary>samples/ResidualDepth's residual branch.</summary>
[Block]
public partial class SampleMlpBlock
{
    [Dense(64, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(64, Activation.Relu)] public partial Dense fc2 { get; }
}

/// <summary>samples/ResidualDepth's Residual8: 8 pre-norm residual blocks.</summary>
[Network(Input = 784)]
public partial class SampleResidual8
{
    [Dense(64, Activation.Relu)] public partial Dense stem { get; }
    [Repeat(8)][Residual(Norm = ResidualNorm.Pre)] public partial IReadOnlyList<SampleMlpBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>bfloat16 weights: the export holds them rounded to bfloat16 (as floats), so ONNX Runtime computes what Dsl's bfloat16 kernels do.</summary>
[Network(Input = 300, WeightType = WeightType.BFloat16)]
public partial class HalfMlp
{
    [Dense(64, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dropout(0.1)] public partial Dropout Drop { get; }
    [Dense(10)] public partial Dense Head { get; }
}
