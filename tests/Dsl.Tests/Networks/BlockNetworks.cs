using System.Collections.Generic;
using Dsl;

namespace Dsl.Tests.Networks;

// Small networks for the transformer and residual features, checked by BlockNumericTests against RefOps.
// Member names are lower case so the tensor names are exactly the member paths.

// ------------------------------------------------------------------ attention alone

/// <summary>Attention over 5 tokens of 12 features, 3 heads of 4.</summary>
[Network(Length = 5, Features = 12)]
public partial class AttentionNet
{
    [MultiHeadSelfAttention(3)] public partial MultiHeadSelfAttention attn { get; }
}

/// <summary>The same shape with the causal mask.</summary>
[Network(Length = 5, Features = 12)]
public partial class CausalAttentionNet
{
    [MultiHeadSelfAttention(3, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
}

/// <summary>A single token (the softmax is over one score: Q and K get no gradient), 2 heads of 4, model dimension declared.</summary>
[Network(Length = 1, Features = 8)]
public partial class SingleTokenAttentionNet
{
    [MultiHeadSelfAttention(2, ModelDim = 8)] public partial MultiHeadSelfAttention attn { get; }
}

/// <summary>17 tokens of 20 features, 4 heads of 5 (odd head width, tails everywhere), causal, without biases.</summary>
[Network(Length = 17, Features = 20)]
public partial class LongAttentionNet
{
    [MultiHeadSelfAttention(4, Causal = true, Bias = false)] public partial MultiHeadSelfAttention attn { get; }
}

// ------------------------------------------------------------------ norms and per-token dense layers

/// <summary>Per-token LayerNorm, Dense (exact GELU), RMSNorm (feature count declared), Dense (tanh GELU) on 3 tokens of 7.</summary>
[Network(Length = 3, Features = 7)]
public partial class TokenNormNet
{
    [LayerNorm] public partial LayerNorm norm1 { get; }
    [Dense(9, Activation.Gelu)] public partial Dense fc1 { get; }
    [RMSNorm(9)] public partial RMSNorm norm2 { get; }
    [Dense(5, Activation.GeluTanh)] public partial Dense fc2 { get; }
}

/// <summary>A per-token softmax (over each token's 5 outputs), then Flatten of the 4 × 5 tokens into one dense layer.</summary>
[Network(Length = 4, Features = 6)]
public partial class TokenHeadNet
{
    [Dense(5, Activation.Softmax)] public partial Dense probs { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3, Activation.Sigmoid)] public partial Dense head { get; }
}

/// <summary>LayerNorm of a flat input, with a non-default epsilon.</summary>
[Network(Input = 10)]
public partial class FlatLayerNormNet
{
    [LayerNorm(Epsilon = 1e-3f)] public partial LayerNorm norm { get; }
    [Dense(4, Activation.Tanh)] public partial Dense fc { get; }
}

// ------------------------------------------------------------------ embeddings

/// <summary>6 token ids → embedding (vocabulary 11, 8 features) + learned positions → LayerNorm → mean over tokens → 3 outputs.</summary>
[Network(Input = 6)]
public partial class EmbeddingNet
{
    [Embedding(11, 8)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

// ------------------------------------------------------------------ residual connections on flat inputs

/// <summary><c>y = x + tanh(x W^T + b)</c>.</summary>
[Network(Input = 8)]
public partial class IdentityResidualNet
{
    [Residual][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Pre-norm: <c>y = x + F(LayerNorm(x))</c>, norm tensors <c>fc_norm.*</c>.</summary>
[Network(Input = 8)]
public partial class PreNormResidualNet
{
    [Residual(Norm = ResidualNorm.Pre)][Dense(8, Activation.Silu)] public partial Dense fc { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Post-norm with RMSNorm: <c>y = RMSNorm(x + F(x))</c>, <c>fc_norm.weight</c>.</summary>
[Network(Input = 8)]
public partial class PostNormResidualNet
{
    [Residual(Norm = ResidualNorm.Post, NormKind = NormKind.RMSNorm)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// Projection shortcuts: forced on a shape-keeping layer (8 → 8), forced on repeated pre-norm copies (the
/// projection reads the un-normalised x), and inferred where the layer widens 8 → 12.
/// </summary>
[Network(Input = 8)]
public partial class ProjectionResidualNet
{
    [Residual(Shortcut = Shortcut.Projection)][Dense(8, Activation.Tanh)] public partial Dense same { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, Shortcut = Shortcut.Projection)][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> projected { get; }
    [Residual][Dense(12, Activation.Tanh)] public partial Dense widen { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// Highway connections: <c>T ⊙ F(x) + (1 − T) ⊙ x</c> with <c>T = sigmoid(x W_T^T + b_T)</c>; then two repeated
/// gated copies with pre-norm (the gate reads the un-normalised x).
/// </summary>
[Network(Input = 8)]
public partial class GatedResidualNet
{
    [Residual(Gated = true)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Repeat(2)][Residual(Gated = true, Norm = ResidualNorm.Pre)][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> highway { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// Activations after the sum, <c>act(x + F(x))</c>: ReLU on an identity connection (ResNet v1), tanh after a
/// projection (8 → 12), GELU after a highway mix (its derivative reads the sum, kept in a slot of its own), and
/// SiLU on two repeated pre-norm copies.
/// </summary>
[Network(Input = 8)]
public partial class ActivatedResidualNet
{
    [Residual(Activation = Activation.Relu)][Dense(8, Activation.Tanh)] public partial Dense fc { get; }
    [Residual(Activation = Activation.Tanh)][Dense(12, Activation.Relu)] public partial Dense widen { get; }
    [Residual(Gated = true, Activation = Activation.Gelu)][Dense(12, Activation.Tanh)] public partial Dense highway { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, Activation = Activation.Silu)][Dense(12, Activation.Tanh)] public partial IReadOnlyList<Dense> stack { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// ResNet v1's basic block on a channel-major image, identity shortcut: <c>relu(x + conv2(relu(conv1(x))))</c>,
/// twice (the second as a repeat of one copy), then a head on the flattened image.
/// </summary>
[Network(Channels = 2, Height = 5, Width = 4)]
public partial class ImageResidualNet
{
    [Residual(Activation = Activation.Relu)] public partial ConvPair block { get; }
    [Repeat(1)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<ConvPair> more { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Two 3×3 convolutions keeping a 2-channel image's shape, ReLU between: a basic block's branch without its norms.</summary>
[Block]
public partial class ConvPair
{
    [Conv2D(2, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv1 { get; }
    [Conv2D(2, 3, Padding = 1)] public partial Conv2D conv2 { get; }
}

/// <summary>
/// Projection shortcuts on a channel-major image, each a path of steps after its branch: a block that halves the
/// resolution and doubles the channels, <c>relu(conv1x1_s2(x) + F(x))</c> (2x6x5 -> 4x3x3), then a forced 1×1
/// projection on a block that keeps the shape, twice (a loop over the repeat's copies), then a head.
/// </summary>
[Network(Channels = 2, Height = 6, Width = 5)]
public partial class DownsampleResidualNet
{
    [Residual(Activation = Activation.Relu)] public partial DownPair down { get; }
    [Repeat(2)][Residual(Shortcut = Shortcut.Projection, Activation = Activation.Tanh)] public partial IReadOnlyList<WidePair> more { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// ResNet's downsampling block with its batch norms, the shortcut's among them (torchvision's <c>downsample.1</c>):
/// <c>relu(bn(conv1x1_s2(x)) + bn2(conv2(relu(bn1(conv1(x))))))</c>, 2x6x6 to 4x3x3, then a head.
/// </summary>
[Network(Channels = 2, Height = 6, Width = 6)]
public partial class DownsampleNormNet
{
    [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial DownNormBlock layer { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>A downsampling basic block's branch, 2 to 4 channels, stride 2.</summary>
[Block]
public partial class DownNormBlock
{
    [Conv2D(4, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
    [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
}

/// <summary>The 1-D form on a channel-major sequence, 3x8 to 5x4: a strided 1×1 convolution and a batch norm as shortcut, tanh after the sum.</summary>
[Network(Channels = 3, Length = 8)]
public partial class DownsampleNormSequenceNet
{
    [Residual(Activation = Activation.Tanh, ShortcutBatchNorm = true)][Conv1D(5, 3, Stride = 2, Padding = 1)] public partial Conv1D down { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(2)] public partial Dense head { get; }
}

/// <summary>
/// Highway blocks on channel-major activations, the gate a 1×1 convolution with a sigmoid: T F(x) + (1 − T) x on a
/// 2x5x4 image, then GELU after the mix on a repeat of two copies (a loop), then a head.
/// </summary>
[Network(Channels = 2, Height = 5, Width = 4)]
public partial class GatedImageNet
{
    [Residual(Gated = true)] public partial ConvPair block { get; }
    [Repeat(2)][Residual(Gated = true, Activation = Activation.Gelu)] public partial IReadOnlyList<ConvPair> more { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>A basic block's branch without its norms that halves the resolution and doubles the channels: 2xHxW -> 4x(H/2)x(W/2).</summary>
[Block]
public partial class DownPair
{
    [Conv2D(4, 3, Stride = 2, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv1 { get; }
    [Conv2D(4, 3, Padding = 1)] public partial Conv2D conv2 { get; }
}

/// <summary>Two 3×3 convolutions keeping a 4-channel image's shape.</summary>
[Block]
public partial class WidePair
{
    [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D conv1 { get; }
    [Conv2D(4, 3, Padding = 1)] public partial Conv2D conv2 { get; }
}

/// <summary>
/// A torchvision-style stage: an indexed block (<c>nn.Sequential</c> naming) whose first residual block differs from
/// the two repeated ones: <c>layer1.0.fc1.weight</c>, <c>layer1.0_shortcut.weight</c>, <c>layer1.1.fc1.weight</c>,
/// <c>layer1.2.fc2.bias</c>.
/// </summary>
[Network(Input = 8)]
public partial class IndexedStageNet
{
    [Dense(8, Activation.Tanh)] public partial Dense stem { get; }
    public partial Stage layer1 { get; }
    [Dense(3)] public partial Dense fc { get; }
}

/// <summary>Members named 0, 1, 2 by position; the repeat's copies take a position each.</summary>
[Block(Indexed = true)]
public partial class Stage
{
    [Residual(Shortcut = Shortcut.Projection, Activation = Activation.Relu)] public partial DensePair first { get; }
    [Repeat(2)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<DensePair> rest { get; }
}

/// <summary>Two dense layers, tanh between.</summary>
[Block]
public partial class DensePair
{
    [Dense(8, Activation.Tanh)] public partial Dense fc1 { get; }
    [Dense(8)] public partial Dense fc2 { get; }
}

/// <summary>32 residual tanh layers, each its own residual connection: <c>hidden.{i}.weight</c>.</summary>
[Network(Input = 8)]
public partial class DeepResidualNet
{
    [Repeat(32)][Residual][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> hidden { get; }
    [Dense(2)] public partial Dense head { get; }
}

/// <summary>Innermost block of <see cref="NestedBlockNet"/>: one dense layer.</summary>
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

/// <summary>
/// Blocks in blocks: a plain <see cref="OuterBlock"/> (whose inner member is residual), then two repeated
/// pre-RMSNorm residual copies of it. Residual connections: outer.inner, stack.0, stack.0.inner, stack.1, stack.1.inner.
/// </summary>
[Network(Input = 8)]
public partial class NestedBlockNet
{
    public partial OuterBlock outer { get; }
    [Repeat(2)][Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)] public partial IReadOnlyList<OuterBlock> stack { get; }
    [Dense(3)] public partial Dense head { get; }
}

// ------------------------------------------------------------------ residual connections on token sequences

/// <summary>
/// Per-token residual extras on 3 tokens of 6: an inferred projection (6 → 10 per token), a gate per token, and
/// pre-RMSNorm residual attention (2 heads of 5).
/// </summary>
[Network(Length = 3, Features = 6)]
public partial class SequenceResidualNet
{
    [Residual][Dense(10, Activation.Tanh)] public partial Dense widen { get; }
    [Residual(Gated = true)][Dense(10, Activation.Silu)] public partial Dense mix { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention attn { get; }
}

// ------------------------------------------------------------------ transformers

/// <summary>
/// A tiny ViT: 1×8×8 image → 4×4 patches (stride 4) of 16 features → 4 tokens + learned positions → two pre-norm
/// encoder blocks (4 heads of 4, GELU MLP 16 → 32 → 16) → LayerNorm → mean over tokens → 10 classes.
/// </summary>
[Network(Channels = 1, Height = 8, Width = 8)]
public partial class TinyVit
{
    [Conv2D(16, 4, Stride = 4)] public partial Conv2D patch { get; }
    [Tokens] public partial Tokens tokens { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Repeat(2)] public partial IReadOnlyList<EncoderBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }

    /// <summary>Pre-norm encoder block, as in ViT and GPT-2.</summary>
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
        [Dense(32, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dense(16)] public partial Dense fc2 { get; }
    }
}

/// <summary>
/// PyTorch's <c>nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0, activation="relu",
/// batch_first=True, norm_first=False)</c> on 4 tokens: <c>x = norm1(x + attn(x)); x = norm2(x + ff(x))</c>.
/// (PyTorch names the norms <c>norm1</c>/<c>norm2</c>; here they are <c>attn_norm</c>/<c>ff_norm</c>.)
/// </summary>
[Network(Length = 4, Features = 8)]
public partial class PostNormEncoderNet
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
