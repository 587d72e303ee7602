using System.Collections.Generic;
using Dsl.Generator.Model;

namespace Dsl.Generator.Layers;

/// <summary>
/// The one map from a step's kind to its handler. Exhaustive: a kind without a row throws here, the generator
/// reports that as a diagnostic (DSL0011) instead of emitting some other kind's code, and a test walks every
/// <see cref="LayerKind"/> through it.
/// </summary>
internal static class LayerHandlers
{
    private static readonly DenseHandler s_dense = new();
    private static readonly ConvolutionHandler s_conv2D = new(LayerKind.Conv2D, image: true);
    private static readonly ConvolutionHandler s_conv1D = new(LayerKind.Conv1D, image: false);
    private static readonly PoolHandler s_maxPool2D = new(LayerKind.MaxPool2D, max: true, image: true);
    private static readonly PoolHandler s_avgPool2D = new(LayerKind.AvgPool2D, max: false, image: true);
    private static readonly PoolHandler s_maxPool1D = new(LayerKind.MaxPool1D, max: true, image: false);
    private static readonly GlobalAvgPoolHandler s_globalAvgPool = new();
    private static readonly FlattenHandler s_flatten = new();
    private static readonly BatchNormHandler s_batchNorm2D = new(LayerKind.BatchNorm2D, image: true);
    private static readonly BatchNormHandler s_batchNorm1D = new(LayerKind.BatchNorm1D, image: false);
    private static readonly TokensHandler s_tokens = new();
    private static readonly NormHandler s_layerNorm = new(LayerKind.LayerNorm, rms: false);
    private static readonly NormHandler s_rmsNorm = new(LayerKind.RMSNorm, rms: true);
    private static readonly AttentionHandler s_attention = new();
    private static readonly EmbeddingHandler s_embedding = new();
    private static readonly PositionalEmbeddingHandler s_positionalEmbedding = new();
    private static readonly DropoutHandler s_dropout = new();
    private static readonly ResidualBeginHandler s_residualBegin = new();
    private static readonly ResidualEndHandler s_residualEnd = new();
    private static readonly ResidualShortcutHandler s_residualShortcut = new();
    private static readonly MixtureHandler s_mixture = new();

    /// <summary>The mixture handler, whose steps the flattener makes from a block member.</summary>
    public static MixtureHandler Mixture => s_mixture;

    public static LayerHandler For(LayerKind kind) => kind switch
    {
        LayerKind.Dense => s_dense,
        LayerKind.Conv2D => s_conv2D,
        LayerKind.Conv1D => s_conv1D,
        LayerKind.MaxPool2D => s_maxPool2D,
        LayerKind.AvgPool2D => s_avgPool2D,
        LayerKind.MaxPool1D => s_maxPool1D,
        LayerKind.GlobalAvgPool => s_globalAvgPool,
        LayerKind.Flatten => s_flatten,
        LayerKind.BatchNorm2D => s_batchNorm2D,
        LayerKind.BatchNorm1D => s_batchNorm1D,
        LayerKind.Tokens => s_tokens,
        LayerKind.LayerNorm => s_layerNorm,
        LayerKind.RMSNorm => s_rmsNorm,
        LayerKind.MultiHeadSelfAttention => s_attention,
        LayerKind.Embedding => s_embedding,
        LayerKind.PositionalEmbedding => s_positionalEmbedding,
        LayerKind.Dropout => s_dropout,
        LayerKind.ResidualBegin => s_residualBegin,
        LayerKind.ResidualEnd => s_residualEnd,
        LayerKind.ResidualShortcut => s_residualShortcut,
        LayerKind.MixtureOfExperts => s_mixture,
        _ => throw new UnknownLayerKindException(kind),
    };

    /// <summary>Layer kinds by the full name of the attribute that declares them.</summary>
    public static readonly IReadOnlyDictionary<string, LayerKind> ByAttribute = AttributeMap();

    private static Dictionary<string, LayerKind> AttributeMap()
    {
        var result = new Dictionary<string, LayerKind>();
        foreach (LayerKind kind in (LayerKind[])System.Enum.GetValues(typeof(LayerKind)))
        {
            string? attribute = For(kind).AttributeName;
            if (attribute is not null) result.Add(attribute, kind);
        }
        return result;
    }
}

/// <summary>A step kind with no row in <see cref="LayerHandlers"/>: a generator bug, reported as DSL0011.</summary>
internal sealed class UnknownLayerKindException : System.InvalidOperationException
{
    public UnknownLayerKindException(LayerKind kind)
        : base($"layer kind {kind} has no handler in LayerHandlers")
    {
    }
}
