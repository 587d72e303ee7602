using System;

namespace Dsl;

/// <summary>How a tensor starts out.</summary>
public enum TensorInit
{
    /// <summary>All zeros (biases, running means, batch counters).</summary>
    Zeros,
    /// <summary>All ones (norm scales, running variances).</summary>
    Ones,
    /// <summary>He/Kaiming uniform, <c>U(-sqrt(6/fanIn), sqrt(6/fanIn))</c>: keeps ReLU activations' variance.</summary>
    KaimingUniform,
    /// <summary>Glorot/Xavier uniform, <c>U(-sqrt(6/(fanIn+fanOut)), +...)</c>: for symmetric activations.</summary>
    XavierUniform,
    /// <summary>Standard normal, <c>N(0, 1)</c>: PyTorch's <c>nn.Embedding</c> default.</summary>
    NormalOne,
    /// <summary><c>N(0, 0.02²)</c>: learned positional embeddings, as in GPT-2 and ViT.</summary>
    NormalSmall,
    /// <summary>All −1: a highway gate's bias, so the gate starts mostly closed and carries its input through.</summary>
    MinusOnes,
}

/// <summary>Whether a tensor is trained or only carried along.</summary>
public enum TensorKind
{
    /// <summary>A trainable parameter: lives in <see cref="Parameters.Values"/>, has a gradient in <see cref="Parameters.Gradients"/>, and optimisers update it.</summary>
    Parameter,
    /// <summary>
    /// A non-trainable buffer (PyTorch's <c>register_buffer</c>, e.g. BatchNorm's running statistics): lives in
    /// <see cref="Parameters.Buffers"/>, has no gradient, and optimisers never touch it; it is saved and loaded
    /// with the parameters.
    /// </summary>
    Buffer,
}

/// <summary>Element type of a tensor in a safetensors file. In memory every tensor is float.</summary>
public enum TensorDType
{
    /// <summary>32-bit IEEE float (safetensors <c>F32</c>).</summary>
    F32,
    /// <summary>
    /// 64-bit signed integer (safetensors <c>I64</c>), for integer buffers such as BatchNorm's
    /// <c>num_batches_tracked</c>. Held in memory as a float, which is exact for integers up to 2^24
    /// (16,777,216); only non-negative integers that a float holds exactly are saved and loaded. Only
    /// buffers may be I64.
    /// </summary>
    I64,
}

