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
        // A row's steps form one chain (maximum, exponentials, their sum, its reciprocal), about 80 cycles for a
        // 16-key row, while the next row waits in the out-of-order window. So each step runs over a group of rows
        // before the next step starts: a group's chains overlap, and a 16 x 16 score matrix takes about half the time.
        ref float sr = ref SpanMath.Ref(scores);
        if (Vector512.IsHardwareAccelerated && length == 16 && !causal)
        {
            SoftmaxRows16(ref sr);
            return;
        }
        Span<float> maxima = stackalloc float[RowGroup], sums = stackalloc float[RowGroup];
        for (int first = 0; first < length; first += RowGroup)
        {
            int rows = Math.Min(RowGroup, length - first);
            for (int r = 0; r < rows; r++)
                maxima[r] = Max(ref Unsafe.Add(ref sr, (nuint)((first + r) * length)), (nuint)Keys(first + r, length, causal));
            for (int r = 0; r < rows; r++)
                sums[r] = ExpShiftedSum(ref Unsafe.Add(ref sr, (nuint)((first + r) * length)), (nuint)Keys(first + r, length, causal), maxima[r]);
            for (int r = 0; r < rows; r++)
            {
                int i = first + r, keys = Keys(i, length, causal);
                SequenceKernels.Scale(ref Unsafe.Add(ref sr, (nuint)(i * length)), (nuint)keys, 1f / sums[r]);
                if (keys < length) scores.Slice(i * length + keys, length - keys).Clear();
            }
        }
    }

    /// <summary>
    /// One head of causal attention for the newest of <paramref name="keys"/> positions, against the cached rows
    /// (row t of <paramref name="cachedKeys"/> and <paramref name="cachedValues"/> is position t's projected key and
    /// value, <paramref name="modelDim"/> floats, the head's at <c>head × headDim</c>): scores <c>s_t = scale · q·k_t</c>,
    /// <c>p = softmax(s)</c> as <see cref="SoftmaxRows"/> computes a causal row, and
    /// <c>o = Σ_t p_t v_t</c>. A decode step's attention; <paramref name="scores"/> is scratch of at least
    /// <paramref name="keys"/> floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeHead(ref float q, ref float cachedKeys, ref float cachedValues, int keys, int modelDim, int headDim, int head, float scale, ref float scores, ref float o)
    {
        nuint stride = (nuint)modelDim, dh = (nuint)headDim, at = (nuint)(head * headDim);
        for (nuint t = 0; t < (nuint)keys; t++)
            Unsafe.Add(ref scores, t) = scale * Dot(ref q, ref Unsafe.Add(ref cachedKeys, t * stride + at), dh);
        float max = Max(ref scores, (nuint)keys);
        float sum = ExpShiftedSum(ref scores, (nuint)keys, max);
        SequenceKernels.Scale(ref scores, (nuint)keys, 1f / sum);
        System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref o, headDim).Clear();
        for (nuint t = 0; t < (nuint)keys; t++)
            SpanMath.MultiplyAdd(ref Unsafe.Add(ref cachedValues, t * stride + at), Unsafe.Add(ref scores, t), ref o, dh);
    }

    // 16 rows of 16 keys (case E's heads), each row one 512-bit vector. A row's own horizontal maximum and sum are
    // chains of shuffles about 80 cycles long; SpanMath's 16-row reductions take all rows' together (30 shuffles,
    // no chain longer than 4 steps) and pair lanes as HorizontalSum does, so every probability is the same float as
    // the general path's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SoftmaxRows16(ref float scores)
    {
        Vector512<float> maxima = Vector512.Max(Vector512.Create(float.NegativeInfinity), SpanMath.HorizontalMaxNative16(ref scores));
        for (int r = 0; r < 16; r++)
        {
            nuint at = (nuint)(16 * r);
            FastExp.Exp(Vector512.LoadUnsafe(ref scores, at) - SpanMath.RowOf16(maxima, r)).StoreUnsafe(ref scores, at);
        }
        Vector512<float> reciprocals = Vector512<float>.One / SpanMath.HorizontalSums16(ref scores);
        for (int r = 0; r < 16; r++)
        {
            nuint at = (nuint)(16 * r);
            (Vector512.LoadUnsafe(ref scores, at) * SpanMath.RowOf16(reciprocals, r)).StoreUnsafe(ref scores, at);
        }
    }

    // Rows whose softmax steps run together (see SoftmaxRows).
    private const int RowGroup = 16;

    private static int Keys(int row, int length, bool causal) => causal ? row + 1 : length;

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

    /// <summary>
    /// Head <paramref name="head"/>'s operands out of the projected rows <paramref name="qkv"/> [length, 3·modelDim]
    /// (each token's Q, K and V side by side, head h in columns h·headDim .. of each): <c>Q·scale</c> as
    /// [length, headDim], <c>Kᵀ</c> as [headDim, length] and V as [length, headDim], so the score and mix products
    /// read contiguous rows. Q and V rows move as vectors; Kᵀ is a block transpose
    /// (<see cref="DenseKernels.Transpose(ref float, nuint, ref float, nuint, nuint, nuint)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, <paramref name="head"/> lies outside the model width, or a span has the wrong length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatherHead(ReadOnlySpan<float> qkv, int length, int modelDim, int headDim, int head, float scale,
        Span<float> q, Span<float> kT, Span<float> v)
    {
        CheckHead(qkv.Length, 3, length, modelDim, headDim, head, nameof(qkv));
        CheckHeadOperand(q.Length, length, headDim, nameof(q));
        CheckHeadOperand(kT.Length, length, headDim, nameof(kT));
        CheckHeadOperand(v.Length, length, headDim, nameof(v));
        ref float source = ref Unsafe.Add(ref SpanMath.Ref(qkv), (nuint)(head * headDim));
        ref float qr = ref SpanMath.Ref(q);
        ref float kr = ref SpanMath.Ref(kT);
        ref float vr = ref SpanMath.Ref(v);
        nuint n = (nuint)headDim, l = (nuint)length, d = (nuint)modelDim;
        for (nuint t = 0; t < l; t++)
        {
            ref float row = ref Unsafe.Add(ref source, t * 3 * d);
            SequenceKernels.Scale(ref row, ref Unsafe.Add(ref qr, t * n), n, scale);
            SequenceKernels.Scale(ref Unsafe.Add(ref row, 2 * d), ref Unsafe.Add(ref vr, t * n), n, 1f);
        }
        DenseKernels.Transpose(ref Unsafe.Add(ref source, d), 3 * d, ref kr, l, l, n);
    }

    /// <summary>
    /// Head <paramref name="head"/>'s output <paramref name="o"/> [length, headDim] into its columns
    /// (head·headDim ..) of the concatenated head outputs <paramref name="mixed"/> [length, modelDim].
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, <paramref name="head"/> lies outside the model width, or a span has the wrong length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterHead(ReadOnlySpan<float> o, int length, int modelDim, int headDim, int head, Span<float> mixed)
    {
        CheckHead(mixed.Length, 1, length, modelDim, headDim, head, nameof(mixed));
        CheckHeadOperand(o.Length, length, headDim, nameof(o));
        ref float target = ref Unsafe.Add(ref SpanMath.Ref(mixed), (nuint)(head * headDim));
        ref float or = ref SpanMath.Ref(o);
        nuint n = (nuint)headDim, d = (nuint)modelDim;
        for (nuint t = 0; t < (nuint)length; t++)
            SequenceKernels.Scale(ref Unsafe.Add(ref or, t * n), ref Unsafe.Add(ref target, t * d), n, 1f);
    }

    private static void CheckHead(int actual, int blocks, int length, int modelDim, int headDim, int head, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(modelDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegative(head);
        if ((long)(head + 1) * headDim > modelDim)
            throw new ArgumentOutOfRangeException(nameof(head), $"Head {head} of {headDim} columns lies outside the {modelDim} model columns.");
        long total = (long)length * blocks * modelDim;
        if (actual != total)
            throw new ArgumentException($"{name} must hold {length} × {blocks * modelDim} = {total} floats, but holds {actual}.", name);
    }

    private static void CheckHeadOperand(int actual, int length, int headDim, string name)
    {
        long total = (long)length * headDim;
        if (actual != total)
            throw new ArgumentException($"{name} must hold {length} × {headDim} = {total} floats, but holds {actual}.", name);
    }

    // The row's maximum only shifts the exponents: a NaN score makes the row NaN whichever lane the native max
    // returns, and a shift by any finite score or +∞ gives the same result as by the IEEE maximum.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(ref float x, nuint n)
    {
        nuint i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) m = Vector512.MaxNative(m, Vector512.LoadUnsafe(ref x, i));
            max = MathF.Max(max, SpanMath.HorizontalMaxNative(m));
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var m = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8) m = Vector256.MaxNative(m, Vector256.LoadUnsafe(ref x, i));
            max = MathF.Max(max, SpanMath.HorizontalMaxNative(m));
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var m = Vector128.Create(float.NegativeInfinity);
            for (; i + 4 <= n; i += 4) m = Vector128.MaxNative(m, Vector128.LoadUnsafe(ref x, i));
            max = MathF.Max(max, SpanMath.HorizontalMaxNative(m));
        }
        for (; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref x, i));
        return max;
    }

    /// <summary>In place <c>x = e^(x − shift)</c>; returns the sum of the results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
            sum += SpanMath.HorizontalSum(total);
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
            sum += SpanMath.HorizontalSum(total);
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
            sum += SpanMath.HorizontalSum(total);
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
