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
    int InputSize,
    EquatableArray<LayerSpec> Layers)
{
    public int OutputSize => Layers[Layers.Count - 1].Outputs;

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

/// <summary>Kinds of layer.</summary>
internal enum LayerKind
{
    Dense,
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

/// <summary>One layer: the property it implements, its weight name prefix and its resolved shapes.</summary>
internal sealed record LayerSpec(
    string MemberName,
    string Accessibility,
    string WeightName,
    LayerKind Kind,
    int Inputs,
    int Outputs,
    ActivationKind Activation,
    bool HasBias);