/// <summary>
/// One named tensor inside <see cref="Parameters"/>. <see cref="Shape"/> is the PyTorch <c>state_dict</c>
/// shape (e.g. <c>[out, in]</c> for a dense weight, <c>[outChannels, inChannels/groups, kh, kw]</c> for a
/// convolution); the stored layout may differ (see <see cref="TransposeGroups"/>), and safetensors load/save
/// convert at the file boundary with <see cref="FileToStored"/> and <see cref="StoredToFile"/>.
/// </summary>
/// <remarks>
/// With <c>G = </c><see cref="TransposeGroups"/> &gt; 0, <c>M = Shape[0] / G</c> and <c>R</c> the product of
/// <c>Shape[1..]</c>, the PyTorch tensor viewed as <c>[G, M, R]</c> is stored as <c>[G, R, M]</c>: per group,
/// input-major, because that is the layout the generated kernels stream. The file element
/// <c>[g, m, r]</c> (flat <c>(g·M + m)·R + r</c>) is stored at <c>(g·R + r)·M + m</c>. For a dense weight
/// <c>[out, in]</c>, G = 1 gives the plain transpose <c>[in, out]</c>; for a convolution weight
/// <c>[OC, IC/groups, KH, KW]</c>, G = groups gives, per group, <c>[(IC/groups)·KH·KW, OC/groups]</c>.
/// </remarks>
public sealed class TensorInfo
{
    /// <summary>Describes a tensor; generated code creates these.</summary>
    /// <param name="name">PyTorch-style name, e.g. <c>conv1.weight</c>.</param>
    /// <param name="shape">PyTorch shape; may be empty (<c>[]</c>, a scalar of one element).</param>
    /// <param name="init">Initialiser used by <see cref="Parameters.Initialize"/>.</param>
    /// <param name="fanIn">Inputs feeding one output (for initialisation).</param>
    /// <param name="fanOut">Outputs fed by one input (for initialisation).</param>
    /// <param name="storedTransposed">Same as <paramref name="transposeGroups"/> = 1 when that is 0 (the dense-weight layout).</param>
    /// <param name="transposeGroups">G &gt; 0 stores the tensor per group input-major (see remarks of <see cref="TensorInfo"/>); 0 stores it as in the file, unless <paramref name="storedTransposed"/>.</param>
    /// <param name="kind">Trainable parameter or non-trainable buffer.</param>
    /// <param name="fileDType">Element type in safetensors files; <see cref="TensorDType.I64"/> only for buffers.</param>
    /// <param name="pruning">For a weight declared <see cref="PrunedAttribute"/>: its target and block; only a parameter stored input-major, whose outputs per group the block divides.</param>
    /// <exception cref="ArgumentException">A dimension is not positive, the tensor is too large, a transposed layout is asked of a tensor with fewer than 2 dimensions or whose first dimension <paramref name="transposeGroups"/> does not divide, a parameter is declared I64, or <paramref name="pruning"/> does not fit the tensor.</exception>
    public TensorInfo(string name, int[] shape, TensorInit init, int fanIn = 0, int fanOut = 0, bool storedTransposed = false,
        int transposeGroups = 0, TensorKind kind = TensorKind.Parameter, TensorDType fileDType = TensorDType.F32, PruningTarget? pruning = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (transposeGroups < 0)
            throw new ArgumentOutOfRangeException(nameof(transposeGroups), transposeGroups, $"Tensor '{name}': transpose groups cannot be negative.");
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Tensor '{name}': unknown kind.");
        if (!Enum.IsDefined(fileDType))
            throw new ArgumentOutOfRangeException(nameof(fileDType), fileDType, $"Tensor '{name}': unknown dtype.");
        int groups = transposeGroups > 0 ? transposeGroups : storedTransposed ? 1 : 0;
        long length = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw new ArgumentException($"Tensor '{name}': dimension {d} is not positive.", nameof(shape));
            length *= d;
            if (length > int.MaxValue) throw new ArgumentException($"Tensor '{name}' has more than {int.MaxValue} elements.", nameof(shape));
        }
        if (groups > 0)
        {
            if (shape.Length < 2)
                throw new ArgumentException($"Tensor '{name}': only tensors of 2 or more dimensions can be stored transposed, shape has {shape.Length}.", nameof(transposeGroups));
            if (shape[0] % groups != 0)
                throw new ArgumentException($"Tensor '{name}': {groups} transpose groups do not divide the first dimension {shape[0]}.", nameof(transposeGroups));
        }
        if (fileDType == TensorDType.I64 && kind != TensorKind.Buffer)
            throw new ArgumentException($"Tensor '{name}': only buffers can be I64; a trainable parameter is F32.", nameof(fileDType));
        if (pruning is not null && (kind != TensorKind.Parameter || groups == 0 || shape[0] / groups % pruning.Block != 0 || (pruning.SparseKernel && groups != 1)))
            throw new ArgumentException($"Tensor '{name}': only a trainable weight stored input-major whose outputs per group ({(groups == 0 ? "none" : (shape[0] / groups).ToString(System.Globalization.CultureInfo.InvariantCulture))}) the block {pruning.Block} divides can be pruned.", nameof(pruning));
        Name = name;
        Shape = (int[])shape.Clone();
        Length = (int)length;
        Init = init;
        FanIn = fanIn;
        FanOut = fanOut;
        TransposeGroups = groups;
        Kind = kind;
        FileDType = fileDType;
        Pruning = pruning;
    }

    /// <summary>PyTorch-style name, e.g. <c>fc1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Shape as in a PyTorch <c>state_dict</c>; empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements (1 for a scalar of shape <c>[]</c>).</summary>
    public int Length { get; }

    /// <summary>Initialiser used by <see cref="Parameters.Initialize"/>.</summary>
    public TensorInit Init { get; }

    /// <summary>Inputs feeding one output (for initialisation).</summary>
    public int FanIn { get; }

    /// <summary>Outputs fed by one input (for initialisation).</summary>
    public int FanOut { get; }

    /// <summary>
    /// G: 0 when the buffer holds the tensor in file order; otherwise the number of groups the tensor is
    /// transposed in (see the remarks of <see cref="TensorInfo"/>). 1 for dense weights, the group count for
    /// convolution weights.
    /// </summary>
    public int TransposeGroups { get; }

    /// <summary>True when the stored layout differs from the file's (<see cref="TransposeGroups"/> &gt; 0).</summary>
    public bool StoredTransposed => TransposeGroups > 0;

    /// <summary>Trainable parameter or non-trainable buffer.</summary>
    public TensorKind Kind { get; }

    /// <summary>Element type in safetensors files.</summary>
    public TensorDType FileDType { get; }

    /// <summary>The declared pruning of a <see cref="PrunedAttribute"/> layer's weight, or null; the masks are in <see cref="Parameters.Pruning"/>.</summary>
    public PruningTarget? Pruning { get; }

    /// <summary>
    /// Offset in floats, a multiple of 16 (64 bytes): into <see cref="Parameters.Values"/> and
    /// <see cref="Parameters.Gradients"/> for a parameter, into <see cref="Parameters.Buffers"/> for a buffer.
    /// </summary>
    public int Offset { get; internal set; }

    /// <summary>Where the element at flat PyTorch (file) position <paramref name="fileIndex"/> is in the stored layout.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileIndex"/> is outside 0..<see cref="Length"/>-1.</exception>
    public int StoredIndex(int fileIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fileIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(fileIndex, Length);
        if (TransposeGroups == 0) return fileIndex;
        int m = Shape[0] / TransposeGroups;
        int r = Length / Shape[0];
        int row = fileIndex / r; // g * M + m
        int column = fileIndex - row * r;
        int group = row / m;
        return (group * r + column) * m + (row - group * m);
    }

    /// <summary>Converts <paramref name="fileOrder"/> (PyTorch's row-major element order) to the stored layout.</summary>
    /// <exception cref="ArgumentException">A span does not hold <see cref="Length"/> floats, or the spans overlap while the layouts differ.</exception>
    public void FileToStored(ReadOnlySpan<float> fileOrder, Span<float> stored)
    {
        CheckConversion(fileOrder, stored, nameof(fileOrder), nameof(stored));
        if (TransposeGroups == 0)
        {
            fileOrder.CopyTo(stored);
            return;
        }
        int m = Shape[0] / TransposeGroups, r = Length / Shape[0], block = m * r;
        for (int g = 0; g < TransposeGroups; g++)
            Transpose(fileOrder.Slice(g * block, block), stored.Slice(g * block, block), rows: m, columns: r);
    }

    /// <summary>Converts <paramref name="stored"/> (the stored layout) to PyTorch's row-major element order.</summary>
    /// <exception cref="ArgumentException">A span does not hold <see cref="Length"/> floats, or the spans overlap while the layouts differ.</exception>
    public void StoredToFile(ReadOnlySpan<float> stored, Span<float> fileOrder)
    {
        CheckConversion(stored, fileOrder, nameof(stored), nameof(fileOrder));
        if (TransposeGroups == 0)
        {
            stored.CopyTo(fileOrder);
            return;
        }
        int m = Shape[0] / TransposeGroups, r = Length / Shape[0], block = m * r;
        for (int g = 0; g < TransposeGroups; g++)
            Transpose(stored.Slice(g * block, block), fileOrder.Slice(g * block, block), rows: r, columns: m);
    }

    private void CheckConversion(ReadOnlySpan<float> source, Span<float> destination, string sourceName, string destinationName)
    {
        if (source.Length != Length)
            throw new ArgumentException($"Tensor '{Name}' has {Length} elements, but {sourceName} holds {source.Length}.", sourceName);
        if (destination.Length != Length)
            throw new ArgumentException($"Tensor '{Name}' has {Length} elements, but {destinationName} holds {destination.Length}.", destinationName);
        if (TransposeGroups > 0 && source.Overlaps(destination))
            throw new ArgumentException($"Tensor '{Name}': the layout conversion cannot run in place; {sourceName} and {destinationName} overlap.", destinationName);
    }

    /// <summary>Writes the <paramref name="columns"/> × <paramref name="rows"/> transpose of the row-major <paramref name="rows"/> × <paramref name="columns"/> matrix <paramref name="source"/>.</summary>
    private static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int columns)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = source.Slice(r * columns, columns);
            for (int c = 0; c < row.Length; c++)
                destination[c * rows + r] = row[c];
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
