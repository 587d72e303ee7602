using Dsl;

namespace Dsl.Tests.Networks;

/// <summary>
/// A tiny character-level GPT: 8 token ids (vocabulary 7) → embedding (16 features) + learned positions → a pre-norm
/// causal attention block and a pre-norm feed-forward residual → RMSNorm → a per-token head, 8 × 7 logits.
/// </summary>
[Network(Input = 8)]
public partial class TinyGpt
{
    [Embedding(7, 16)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][Dense(16, Activation.Gelu)] public partial Dense ff { get; }
    [RMSNorm] public partial RMSNorm norm { get; }
    [Dense(7)] public partial Dense head { get; }
}

/// <summary>
/// A GPT with repeated pre-norm blocks (LayerNorm, causal attention, a two-layer feed-forward block with dropout): 12
/// token ids (vocabulary 9), 16 features, 2 blocks, 12 × 9 logits. Its decode step loops over the copies.
/// </summary>
[Network(Input = 12)]
public partial class BlocksGpt
{
    [Embedding(9, 16)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Repeat(2)] public partial System.Collections.Generic.IReadOnlyList<GptBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(9)] public partial Dense head { get; }

    [Block]
    public partial class GptBlock
    {
        [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(4, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre)] public partial FeedForward mlp { get; }
    }

    [Block]
    public partial class FeedForward
    {
        [Dense(32, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dropout(0.1)] public partial Dropout drop { get; }
        [Dense(16)] public partial Dense fc2 { get; }
    }
}

/// <summary>A GPT whose feed-forward blocks are mixtures of 4 experts, top-2 (Mixtral's gates): each new token is routed on its own.</summary>
[Network(Input = 10)]
public partial class MixtureGpt
{
    [Embedding(7, 12)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Repeat(2)] public partial System.Collections.Generic.IReadOnlyList<MixtureGptBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(7)] public partial Dense head { get; }

    [Block]
    public partial class MixtureGptBlock
    {
        [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(3, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre), MixtureOfExperts(Experts = 4, TopK = 2, Gate = MixtureGate.TopKSoftmax)] public partial MixtureOfExperts<Networks.Expert12> moe { get; }
    }
}

/// <summary>An embedding network without causal attention (bidirectional): no decode step.</summary>
[Network(Input = 6)]
public partial class BidirectionalEncoder
{
    [Embedding(5, 8)] public partial Embedding embed { get; }
    [MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention attn { get; }
    [Dense(5)] public partial Dense head { get; }
}
