using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

/// <summary>
/// A generated network's per-thread batch-1 scratch (activations too large for the stack): allocated once per thread,
/// zeroed then, pinned and 64-byte aligned, so a region starting on a multiple of 16 floats starts on a cache line.
/// </summary>
public sealed class AlignedScratch
{
    private readonly float[] _array;
    private readonly int _start;
    private readonly int _length;

    /// <summary>Allocates <paramref name="floats"/> zeroed floats starting on a 64-byte boundary.</summary>
    public AlignedScratch(int floats)
    {
        (_array, _start) = Parameters.AllocateAligned<float>(floats);
        _length = floats;
    }

    /// <summary>The scratch.</summary>
    public Span<float> Floats => new(_array, _start, _length);

    /// <summary>Floats to ask of <c>stackalloc</c> beyond the scratch, for <see cref="Align"/> to start it on a 64-byte boundary.</summary>
    public const int StackSlack = 15;

    /// <summary>
    /// The <paramref name="floats"/> of <paramref name="raw"/> (<paramref name="floats"/> + <see cref="StackSlack"/> of
    /// them) that start on a 64-byte boundary: a generated network's stack scratch, whose regions start on multiples of
    /// 16 floats, so each region starts on a cache line wherever the stack is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<float> Align(Span<float> raw, int floats) =>
        raw.Slice(Parameters.ToNextLine(ref MemoryMarshal.GetReference(raw)), floats);
}
