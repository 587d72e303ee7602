using System;

namespace Dsl;

/// <summary>Element-wise function applied to a layer's output.</summary>
public enum Activation
{
    /// <summary>Identity: <c>y = z</c>.</summary>
    None,
    /// <summary><c>y = max(0, z)</c>.</summary>
    Relu,
    /// <summary><c>y = tanh(z)</c>.</summary>
    Tanh,
    /// <summary><c>y = 1 / (1 + e^-z)</c>.</summary>
    Sigmoid,
    /// <summary><c>y = z * sigmoid(z)</c> (also called swish).</summary>
    Silu,
    /// <summary>GELU, tanh form: <c>y = 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))</c>.</summary>
    Gelu,
    /// <summary><c>y_j = e^(z_j) / sum_k e^(z_k)</c> over the layer's outputs.</summary>
    Softmax,
}

/// <summary>
/// Marks a <c>partial</c> class as a network. Its layers are the members marked with a layer attribute,
/// run in declaration order; the source generator emits forward, backward and parameter plumbing.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>Number of input features per sample.</summary>
    public int Input { get; set; }
}

/// <summary>
/// A fully connected layer: <c>y = act(x W^T + b)</c> with <c>W</c> of shape [units, inputs] (PyTorch's
/// <c>nn.Linear</c>). Put it on a <c>public partial Dense Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class DenseAttribute : Attribute
{
    /// <summary>Declares a dense layer with <paramref name="units"/> outputs.</summary>
    public DenseAttribute(int units, Activation activation = Activation.None)
    {
        Units = units;
        Activation = activation;
    }

    /// <summary>Number of outputs.</summary>
    public int Units { get; }

    /// <summary>Activation fused into the layer.</summary>
    public Activation Activation { get; }

    /// <summary>Whether the layer has a bias (default true).</summary>
    public bool Bias { get; set; } = true;
}
