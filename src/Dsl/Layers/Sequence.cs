using System;

namespace Dsl;

/// <summary>
/// Turns a channel-major <c>[C, H, W]</c> image or <c>[C, L]</c> sequence into a token-major sequence
/// <c>[Length, Features]</c> with <c>Length = H·W</c> (or L) and <c>Features = C</c>, PyTorch's
/// <c>x.flatten(2).transpose(1, 2)</c> (see <see cref="TokensAttribute"/>). No parameters.
/// </summary>
public sealed class Tokens : Layer
{
    /// <summary>Created by generated network code with the shape of one input sample, <c>[C, H, W]</c> or <c>[C, L]</c>.</summary>
    /// <exception cref="ArgumentException">The shape has neither 2 nor 3 dimensions, or a dimension is not positive.</exception>
    public Tokens(string name, int[] inputShape)
        : base(name, inputShape, Shape(name, inputShape))
    {
        int[] output = OutputShape;
        (Length, Features) = (output[0], output[1]);
    }

    /// <summary>Tokens: the positions of the input, <c>H·W</c> or <c>L</c>.</summary>
    public int Length { get; }

    /// <summary>Values per token: the input's channels.</summary>
    public int Features { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Tokens {FormatShape(InputShape)} -> {FormatShape(OutputShape)}";

    private static int[] Shape(string name, int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length is not (2 or 3))
            throw new ArgumentException($"Layer '{name}': tokens need a [C, L] or [C, H, W] input, got {FormatShape(inputShape)}.", nameof(inputShape));
        // Non-positive dimensions are reported by the base constructor; a clamped product keeps this one quiet.
        long positions = 1;
        for (int d = 1; d < inputShape.Length; d++) positions = checked(positions * Math.Max(inputShape[d], 1));
        return [checked((int)positions), inputShape[0]];
    }
}

/// <summary>
/// Layer normalisation over the last dimension (see <see cref="LayerNormAttribute"/>, PyTorch's
/// <c>nn.LayerNorm</c>): input and output <c>[Features]</c> or <c>[Length, Features]</c>, each token
/// normalised on its own. γ (<see cref="Weight"/>) and β (<see cref="Bias"/>) are <c>[Features]</c>, stored as in
/// the file.
/// </summary>
public sealed class LayerNorm : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code; <paramref name="shape"/> is the input (and output) shape.</summary>
    /// <exception cref="ArgumentException">The shape's last dimension is not <paramref name="features"/>, epsilon is negative or not finite, or a tensor does not match.</exception>
    public LayerNorm(Parameters parameters, string name, int[] shape, int features, float epsilon, TensorInfo weight, TensorInfo bias)
        : base(name, shape, shape)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Norms.Check(name, shape, features, epsilon);
        LayerChecks.Tensor(parameters, weight, name, "weight", [features], TensorKind.Parameter);
        LayerChecks.Tensor(parameters, bias, name, "bias", [features], TensorKind.Parameter);
        _parameters = parameters;
        Features = features;
        Length = InputSize / features;
        Epsilon = epsilon;
        WeightInfo = weight;
        BiasInfo = bias;
    }

    /// <summary>Values normalised together: the last dimension.</summary>
    public int Features { get; }

    /// <summary>Tokens normalised independently per sample (1 for a flat <c>[Features]</c> input).</summary>
    public int Length { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary><c>{Name}.weight</c> (γ), [Features].</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary><c>{Name}.bias</c> (β), [Features].</summary>
    public TensorInfo BiasInfo { get; }

    /// <summary>γ, per feature.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>β, per feature.</summary>
    public Span<float> Bias => _parameters.Value(BiasInfo);

    /// <summary>Accumulated gradient of γ.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <summary>Accumulated gradient of β.</summary>
    public Span<float> BiasGradient => _parameters.Gradient(BiasInfo);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: LayerNorm {FormatShape(InputShape)}, eps {Epsilon}";
}

