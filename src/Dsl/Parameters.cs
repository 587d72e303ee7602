using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Runtime.InteropServices;

namespace Dsl;

/// <summary>
/// All tensors of a network. Trainable parameters sit in one contiguous 64-byte-aligned buffer,
/// <see cref="Values"/>, with a gradient buffer of the same layout, <see cref="Gradients"/>; non-trainable
/// buffers (<see cref="TensorKind.Buffer"/>, e.g. BatchNorm running statistics) sit in a separate aligned
/// buffer, <see cref="Buffers"/>, so optimisers, which update <see cref="Values"/> from
/// <see cref="Gradients"/> over the whole span, and <see cref="ZeroGradients"/> never touch them. Each tensor
/// starts on a 64-byte boundary of its buffer so generated kernels can use aligned vectors.
/// </summary>
/// <remarks>
/// Layout: parameters are placed in declaration order, each at the next multiple of 16 floats in
/// <see cref="Values"/>; buffers likewise, in declaration order, in <see cref="Buffers"/>.
/// <see cref="TensorInfo.Offset"/> gives the place in the tensor's own buffer.
/// <para>
/// Compiled-in weights (<see cref="CompiledIn"/>): the values and buffers are read in place from the assembly's
/// static data, with no copy, until something asks for a writable span (<see cref="Values"/>, <see cref="Buffers"/>,
/// <see cref="Value"/>: training, <c>Load</c>, <see cref="Initialize"/>), which first copies them into ordinary
/// buffers; inference reads <see cref="ReadOnlyValues"/> and <see cref="ReadOnlyBuffers"/>, which never copy.
/// </para>
/// <para>
/// bfloat16 weights (<see cref="WeightType"/> <see cref="Dsl.WeightType.BFloat16"/>): <see cref="BFloat16Values"/> is the
/// bfloat16 image of <see cref="Values"/>, same offsets, rounded to nearest even. Every write access (<see cref="Values"/>,
/// <see cref="Value"/>, <see cref="Initialize"/>, the copy of compiled-in weights) marks it stale, and the next read
/// rounds it again, so training, which reads and updates the fp32 values, runs exactly as in an fp32 network and the
/// inference after it reads the new weights. Compiled-in bfloat16 weights (<see cref="CompiledInBFloat16"/>) are the
/// image itself, read in place; the first write widens them into fp32 <see cref="Values"/> (exactly).
/// </para>
/// </remarks>
public sealed unsafe class Parameters
{
    private const int AlignFloats = 16; // 64 bytes: one cache line, one Vector512.

