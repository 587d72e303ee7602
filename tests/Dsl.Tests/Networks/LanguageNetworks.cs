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
