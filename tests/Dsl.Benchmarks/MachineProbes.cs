using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace Dsl.Benchmarks;

/// <summary>
/// Not peers: what this core can do, measured in the same run as the cases, for the report's peak and
/// roofline. <see cref="FmaPeak"/> runs independent fused multiply-adds on the widest accelerated vector
/// (Vector512, else Vector256, else Vector128) and gives GFLOP/s; <see cref="ReadL2"/> and <see cref="ReadL3"/>
/// sum a 256 KB and an 8 MB buffer with eight vector accumulators and give GB/s.
/// </summary>
public class MachineProbes
{
    /// <summary>Bytes the L2 read probe sums: a quarter of the 1 MB L2.</summary>
    public const int L2Bytes = 256 * 1024;

    /// <summary>Bytes the L3 read probe sums: 8x the L2, well inside L3.</summary>
    public const int L3Bytes = 8 * 1024 * 1024;

    /// <summary>Loop trips of <see cref="FmaPeak"/>.</summary>
    public const int FmaIterations = 4096;

    /// <summary>Independent FMA chains: 12 covers 2 pipes x 4 cycles of latency with room, and fits 16 registers with the two operands.</summary>
    public const int FmaChains = 12;

    private ReadBuffer? _l2;
    private ReadBuffer? _l3;
    private float _multiplier = 0.999f;
    private float _addend = 0.001f;

    /// <summary>Width of the vectors the probes use, in bits.</summary>
    public static int VectorBits => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>Floating-point operations of one <see cref="FmaPeak"/> call on this process's vector width (2 per lane per FMA).</summary>
    public static long FmaFlopsPerCall => (long)FmaIterations * FmaChains * (VectorBits / 32) * 2;

