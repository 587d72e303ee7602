using System;

namespace Dsl;

/// <summary>
/// A view of one layer of a generated network: its PyTorch-style name and the shapes of one sample going in and
/// out (<c>[features]</c> for flat data, <c>[C, L]</c> for sequences, <c>[C, H, W]</c> for images, the last
/// dimension contiguous). Parameterised layers also expose their tensors inside the network's
/// <see cref="Parameters"/>. Generated network code creates these; they hold no activations.
/// </summary>
public abstract class Layer
{
    private readonly int[] _inputShape;
    private readonly int[] _outputShape;

    private protected Layer(string name, int[] inputShape, int[] outputShape)
    {
        ArgumentNullException.ThrowIfNull(name);
        _inputShape = CheckShape(inputShape, name, nameof(inputShape));
        _outputShape = CheckShape(outputShape, name, nameof(outputShape));
        Name = name;
        InputSize = Product(_inputShape);
        OutputSize = Product(_outputShape);
    }

    /// <summary>PyTorch-style name, the prefix of the layer's tensor names, e.g. <c>conv1</c>.</summary>
    public string Name { get; }

    /// <summary>Shape of one input sample (a copy).</summary>
    public int[] InputShape => (int[])_inputShape.Clone();

    /// <summary>Shape of one output sample (a copy).</summary>
    public int[] OutputShape => (int[])_outputShape.Clone();

    /// <summary>Floats per input sample: the product of <see cref="InputShape"/>.</summary>
    public int InputSize { get; }

    /// <summary>Floats per output sample: the product of <see cref="OutputShape"/>.</summary>
    public int OutputSize { get; }

    private protected static string FormatShape(int[] shape) => "[" + string.Join(", ", shape) + "]";

    private static int[] CheckShape(int[] shape, string name, string parameter)
    {
        ArgumentNullException.ThrowIfNull(shape, parameter);
        if (shape.Length == 0)
            throw new ArgumentException($"Layer '{name}': a sample shape needs at least one dimension.", parameter);
        foreach (int d in shape)
            if (d <= 0) throw new ArgumentException($"Layer '{name}': shape {FormatShape(shape)} has a dimension that is not positive.", parameter);
        return (int[])shape.Clone();
    }

    private static int Product(int[] shape)
    {
        long product = 1;
        foreach (int d in shape) product = checked(product * d);
        return checked((int)product);
    }
}

/// <summary>Argument checks shared by the layer views' constructors.</summary>
internal static class LayerChecks
{
    public static void Positive(int value, string layer, string what)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(what, value, $"Layer '{layer}': {what} must be positive.");
    }

    public static void NonNegative(int value, string layer, string what)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(what, value, $"Layer '{layer}': {what} cannot be negative.");
    }

    /// <summary>Output size of a sliding window: <c>floor((size + padding − dilation·(kernel − 1) − 1) / stride) + 1</c>, <paramref name="totalPadding"/> being both sides together.</summary>
    public static int WindowOutput(int size, int kernel, int stride, int totalPadding, int dilation, string layer, string dimension)
    {
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = (long)size + totalPadding;
        if (padded < span)
            throw new ArgumentException($"Layer '{layer}': the window ({span} wide with dilation) is larger than the padded input {dimension} {padded}.");
        return checked((int)((padded - span) / stride + 1));
    }

    /// <summary>Checks <paramref name="tensor"/> belongs to <paramref name="parameters"/> and has the expected name suffix, shape, kind and dtype.</summary>
    public static void Tensor(Parameters parameters, TensorInfo tensor, string layer, string suffix, int[] shape, TensorKind kind, TensorDType dtype = TensorDType.F32, int transposeGroups = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor, suffix);
        if (!ReferenceEquals(parameters.Find(tensor.Name), tensor))
            throw new ArgumentException($"Layer '{layer}': tensor '{tensor.Name}' is not part of these parameters.", suffix);
        string expectedName = layer + "." + suffix;
        if (tensor.Name != expectedName)
            throw new ArgumentException($"Layer '{layer}': expected tensor '{expectedName}', got '{tensor.Name}'.", suffix);
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"Layer '{layer}': tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}].", suffix);
        if (tensor.Kind != kind)
            throw new ArgumentException($"Layer '{layer}': tensor '{tensor.Name}' is a {tensor.Kind}, expected a {kind}.", suffix);
        if (tensor.FileDType != dtype)
            throw new ArgumentException($"Layer '{layer}': tensor '{tensor.Name}' has dtype {tensor.FileDType}, expected {dtype}.", suffix);
        if (tensor.TransposeGroups != transposeGroups)
            throw new ArgumentException($"Layer '{layer}': tensor '{tensor.Name}' is stored with {tensor.TransposeGroups} transpose groups, expected {transposeGroups}.", suffix);
    }

    public static int Index(int value, int count, string what)
    {
        if ((uint)value >= (uint)count)
            throw new ArgumentOutOfRangeException(what, value, $"Must be in 0..{count - 1}.");
        return value;
    }
}
