namespace Dsl.Generator.Model;

/// <summary>
/// What a step's kind adds to <see cref="LayerSpec"/>: each kind has a record of its own, declared beside its
/// handler in Layers/, so no step carries another kind's options at "neutral" values. Records, so specs keep
/// their structural equality.
/// </summary>
internal abstract record LayerOptions;

/// <summary>Kinds whose shapes, activation and bias say everything (dense, flatten, tokens, global pooling, positional embedding).</summary>
internal sealed record NoOptions : LayerOptions
{
    public static readonly NoOptions Instance = new();
}
