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
    public int InputSize => Input.Size;

    public int OutputSize => Layers[Layers.Count - 1].Outputs;

    /// <summary>True when every layer is dense: batched inference then runs four samples per weight pass.</summary>
    public bool AllDense
    {
        get
        {
            foreach (LayerSpec layer in Layers)
                if (layer.Kind != LayerKind.Dense || layer.Input.Rank != 1) return false;
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

    // Not attributes: the two ends of a residual connection, with the layers of the branch between them.
    ResidualBegin,
    ResidualEnd,
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
/// is the PyTorch-style prefix of its tensors. Options a kind does not have are left at their neutral values.
/// A <see cref="LayerKind.ResidualEnd"/> names its <see cref="LayerKind.ResidualBegin"/> in <see cref="Skip"/>,
/// the weight name of its shortcut or gate tensors in <see cref="ShortcutName"/>, and the residual member's path in
/// <see cref="Residual"/>.
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
    int Kernel = 1,
    int Stride = 1,
    int Padding = 0,
    int Dilation = 1,
    int Groups = 1,
    bool Causal = false,
    float Momentum = 0.1f,
    float Epsilon = 1e-5f,
    int Heads = 1,
    int Vocabulary = 0,
    string Skip = "",
    bool Projection = false,
    bool Gated = false,
    string ShortcutName = "",
    string Residual = "")
{
    public int Inputs => Input.Size;

    public int Outputs => Output.Size;

    public bool IsConvolution => Kind is LayerKind.Conv2D or LayerKind.Conv1D;

    public bool IsBatchNorm => Kind is LayerKind.BatchNorm2D or LayerKind.BatchNorm1D;

    public bool IsNorm => Kind is LayerKind.LayerNorm or LayerKind.RMSNorm;

    /// <summary>A residual end whose shortcut has weights (a projection or a highway gate): a dense layer on the rows of x.</summary>
    public bool HasShortcutWeights => Kind == LayerKind.ResidualEnd && (Projection || Gated);

    /// <summary>Layers whose output is their input's memory: nothing moves in the forward pass.</summary>
    public bool IsView => Kind is LayerKind.Flatten or LayerKind.ResidualBegin;

    /// <summary>Attention: values per head.</summary>
    public int HeadDim => Input.Channels / Heads;

    // Convolution geometry; a Conv1D is a Conv2D of height 1. Causal padding is all on the left.
    public int KernelHeight => Kind == LayerKind.Conv2D ? Kernel : 1;

    public int PadTop => Kind == LayerKind.Conv2D ? Padding : 0;

    public int PadLeft => Causal ? (Kernel - 1) * Dilation : Padding;

    public int StrideHeight => Kind == LayerKind.Conv2D ? Stride : 1;

    public int DilationHeight => Kind == LayerKind.Conv2D ? Dilation : 1;

    /// <summary>Input channels per group times the kernel area: the length of one im2col row.</summary>
    public int PatchSize => Input.Channels / Groups * KernelHeight * Kernel;

    /// <summary>Output channels per group.</summary>
    public int GroupOutputs => Output.Channels / Groups;
}

/// <summary>A member property the generator implements: a layer view, a block instance or a list of either.</summary>
internal sealed record MemberView(string Name, string Accessibility, string Type, ViewNode View);

/// <summary>
/// How a property's value is built: a layer's view (<see cref="Layer"/> is its <see cref="LayerSpec.MemberName"/>),
/// a block (<see cref="Type"/> its fully qualified name, <see cref="Children"/> its members in order) or a
/// repeated member (<see cref="Type"/> the element type, <see cref="Children"/> the copies).
/// </summary>
internal sealed record ViewNode(string Layer, string Type, bool IsList, EquatableArray<ViewNode> Children);
