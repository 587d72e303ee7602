using System.Collections.Generic;
using Dsl;

namespace CharGpt;

/// <summary>
/// A character-level GPT: 64 characters of context, each one of <see cref="Characters.Count"/> ids, embedded in 128
/// features with learned positions; four pre-norm blocks of causal 4-head attention and a 512-wide GELU feed-forward
/// block; a final LayerNorm and a per-position head of logits over the characters. PyTorch's equivalent is nanoGPT's
/// <c>GPT</c> without dropout or weight tying (the names differ: <c>embed</c>, <c>pos</c>, <c>blocks.i.attn</c> as
/// <c>nn.MultiheadAttention</c>, <c>blocks.i.mlp.fc</c> / <c>proj</c>, <c>norm</c>, <c>head</c>).
/// </summary>
[Network(Input = 64)]
public partial class CharModel
{
    [Embedding(Characters.Count, 128)] public partial Embedding embed { get; }
    [PositionalEmbedding]              public partial PositionalEmbedding pos { get; }
    [Repeat(4)]                        public partial IReadOnlyList<GptBlock> blocks { get; }
    [LayerNorm]                        public partial LayerNorm norm { get; }
    [Dense(Characters.Count)]          public partial Dense head { get; }

    [Block]
    public partial class GptBlock
    {
        [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(4, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre)]                                          public partial FeedForward mlp { get; }
    }

    [Block]
    public partial class FeedForward
    {
        [Dense(512, Activation.Gelu)] public partial Dense fc { get; }
        [Dense(128)]                  public partial Dense proj { get; }
    }
}
