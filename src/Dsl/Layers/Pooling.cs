using System;

namespace Dsl;

/// <summary>
/// 2-D max pooling (see <see cref="MaxPool2DAttribute"/>): input <c>[Channels, InputHeight, InputWidth]</c>,
/// output <c>[Channels, OutputHeight, OutputWidth]</c>. No parameters.
/// </summary>
public sealed class MaxPool2D : Layer
{
    /// <summary>Created by generated network code. A <paramref name="stride"/> of 0 means <paramref name="kernel"/>.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the padding exceeds half the kernel, or the window does not fit.</exception>
    public MaxPool2D(string name, int channels, int height, int width, int kernel, int stride, int padding)
        : base(name, [channels, height, width], Pool.Shape2D(name, channels, height, width, kernel, stride, padding))
    {
        (Channels, InputHeight, InputWidth, Kernel, Stride, Padding) = (channels, height, width, kernel, Pool.Stride(kernel, stride), padding);
        int[] output = OutputShape;
        (OutputHeight, OutputWidth) = (output[1], output[2]);
    }

    /// <summary>Channels, pooled independently.</summary>
    public int Channels { get; }

    /// <summary>Input rows.</summary>
    public int InputHeight { get; }

    /// <summary>Input columns.</summary>
    public int InputWidth { get; }

    /// <summary>Output rows: <c>floor((InputHeight + 2·Padding − Kernel) / Stride) + 1</c>.</summary>
    public int OutputHeight { get; }

    /// <summary>Output columns, likewise.</summary>
    public int OutputWidth { get; }

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows (already resolved: never 0).</summary>
    public int Stride { get; }

    /// <summary>−∞ added on each side of each spatial dimension.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MaxPool2D {FormatShape(InputShape)} -> {FormatShape(OutputShape)}, kernel {Kernel}, stride {Stride}, padding {Padding}";
}

/// <summary>
/// 2-D average pooling with <c>count_include_pad=True</c> (see <see cref="AvgPool2DAttribute"/>): input
/// <c>[Channels, InputHeight, InputWidth]</c>, output <c>[Channels, OutputHeight, OutputWidth]</c>. No parameters.
/// </summary>
public sealed class AvgPool2D : Layer
{
    /// <summary>Created by generated network code. A <paramref name="stride"/> of 0 means <paramref name="kernel"/>.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the padding exceeds half the kernel, or the window does not fit.</exception>
    public AvgPool2D(string name, int channels, int height, int width, int kernel, int stride, int padding)
        : base(name, [channels, height, width], Pool.Shape2D(name, channels, height, width, kernel, stride, padding))
    {
        (Channels, InputHeight, InputWidth, Kernel, Stride, Padding) = (channels, height, width, kernel, Pool.Stride(kernel, stride), padding);
        int[] output = OutputShape;
        (OutputHeight, OutputWidth) = (output[1], output[2]);
    }

    /// <summary>Channels, pooled independently.</summary>
    public int Channels { get; }

    /// <summary>Input rows.</summary>
    public int InputHeight { get; }

    /// <summary>Input columns.</summary>
    public int InputWidth { get; }

    /// <summary>Output rows: <c>floor((InputHeight + 2·Padding − Kernel) / Stride) + 1</c>.</summary>
    public int OutputHeight { get; }

    /// <summary>Output columns, likewise.</summary>
    public int OutputWidth { get; }

    /// <summary>Window height and width; every window sum is divided by <c>Kernel²</c>.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows (already resolved: never 0).</summary>
    public int Stride { get; }

    /// <summary>Zeros added on each side of each spatial dimension.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: AvgPool2D {FormatShape(InputShape)} -> {FormatShape(OutputShape)}, kernel {Kernel}, stride {Stride}, padding {Padding}";
}

