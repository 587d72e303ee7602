using System.Collections.Generic;
using Dsl;

namespace TinyTransformer;

/// <summary>
/// A small vision transformer for 28x28 Fashion-MNIST: 16 patches of 7x7 embedded to d = 64 by a strided
/// convolution, learned positions, four pre-norm encoder blocks (4-head self-attention, then a 64-128-64
/// GELU feed-forward with dropout 0.1 after each layer, as PyTorch's TransformerEncoderLayer places it), a final
/// LayerNorm, the mean over tokens, and a linear head for the 10 classes.
/// </summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class VisionTransformer
{
    [Conv2D(64, 7, Stride = 7)] public partial Conv2D patch_embed { get; }
    [Tokens] public partial Tokens tokens { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos_embed { get; }
    [Repeat(4)] public partial IReadOnlyList<EncoderBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }

    /// <summary>Pre-norm encoder block: x + Attention(LN(x)), then x + MLP(LN(x)).</summary>
    [Block]
    public partial class EncoderBlock
    {
        [Residual(Norm = ResidualNorm.Pre)] [MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre)] public partial FeedForward mlp { get; }
    }

    /// <summary>The position-wise feed-forward network, applied to every token; dropout regularises it in training only.</summary>
    [Block]
    public partial class FeedForward
    {
        [Dense(128, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dropout(0.1)] public partial Dropout drop1 { get; }
        [Dense(64)] public partial Dense fc2 { get; }
        [Dropout(0.1)] public partial Dropout drop2 { get; }
    }
}