    private float[]? _values;
    private float[]? _gradients;
    private float[]? _buffers;
    private int _valuesStart;
    private int _gradientsStart;
    private int _buffersStart;
    // Compiled-in weights: static data of the assembly (never moves, never freed), read until the first write.
    private float* _compiledValues;
    private float* _compiledBuffers;
    // Compiled-in bfloat16 weights (CompiledInBFloat16): the image itself, static data; no fp32 values until the first write.
    private ushort* _compiledBFloat16;
    // ReadOnlyValues of compiled-in bfloat16 weights: the image widened once, read-only (Save, export, Connections).
    private float[]? _widened;
    private int _widenedStart;
    // The bfloat16 image of _values: allocated on first read, rounded again on the read after a write access.
    private ushort[]? _bfloat16;
    private int _bfloat16Start;
    private long _bfloat16Version = -1;
    // Moves on every write access to the values; derived copies remember the version they were made from.
    private long _valuesVersion;
    private readonly object _copyLock = new();
    private readonly object _roundLock = new();
    private readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);

    /// <summary>Lays out <paramref name="tensors"/> in order and allocates zeroed buffers.</summary>
    /// <param name="tensors">The tensors, parameters and buffers, in declaration order.</param>
    /// <param name="weightType">What the network's inference reads: <see cref="Dsl.WeightType.BFloat16"/> for <see cref="BFloat16Values"/>.</param>
    /// <exception cref="ArgumentException">Two tensors share a name.</exception>
    public Parameters(IReadOnlyList<TensorInfo> tensors, WeightType weightType = WeightType.Float32) : this(tensors, allocate: true)
    {
        WeightType = weightType;
    }

    /// <summary>
    /// Parameters whose values are the compiled-in <paramref name="values"/> and <paramref name="buffers"/>, laid
    /// out as <see cref="Values"/> and <see cref="Buffers"/> (little-endian floats, padding included), read in place.
    /// Generated code calls this with the static data the generator wrote from a weights file.
    /// </summary>
    /// <param name="tensors">The tensors, as for the other constructor.</param>
    /// <param name="values"><see cref="Size"/> floats of static data (an RVA field): memory that never moves and is never freed.</param>
    /// <param name="buffers"><see cref="BufferSize"/> floats of static data likewise.</param>
    /// <exception cref="ArgumentException">A span's length is not the layout's.</exception>
    public static Parameters CompiledIn(IReadOnlyList<TensorInfo> tensors, ReadOnlySpan<float> values, ReadOnlySpan<float> buffers)
    {
        var parameters = new Parameters(tensors, allocate: false);
        if (values.Length != parameters.Size)
            throw new ArgumentException($"The compiled-in values hold {values.Length} floats; the layout has {parameters.Size}.", nameof(values));
        if (buffers.Length != parameters.BufferSize)
            throw new ArgumentException($"The compiled-in buffers hold {buffers.Length} floats; the layout has {parameters.BufferSize}.", nameof(buffers));
        // The spans are static data, so their addresses stay valid for the process's life.
        parameters._compiledValues = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(values));
        parameters._compiledBuffers = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffers));
        Touch(MemoryMarshal.AsBytes(values));
        Touch(MemoryMarshal.AsBytes(buffers));
        return parameters;
    }

    /// <summary>
    /// Parameters of a <see cref="Dsl.WeightType.BFloat16"/> network whose weights are the compiled-in bfloat16
    /// <paramref name="values"/>, laid out as <see cref="Values"/> (padding included), read in place as
    /// <see cref="BFloat16Values"/>: half the bytes of fp32, and no fp32 copy until the first write access, which widens
    /// them (exactly) into <see cref="Values"/>. The network must have no buffers. Generated code calls this.
    /// </summary>
    /// <param name="tensors">The tensors, as for the constructor.</param>
    /// <param name="values"><see cref="Size"/> bfloat16 of static data (an RVA field): memory that never moves and is never freed.</param>
    /// <exception cref="ArgumentException">The span's length is not the layout's, or the tensors include buffers.</exception>
    public static Parameters CompiledInBFloat16(IReadOnlyList<TensorInfo> tensors, ReadOnlySpan<ushort> values)
    {
        var parameters = new Parameters(tensors, allocate: false) { WeightType = WeightType.BFloat16 };
        if (values.Length != parameters.Size)
            throw new ArgumentException($"The compiled-in values hold {values.Length} bfloat16; the layout has {parameters.Size}.", nameof(values));
        if (parameters.BufferSize != 0)
            throw new ArgumentException("Compiled-in bfloat16 weights are for networks without buffers.", nameof(tensors));
        parameters._compiledBFloat16 = (ushort*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(values));
        Touch(MemoryMarshal.AsBytes(values));
        return parameters;
    }

    /// <summary>What the network's inference reads: <see cref="ReadOnlyValues"/> (fp32) or <see cref="BFloat16Values"/>.</summary>
    public WeightType WeightType { get; private init; }

    // Static data sits in the image's pages, mapped on first touch: one read per 64-byte line maps them and brings
    // the lines into cache while the network is made, so its first forward runs like every later one instead of
    // taking a page fault per 4 KB (measured: the FashionMlp's first call 7.4x its steady state without this).
    private static void Touch(ReadOnlySpan<byte> data)
    {
        int sum = 0;
        for (int i = 0; i < data.Length; i += 64) sum += data[i];
        Volatile.Write(ref s_touched, sum);
    }

    private static int s_touched;

    private Parameters(IReadOnlyList<TensorInfo> tensors, bool allocate)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long size = 0, bufferSize = 0;
        foreach (TensorInfo t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (!_byName.TryAdd(t.Name, t))
                throw new ArgumentException($"Duplicate tensor name '{t.Name}'.", nameof(tensors));
            long aligned = (t.Length + AlignFloats - 1L) / AlignFloats * AlignFloats;
            if (t.Kind == TensorKind.Buffer)
            {
                t.Offset = checked((int)bufferSize);
                bufferSize += aligned;
            }
            else
            {
                t.Offset = checked((int)size);
                size += aligned;
                ParameterCount += t.Length;
            }
        }
        Size = checked((int)size);
        BufferSize = checked((int)bufferSize);
        NonProductRuns = FindNonProductRuns(tensors);
        Tensors = tensors;
        if (allocate)
        {
            (_values, _valuesStart) = AllocateAligned<float>(Size);
            (_gradients, _gradientsStart) = AllocateAligned<float>(Size);
            (_buffers, _buffersStart) = AllocateAligned<float>(BufferSize);
        }
        var prunable = new List<TensorInfo>();
        foreach (TensorInfo t in tensors)
            if (t.Pruning is not null) prunable.Add(t);
        Pruning = prunable.Count > 0 ? new Pruning(this, prunable.ToArray()) : null;
    }

    /// <summary>The masks of the prunable weights (layers declared <see cref="PrunedAttribute"/>), or null when there are none.</summary>
    public Pruning? Pruning { get; }

    /// <summary>Connections: the trainable values that are not zero (a pruned model's are its kept weights, biases and norms included).</summary>
    public long Connections() => CountNonZero(ReadOnlyValues);

    internal static long CountNonZero(ReadOnlySpan<float> values) => values.Length - (long)values.Count(0f);

    /// <summary>
    /// The stretches of <see cref="Values"/> a fused SGD step updates through the gradient buffer
    /// (<see cref="NetworkExtensions.BackwardAndStep"/>): every parameter but the matrix products' weights (those
    /// stored input-major), which take their update inside the backward pass. Pairs of start and length, padding
    /// included (it stays zero), neighbours merged.
    /// </summary>
    internal int[] NonProductRuns { get; }

    private static int[] FindNonProductRuns(IReadOnlyList<TensorInfo> tensors)
    {
        var runs = new List<int>();
        for (int i = 0; i < tensors.Count; i++)
        {
            TensorInfo t = tensors[i];
            if (t.Kind == TensorKind.Buffer || t.StoredTransposed) continue;
            int start = t.Offset, end = (t.Offset + t.Length + AlignFloats - 1) / AlignFloats * AlignFloats;
            if (runs.Count > 0 && runs[^2] + runs[^1] == start) runs[^1] += end - start;
            else runs.AddRange([start, end - start]);
        }
        return runs.ToArray();
    }

    /// <summary>The tensors, parameters and buffers, in declaration order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Number of trainable scalars (excludes buffers and alignment padding).</summary>
    public int ParameterCount { get; }

    /// <summary>Length of <see cref="Values"/> and <see cref="Gradients"/>, padding included (padding stays zero).</summary>
    public int Size { get; }

    /// <summary>Length of <see cref="Buffers"/>, padding included.</summary>
    public int BufferSize { get; }

    /// <summary>All trainable parameter values in the kernels' layout, writable (compiled-in weights are copied first).</summary>
    public Span<float> Values
    {
        get
        {
            if (_values is null) CopyCompiledIn();
            // The caller may write: copies made from the values (the bfloat16 image, packed panels) are made again when next read.
            Interlocked.Increment(ref _valuesVersion);
            return _values!.AsSpan(_valuesStart, Size);
        }
    }

    /// <summary>
    /// The values as fp32 inference reads them: <see cref="Values"/>, or the compiled-in weights in place (no copy). Of
    /// compiled-in bfloat16 weights, their widening, made once (a copy of <see cref="Size"/> floats) and kept.
    /// </summary>
    public ReadOnlySpan<float> ReadOnlyValues =>
        _values is { } values ? values.AsSpan(_valuesStart, Size)
        : _compiledBFloat16 != null ? Widened()
        : new ReadOnlySpan<float>(_compiledValues, Size);

    /// <summary>
    /// The bfloat16 image of <see cref="Values"/> (same offsets and padding; each tensor at a multiple of 16 values, 32-byte
    /// aligned), which the inference of a <see cref="Dsl.WeightType.BFloat16"/> network reads: each value rounded to
    /// nearest even (<see cref="BFloat16.Round(float)"/>). It is allocated on the first read and rounded again on the first
    /// read after a write access (<see cref="Values"/>, <see cref="Value"/>, <see cref="Initialize"/>, <c>Load</c>, an
    /// optimiser step); compiled-in bfloat16 weights are read in place. A read while another thread is still writing the
    /// values may see some of its writes only until the next write access: train, then infer.
    /// </summary>
    public ReadOnlySpan<ushort> BFloat16Values
    {
        get
        {
            if (_values is null && _compiledBFloat16 != null) return new ReadOnlySpan<ushort>(_compiledBFloat16, Size);
            if (Volatile.Read(ref _bfloat16Version) != ValuesVersion) RoundBFloat16();
            return _bfloat16!.AsSpan(_bfloat16Start, Size);
        }
    }

    // Takes the version before reading the values, so a write access that comes in meanwhile makes the next read round again.
    private void RoundBFloat16()
    {
        lock (_roundLock)
        {
            long version = ValuesVersion;
            if (_bfloat16Version == version) return;
            ReadOnlySpan<float> values = ReadOnlyValues;
            if (_bfloat16 is null)
            {
                (ushort[] image, int start) = AllocateAligned<ushort>(Size);
                BFloat16.Round(values, image.AsSpan(start, Size));
                _bfloat16Start = start;
                Volatile.Write(ref _bfloat16, image);
            }
            else BFloat16.Round(values, _bfloat16.AsSpan(_bfloat16Start, Size));
            Volatile.Write(ref _bfloat16Version, version);
        }
    }

    private ReadOnlySpan<float> Widened()
    {
        if (Volatile.Read(ref _widened) is null)
        {
            lock (_copyLock)
            {
                if (_widened is null)
                {
                    (float[] widened, int start) = AllocateAligned<float>(Size);
                    BFloat16.Widen(new ReadOnlySpan<ushort>(_compiledBFloat16, Size), widened.AsSpan(start, Size));
                    _widenedStart = start;
                    Volatile.Write(ref _widened, widened);
                }
            }
        }
        return _widened!.AsSpan(_widenedStart, Size);
    }

    /// <summary>Accumulated gradients, same layout as <see cref="Values"/> (of compiled-in weights, allocated when first asked for).</summary>
    public Span<float> Gradients
    {
        get
        {
            if (_gradients is null) CopyCompiledIn();
            return _gradients!.AsSpan(_gradientsStart, Size);
        }
    }

    /// <summary>All non-trainable buffers (<see cref="TensorKind.Buffer"/>), 64-byte aligned; no gradient, untouched by optimisers. Writable (compiled-in weights are copied first).</summary>
    public Span<float> Buffers
    {
        get
        {
            if (_buffers is null) CopyCompiledIn();
            return _buffers!.AsSpan(_buffersStart, BufferSize);
        }
    }

    /// <summary>The buffers as inference reads them: <see cref="Buffers"/>, or the compiled-in ones in place (no copy).</summary>
    public ReadOnlySpan<float> ReadOnlyBuffers => _buffers is { } buffers ? buffers.AsSpan(_buffersStart, BufferSize) : new ReadOnlySpan<float>(_compiledBuffers, BufferSize);

    /// <summary>
    /// True while the values are read in place from weights compiled into the assembly; false once a write access
    /// (training, <c>Load</c>, <see cref="Initialize"/>, <see cref="Values"/>) has copied them into writable buffers,
    /// and for parameters that were never compiled in.
    /// </summary>
    public bool ReadsCompiledWeights => _values is null;

    /// <summary>
    /// Moves on every write access to the values (<see cref="Values"/>, and so <see cref="Value"/>, <see cref="Initialize"/>,
    /// <c>Load</c>, optimiser steps, the copy of compiled-in weights). Copies made from the values (the bfloat16 image,
    /// a network's packed weight panels, <see cref="Kernels.PackedPanels"/>) remember the version they were made from
    /// and are made again when it has moved. Writes through a span kept from before that copy was made are not seen:
    /// ask for <see cref="Values"/> again to write.
    /// </summary>
    public long ValuesVersion => Volatile.Read(ref _valuesVersion);

    // The first write access to compiled-in weights makes writable copies. Each start is set before its array is
    // published, and the values last, so a reader that finds an array finds its start, and _values non-null means all.
    private void CopyCompiledIn()
    {
        lock (_copyLock)
        {
            if (_values is null)
            {
                (float[] buffers, int buffersStart) = AllocateAligned<float>(BufferSize);
                (float[] gradients, int gradientsStart) = AllocateAligned<float>(Size);
                float[] values;
                int valuesStart;
                if (_compiledBFloat16 == null)
                {
                    (values, valuesStart) = AllocateAligned<float>(Size);
                    new ReadOnlySpan<float>(_compiledValues, Size).CopyTo(values.AsSpan(valuesStart, Size));
                }
                else
                {
                    // The widening ReadOnlyValues made (or makes now) becomes the values: nothing else holds it writable.
                    Widened();
                    (values, valuesStart) = (_widened!, _widenedStart);
                }
                new ReadOnlySpan<float>(_compiledBuffers, BufferSize).CopyTo(buffers.AsSpan(buffersStart, BufferSize));
                _gradientsStart = gradientsStart;
                Volatile.Write(ref _gradients, gradients);
                _buffersStart = buffersStart;
                Volatile.Write(ref _buffers, buffers);
                _valuesStart = valuesStart;
                Interlocked.Increment(ref _valuesVersion);
                Volatile.Write(ref _values, values);
            }
        }
    }

    /// <summary>The values of one tensor, in its stored layout: a slice of <see cref="Values"/> for a parameter, of <see cref="Buffers"/> for a buffer.</summary>
    public Span<float> Value(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return (tensor.Kind == TensorKind.Buffer ? Buffers : Values).Slice(tensor.Offset, tensor.Length);
    }

    /// <summary>The values of one tensor as inference reads them (<see cref="ReadOnlyValues"/> or <see cref="ReadOnlyBuffers"/>): no copy of compiled-in weights.</summary>
    public ReadOnlySpan<float> ReadOnlyValue(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return (tensor.Kind == TensorKind.Buffer ? ReadOnlyBuffers : ReadOnlyValues).Slice(tensor.Offset, tensor.Length);
    }

    /// <summary>The gradient of one parameter, in its stored layout.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="tensor"/> is a buffer, which has no gradient.</exception>
    public Span<float> Gradient(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Kind == TensorKind.Buffer)
            throw new InvalidOperationException($"Tensor '{tensor.Name}' is a buffer; buffers are not trained and have no gradient.");
        return Gradients.Slice(tensor.Offset, tensor.Length);
    }

    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Sets gradients to zero; call before each accumulation of a batch. Buffers are left alone.</summary>
    public void ZeroGradients() => Gradients.Clear();

    /// <summary>Fills every tensor, parameters and buffers, with its initialiser, deterministically for <paramref name="seed"/>.</summary>
    public void Initialize(int seed)
    {
        var rng = new Rng(seed);
        foreach (TensorInfo t in Tensors)
        {
            Span<float> v = Value(t);
            switch (t.Init)
            {
                case TensorInit.Zeros: v.Clear(); break;
                case TensorInit.Ones: v.Fill(1f); break;
                case TensorInit.KaimingUniform: FillUniform(v, MathF.Sqrt(6f / Math.Max(1, t.FanIn)), rng); break;
                case TensorInit.XavierUniform: FillUniform(v, MathF.Sqrt(6f / Math.Max(1, t.FanIn + t.FanOut)), rng); break;
                case TensorInit.NormalOne: FillNormal(v, 1f, rng); break;
                case TensorInit.NormalSmall: FillNormal(v, 0.02f, rng); break;
                case TensorInit.MinusOnes: v.Fill(-1f); break;
                default: throw new InvalidOperationException($"Tensor '{t.Name}': unknown initialiser {t.Init}.");
            }
        }
    }

    private static void FillUniform(Span<float> values, float bound, Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle(-bound, bound);
    }

    // Box–Muller from two draws per value (Rng.NextGaussian), so a tensor consumes 2·Length numbers of the stream.
    private static void FillNormal(Span<float> values, float deviation, Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = deviation * rng.NextGaussian();
    }

    // A pinned array on the pinned object heap never moves, so an offset computed from its address keeps
    // the data 64-byte aligned for the array's lifetime, without unmanaged memory to free.
    internal static unsafe (T[] Array, int Start) AllocateAligned<T>(int length) where T : unmanaged
    {
        T[] array = GC.AllocateArray<T>(length + 64 / sizeof(T), pinned: true);
        return (array, ToNextLine(ref MemoryMarshal.GetArrayDataReference(array)));
    }

    /// <summary>Elements from <paramref name="first"/> to the first one on a 64-byte boundary (0 when it is on one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe int ToNextLine<T>(ref T first) where T : unmanaged =>
        (int)((64 - (nuint)Unsafe.AsPointer(ref first) % 64) % 64 / (nuint)sizeof(T));
}
