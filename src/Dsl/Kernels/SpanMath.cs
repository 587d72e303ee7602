using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

// Reductions and affine maps over one contiguous run of floats, with a Vector512/256/128/scalar ladder. Sums
// widen each float to double before adding, so a long run accumulates without float rounding, except the ones named
// Single (a layer norm's, whose correction keeps them accurate; see NormKernels). The element-wise
// maps go down the ladder (widest loop, then one narrower step each, then scalar) instead of ending with an
// overlapping last vector, so they are safe in place.
internal static class SpanMath
{
    /// <summary><c>y_i += a · x_i</c> over <paramref name="n"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(ref float x, float a, ref float y, nuint n)
    {
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref x, i), va, Vector256.LoadUnsafe(ref y, i)).StoreUnsafe(ref y, i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref x, i), va, Vector128.LoadUnsafe(ref y, i)).StoreUnsafe(ref y, i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) += a * Unsafe.Add(ref x, i);
    }

    /// <summary>Σ x, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum(ref float x, nuint n)
    {
        nuint i = 0;
        double total = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<double> a0 = Vector512<double>.Zero, a1 = Vector512<double>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
                a0 += lo;
                a1 += hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<double> a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
                a0 += lo;
                a1 += hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<double> a0 = Vector128<double>.Zero, a1 = Vector128<double>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                (Vector128<double> lo, Vector128<double> hi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
                a0 += lo;
                a1 += hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        for (; i < n; i++) total += Unsafe.Add(ref x, i);
        return total;
    }

    /// <summary>Σ x, in float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumSingle(ref float x, nuint n)
    {
        nuint i = 0;
        float total = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> a = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) a += Vector512.LoadUnsafe(ref x, i);
            total += HorizontalSum(a);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> a = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a += Vector256.LoadUnsafe(ref x, i);
            total += HorizontalSum(a);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> a = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4) a += Vector128.LoadUnsafe(ref x, i);
            total += HorizontalSum(a);
        }
        for (; i < n; i++) total += Unsafe.Add(ref x, i);
        return total;
    }

    /// <summary>(Σ (x − center), Σ (x − center)²), in float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Sum, float SumOfSquares) SumDeviationsSingle(ref float x, nuint n, float center)
    {
        nuint i = 0;
        float sum = 0, squares = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> c = Vector512.Create(center), a = Vector512<float>.Zero, aa = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> d = Vector512.LoadUnsafe(ref x, i) - c;
                a += d;
                aa += d * d;
            }
            sum += HorizontalSum(a);
            squares += HorizontalSum(aa);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> c = Vector256.Create(center), a = Vector256<float>.Zero, aa = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> d = Vector256.LoadUnsafe(ref x, i) - c;
                a += d;
                aa += d * d;
            }
            sum += HorizontalSum(a);
            squares += HorizontalSum(aa);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> c = Vector128.Create(center), a = Vector128<float>.Zero, aa = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> d = Vector128.LoadUnsafe(ref x, i) - c;
                a += d;
                aa += d * d;
            }
            sum += HorizontalSum(a);
            squares += HorizontalSum(aa);
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref x, i) - center;
            sum += d;
            squares += d * d;
        }
        return (sum, squares);
    }

    /// <summary>Σ (x − center)², in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumSquaredDeviations(ref float x, nuint n, double center)
    {
        nuint i = 0;
        double total = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var c = Vector512.Create(center);
            Vector512<double> a0 = Vector512<double>.Zero, a1 = Vector512<double>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
                lo -= c;
                hi -= c;
                a0 += lo * lo;
                a1 += hi * hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var c = Vector256.Create(center);
            Vector256<double> a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
                lo -= c;
                hi -= c;
                a0 += lo * lo;
                a1 += hi * hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var c = Vector128.Create(center);
            Vector128<double> a0 = Vector128<double>.Zero, a1 = Vector128<double>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                (Vector128<double> lo, Vector128<double> hi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
                lo -= c;
                hi -= c;
                a0 += lo * lo;
                a1 += hi * hi;
            }
            total += HorizontalSum(a0 + a1);
        }
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref x, i) - center;
            total += d * d;
        }
        return total;
    }

    /// <summary>(Σ dy, Σ dy·(x − center)), in double.</summary>
    public static (double SumDy, double SumDyCentered) SumGradient(ref float dy, ref float x, nuint n, double center)
    {
        nuint i = 0;
        double sumDy = 0, sumDyX = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var c = Vector512.Create(center);
            Vector512<double> s0 = Vector512<double>.Zero, s1 = Vector512<double>.Zero, p0 = Vector512<double>.Zero, p1 = Vector512<double>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                (Vector512<double> glo, Vector512<double> ghi) = Vector512.Widen(Vector512.LoadUnsafe(ref dy, i));
                (Vector512<double> xlo, Vector512<double> xhi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
                s0 += glo;
                s1 += ghi;
                p0 += glo * (xlo - c);
                p1 += ghi * (xhi - c);
            }
            sumDy += Vector512.Sum(s0 + s1);
            sumDyX += Vector512.Sum(p0 + p1);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var c = Vector256.Create(center);
            Vector256<double> s0 = Vector256<double>.Zero, s1 = Vector256<double>.Zero, p0 = Vector256<double>.Zero, p1 = Vector256<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                (Vector256<double> glo, Vector256<double> ghi) = Vector256.Widen(Vector256.LoadUnsafe(ref dy, i));
                (Vector256<double> xlo, Vector256<double> xhi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
                s0 += glo;
                s1 += ghi;
                p0 += glo * (xlo - c);
                p1 += ghi * (xhi - c);
            }
            sumDy += Vector256.Sum(s0 + s1);
            sumDyX += Vector256.Sum(p0 + p1);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var c = Vector128.Create(center);
            Vector128<double> s0 = Vector128<double>.Zero, s1 = Vector128<double>.Zero, p0 = Vector128<double>.Zero, p1 = Vector128<double>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                (Vector128<double> glo, Vector128<double> ghi) = Vector128.Widen(Vector128.LoadUnsafe(ref dy, i));
                (Vector128<double> xlo, Vector128<double> xhi) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
                s0 += glo;
                s1 += ghi;
                p0 += glo * (xlo - c);
                p1 += ghi * (xhi - c);
            }
            sumDy += Vector128.Sum(s0 + s1);
            sumDyX += Vector128.Sum(p0 + p1);
        }
        for (; i < n; i++)
        {
            double g = Unsafe.Add(ref dy, i);
            sumDy += g;
            sumDyX += g * (Unsafe.Add(ref x, i) - center);
        }
        return (sumDy, sumDyX);
    }

    /// <summary><c>y = (x − center)·scale + shift</c>; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void CenterScaleShift(ref float x, ref float y, nuint n, float center, float scale, float shift)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> c = Vector512.Create(center), a = Vector512.Create(scale), b = Vector512.Create(shift);
            for (; i + 16 <= n; i += 16) ((Vector512.LoadUnsafe(ref x, i) - c) * a + b).StoreUnsafe(ref y, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> c = Vector256.Create(center), a = Vector256.Create(scale), b = Vector256.Create(shift);
            for (; i + 8 <= n; i += 8) ((Vector256.LoadUnsafe(ref x, i) - c) * a + b).StoreUnsafe(ref y, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> c = Vector128.Create(center), a = Vector128.Create(scale), b = Vector128.Create(shift);
            for (; i + 4 <= n; i += 4) ((Vector128.LoadUnsafe(ref x, i) - c) * a + b).StoreUnsafe(ref y, i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) = (Unsafe.Add(ref x, i) - center) * scale + shift;
    }

    /// <summary><c>dx = a·dy − k·(x − center) − b</c>; <paramref name="dx"/> may be <paramref name="dy"/>.</summary>
    public static void BatchNormInputGradient(ref float x, ref float dy, ref float dx, nuint n, float center, float a, float k, float b)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> c = Vector512.Create(center), av = Vector512.Create(a), kv = Vector512.Create(k), bv = Vector512.Create(b);
            for (; i + 16 <= n; i += 16)
                (av * Vector512.LoadUnsafe(ref dy, i) - kv * (Vector512.LoadUnsafe(ref x, i) - c) - bv).StoreUnsafe(ref dx, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> c = Vector256.Create(center), av = Vector256.Create(a), kv = Vector256.Create(k), bv = Vector256.Create(b);
            for (; i + 8 <= n; i += 8)
                (av * Vector256.LoadUnsafe(ref dy, i) - kv * (Vector256.LoadUnsafe(ref x, i) - c) - bv).StoreUnsafe(ref dx, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> c = Vector128.Create(center), av = Vector128.Create(a), kv = Vector128.Create(k), bv = Vector128.Create(b);
            for (; i + 4 <= n; i += 4)
                (av * Vector128.LoadUnsafe(ref dy, i) - kv * (Vector128.LoadUnsafe(ref x, i) - c) - bv).StoreUnsafe(ref dx, i);
        }
        for (; i < n; i++) Unsafe.Add(ref dx, i) = a * Unsafe.Add(ref dy, i) - k * (Unsafe.Add(ref x, i) - center) - b;
    }

    // Horizontal reductions as a tree of halvings, ending in two in-register shuffles. VectorNNN.Sum adds its 128-bit
    // quarters one after another through scalars (27 instructions for a Vector512<float>, against 8 here); a
    // 16-float softmax row or a 64-float norm row pays that latency once per row. The order of the additions
    // differs from VectorNNN.Sum's, within a float's rounding.

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalSum(Vector512<float> v) => HorizontalSum(v.GetLower() + v.GetUpper());

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalSum(Vector256<float> v) => HorizontalSum(v.GetLower() + v.GetUpper());

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalSum(Vector128<float> v)
    {
        v += Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1));
        v += Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2));
        return v.ToScalar();
    }

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double HorizontalSum(Vector512<double> v) => HorizontalSum(v.GetLower() + v.GetUpper());

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double HorizontalSum(Vector256<double> v) => HorizontalSum(v.GetLower() + v.GetUpper());

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double HorizontalSum(Vector128<double> v) => (v + Vector128.Shuffle(v, Vector128.Create(1L, 0L))).ToScalar();

    // The largest lane, by the native max instruction (x86's maxps): the IEEE Max costs vrangeps and two
    // vfixupimmps per step on AVX-512, a 10-cycle chain. Where a lane is NaN the result is platform-specific
    // (NaN or another lane); callers must not depend on it (a softmax row with a NaN is NaN either way).

    /// <summary>The largest lane; unspecified where a lane is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalMaxNative(Vector512<float> v) => HorizontalMaxNative(Vector256.MaxNative(v.GetLower(), v.GetUpper()));

    /// <summary>The largest lane; unspecified where a lane is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalMaxNative(Vector256<float> v) => HorizontalMaxNative(Vector128.MaxNative(v.GetLower(), v.GetUpper()));

    /// <summary>The largest lane; unspecified where a lane is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalMaxNative(Vector128<float> v)
    {
        v = Vector128.MaxNative(v, Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));
        v = Vector128.MaxNative(v, Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2)));
        return v.ToScalar();
    }

    // Sixteen rows' horizontal reductions at once (a softmax's rows, a layer norm's): a tree of shuffles between
    // rows instead of sixteen chains of shuffles within one, each level pairing lanes as the single-vector
    // reductions above do (k with k + 8, then k + 4, k + 2, k + 1), so each row's result is the same float.

    /// <summary>The lane sums of the 16 vectors at <paramref name="m"/> (row r at 16 r), row r's in lane (r % 4)·4 + r / 4 (see <see cref="RowOf16(Vector512{float}, int)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HorizontalSums16(ref float m) => Reduce16<AddOp>(ref m);

    /// <summary>The largest lane of each of the 16 vectors at <paramref name="m"/>, placed as <see cref="HorizontalSums16(ref float)"/> places sums; unspecified where a lane is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HorizontalMaxNative16(ref float m) => Reduce16<MaxNativeOp>(ref m);

    /// <summary>Row r's result of a 16-row reduction, in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RowOf16(Vector512<float> reduced, int r) => Avx512F.PermuteVar16x32(reduced, Vector512.Create((r & 3) << 2 | r >> 2)); // r % 4 · 4 + r / 4 without signed division's fix-ups: rows are 0..15

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce16<TOp>(ref float m) where TOp : struct, IPairOp
    {
        return Pair1(Pair2(Quad(ref m, 0), Quad(ref m, 1)), Pair2(Quad(ref m, 2), Quad(ref m, 3)));

        // Rows 4q..4q+3 to one vector, a 128-bit lane per row: halves (k + 8), then 128-bit lanes (k + 4).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Quad(ref float m, nuint q) => Pair4(
            Pair8(Vector512.LoadUnsafe(ref m, 64 * q), Vector512.LoadUnsafe(ref m, 64 * q + 16)),
            Pair8(Vector512.LoadUnsafe(ref m, 64 * q + 32), Vector512.LoadUnsafe(ref m, 64 * q + 48)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Pair8(Vector512<float> r, Vector512<float> s)
            => TOp.Apply(Avx512F.Shuffle4x128(r, s, 0b01_00_01_00), Avx512F.Shuffle4x128(r, s, 0b11_10_11_10));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Pair4(Vector512<float> p, Vector512<float> q)
            => TOp.Apply(Avx512F.Shuffle4x128(p, q, 0b10_00_10_00), Avx512F.Shuffle4x128(p, q, 0b11_01_11_01));
        // Within 128-bit lanes: k + 2, then k + 1; the last step leaves row 4t + j in position t of lane j.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Pair2(Vector512<float> e, Vector512<float> f)
            => TOp.Apply(Avx512F.Shuffle(e, f, 0b01_00_01_00), Avx512F.Shuffle(e, f, 0b11_10_11_10));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Pair1(Vector512<float> j, Vector512<float> k)
            => TOp.Apply(Avx512F.Shuffle(j, k, 0b10_00_10_00), Avx512F.Shuffle(j, k, 0b11_01_11_01));
    }

    private interface IPairOp { static abstract Vector512<float> Apply(Vector512<float> a, Vector512<float> b); }

    private readonly struct AddOp : IPairOp { public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b; }

    private readonly struct MaxNativeOp : IPairOp { public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b); }

    public static ref float Ref(ReadOnlySpan<float> span) => ref MemoryMarshal.GetReference(span);

    public static ref float Ref(Span<float> span) => ref MemoryMarshal.GetReference(span);
}