/// <summary>
/// Root-mean-square normalisation over the last dimension (see <see cref="RMSNormAttribute"/>, PyTorch's
/// <c>nn.RMSNorm</c>): input and output <c>[Features]</c> or <c>[Length, Features]</c>. γ
/// (<see cref="Weight"/>) is <c>[Features]</c>, stored as in the file.
/// </summary>
public sealed class RMSNorm : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code; <paramref name="shape"/> is the input (and output) shape.</summary>
    /// <exception cref="ArgumentException">The shape's last dimension is not <paramref name="features"/>, epsilon is negative or not finite, or the tensor does not match.</exception>
    public RMSNorm(Parameters parameters, string name, int[] shape, int features, float epsilon, TensorInfo weight)
        : base(name, shape, shape)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Norms.Check(name, shape, features, epsilon);
        LayerChecks.Tensor(parameters, weight, name, "weight", [features], TensorKind.Parameter);
        _parameters = parameters;
        Features = features;
        Length = InputSize / features;
        Epsilon = epsilon;
        WeightInfo = weight;
    }

    /// <summary>Values normalised together: the last dimension.</summary>
    public int Features { get; }

    /// <summary>Tokens normalised independently per sample (1 for a flat <c>[Features]</c> input).</summary>
    public int Length { get; }

    /// <summary>Added to the mean square before the square root.</summary>
    public float Epsilon { get; }

    /// <summary><c>{Name}.weight</c> (γ), [Features].</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary>γ, per feature.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>Accumulated gradient of γ.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: RMSNorm {FormatShape(InputShape)}, eps {Epsilon}";
}

