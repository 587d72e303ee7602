namespace Dsl.Generator.Model;

/// <summary>
/// Everything the emitter needs to write one network, and nothing else: ints, enums, strings and equatable
/// arrays, no symbols, syntax or locations. Immutable with structural equality, so an edit that leaves the
/// declaration's meaning unchanged yields an equal spec and Roslyn skips re-emitting the kernels.
/// </summary>
internal sealed record NetworkSpec(
    string? Namespace,
    EquatableArray<string> ContainingTypes,
    string ClassName,
    Shape Input,
    EquatableArray<LayerSpec> Layers,
    EquatableArray<MemberView> Members)
{
    /// <summary>The MSBuild property <c>DslInstructionSets</c> (e.g. "avx512,avx2"); empty for every rung.</summary>
    public string InstructionSets { get; init; } = "";

    /// <summary>
    /// True when the compilation allows unsafe code: the inference entry points and kernel classes then carry
    /// <c>[SkipLocalsInit]</c>, so a call does not zero its stack scratch (every step writes its scratch before reading it).
    /// </summary>
    public bool SkipLocalsInit { get; init; }

    /// <summary>The attribute's <c>Weights</c>: the safetensors file compiled into the assembly, or empty.</summary>
    public string Weights { get; init; } = "";

    /// <summary>
    /// The attribute's <c>WeightType = WeightType.BFloat16</c>: inference reads the dense layers' weights and biases from
    /// <c>Parameters.BFloat16Values</c> through bfloat16 kernels (every step supports it, DSL0015 otherwise).
    /// </summary>
    public bool BFloat16 { get; init; }

    /// <summary>The outermost [Repeat] members, whose copies are the same steps with other names and offsets.</summary>
    public EquatableArray<RepeatSpan> Repeats { get; init; } = EquatableArray<RepeatSpan>.Empty;

    public int InputSize => Input.Size;

    public int OutputSize => Layers[Layers.Count - 1].Outputs;

    /// <summary>True when every step runs in blocks of samples (flat dense layers): batched inference then shares each weight pass.</summary>
    public bool RunsInBlocks
    {
        get
        {
            foreach (LayerSpec layer in Layers)
                if (!layer.Handler.RunsInBlocks(layer)) return false;
            return true;
        }
    }

    /// <summary>File-name-safe full name used for hint names.</summary>
    public string HintName
    {
        get
        {
            string prefix = Namespace is null ? "" : Namespace + ".";
            foreach (string t in ContainingTypes) prefix += TypeNameOf(t) + ".";
            return prefix + ClassName;
        }
    }

    private static string TypeNameOf(string declaration)
    {
        string[] words = declaration.Split(' ');
        return words[words.Length - 1];
    }
}

/// <summary>Kinds of layer; each maps to an attribute <c>Dsl.{Kind}Attribute</c> and a member type <c>Dsl.{Kind}</c>.</summary>
internal enum LayerKind
{
    Dense,
    Conv2D,
    Conv1D,
    MaxPool2D,
    AvgPool2D,
    MaxPool1D,
    GlobalAvgPool,
    Flatten,
    BatchNorm2D,
    BatchNorm1D,
    Tokens,
    LayerNorm,
    RMSNorm,
    MultiHeadSelfAttention,
    Embedding,
    PositionalEmbedding,
    Dropout,

    // Not attributes: the two ends of a residual connection, with the layers of the branch between them, and the
    // start of its shortcut path (a strided 1x1 convolution, maybe a batch norm) after the branch.
    ResidualBegin,
    ResidualEnd,
    ResidualShortcut,

    // Declared by [MixtureOfExperts] on a block member: the router and the experts, one step.
    MixtureOfExperts,
}

/// <summary>
/// A per-sample activation shape: rank 1 is [C] (flat features), rank 2 is [C, L] (a sequence, L stored in
/// <see cref="Width"/>), rank 3 is [C, H, W], all channel-major like PyTorch; a token sequence is [L, D]
/// token-major (<see cref="IsTokens"/>: D in <see cref="Channels"/>, L in <see cref="Width"/>, rank 2).
/// </summary>
internal sealed record Shape(int Channels, int Height, int Width, int Rank, bool IsTokens = false)
{
    public int Size => Channels * Height * Width;

    public int Spatial => Height * Width;

    /// <summary>Rows a per-row layer (dense, norm) runs over: the tokens of a sequence, else 1.</summary>
    public int Rows => IsTokens ? Width : 1;

