using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl;

/// <summary>
/// All parameters of a network in one contiguous 64-byte-aligned buffer, with a gradient buffer of the
/// same layout. Each tensor starts on a 64-byte boundary so generated kernels can use aligned vectors.
/// </summary>
public sealed class Parameters
{
    private const int AlignFloats = 16; // 64 bytes: one cache line, one Vector512.

    private readonly float[] _values;
    private readonly float[] _gradients;
    private readonly int _valuesStart;
    private readonly int _gradientsStart;
    private readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);

    /// <summary>Lays out <paramref name="tensors"/> in order and allocates zeroed buffers.</summary>
    public Parameters(IReadOnlyList<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long size = 0;
        foreach (TensorInfo t in tensors)
        {
            if (!_byName.TryAdd(t.Name, t))
                throw new ArgumentException($"Duplicate tensor name '{t.Name}'.", nameof(tensors));
            t.Offset = checked((int)size);
            size += (t.Length + AlignFloats - 1) / AlignFloats * AlignFloats;
            ParameterCount += t.Length;
        }
        Size = checked((int)size);
        Tensors = tensors;
        (_values, _valuesStart) = AllocateAligned(Size);
        (_gradients, _gradientsStart) = AllocateAligned(Size);
    }

    /// <summary>The tensors, in declaration order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Number of trainable scalars (excludes alignment padding).</summary>
    public int ParameterCount { get; }

    /// <summary>Length of <see cref="Values"/> and <see cref="Gradients"/>, padding included (padding stays zero).</summary>
    public int Size { get; }

    /// <summary>All parameter values in the kernels' layout.</summary>
    public Span<float> Values => _values.AsSpan(_valuesStart, Size);

    /// <summary>Accumulated gradients, same layout as <see cref="Values"/>.</summary>
    public Span<float> Gradients => _gradients.AsSpan(_gradientsStart, Size);

    /// <summary>The values of one tensor, in its stored layout.</summary>
    public Span<float> Value(TensorInfo tensor) => Values.Slice(tensor.Offset, tensor.Length);

    /// <summary>The gradient of one tensor, in its stored layout.</summary>
    public Span<float> Gradient(TensorInfo tensor) => Gradients.Slice(tensor.Offset, tensor.Length);

    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Sets gradients to zero; call before each accumulation of a batch.</summary>
    public void ZeroGradients() => Gradients.Clear();

    /// <summary>Fills every tensor with its initialiser, deterministically for <paramref name="seed"/>.</summary>
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
                default: throw new InvalidOperationException($"Tensor '{t.Name}': unknown initialiser {t.Init}.");
            }
        }
    }

    private static void FillUniform(Span<float> values, float bound, Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle(-bound, bound);
    }

    // A pinned array on the pinned object heap never moves, so an offset computed from its address keeps
    // the data 64-byte aligned for the array's lifetime, without unmanaged memory to free.
    private static unsafe (float[] Array, int Start) AllocateAligned(int length)
    {
        float[] array = GC.AllocateArray<float>(length + AlignFloats, pinned: true);
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        int start = (int)((64 - address % 64) % 64 / sizeof(float));
        return (array, start);
    }
}