/// <summary>
/// Multi-head self-attention (see <see cref="MultiHeadSelfAttentionAttribute"/>, PyTorch's
/// <c>nn.MultiheadAttention(batch_first=True)</c> called as <c>attn(x, x, x)</c>): input and output
/// <c>[Length, ModelDim]</c>. The projection weights are stored input-major like <see cref="Dense"/>'s (their
/// <see cref="TensorInfo.TransposeGroups"/> is 1): PyTorch's <c>in_proj_weight[o, i]</c> (o &lt; 3·ModelDim, the
/// Q, K then V rows) sits at <c>[i·3·ModelDim + o]</c> and <c>out_proj.weight[o, i]</c> at
/// <c>[i·ModelDim + o]</c>. Use <see cref="GetInProjWeight"/>, <see cref="GetOutProjWeight"/> and their setters
/// to address them PyTorch-style. Biases are stored as in the file.
/// </summary>
public sealed class MultiHeadSelfAttention : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code.</summary>
    /// <exception cref="ArgumentException">A size is not positive, <paramref name="heads"/> does not divide <paramref name="modelDim"/>, or a tensor does not match.</exception>
    public MultiHeadSelfAttention(Parameters parameters, string name, int length, int modelDim, int heads, bool causal,
        TensorInfo inProjWeight, TensorInfo? inProjBias, TensorInfo outProjWeight, TensorInfo? outProjBias)
        : base(name, [length, modelDim], [length, modelDim])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LayerChecks.Positive(heads, name, nameof(heads));
        if (modelDim % heads != 0)
            throw new ArgumentException($"Layer '{name}': {heads} heads do not divide the model dimension {modelDim}.", nameof(heads));
        int projections = checked(3 * modelDim);
        LayerChecks.Tensor(parameters, inProjWeight, name, "in_proj_weight", [projections, modelDim], TensorKind.Parameter, transposeGroups: 1);
        if (inProjBias is not null) LayerChecks.Tensor(parameters, inProjBias, name, "in_proj_bias", [projections], TensorKind.Parameter);
        LayerChecks.Tensor(parameters, outProjWeight, name, "out_proj.weight", [modelDim, modelDim], TensorKind.Parameter, transposeGroups: 1);
        if (outProjBias is not null) LayerChecks.Tensor(parameters, outProjBias, name, "out_proj.bias", [modelDim], TensorKind.Parameter);
        _parameters = parameters;
        Length = length;
        ModelDim = modelDim;
        Heads = heads;
        HeadDim = modelDim / heads;
        Causal = causal;
        InProjWeightInfo = inProjWeight;
        InProjBiasInfo = inProjBias;
        OutProjWeightInfo = outProjWeight;
        OutProjBiasInfo = outProjBias;
    }

    /// <summary>Tokens per sample.</summary>
    public int Length { get; }

    /// <summary>Values per token, D.</summary>
    public int ModelDim { get; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; }

    /// <summary>Values per head: <c>ModelDim / Heads</c>; scores are scaled by <c>1/sqrt(HeadDim)</c>.</summary>
    public int HeadDim { get; }

    /// <summary>Whether token i attends only to tokens j ≤ i.</summary>
    public bool Causal { get; }

    /// <summary><c>{Name}.in_proj_weight</c>, shape [3·ModelDim, ModelDim], stored transposed.</summary>
    public TensorInfo InProjWeightInfo { get; }

    /// <summary><c>{Name}.in_proj_bias</c>, shape [3·ModelDim], or null without biases.</summary>
    public TensorInfo? InProjBiasInfo { get; }

    /// <summary><c>{Name}.out_proj.weight</c>, shape [ModelDim, ModelDim], stored transposed.</summary>
    public TensorInfo OutProjWeightInfo { get; }

    /// <summary><c>{Name}.out_proj.bias</c>, shape [ModelDim], or null without biases.</summary>
    public TensorInfo? OutProjBiasInfo { get; }

    /// <summary>Input projection values, input-major.</summary>
    public Span<float> InProjWeight => _parameters.Value(InProjWeightInfo);

    /// <summary>Input projection bias (empty without biases).</summary>
    public Span<float> InProjBias => InProjBiasInfo is null ? Span<float>.Empty : _parameters.Value(InProjBiasInfo);

    /// <summary>Output projection values, input-major.</summary>
    public Span<float> OutProjWeight => _parameters.Value(OutProjWeightInfo);

    /// <summary>Output projection bias (empty without biases).</summary>
    public Span<float> OutProjBias => OutProjBiasInfo is null ? Span<float>.Empty : _parameters.Value(OutProjBiasInfo);

    /// <summary>Accumulated input projection gradient, input-major.</summary>
    public Span<float> InProjWeightGradient => _parameters.Gradient(InProjWeightInfo);

    /// <summary>Accumulated input projection bias gradient (empty without biases).</summary>
    public Span<float> InProjBiasGradient => InProjBiasInfo is null ? Span<float>.Empty : _parameters.Gradient(InProjBiasInfo);

    /// <summary>Accumulated output projection gradient, input-major.</summary>
    public Span<float> OutProjWeightGradient => _parameters.Gradient(OutProjWeightInfo);

    /// <summary>Accumulated output projection bias gradient (empty without biases).</summary>
    public Span<float> OutProjBiasGradient => OutProjBiasInfo is null ? Span<float>.Empty : _parameters.Gradient(OutProjBiasInfo);

    /// <summary>PyTorch's <c>in_proj_weight[row, column]</c>: rows 0..D−1 make Q, D..2D−1 K, 2D..3D−1 V; column is the input feature.</summary>
    public float GetInProjWeight(int row, int column) => InProjWeight[Index(row, column, 3 * ModelDim)];

    /// <summary>Sets PyTorch's <c>in_proj_weight[row, column]</c>.</summary>
    public void SetInProjWeight(int row, int column, float value) => InProjWeight[Index(row, column, 3 * ModelDim)] = value;

    /// <summary>PyTorch's <c>out_proj.weight[row, column]</c>: row is the output feature, column the concatenated heads' feature.</summary>
    public float GetOutProjWeight(int row, int column) => OutProjWeight[Index(row, column, ModelDim)];

    /// <summary>Sets PyTorch's <c>out_proj.weight[row, column]</c>.</summary>
    public void SetOutProjWeight(int row, int column, float value) => OutProjWeight[Index(row, column, ModelDim)] = value;

    private int Index(int row, int column, int outputs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, outputs);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, ModelDim);
        return column * outputs + row;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: MultiHeadSelfAttention {FormatShape(InputShape)}, {Heads} heads of {HeadDim}{(Causal ? ", causal" : "")}{(InProjBiasInfo is null ? ", no bias" : "")}";
}

