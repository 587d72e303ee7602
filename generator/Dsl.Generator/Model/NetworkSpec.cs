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
    EquatableArray<LayerSpec> Layers)
{
    public int InputSize => Input.Size;

    public int OutputSize => Layers[Layers.Count - 1].Outputs;

    /// <summary>True when every layer is dense: batched inference then runs four samples per weight pass.</summary>
    public bool AllDense
    {
        get
        {
            foreach (LayerSpec layer in Layers)
                if (layer.Kind != LayerKind.Dense) return false;
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
}

/// <summary>
/// A per-sample activation shape: rank 1 is [C] (flat features), rank 2 is [C, L] (a sequence, L stored in
/// <see cref="Width"/>), rank 3 is [C, H, W]. Memory order is always channel-major, like PyTorch.
/// </summary>
internal sealed record Shape(int Channels, int Height, int Width, int Rank)
{
    public int Size => Channels * Height * Width;

    public int Spatial => Height * Width;

    public static Shape Flat(int features) => new(features, 1, 1, 1);

    public static Shape Sequence(int channels, int length) => new(channels, 1, length, 2);

    public static Shape Image(int channels, int height, int width) => new(channels, height, width, 3);

    public override string ToString() => Rank switch
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
}

/// <summary>
/// One layer: the property it implements, its weight name prefix, its resolved shapes and options. Options a
/// kind does not have are left at their neutral values (kernel 1, stride 1, ...).
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
    float Epsilon = 1e-5f)
{
    public int Inputs => Input.Size;

    public int Outputs => Output.Size;

    public bool IsConvolution => Kind is LayerKind.Conv2D or LayerKind.Conv1D;

    public bool IsBatchNorm => Kind is LayerKind.BatchNorm2D or LayerKind.BatchNorm1D;

    public bool HasParameters => Kind is LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv1D || IsBatchNorm;

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