/// <summary>
/// 1-D max pooling (see <see cref="MaxPool1DAttribute"/>): input <c>[Channels, InputLength]</c>, output
/// <c>[Channels, OutputLength]</c>. No parameters.
/// </summary>
public sealed class MaxPool1D : Layer
{
    /// <summary>Created by generated network code. A <paramref name="stride"/> of 0 means <paramref name="kernel"/>.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the padding exceeds half the kernel, or the window does not fit.</exception>
    public MaxPool1D(string name, int channels, int length, int kernel, int stride, int padding)
        : base(name, [channels, length], [channels, Pool.Output(name, length, kernel, stride, padding, "length")])
    {
        (Channels, InputLength, Kernel, Stride, Padding) = (channels, length, kernel, Pool.Stride(kernel, stride), padding);
        OutputLength = OutputShape[1];
    }

    /// <summary>Channels, pooled independently.</summary>
    public int Channels { get; }

    /// <summary>Input positions.</summary>
    public int InputLength { get; }

    /// <summary>Output positions: <c>floor((InputLength + 2·Padding − Kernel) / Stride) + 1</c>.</summary>
    public int OutputLength { get; }

    /// <summary>Window length.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows (already resolved: never 0).</summary>
    public int Stride { get; }

    /// <summary>−∞ added on each side.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MaxPool1D {FormatShape(InputShape)} -> {FormatShape(OutputShape)}, kernel {Kernel}, stride {Stride}, padding {Padding}";
}

/// <summary>
/// Global average pooling (see <see cref="GlobalAvgPoolAttribute"/>): input <c>[Channels, Height, Width]</c>
/// or <c>[Channels, Length]</c>, output the flat <c>[Channels]</c> of per-channel means. No parameters.
/// </summary>
public sealed class GlobalAvgPool : Layer
{
    /// <summary>Created by generated network code for an image input.</summary>
    public GlobalAvgPool(string name, int channels, int height, int width)
        : base(name, [channels, height, width], [channels])
    {
        Channels = channels;
        Spatial = checked(height * width);
    }

    /// <summary>Created by generated network code for a sequence input.</summary>
    public GlobalAvgPool(string name, int channels, int length)
        : base(name, [channels, length], [channels])
    {
        Channels = channels;
        Spatial = length;
    }

    /// <summary>Channels (and outputs).</summary>
    public int Channels { get; }

    /// <summary>Positions averaged per channel: <c>Height·Width</c> or <c>Length</c>.</summary>
    public int Spatial { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: GlobalAvgPool {FormatShape(InputShape)} -> {FormatShape(OutputShape)}";
}

/// <summary>
/// Flattening (see <see cref="FlattenAttribute"/>): input any <c>[C, ...]</c> shape, output the flat
/// <c>[product]</c> in the same element order, as PyTorch's <c>nn.Flatten()</c>. No parameters, no computation.
/// </summary>
public sealed class Flatten : Layer
{
    /// <summary>Created by generated network code with the shape of one input sample.</summary>
    public Flatten(string name, int[] inputShape)
        : base(name, inputShape, [Pool.Product(inputShape)])
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Flatten {FormatShape(InputShape)} -> {FormatShape(OutputShape)}";
}

/// <summary>Shape arithmetic shared by the pooling views.</summary>
internal static class Pool
{
    public static int Stride(int kernel, int stride) => stride == 0 ? kernel : stride;

    public static int[] Shape2D(string name, int channels, int height, int width, int kernel, int stride, int padding) =>
        [channels, Output(name, height, kernel, stride, padding, "height"), Output(name, width, kernel, stride, padding, "width")];

    public static int Output(string name, int size, int kernel, int stride, int padding, string dimension)
    {
        ArgumentNullException.ThrowIfNull(name);
        LayerChecks.Positive(size, name, dimension);
        LayerChecks.Positive(kernel, name, nameof(kernel));
        LayerChecks.NonNegative(stride, name, nameof(stride));
        LayerChecks.NonNegative(padding, name, nameof(padding));
        if (padding > kernel / 2)
            throw new ArgumentException($"Layer '{name}': padding {padding} is more than half the kernel {kernel} (as PyTorch requires, every window must overlap the input).", nameof(padding));
        return LayerChecks.WindowOutput(size, kernel, Stride(kernel, stride), checked(2 * padding), 1, name, dimension);
    }

    public static int Product(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long product = 1;
        foreach (int d in shape) product = checked(product * Math.Max(d, 0));
        return checked((int)product);
    }
}