/// <summary>
/// A token-id lookup table (see <see cref="EmbeddingAttribute"/>, PyTorch's <c>nn.Embedding</c>): input
/// <c>[Length]</c> ids, each an integer in a float, output <c>[Length, Dimension]</c>. The table
/// <c>{Name}.weight</c> is <c>[Vocabulary, Dimension]</c> stored as in the file: row <c>id</c> starts at
/// <c>id·Dimension</c>.
/// </summary>
public sealed class Embedding : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the tensor does not match.</exception>
    public Embedding(Parameters parameters, string name, int length, int vocabulary, int dimension, TensorInfo weight)
        : base(name, [length], [length, dimension])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LayerChecks.Positive(vocabulary, name, nameof(vocabulary));
        LayerChecks.Tensor(parameters, weight, name, "weight", [vocabulary, dimension], TensorKind.Parameter);
        _parameters = parameters;
        Length = length;
        Vocabulary = vocabulary;
        Dimension = dimension;
        WeightInfo = weight;
    }

    /// <summary>Token ids per sample.</summary>
    public int Length { get; }

    /// <summary>Distinct ids: rows of the table.</summary>
    public int Vocabulary { get; }

    /// <summary>Values per token: columns of the table.</summary>
    public int Dimension { get; }

    /// <summary><c>{Name}.weight</c>, [Vocabulary, Dimension].</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary>The table, row-major: id <c>v</c>'s vector at <c>[v·Dimension ..]</c>.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>Accumulated gradient of the table, same layout.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Embedding {Vocabulary} x {Dimension}, {Length} tokens";
}

/// <summary>
/// A learned positional embedding (see <see cref="PositionalEmbeddingAttribute"/>): input and output
/// <c>[Length, Dimension]</c>, <c>y[t] = x[t] + P[t]</c>. The table <c>{Name}.weight</c> P is
/// <c>[Length, Dimension]</c>, stored as in the file.
/// </summary>
public sealed class PositionalEmbedding : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the tensor does not match.</exception>
    public PositionalEmbedding(Parameters parameters, string name, int length, int dimension, TensorInfo weight)
        : base(name, [length, dimension], [length, dimension])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LayerChecks.Tensor(parameters, weight, name, "weight", [length, dimension], TensorKind.Parameter);
        _parameters = parameters;
        Length = length;
        Dimension = dimension;
        WeightInfo = weight;
    }

    /// <summary>Positions: tokens per sample.</summary>
    public int Length { get; }

    /// <summary>Values per token.</summary>
    public int Dimension { get; }

    /// <summary><c>{Name}.weight</c>, [Length, Dimension].</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary>P, row-major: position t's vector at <c>[t·Dimension ..]</c>.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>Accumulated gradient of P, same layout.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: PositionalEmbedding {FormatShape(InputShape)}";
}

/// <summary>Argument checks shared by the norm views.</summary>
internal static class Norms
{
    public static void Check(string name, int[] shape, int features, float epsilon)
    {
        if (shape.Length is not (1 or 2) || shape[^1] != features)
            throw new ArgumentException($"Layer '{name}': expected shape [{features}] or [length, {features}], got [{string.Join(", ", shape)}].", nameof(shape));
        if (!(epsilon >= 0f) || float.IsPositiveInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"Layer '{name}': epsilon must be finite and not negative.");
    }
}
