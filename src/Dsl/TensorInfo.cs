using System;

namespace Dsl;

/// <summary>How a parameter tensor starts out.</summary>
public enum TensorInit
{
    /// <summary>All zeros (biases).</summary>
    Zeros,
    /// <summary>All ones (norm scales).</summary>
    Ones,
    /// <summary>He/Kaiming uniform, <c>U(-sqrt(6/fanIn), sqrt(6/fanIn))</c>: keeps ReLU activations' variance.</summary>
    KaimingUniform,
    /// <summary>Glorot/Xavier uniform, <c>U(-sqrt(6/(fanIn+fanOut)), +...)</c>: for symmetric activations.</summary>
    XavierUniform,
}

/// <summary>
/// One named parameter tensor inside <see cref="Parameters"/>. <see cref="Shape"/> is the PyTorch
/// <c>state_dict</c> shape (e.g. <c>[out, in]</c> for a dense weight); when <see cref="StoredTransposed"/>
/// is set, the buffer holds the 2-D transpose (<c>[in, out]</c>, input-major) because that is the layout
/// the generated kernels stream, and load/save transpose at the file boundary.
/// </summary>
public sealed class TensorInfo
{
    /// <summary>Describes a tensor; generated code creates these.</summary>
    public TensorInfo(string name, int[] shape, TensorInit init, int fanIn = 0, int fanOut = 0, bool storedTransposed = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (storedTransposed && shape.Length != 2)
            throw new ArgumentException($"Tensor '{name}': only 2-D tensors can be stored transposed, shape has {shape.Length} dimensions.", nameof(storedTransposed));
        long length = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Tensor '{name}': dimension {d} is not positive.", nameof(shape));
            length *= d;
        }
        if (length > int.MaxValue) throw new ArgumentException($"Tensor '{name}' has {length} elements, more than {int.MaxValue}.", nameof(shape));
        Name = name;
        Shape = (int[])shape.Clone();
        Length = (int)length;
        Init = init;
        FanIn = fanIn;
        FanOut = fanOut;
        StoredTransposed = storedTransposed;
    }

    /// <summary>PyTorch-style name, e.g. <c>fc1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Shape as in a PyTorch <c>state_dict</c>.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Initialiser used by <see cref="Parameters.Initialize"/>.</summary>
    public TensorInit Init { get; }

    /// <summary>Inputs feeding one output (for initialisation).</summary>
    public int FanIn { get; }

    /// <summary>Outputs fed by one input (for initialisation).</summary>
    public int FanOut { get; }

    /// <summary>True when the buffer holds the transpose of <see cref="Shape"/> (input-major dense weights).</summary>
    public bool StoredTransposed { get; }

    /// <summary>Offset in floats into the parameter and gradient buffers; a multiple of 16 (64 bytes).</summary>
    public int Offset { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