    /// <summary>Values per row: a token's features, or the whole flat vector.</summary>
    public int Features => IsTokens ? Channels : Size;

    /// <summary>Flat vectors and token sequences: what dense layers, norms and residual projections act on.</summary>
    public bool IsRowMajor => Rank == 1 || IsTokens;

    public static Shape Flat(int features) => new(features, 1, 1, 1);

    public static Shape Sequence(int channels, int length) => new(channels, 1, length, 2);

    public static Shape Image(int channels, int height, int width) => new(channels, height, width, 3);

    public static Shape Tokens(int length, int features) => new(features, 1, length, 2, IsTokens: true);

    /// <summary>The same layout with <paramref name="features"/> values per row.</summary>
    public Shape WithFeatures(int features) => IsTokens ? Tokens(Width, features) : Flat(features);

    public override string ToString() => IsTokens
        ? $"{Width} tokens x {Channels}"
        : Rank switch
        {
            1 => Channels.ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => $"{Channels}x{Width}",
            _ => $"{Channels}x{Height}x{Width}",
        };
}

/// <summary>Mirror of <c>Dsl.Activation</c>; values must match.</summary>
internal enum ActivationKind
{
    None,
    Relu,
    Tanh,
    Sigmoid,
    Silu,
    Gelu,
    Softmax,
    GeluTanh,
}

/// <summary>
/// One step of the flattened network: a layer (possibly inside blocks), or an end of a residual connection.
/// <see cref="MemberName"/> is an identifier unique in the network (the member name for top-level layers, the
/// path with underscores inside blocks) that names the generated constants and locals; <see cref="WeightName"/>
/// is the PyTorch-style prefix of its tensors. What only some kinds have lives in <see cref="Options"/>, a record
/// of the kind's own (<see cref="ConvolutionOptions"/>, <see cref="ResidualEndOptions"/>, ...); its handler
/// (<see cref="global::Dsl.Generator.Layers.LayerHandlers.For"/>) knows which.
/// </summary>
internal sealed record LayerSpec(
    string MemberName,
    string Accessibility,
    string WeightName,
    LayerKind Kind,
    Shape Input,
    Shape Output,
    ActivationKind Activation,
    bool HasBias,
    LayerOptions Options)
{
    public int Inputs => Input.Size;

    public int Outputs => Output.Size;

    /// <summary>The [Pruned] declaration of a dense or convolution layer's weight, or null.</summary>
    public PruneSpec? Pruning { get; init; }

    /// <summary>Everything the generator knows about this step's kind.</summary>
    public global::Dsl.Generator.Layers.LayerHandler Handler => global::Dsl.Generator.Layers.LayerHandlers.For(Kind);

    /// <summary>The kind's own options; asking for another kind's is a generator bug and throws.</summary>
    public T Get<T>() where T : class =>
        Options as T ?? throw new System.InvalidOperationException($"{Kind} step '{MemberName}' has {Options.GetType().Name}, not {typeof(T).Name}.");
}

/// <summary>[Pruned(Sparsity, Block = ...)]: the fraction of the weight's connections to remove, in runs of <paramref name="Block"/> consecutive stored outputs.</summary>
internal sealed record PruneSpec(float Sparsity, int Block)
{
    /// <summary>Whether the layer's inference calls the sparse kernel (dense layers do, convolutions not yet).</summary>
    public bool SparseKernel { get; init; }
}

/// <summary>
/// A [Repeat(Copies)] member: copy i is steps <c>First + i * Steps</c> up to the next copy, its weight names start
/// with <c>Path.i</c>. The copies are the same steps but for names, unless the first changes the shape.
/// </summary>
internal sealed record RepeatSpan(int First, int Steps, int Copies, string Path);

/// <summary>A member property the generator implements: a layer view, a block instance or a list of either.</summary>
internal sealed record MemberView(string Name, string Accessibility, string Type, ViewNode View);

/// <summary>
/// How a property's value is built: a layer's view (<see cref="Layer"/> is its <see cref="LayerSpec.MemberName"/>),
/// a block (<see cref="Type"/> its fully qualified name, <see cref="Children"/> its members in order) or a
/// repeated member (<see cref="Type"/> the element type, <see cref="Children"/> the copies).
/// </summary>
internal sealed record ViewNode(string Layer, string Type, bool IsList, EquatableArray<ViewNode> Children);
