using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Layer and RMS normalisation, called by generated code: each of <c>rows</c> rows (tokens, or samples of flat
/// features) is <c>features</c> contiguous floats, normalised on its own; γ and β are per feature. Layer
/// norm's row statistics are float, as PyTorch's and ONNX Runtime's are, by the corrected two-pass algorithm: a
/// rough mean, then the deviations from it, whose sum corrects the mean and whose squares give the variance (the
/// deviations of a row with a large mean and a small spread are exact, so both stay accurate where a plain float
/// mean would not); the other sums are in double. The per-feature loops are vectorised
/// (Vector512/256/128/scalar) and go down the ladder rather than overlapping a last vector, so they are safe
/// in place. Per-row spans (<c>mean</c>, <c>rstd</c>) hold <c>rows</c> floats; per-feature spans hold
/// <c>features</c>.
/// </summary>
public static class NormKernels
{
    /// <summary>
    /// Layer norm forward, PyTorch's <c>nn.LayerNorm</c>: per row, <c>y = γ (x − μ) rstd + β</c> with μ the row's
    /// mean and <c>rstd = 1/sqrt(σ² + ε)</c>, σ² its biased variance. Writes μ to <paramref name="mean"/> and
    /// rstd to <paramref name="rstd"/> for <see cref="LayerNormBackward"/>; pass empty spans in inference.
    /// <paramref name="y"/> may be <paramref name="x"/> (in place).
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, a span has the wrong length, or <paramref name="y"/> partially overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormForward(ReadOnlySpan<float> x, Span<float> y, int rows, int features,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> mean, Span<float> rstd)
    {
        int total = CheckShape(rows, features);
        BatchNormKernels.CheckLength(x.Length, total, nameof(x));
        BatchNormKernels.CheckLength(y.Length, total, nameof(y));
        BatchNormKernels.CheckInPlace(x, y, nameof(y));
        BatchNormKernels.CheckLength(gamma.Length, features, nameof(gamma));
        BatchNormKernels.CheckLength(beta.Length, features, nameof(beta));
        CheckStatistics(mean.Length, rows, nameof(mean));
        CheckStatistics(rstd.Length, rows, nameof(rstd));

        ref float xr = ref SpanMath.Ref(x);
        ref float yr = ref SpanMath.Ref(y);
        ref float gr = ref SpanMath.Ref(gamma);
        ref float br = ref SpanMath.Ref(beta);
        nuint n = (nuint)features;
        // A row's statistics are one chain (sum, mean, deviations, square root, reciprocal) that the next row would
        // wait behind; a group's statistics are taken first, so their chains overlap, then its rows are normalised.
        Span<float> centers = stackalloc float[RowGroup], scales = stackalloc float[RowGroup];
        float perFeature = 1f / features; // a multiply, not two more divides per row on the shared divider
        bool together = Vector512.IsHardwareAccelerated && n % 16 == 0;
        // Statistics16's 16 rows' lane sums and lane sums of squares, staged for its reductions.
        Span<float> staged = stackalloc float[together ? 2 * 256 : 0];
        for (int first = 0; first < rows; first += RowGroup)
        {
            int group = Math.Min(RowGroup, rows - first);
            if (together)
            {
                // The group's statistics stay in two vectors; each row is normalised from its lane, broadcast, by
                // NormalizeAffine's formula (its loop with vector arguments measured 10 % slower here, 197 -> 216 ns).
                (Vector512<float> means, Vector512<float> reciprocals) = Statistics16(ref Unsafe.Add(ref xr, (nuint)first * n), n, group, perFeature, epsilon, staged);
                for (int r = 0; r < group; r++)
                {
                    nuint at = (nuint)(first + r) * n;
                    Vector512<float> c = SpanMath.RowOf16(means, r), s = SpanMath.RowOf16(reciprocals, r);
                    if (!mean.IsEmpty) mean[first + r] = c.ToScalar();
                    if (!rstd.IsEmpty) rstd[first + r] = s.ToScalar();
                    ref float xRow = ref Unsafe.Add(ref xr, at), yRow = ref Unsafe.Add(ref yr, at);
                    for (nuint i = 0; i < n; i += 16)
                        (Vector512.LoadUnsafe(ref gr, i) * ((Vector512.LoadUnsafe(ref xRow, i) - c) * s) + Vector512.LoadUnsafe(ref br, i)).StoreUnsafe(ref yRow, i);
                }
                continue;
            }
            for (int r = 0; r < group; r++)
            {
                ref float row = ref Unsafe.Add(ref xr, (nuint)(first + r) * n);
                float roughMean = SpanMath.SumSingle(ref row, n) * perFeature;
                (float deviations, float squares) = SpanMath.SumDeviationsSingle(ref row, n, roughMean);
                float variance = MathF.Max(0f, (squares - deviations * (deviations * perFeature)) * perFeature);
                centers[r] = roughMean + deviations * perFeature;
                scales[r] = 1f / MathF.Sqrt(variance + epsilon);
            }
            for (int r = 0; r < group; r++)
            {
                nuint at = (nuint)(first + r) * n;
                if (!mean.IsEmpty) mean[first + r] = centers[r];
                if (!rstd.IsEmpty) rstd[first + r] = scales[r];
                NormalizeAffine(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref yr, at), ref gr, ref br, n, centers[r], scales[r]);
            }
        }
    }

    // LayerNormForward's statistics of up to 16 rows of a multiple of 16 features, with AVX-512: each row's 512-bit
    // vectors added lane by lane, then the 16 rows' horizontal sums by one tree (SpanMath.HorizontalSums16) and the
    // mean, variance and reciprocal square root on one vector of 16 rows, rather than 16 chains of shuffles and
    // scalar steps. The same formulas as the per-row path; unused rows of a short group are reduced and ignored.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Means, Vector512<float> Reciprocals) Statistics16(ref float x, nuint n, int rows, float perFeature, float epsilon, Span<float> staged)
    {
        ref float sums = ref MemoryMarshal.GetReference(staged);
        ref float squareSums = ref Unsafe.Add(ref sums, 256);
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref x, (nuint)r * n);
            Vector512<float> a = Vector512.LoadUnsafe(ref row);
            for (nuint i = 16; i < n; i += 16) a += Vector512.LoadUnsafe(ref row, i);
            a.StoreUnsafe(ref sums, (nuint)(16 * r));
        }
        Vector512<float> per = Vector512.Create(perFeature), roughMeans = SpanMath.HorizontalSums16(ref sums) * per;
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref x, (nuint)r * n);
            Vector512<float> center = SpanMath.RowOf16(roughMeans, r), d = Vector512.LoadUnsafe(ref row) - center, a = d, aa = d * d;
            for (nuint i = 16; i < n; i += 16)
            {
                d = Vector512.LoadUnsafe(ref row, i) - center;
                a += d;
                aa += d * d;
            }
            a.StoreUnsafe(ref sums, (nuint)(16 * r));
            aa.StoreUnsafe(ref squareSums, (nuint)(16 * r));
        }
        Vector512<float> deviations = SpanMath.HorizontalSums16(ref sums), squares = SpanMath.HorizontalSums16(ref squareSums);
        Vector512<float> variances = Vector512.Max(Vector512<float>.Zero, (squares - deviations * (deviations * per)) * per);
        return (roughMeans + deviations * per, Vector512<float>.One / Vector512.Sqrt(variances + Vector512.Create(epsilon)));
    }

    // Rows whose statistics are taken together (see LayerNormForward).
    private const int RowGroup = 16;

    /// <summary>
    /// Layer norm backward for rows normalised by <see cref="LayerNormForward"/> with its <paramref name="mean"/>
    /// and <paramref name="rstd"/>: with <c>x̂ = (x − μ) rstd</c> and <c>g = dy γ</c>, adds <c>Σ_rows dy x̂</c> to
    /// <paramref name="dgamma"/> and <c>Σ_rows dy</c> to <paramref name="dbeta"/>, and writes
    /// <c>dx = rstd (g − mean(g) − x̂ mean(g x̂))</c>, means over the row's features. <paramref name="x"/> is the
    /// forward input; <paramref name="dx"/> may be <paramref name="dy"/> (in place).
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, a span has the wrong length, or <paramref name="dx"/> partially overlaps <paramref name="dy"/> or overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int rows, int features,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dgamma, Span<float> dbeta)
    {
        CheckBackward(x, dy, dx, rows, features, gamma, rstd, dgamma);
        BatchNormKernels.CheckLength(mean.Length, rows, nameof(mean));
        BatchNormKernels.CheckLength(dbeta.Length, features, nameof(dbeta));

        ref float xr = ref SpanMath.Ref(x);
        ref float gradient = ref SpanMath.Ref(dy);
        ref float dr = ref SpanMath.Ref(dx);
        ref float gr = ref SpanMath.Ref(gamma);
        ref float dgr = ref SpanMath.Ref(dgamma);
        ref float dbr = ref SpanMath.Ref(dbeta);
        nuint n = (nuint)features;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)r * n;
            float center = mean[r], scale = rstd[r];
            // All of the row's sums are taken before dx is written, so dx may be dy.
            (float sumG, float sumGXhat) = ParameterGradients(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gradient, at), ref gr, ref dgr, ref dbr, n, center, scale);
            InputGradient(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gradient, at), ref gr, ref Unsafe.Add(ref dr, at), n, center, scale, sumG / features, sumGXhat / features);
        }
    }

    /// <summary>
    /// RMS norm forward, PyTorch's <c>nn.RMSNorm</c>: per row, <c>y = γ x rstd</c> with
    /// <c>rstd = 1/sqrt(mean(x²) + ε)</c>, written to <paramref name="rstd"/> for <see cref="RMSNormBackward"/>
    /// (pass an empty span in inference). <paramref name="y"/> may be <paramref name="x"/> (in place).
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, a span has the wrong length, or <paramref name="y"/> partially overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RMSNormForward(ReadOnlySpan<float> x, Span<float> y, int rows, int features,
        ReadOnlySpan<float> gamma, float epsilon, Span<float> rstd)
    {
        int total = CheckShape(rows, features);
        BatchNormKernels.CheckLength(x.Length, total, nameof(x));
        BatchNormKernels.CheckLength(y.Length, total, nameof(y));
        BatchNormKernels.CheckInPlace(x, y, nameof(y));
        BatchNormKernels.CheckLength(gamma.Length, features, nameof(gamma));
        CheckStatistics(rstd.Length, rows, nameof(rstd));

        ref float xr = ref SpanMath.Ref(x);
        ref float yr = ref SpanMath.Ref(y);
        ref float gr = ref SpanMath.Ref(gamma);
        nuint n = (nuint)features;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)r * n;
            ref float row = ref Unsafe.Add(ref xr, at);
            double meanSquare = SpanMath.SumSquaredDeviations(ref row, n, 0) / features;
            float scale = (float)(1.0 / Math.Sqrt(meanSquare + epsilon));
            if (!rstd.IsEmpty) rstd[r] = scale;
            NormalizeScale(ref row, ref Unsafe.Add(ref yr, at), ref gr, n, scale);
        }
    }

    /// <summary>
    /// RMS norm backward for rows normalised by <see cref="RMSNormForward"/> with its <paramref name="rstd"/>:
    /// with <c>x̂ = x rstd</c> and <c>g = dy γ</c>, adds <c>Σ_rows dy x̂</c> to <paramref name="dgamma"/> and
    /// writes <c>dx = rstd (g − x̂ mean(g x̂))</c>. <paramref name="x"/> is the forward input;
    /// <paramref name="dx"/> may be <paramref name="dy"/> (in place).
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, a span has the wrong length, or <paramref name="dx"/> partially overlaps <paramref name="dy"/> or overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RMSNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int rows, int features,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> rstd, Span<float> dgamma)
    {
        CheckBackward(x, dy, dx, rows, features, gamma, rstd, dgamma);

        ref float xr = ref SpanMath.Ref(x);
        ref float gradient = ref SpanMath.Ref(dy);
        ref float dr = ref SpanMath.Ref(dx);
        ref float gr = ref SpanMath.Ref(gamma);
        ref float dgr = ref SpanMath.Ref(dgamma);
        nuint n = (nuint)features;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)r * n;
            float scale = rstd[r];
            // Without β there is no dbeta to accumulate: a null ref tells ParameterGradients to skip it.
            (_, float sumGXhat) = ParameterGradients(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gradient, at), ref gr, ref dgr, ref Unsafe.NullRef<float>(), n, 0f, scale);
            InputGradient(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gradient, at), ref gr, ref Unsafe.Add(ref dr, at), n, 0f, scale, 0f, sumGXhat / features);
        }
    }

    /// <summary><c>y = γ ((x − center) scale) + β</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NormalizeAffine(ref float x, ref float y, ref float gamma, ref float beta, nuint n, float center, float scale)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> c = Vector512.Create(center), s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
                (Vector512.LoadUnsafe(ref gamma, i) * ((Vector512.LoadUnsafe(ref x, i) - c) * s) + Vector512.LoadUnsafe(ref beta, i)).StoreUnsafe(ref y, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> c = Vector256.Create(center), s = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref gamma, i) * ((Vector256.LoadUnsafe(ref x, i) - c) * s) + Vector256.LoadUnsafe(ref beta, i)).StoreUnsafe(ref y, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> c = Vector128.Create(center), s = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4)
                (Vector128.LoadUnsafe(ref gamma, i) * ((Vector128.LoadUnsafe(ref x, i) - c) * s) + Vector128.LoadUnsafe(ref beta, i)).StoreUnsafe(ref y, i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) = Unsafe.Add(ref gamma, i) * ((Unsafe.Add(ref x, i) - center) * scale) + Unsafe.Add(ref beta, i);
    }

    /// <summary><c>y = γ (x scale)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NormalizeScale(ref float x, ref float y, ref float gamma, nuint n, float scale)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref gamma, i) * (Vector512.LoadUnsafe(ref x, i) * s)).StoreUnsafe(ref y, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref gamma, i) * (Vector256.LoadUnsafe(ref x, i) * s)).StoreUnsafe(ref y, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> s = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref gamma, i) * (Vector128.LoadUnsafe(ref x, i) * s)).StoreUnsafe(ref y, i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) = Unsafe.Add(ref gamma, i) * (Unsafe.Add(ref x, i) * scale);
    }

    /// <summary>
    /// One row's parameter gradients and sums: with <c>x̂ = (x − center) scale</c>, <c>dγ += dy x̂</c>,
    /// <c>dβ += dy</c> (skipped when <paramref name="dbeta"/> is a null ref), and returns <c>Σ dy γ</c> and
    /// <c>Σ dy γ x̂</c>. The row sums stay in float vectors: a row is at most a few thousand features, and each
    /// lane adds only a sixteenth, eighth or quarter of them.
    /// </summary>
    private static (float SumG, float SumGXhat) ParameterGradients(ref float x, ref float dy, ref float gamma, ref float dgamma, ref float dbeta,
        nuint n, float center, float scale)
    {
        bool hasBeta = !Unsafe.IsNullRef(ref dbeta);
        nuint i = 0;
        float sumG = 0f, sumGXhat = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> c = Vector512.Create(center), s = Vector512.Create(scale), g0 = Vector512<float>.Zero, p0 = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var d = Vector512.LoadUnsafe(ref dy, i);
                var xhat = (Vector512.LoadUnsafe(ref x, i) - c) * s;
                var g = d * Vector512.LoadUnsafe(ref gamma, i);
                g0 += g;
                p0 += g * xhat;
                (Vector512.LoadUnsafe(ref dgamma, i) + d * xhat).StoreUnsafe(ref dgamma, i);
                if (hasBeta) (Vector512.LoadUnsafe(ref dbeta, i) + d).StoreUnsafe(ref dbeta, i);
            }
            sumG += Vector512.Sum(g0);
            sumGXhat += Vector512.Sum(p0);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> c = Vector256.Create(center), s = Vector256.Create(scale), g0 = Vector256<float>.Zero, p0 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var d = Vector256.LoadUnsafe(ref dy, i);
                var xhat = (Vector256.LoadUnsafe(ref x, i) - c) * s;
                var g = d * Vector256.LoadUnsafe(ref gamma, i);
                g0 += g;
                p0 += g * xhat;
                (Vector256.LoadUnsafe(ref dgamma, i) + d * xhat).StoreUnsafe(ref dgamma, i);
                if (hasBeta) (Vector256.LoadUnsafe(ref dbeta, i) + d).StoreUnsafe(ref dbeta, i);
            }
            sumG += Vector256.Sum(g0);
            sumGXhat += Vector256.Sum(p0);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> c = Vector128.Create(center), s = Vector128.Create(scale), g0 = Vector128<float>.Zero, p0 = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                var d = Vector128.LoadUnsafe(ref dy, i);
                var xhat = (Vector128.LoadUnsafe(ref x, i) - c) * s;
                var g = d * Vector128.LoadUnsafe(ref gamma, i);
                g0 += g;
                p0 += g * xhat;
                (Vector128.LoadUnsafe(ref dgamma, i) + d * xhat).StoreUnsafe(ref dgamma, i);
                if (hasBeta) (Vector128.LoadUnsafe(ref dbeta, i) + d).StoreUnsafe(ref dbeta, i);
            }
            sumG += Vector128.Sum(g0);
            sumGXhat += Vector128.Sum(p0);
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref dy, i);
            float xhat = (Unsafe.Add(ref x, i) - center) * scale;
            float g = d * Unsafe.Add(ref gamma, i);
            sumG += g;
            sumGXhat += g * xhat;
            Unsafe.Add(ref dgamma, i) += d * xhat;
            if (hasBeta) Unsafe.Add(ref dbeta, i) += d;
        }
        return (sumG, sumGXhat);
    }

    /// <summary>
    /// <c>dx = scale (dy γ − meanG − x̂ meanGXhat)</c> with <c>x̂ = (x − center) scale</c>. Each element is read
    /// before it is written at the same index, so <paramref name="dx"/> may be <paramref name="dy"/>.
    /// </summary>
    private static void InputGradient(ref float x, ref float dy, ref float gamma, ref float dx, nuint n, float center, float scale, float meanG, float meanGXhat)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> c = Vector512.Create(center), s = Vector512.Create(scale), m = Vector512.Create(meanG), k = Vector512.Create(meanGXhat);
            for (; i + 16 <= n; i += 16)
            {
                var xhat = (Vector512.LoadUnsafe(ref x, i) - c) * s;
                (s * (Vector512.LoadUnsafe(ref dy, i) * Vector512.LoadUnsafe(ref gamma, i) - m - xhat * k)).StoreUnsafe(ref dx, i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> c = Vector256.Create(center), s = Vector256.Create(scale), m = Vector256.Create(meanG), k = Vector256.Create(meanGXhat);
            for (; i + 8 <= n; i += 8)
            {
                var xhat = (Vector256.LoadUnsafe(ref x, i) - c) * s;
                (s * (Vector256.LoadUnsafe(ref dy, i) * Vector256.LoadUnsafe(ref gamma, i) - m - xhat * k)).StoreUnsafe(ref dx, i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> c = Vector128.Create(center), s = Vector128.Create(scale), m = Vector128.Create(meanG), k = Vector128.Create(meanGXhat);
            for (; i + 4 <= n; i += 4)
            {
                var xhat = (Vector128.LoadUnsafe(ref x, i) - c) * s;
                (s * (Vector128.LoadUnsafe(ref dy, i) * Vector128.LoadUnsafe(ref gamma, i) - m - xhat * k)).StoreUnsafe(ref dx, i);
            }
        }
        for (; i < n; i++)
        {
            float xhat = (Unsafe.Add(ref x, i) - center) * scale;
            Unsafe.Add(ref dx, i) = scale * (Unsafe.Add(ref dy, i) * Unsafe.Add(ref gamma, i) - meanG - xhat * meanGXhat);
        }
    }

    private static void CheckBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int rows, int features,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> rstd, Span<float> dgamma)
    {
        int total = CheckShape(rows, features);
        BatchNormKernels.CheckLength(x.Length, total, nameof(x));
        BatchNormKernels.CheckLength(dy.Length, total, nameof(dy));
        BatchNormKernels.CheckLength(dx.Length, total, nameof(dx));
        BatchNormKernels.CheckInPlace(dy, dx, nameof(dx));
        if (x.Overlaps(dx))
            throw new ArgumentException("dx must not overlap x: x is read after dx is written.", nameof(dx));
        BatchNormKernels.CheckLength(gamma.Length, features, nameof(gamma));
        BatchNormKernels.CheckLength(rstd.Length, rows, nameof(rstd));
        BatchNormKernels.CheckLength(dgamma.Length, features, nameof(dgamma));
    }

    private static int CheckShape(int rows, int features)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        long total = (long)rows * features;
        if (total > int.MaxValue) throw new ArgumentException($"{rows} × {features} floats exceed a span.");
        return (int)total;
    }

    private static void CheckStatistics(int actual, int rows, string name)
    {
        if (actual != 0 && actual != rows)
            throw new ArgumentException($"{name} must hold {rows} floats (one per row), or none in inference, but holds {actual}.", name);
    }
}
