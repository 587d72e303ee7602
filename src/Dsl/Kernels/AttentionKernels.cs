using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// The row-wise softmax of self-attention, called by generated code for each head's <c>[length, length]</c>
/// score matrix (row i: query i, column j: key j, row-major). Both work in place; the loops over a row are
/// vectorised (Vector512/256/128/scalar) and narrow down the ladder at the tail, since an overlapping last
/// vector would apply a map twice.
/// </summary>
public static class AttentionKernels
{
    /// <summary>
    /// In place, each row i becomes <c>p_ij = e^(s_ij − m_i) / Σ_k e^(s_ik − m_i)</c> with <c>m_i</c> the row's
    /// maximum (shifting keeps e^ finite). With <paramref name="causal"/> only keys j ≤ i take part and the
    /// entries j &gt; i are set to exactly 0, which is softmax with a −∞ mask above the diagonal.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="length"/> is not positive or <paramref name="scores"/> does not hold length² floats.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxRows(Span<float> scores, int length, bool causal)
    {
        CheckSquare(scores.Length, length, nameof(scores));
        for (int i = 0; i < length; i++)
        {
            Span<float> row = scores.Slice(i * length, length);
            int keys = causal ? i + 1 : length;
            ref float r = ref SpanMath.Ref(row);
            nuint n = (nuint)keys;
            float max = Max(ref r, n);
            float sum = ExpShiftedSum(ref r, n, max);
            SequenceKernels.Scale(ref r, n, 1f / sum);
            row.Slice(keys).Clear();
        }
    }

    /// <summary>
    /// In place, the gradient through <see cref="SoftmaxRows"/> given its output <paramref name="probabilities"/>:
    /// per row, <c>g_ij = p_ij (g_ij − Σ_k g_ik p_ik)</c>. Masked (causal) entries have p = 0 and come out 0.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="length"/> is not positive, a span does not hold length² floats, or the spans overlap.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxRowsBackward(ReadOnlySpan<float> probabilities, Span<float> gradient, int length)
    {
        CheckSquare(probabilities.Length, length, nameof(probabilities));
        CheckSquare(gradient.Length, length, nameof(gradient));
        if (probabilities.Overlaps(gradient))
            throw new ArgumentException("gradient must not overlap probabilities: the probabilities are read after the gradient is written.", nameof(gradient));
        nuint n = (nuint)length;
        ref float pr = ref SpanMath.Ref(probabilities);
        ref float gr = ref SpanMath.Ref(gradient);
        for (nuint at = 0; at < n * n; at += n)
        {
            ref float p = ref Unsafe.Add(ref pr, at);
            ref float g = ref Unsafe.Add(ref gr, at);
            float dot = Dot(ref p, ref g, n);
            SubtractScale(ref p, ref g, n, dot);
        }
    }

    private static float Max(ref float x, nuint n)
    {
        nuint i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) m = Vector512.Max(m, Vector512.LoadUnsafe(ref x, i));
            max = MathF.Max(max, Max(Vector256.Max(m.GetLower(), m.GetUpper())));
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var m = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8) m = Vector256.Max(m, Vector256.LoadUnsafe(ref x, i));
            max = MathF.Max(max, Max(m));
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var m = Vector128.Create(float.NegativeInfinity);
            for (; i + 4 <= n; i += 4) m = Vector128.Max(m, Vector128.LoadUnsafe(ref x, i));
            max = MathF.Max(max, Max(m));
        }
        for (; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref x, i));
        return max;
    }

    private static float Max(Vector256<float> m) => Max(Vector128.Max(m.GetLower(), m.GetUpper()));

    private static float Max(Vector128<float> m) => MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3]));

    /// <summary>In place <c>x = e^(x − shift)</c>; returns the sum of the results.</summary>
    private static float ExpShiftedSum(ref float x, nuint n, float shift)
    {
        nuint i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> s = Vector512.Create(shift), total = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var e = FastExp.Exp(Vector512.LoadUnsafe(ref x, i) - s);
                total += e;
                e.StoreUnsafe(ref x, i);
            }
            sum += Vector512.Sum(total);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> s = Vector256.Create(shift), total = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = FastExp.Exp(Vector256.LoadUnsafe(ref x, i) - s);
                total += e;
                e.StoreUnsafe(ref x, i);
            }
            sum += Vector256.Sum(total);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> s = Vector128.Create(shift), total = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                var e = FastExp.Exp(Vector128.LoadUnsafe(ref x, i) - s);
                total += e;
                e.StoreUnsafe(ref x, i);
            }
            sum += Vector128.Sum(total);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref x, i) - shift);
            Unsafe.Add(ref x, i) = e;
            sum += e;
        }
        return sum;
    }

    /// <summary><c>Σ p g</c>.</summary>
    private static float Dot(ref float p, ref float g, nuint n)
    {
        nuint i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var total = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) total += Vector512.LoadUnsafe(ref p, i) * Vector512.LoadUnsafe(ref g, i);
            sum += Vector512.Sum(total);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var total = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) total += Vector256.LoadUnsafe(ref p, i) * Vector256.LoadUnsafe(ref g, i);
            sum += Vector256.Sum(total);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var total = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4) total += Vector128.LoadUnsafe(ref p, i) * Vector128.LoadUnsafe(ref g, i);
            sum += Vector128.Sum(total);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref p, i) * Unsafe.Add(ref g, i);
        return sum;
    }

    /// <summary>In place <c>g = p (g − dot)</c>.</summary>
    private static void SubtractScale(ref float p, ref float g, nuint n, float dot)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (var d = Vector512.Create(dot); i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref p, i) * (Vector512.LoadUnsafe(ref g, i) - d)).StoreUnsafe(ref g, i);
        if (Vector256.IsHardwareAccelerated)
            for (var d = Vector256.Create(dot); i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref p, i) * (Vector256.LoadUnsafe(ref g, i) - d)).StoreUnsafe(ref g, i);
        if (Vector128.IsHardwareAccelerated)
            for (var d = Vector128.Create(dot); i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref p, i) * (Vector128.LoadUnsafe(ref g, i) - d)).StoreUnsafe(ref g, i);
        for (; i < n; i++) Unsafe.Add(ref g, i) = Unsafe.Add(ref p, i) * (Unsafe.Add(ref g, i) - dot);
    }

    private static void CheckSquare(int actual, int length, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        long total = (long)length * length;
        if (actual != total)
            throw new ArgumentException($"{name} must hold {length} × {length} = {total} floats, but holds {actual}.", name);
    }
}
