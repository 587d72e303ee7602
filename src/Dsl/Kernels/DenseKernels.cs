using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// The parts of a generated matrix product that gain nothing from being written per shape, so every product calls
/// these: the bias gradient, transposes (the weight for the input gradient, a convolution's pixel rows to channel
/// planes), and dL/dz's scaling for a fused SGD step.
/// </summary>
public static class DenseKernels
{
    /// <summary>
    /// Copies <paramref name="count"/> panels of <paramref name="width"/> consecutive outputs, from output
    /// <paramref name="first"/> on, of the input-major W [<paramref name="inputs"/>, <paramref name="outputs"/>] to
    /// <paramref name="panels"/>: panel j holds outputs first + j·width .. first + (j + 1)·width − 1 of input 0, then of
    /// input 1, and so on, the order a batched micro-tile reads them (<see cref="PackedPanels"/>).
    /// </summary>
    public static void PackPanels(ref float w, int inputs, int outputs, int first, int width, int count, ref float panels)
    {
        for (nint j = 0; j < count; j++)
            for (nint i = 0; i < inputs; i++)
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref w, i * outputs + first + j * width), width)
                    .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref panels, (j * inputs + i) * width), width));
    }

    /// <summary>
    /// Asks for the cache line holding <paramref name="value"/> to be brought into L2 ahead of use (x86's
    /// <c>prefetcht1</c>; nothing elsewhere). A packed kernel prefetches the next chunk of its weight panel while it
    /// copies this one, so the copy reads L2, not L3, and the memory traffic overlaps the arithmetic. The address
    /// may lie past the data: a prefetch never faults.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchToL2<T>(ref T value)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported) System.Runtime.Intrinsics.X86.Sse.Prefetch1(Unsafe.AsPointer(ref value));
    }

    /// <summary>
    /// Asks for the cache line holding <paramref name="value"/> to come into L1 (x86 <c>prefetcht0</c>; nothing elsewhere):
    /// a packed micro-tile asks for its panel's row 16 inputs ahead (8-13 % faster products on the Intel Xeon of
    /// docs/benchmarks.md, as MLAS's kernels do). It may lie past the data: a prefetch never faults.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchToL1<T>(ref T value)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported) System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref value));
    }

    /// <summary>
    /// <c>scaled[i] = scale · g[i]</c> for <paramref name="n"/> floats (in place when both are the same): dL/dz times
    /// −lr, so a weight-gradient product adds a fused SGD step to the weight itself. Returns <paramref name="scaled"/>.
    /// </summary>
    public static ref float Scale(ref float g, nuint n, float scale, ref float scaled)
    {
        SequenceKernels.Scale(ref g, ref scaled, n, scale);
        return ref scaled;
    }

    /// <summary>
    /// <c>gb[o] += Σ_s g[s·columns + o]</c> for <paramref name="rows"/> rows of <paramref name="columns"/>: dL/db. Each
    /// column adds its rows in order at any vector width, so the result is the same on every machine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateBiasGradient(ref float g, nuint rows, nuint columns, ref float gb)
    {
        nuint o = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Four vectors per pass over the rows: four independent sums keep the adds from waiting on each other.
            for (; o + 64 <= columns; o += 64)
            {
                Vector512<float> a0 = Vector512.LoadUnsafe(ref gb, o), a1 = Vector512.LoadUnsafe(ref gb, o + 16);
                Vector512<float> a2 = Vector512.LoadUnsafe(ref gb, o + 32), a3 = Vector512.LoadUnsafe(ref gb, o + 48);
                for (nuint s = 0; s < rows; s++)
                {
                    ref float gs = ref Unsafe.Add(ref g, s * columns + o);
                    a0 += Vector512.LoadUnsafe(ref gs);
                    a1 += Vector512.LoadUnsafe(ref gs, 16);
                    a2 += Vector512.LoadUnsafe(ref gs, 32);
                    a3 += Vector512.LoadUnsafe(ref gs, 48);
                }
                a0.StoreUnsafe(ref gb, o);
                a1.StoreUnsafe(ref gb, o + 16);
                a2.StoreUnsafe(ref gb, o + 32);
                a3.StoreUnsafe(ref gb, o + 48);
            }
            for (; o + 16 <= columns; o += 16)
            {
                Vector512<float> a = Vector512.LoadUnsafe(ref gb, o);
                for (nuint s = 0; s < rows; s++) a += Vector512.LoadUnsafe(ref g, s * columns + o);
                a.StoreUnsafe(ref gb, o);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; o + 32 <= columns; o += 32)
            {
                Vector256<float> a0 = Vector256.LoadUnsafe(ref gb, o), a1 = Vector256.LoadUnsafe(ref gb, o + 8);
                Vector256<float> a2 = Vector256.LoadUnsafe(ref gb, o + 16), a3 = Vector256.LoadUnsafe(ref gb, o + 24);
                for (nuint s = 0; s < rows; s++)
                {
                    ref float gs = ref Unsafe.Add(ref g, s * columns + o);
                    a0 += Vector256.LoadUnsafe(ref gs);
                    a1 += Vector256.LoadUnsafe(ref gs, 8);
                    a2 += Vector256.LoadUnsafe(ref gs, 16);
                    a3 += Vector256.LoadUnsafe(ref gs, 24);
                }
                a0.StoreUnsafe(ref gb, o);
                a1.StoreUnsafe(ref gb, o + 8);
                a2.StoreUnsafe(ref gb, o + 16);
                a3.StoreUnsafe(ref gb, o + 24);
            }
            for (; o + 8 <= columns; o += 8)
            {
                Vector256<float> a = Vector256.LoadUnsafe(ref gb, o);
                for (nuint s = 0; s < rows; s++) a += Vector256.LoadUnsafe(ref g, s * columns + o);
                a.StoreUnsafe(ref gb, o);
            }
        }
        if (Vector128.IsHardwareAccelerated)
            for (; o + 4 <= columns; o += 4)
            {
                Vector128<float> a = Vector128.LoadUnsafe(ref gb, o);
                for (nuint s = 0; s < rows; s++) a += Vector128.LoadUnsafe(ref g, s * columns + o);
                a.StoreUnsafe(ref gb, o);
            }
        for (; o < columns; o++)
        {
            float a = Unsafe.Add(ref gb, o);
            for (nuint s = 0; s < rows; s++) a += Unsafe.Add(ref g, s * columns + o);
            Unsafe.Add(ref gb, o) = a;
        }
    }

    /// <summary>
    /// <c>transposed[g][n, k] = w[g][k, n]</c> for each of <paramref name="groups"/> input-major <c>[inputs, outputs]</c>
    /// weights: W^T, whose rows the input gradient's product streams.
    /// </summary>
    public static void TransposeWeights(ref float w, ref float transposed, nuint groups, nuint inputs, nuint outputs)
    {
        for (nuint g = 0; g < groups; g++)
            Transpose(ref Unsafe.Add(ref w, g * inputs * outputs), ref Unsafe.Add(ref transposed, g * inputs * outputs), inputs, outputs);
    }

    /// <summary>
    /// <c>destination[c, r] = source[r, c]</c> for the packed row-major <c>[rows, columns]</c> <paramref name="source"/>:
    /// a weight's transpose, and a convolution's pixel-major product rows to channel planes and back.
    /// </summary>
    public static void Transpose(ref float source, ref float destination, nuint rows, nuint columns) =>
        Transpose(ref source, columns, ref destination, rows, rows, columns);

    /// <summary>
    /// <c>destination[c·destinationStride + r] = source[r·sourceStride + c]</c> for <c>r &lt; rows</c>,
    /// <c>c &lt; columns</c>: the transpose of a block of a wider matrix (an attention head's K). Blocks of 8 x 8 move
    /// as eight 256-bit rows through 24 in-register shuffles (the strided scalar copy it replaces was an eighth of a
    /// CNN's training step); the edges that do not fill a block are copied one float at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(ref float source, nuint sourceStride, ref float destination, nuint destinationStride, nuint rows, nuint columns)
    {
        nuint r = 0;
        if (Avx.IsSupported)
            for (; r + 8 <= rows; r += 8)
            {
                nuint c = 0;
                for (; c + 8 <= columns; c += 8)
                    Transpose8x8(ref Unsafe.Add(ref source, r * sourceStride + c), sourceStride, ref Unsafe.Add(ref destination, c * destinationStride + r), destinationStride);
                for (; c < columns; c++)
                    for (nuint i = r; i < r + 8; i++)
                        Unsafe.Add(ref destination, c * destinationStride + i) = Unsafe.Add(ref source, i * sourceStride + c);
            }
        for (; r < rows; r++)
            for (nuint c = 0; c < columns; c++)
                Unsafe.Add(ref destination, c * destinationStride + r) = Unsafe.Add(ref source, r * sourceStride + c);
    }

    /// <summary>
    /// <c>destination[c·destinationStride + r] = tile[16·r + c]</c> for the 16 × 16 <paramref name="tile"/> (rows of
    /// 16 floats), <c>r &lt; rows</c>: a direct convolution's tile with the output channels in the lanes (one row per
    /// output position) into the channel planes. Rows past <paramref name="rows"/> are not stored (masked lanes), so
    /// they may hold anything. Requires AVX-512.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void TransposeTile16(ref float tile, ref float destination, nuint destinationStride, int rows)
    {
        var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();
        // Pairs of rows interleaved, then quads: a{j} holds column j of each 128-bit lane for rows 0..3, b{j} rows 4..7, ...
        Quads(ref tile, out var a0, out var a1, out var a2, out var a3);
        Quads(ref Unsafe.Add(ref tile, 64), out var b0, out var b1, out var b2, out var b3);
        Quads(ref Unsafe.Add(ref tile, 128), out var c0, out var c1, out var c2, out var c3);
        Quads(ref Unsafe.Add(ref tile, 192), out var d0, out var d1, out var d2, out var d3);
        fixed (float* y = &destination)
        {
            Columns(y, destinationStride, mask, 0, a0, b0, c0, d0);
            Columns(y, destinationStride, mask, 1, a1, b1, c1, d1);
            Columns(y, destinationStride, mask, 2, a2, b2, c2, d2);
            Columns(y, destinationStride, mask, 3, a3, b3, c3, d3);
        }
    }

    // Rows r0..r3 of a tile (16 floats apart) to u{j}: column j of each 128-bit lane, the four rows side by side.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quads(ref float rows, out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3)
    {
        Vector512<float> r0 = Vector512.LoadUnsafe(ref rows), r1 = Vector512.LoadUnsafe(ref rows, 16),
            r2 = Vector512.LoadUnsafe(ref rows, 32), r3 = Vector512.LoadUnsafe(ref rows, 48);
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1), t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        u0 = Avx512F.Shuffle(t0, t2, 0x44);
        u1 = Avx512F.Shuffle(t0, t2, 0xEE);
        u2 = Avx512F.Shuffle(t1, t3, 0x44);
        u3 = Avx512F.Shuffle(t1, t3, 0xEE);
    }

    // Columns j, j + 4, j + 8 and j + 12 from lanes 0..3 of a (rows 0-3), b (4-7), c (8-11) and d (12-15).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Columns(float* y, nuint stride, Vector512<float> mask, nuint j, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        Vector512<float> ab02 = Avx512F.Shuffle4x128(a, b, 0x88), ab13 = Avx512F.Shuffle4x128(a, b, 0xDD);
        Vector512<float> cd02 = Avx512F.Shuffle4x128(c, d, 0x88), cd13 = Avx512F.Shuffle4x128(c, d, 0xDD);
        Avx512F.MaskStore(y + j * stride, mask, Avx512F.Shuffle4x128(ab02, cd02, 0x88));
        Avx512F.MaskStore(y + (j + 4) * stride, mask, Avx512F.Shuffle4x128(ab13, cd13, 0x88));
        Avx512F.MaskStore(y + (j + 8) * stride, mask, Avx512F.Shuffle4x128(ab02, cd02, 0xDD));
        Avx512F.MaskStore(y + (j + 12) * stride, mask, Avx512F.Shuffle4x128(ab13, cd13, 0xDD));
    }

    // Rows a0..a7 (stride sourceStride) to columns: pairs interleaved (unpack), then quads (shuffle), then the
    // 128-bit halves exchanged; the classic AVX sequence.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float source, nuint sourceStride, ref float destination, nuint destinationStride)
    {
        Vector256<float> a0 = Vector256.LoadUnsafe(ref source), a1 = Vector256.LoadUnsafe(ref source, sourceStride),
            a2 = Vector256.LoadUnsafe(ref source, 2 * sourceStride), a3 = Vector256.LoadUnsafe(ref source, 3 * sourceStride),
            a4 = Vector256.LoadUnsafe(ref source, 4 * sourceStride), a5 = Vector256.LoadUnsafe(ref source, 5 * sourceStride),
            a6 = Vector256.LoadUnsafe(ref source, 6 * sourceStride), a7 = Vector256.LoadUnsafe(ref source, 7 * sourceStride);
        Vector256<float> t0 = Avx.UnpackLow(a0, a1), t1 = Avx.UnpackHigh(a0, a1), t2 = Avx.UnpackLow(a2, a3), t3 = Avx.UnpackHigh(a2, a3),
            t4 = Avx.UnpackLow(a4, a5), t5 = Avx.UnpackHigh(a4, a5), t6 = Avx.UnpackLow(a6, a7), t7 = Avx.UnpackHigh(a6, a7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE),
            s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref destination);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref destination, destinationStride);
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref destination, 2 * destinationStride);
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref destination, 3 * destinationStride);
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref destination, 4 * destinationStride);
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref destination, 5 * destinationStride);
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref destination, 6 * destinationStride);
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref destination, 7 * destinationStride);
    }
}
