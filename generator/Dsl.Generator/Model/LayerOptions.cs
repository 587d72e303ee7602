namespace Dsl.Generator.Model;

/// <summary>
/// What a step's kind adds to <see cref="LayerSpec"/>: each kind has a record of its own, so no step carries
/// another kind's options at "neutral" values. Records, so specs keep their structural equality.
/// </summary>
internal abstract record LayerOptions;

/// <summary>Kinds whose shapes, activation and bias say everything (dense, flatten, tokens, global pooling, positional embedding).</summary>
internal sealed record NoOptions : LayerOptions
{
    public static readonly NoOptions Instance = new();
}

/// <summary>A 2-D (<paramref name="Image"/>) or 1-D convolution; a 1-D one is a 2-D one of height 1. Causal padding is all on the left.</summary>
internal sealed record ConvolutionOptions(int Kernel, int Stride, int Padding, int Dilation, int Groups, bool Causal, bool Image) : LayerOptions;

/// <summary>A pooling window: max or average, over an image or (<paramref name="Image"/> false) a sequence.</summary>
internal sealed record PoolOptions(int Kernel, int Stride, int Padding, bool Max, bool Image) : LayerOptions;

/// <summary>Batch norm: PyTorch's running-statistics momentum and the epsilon.</summary>
internal sealed record BatchNormOptions(float Momentum, float Epsilon) : LayerOptions;

/// <summary>LayerNorm or RMSNorm over each row's features.</summary>
internal sealed record NormOptions(float Epsilon) : LayerOptions;

internal sealed record AttentionOptions(int Heads, bool Causal) : LayerOptions;

internal sealed record EmbeddingOptions(int Vocabulary) : LayerOptions;

/// <summary>Inverted dropout: in training each value is zeroed with probability <paramref name="P"/>, the rest scaled by 1/(1 − p).</summary>
internal sealed record DropoutOptions(float P) : LayerOptions;

/// <summary>The start of a residual connection: <paramref name="Residual"/> is the residual member's weight path.</summary>
internal sealed record ResidualBeginOptions(string Residual) : LayerOptions;

/// <summary>
/// The end of a residual connection: <paramref name="Skip"/> is the member name of its begin step, <paramref name="X"/>
/// the shape it kept, <paramref name="ShortcutName"/> the weight name of its projection or gate tensors (empty for
/// the identity).
/// </summary>
internal sealed record ResidualEndOptions(string Skip, Shape X, bool Projection, bool Gated, string ShortcutName, string Residual) : LayerOptions
{
    /// <summary>A projection or a highway gate: a dense layer on the rows of x.</summary>
    public bool HasShortcutWeights => Projection || Gated;
}
