using Dsl.Generator.Model;

namespace Dsl.Generator.Layers;

/// <summary>Phrases the handlers' maths comments share: the activation applied, and its derivative.</summary>
internal static class Maths
{
    /// <summary><c>y = inner</c>, or <c>y = relu(inner)</c> with an activation.</summary>
    public static string Apply(ActivationKind activation, string inner)
    {
        string name = activation switch
        {
            ActivationKind.None => "",
            ActivationKind.Softmax => "softmax",
            _ => activation.ToString().ToLowerInvariant(),
        };
        return name.Length == 0 ? $"y = {inner}" : $"y = {name}({inner})";
    }

    /// <summary>", Relu" after a layer's shapes, or nothing without an activation.</summary>
    public static string Named(ActivationKind activation) => activation == ActivationKind.None ? "" : ", " + activation;

    /// <summary>dz from dy through the activation; ReLU, tanh and sigmoid read their output, the others z.</summary>
    public static string ActivationGradient(ActivationKind activation) => activation switch
    {
        ActivationKind.None => "dz = dy",
        ActivationKind.Softmax => "dz = y (dy - sum(dy y)) per sample",
        ActivationKind.Relu or ActivationKind.Tanh or ActivationKind.Sigmoid => $"dz = dy {activation.ToString().ToLowerInvariant()}'(y)",
        _ => $"dz = dy {activation.ToString().ToLowerInvariant()}'(z)",
    };

    /// <summary>The backward comments' ending for the first step, whose dx only the caller may want.</summary>
    public static string WhenAsked(bool first) => first ? "; dx when asked for" : "";
}

/// <summary>Initialisers of weight tensors, by the runtime's <c>Dsl.TensorInit</c> names.</summary>
internal static class Init
{
    // Kaiming for layers feeding a ReLU (directly, or through the batch norm after them), Xavier otherwise.
    public static string For(LayerSpec layer, LayerSpec? next) =>
        layer.Activation == ActivationKind.None && next is { Options: BatchNormOptions, Activation: ActivationKind.Relu } ? "KaimingUniform" : For(layer.Activation);

    // A layer with nothing after it that matters for its initialisation (an expert's layer).
    public static string For(ActivationKind activation) => activation == ActivationKind.Relu ? "KaimingUniform" : "XavierUniform";
}