    /// <summary>Allocates and fills the read buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _l2 = new ReadBuffer(L2Bytes / sizeof(float));
        _l3 = new ReadBuffer(L3Bytes / sizeof(float));
        _multiplier = 0.999f;
        _addend = 0.001f;
    }

    /// <summary>
    /// <see cref="FmaIterations"/> x <see cref="FmaChains"/> vector FMAs, <c>acc = acc * m + c</c> (m, c from fields,
    /// so the JIT cannot fold them; the chains converge to 1 and stay normal); returns their sum so the work is live.
    /// </summary>
    [Benchmark]
    public float FmaPeak() => VectorBits switch
    {
        512 => Fma512(_multiplier, _addend),
        256 => Fma256(_multiplier, _addend),
        _ => Fma128(_multiplier, _addend),
    };

    /// <summary>Sums <see cref="L2Bytes"/> (256 KB, resident in L2 after the first call).</summary>
    [Benchmark]
    public float ReadL2() => _l2!.Sum();

    /// <summary>Sums <see cref="L3Bytes"/> (8 MB, larger than L2, so served from L3).</summary>
    [Benchmark]
    public float ReadL3() => _l3!.Sum();

    private static float Fma512(float multiplier, float addend)
    {
        Vector512<float> m = Vector512.Create(multiplier), c = Vector512.Create(addend);
        Vector512<float> a0 = c, a1 = c * 2, a2 = c * 3, a3 = c * 4, a4 = c * 5, a5 = c * 6;
        Vector512<float> a6 = c * 7, a7 = c * 8, a8 = c * 9, a9 = c * 10, a10 = c * 11, a11 = c * 12;
        for (int i = 0; i < FmaIterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c);
            a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c);
            a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c);
            a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c);
            a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c);
            a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c);
            a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    private static float Fma256(float multiplier, float addend)
    {
        Vector256<float> m = Vector256.Create(multiplier), c = Vector256.Create(addend);
        Vector256<float> a0 = c, a1 = c * 2, a2 = c * 3, a3 = c * 4, a4 = c * 5, a5 = c * 6;
        Vector256<float> a6 = c * 7, a7 = c * 8, a8 = c * 9, a9 = c * 10, a10 = c * 11, a11 = c * 12;
        for (int i = 0; i < FmaIterations; i++)
        {
            a0 = Fma(a0, m, c);
            a1 = Fma(a1, m, c);
            a2 = Fma(a2, m, c);
            a3 = Fma(a3, m, c);
            a4 = Fma(a4, m, c);
            a5 = Fma(a5, m, c);
            a6 = Fma(a6, m, c);
            a7 = Fma(a7, m, c);
            a8 = Fma(a8, m, c);
            a9 = Fma(a9, m, c);
            a10 = Fma(a10, m, c);
            a11 = Fma(a11, m, c);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    private static float Fma128(float multiplier, float addend)
    {
        Vector128<float> m = Vector128.Create(multiplier), c = Vector128.Create(addend);
        Vector128<float> a0 = c, a1 = c * 2, a2 = c * 3, a3 = c * 4, a4 = c * 5, a5 = c * 6;
        Vector128<float> a6 = c * 7, a7 = c * 8, a8 = c * 9, a9 = c * 10, a10 = c * 11, a11 = c * 12;
        for (int i = 0; i < FmaIterations; i++)
        {
            a0 = Fma(a0, m, c);
            a1 = Fma(a1, m, c);
            a2 = Fma(a2, m, c);
            a3 = Fma(a3, m, c);
            a4 = Fma(a4, m, c);
            a5 = Fma(a5, m, c);
            a6 = Fma(a6, m, c);
            a7 = Fma(a7, m, c);
            a8 = Fma(a8, m, c);
            a9 = Fma(a9, m, c);
            a10 = Fma(a10, m, c);
            a11 = Fma(a11, m, c);
        }
        return Vector128.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    // The FMA instruction where the hardware has one; multiply and add otherwise (the probe then measures that).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c) : a * b + c;
}

/// <summary>A 64-byte aligned, pinned float buffer that <see cref="Sum"/> reads as fast as the core can.</summary>
public sealed class ReadBuffer
{
    private readonly float[] _array;
    private readonly int _start;
    private readonly int _length;

    /// <summary>Allocates <paramref name="length"/> floats (a multiple of 128), 64-byte aligned, filled with small values.</summary>
    public unsafe ReadBuffer(int length)
    {
        if (length % 128 != 0) throw new ArgumentException("The length must be a multiple of 128 floats.", nameof(length));
        _array = GC.AllocateArray<float>(length + 16, pinned: true);
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        _start = (int)((64 - address % 64) % 64 / sizeof(float));
        _length = length;
        Span<float> values = _array.AsSpan(_start, _length);
        for (int i = 0; i < values.Length; i++) values[i] = (i % 1024) * 1e-6f;
    }

    /// <summary>The sum of the buffer with eight independent accumulators of the widest accelerated vector.</summary>
    public float Sum()
    {
        ref float r = ref MemoryMarshal.GetReference(_array.AsSpan(_start, _length));
        nuint n = (nuint)_length;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nuint i = 0; i < n; i += 128)
            {
                a0 += Vector512.LoadUnsafe(ref r, i);
                a1 += Vector512.LoadUnsafe(ref r, i + 16);
                a2 += Vector512.LoadUnsafe(ref r, i + 32);
                a3 += Vector512.LoadUnsafe(ref r, i + 48);
                a4 += Vector512.LoadUnsafe(ref r, i + 64);
                a5 += Vector512.LoadUnsafe(ref r, i + 80);
                a6 += Vector512.LoadUnsafe(ref r, i + 96);
                a7 += Vector512.LoadUnsafe(ref r, i + 112);
            }
            return Vector512.Sum((a0 + a1) + (a2 + a3) + ((a4 + a5) + (a6 + a7)));
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nuint i = 0; i < n; i += 64)
            {
                a0 += Vector256.LoadUnsafe(ref r, i);
                a1 += Vector256.LoadUnsafe(ref r, i + 8);
                a2 += Vector256.LoadUnsafe(ref r, i + 16);
                a3 += Vector256.LoadUnsafe(ref r, i + 24);
                a4 += Vector256.LoadUnsafe(ref r, i + 32);
                a5 += Vector256.LoadUnsafe(ref r, i + 40);
                a6 += Vector256.LoadUnsafe(ref r, i + 48);
                a7 += Vector256.LoadUnsafe(ref r, i + 56);
            }
            return Vector256.Sum((a0 + a1) + (a2 + a3) + ((a4 + a5) + (a6 + a7)));
        }
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nuint i = 0; i < n; i += 32)
            {
                a0 += Vector128.LoadUnsafe(ref r, i);
                a1 += Vector128.LoadUnsafe(ref r, i + 4);
                a2 += Vector128.LoadUnsafe(ref r, i + 8);
                a3 += Vector128.LoadUnsafe(ref r, i + 12);
                a4 += Vector128.LoadUnsafe(ref r, i + 16);
                a5 += Vector128.LoadUnsafe(ref r, i + 20);
                a6 += Vector128.LoadUnsafe(ref r, i + 24);
                a7 += Vector128.LoadUnsafe(ref r, i + 28);
            }
            return Vector128.Sum((a0 + a1) + (a2 + a3) + ((a4 + a5) + (a6 + a7)));
        }
    }
}
