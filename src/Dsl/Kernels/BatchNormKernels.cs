using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Batch normalisation, called by generated code. Activations are laid out <c>[batch, channels, spatial]</c>
/// (PyTorch's NCHW or NCL flattened; <c>spatial</c> is <c>H·W</c>, <c>L</c>, or 1 for flat features), so each
/// channel of each sample is a contiguous run of <c>spatial</c> floats; the loops over those runs are
/// vectorised (Vector512/256/128/scalar). Flat features (<c>spatial</c> = 1) run scalar. Per-channel spans
/// (<c>gamma</c>, <c>beta</c>, running statistics, <c>mean</c>, <c>inverseStd</c>, gradients) hold
/// <c>channels</c> floats.
/// </summary>
public static class BatchNormKernels
{
    /// <summary>
    /// Training forward: normalises each channel with its batch mean μ and biased variance σ² over the
    /// <c>n = batch·spatial</c> values, <c>y = γ·(x − μ)/sqrt(σ² + ε) + β</c>; updates the running statistics as
    /// PyTorch does, <c>running_mean = (1 − momentum)·running_mean + momentum·μ</c> and
    /// <c>running_var = (1 − momentum)·running_var + momentum·σ²·n/(n − 1)</c> (unbiased); and writes μ to
    /// <paramref name="mean"/> and <c>1/sqrt(σ² + ε)</c> to <paramref name="inverseStd"/> for
    /// <see cref="Backward"/>. Statistics are accumulated in double (two passes: mean, then squared deviations).
    /// <paramref name="y"/> may be <paramref name="x"/> (in place). Does not touch <c>num_batches_tracked</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length, <paramref name="y"/> partially overlaps <paramref name="x"/>, or n is 1 (no variance; PyTorch refuses too).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardTraining(ReadOnlySpan<float> x, Span<float> y, int batch, int channels, int spatial,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> runningMean, Span<float> runningVar,
        float momentum, float epsilon, Span<float> mean, Span<float> inverseStd, Workspace? workspace = null)
    {
        int total = CheckShape(batch, channels, spatial);
        CheckLength(x.Length, total, nameof(x));
        CheckLength(y.Length, total, nameof(y));
        CheckInPlace(x, y, nameof(y));
        CheckLength(gamma.Length, channels, nameof(gamma));
        CheckLength(beta.Length, channels, nameof(beta));
        CheckLength(runningMean.Length, channels, nameof(runningMean));
        CheckLength(runningVar.Length, channels, nameof(runningVar));
        CheckLength(mean.Length, channels, nameof(mean));
        CheckLength(inverseStd.Length, channels, nameof(inverseStd));
        BatchGroup? group = workspace?.SplitGroup;
        long n = (long)(group?.TotalRows ?? batch) * spatial;
        if (n < 2)
            throw new ArgumentException($"Batch normalisation in training needs more than one value per channel, got batch {batch} × spatial {spatial}.", nameof(batch));

        ref float xr = ref SpanMath.Ref(x);
        ref float yr = ref SpanMath.Ref(y);
        nuint run = (nuint)spatial;
        nuint stride = (nuint)channels * run;
        if (group is not null)
        {
            ForwardTrainingSplit(ref xr, ref yr, batch, channels, run, n, gamma, beta, runningMean, runningVar, momentum, epsilon, mean, inverseStd, group, workspace!.GroupIndex);
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            nuint start = (nuint)c * run;
            double sum = 0;
            for (int b = 0; b < batch; b++) sum += SpanMath.Sum(ref Unsafe.Add(ref xr, start + (nuint)b * stride), run);
            double mu = sum / n;
            double squares = 0;
            for (int b = 0; b < batch; b++) squares += SpanMath.SumSquaredDeviations(ref Unsafe.Add(ref xr, start + (nuint)b * stride), run, mu);
            double variance = squares / n;
            double invStd = 1.0 / Math.Sqrt(variance + epsilon);

            mean[c] = (float)mu;
            inverseStd[c] = (float)invStd;
            runningMean[c] = (float)((1.0 - momentum) * runningMean[c] + momentum * mu);
            runningVar[c] = (float)((1.0 - momentum) * runningVar[c] + momentum * (squares / (n - 1)));

            float center = (float)mu;
            float scale = (float)(gamma[c] * invStd);
            float shift = beta[c];
            for (int b = 0; b < batch; b++)
            {
                nuint at = start + (nuint)b * stride;
                SpanMath.CenterScaleShift(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref yr, at), run, center, scale, shift);
            }
        }
    }

    /// <summary>
    /// Training backward for the batch normalised by <see cref="ForwardTraining"/> (with its <paramref name="mean"/>
    /// and <paramref name="inverseStd"/>): with <c>x̂ = (x − μ)·inverseStd</c>, adds <c>Σ dy·x̂</c> to
    /// <paramref name="gammaGradient"/> and <c>Σ dy</c> to <paramref name="betaGradient"/> (sums over batch and
    /// positions) and writes <c>dx = γ·inverseStd·(dy − mean(dy) − x̂·mean(dy·x̂))</c>, the gradient through the
    /// batch statistics. <paramref name="x"/> is the forward input (not the output); <paramref name="dx"/> may be
    /// <paramref name="dy"/> (in place). The activation's gradient, if any, must already be applied to dy.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length, or <paramref name="dx"/> partially overlaps <paramref name="dy"/> or overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int batch, int channels, int spatial,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseStd,
        Span<float> gammaGradient, Span<float> betaGradient, Workspace? workspace = null)
    {
        int total = CheckShape(batch, channels, spatial);
        CheckLength(x.Length, total, nameof(x));
        CheckLength(dy.Length, total, nameof(dy));
        CheckLength(dx.Length, total, nameof(dx));
        CheckInPlace(dy, dx, nameof(dx));
        if (x.Overlaps(dx))
            throw new ArgumentException("dx must not overlap x: x is read after dx is written.", nameof(dx));
        CheckLength(gamma.Length, channels, nameof(gamma));
        CheckLength(mean.Length, channels, nameof(mean));
        CheckLength(inverseStd.Length, channels, nameof(inverseStd));
        CheckLength(gammaGradient.Length, channels, nameof(gammaGradient));
        CheckLength(betaGradient.Length, channels, nameof(betaGradient));
        BatchGroup? group = workspace?.SplitGroup;
        double n = (double)(group?.TotalRows ?? batch) * spatial;

        ref float xr = ref SpanMath.Ref(x);
        ref float gr = ref SpanMath.Ref(dy);
        ref float dr = ref SpanMath.Ref(dx);
        nuint run = (nuint)spatial;
        nuint stride = (nuint)channels * run;
        if (group is not null)
        {
            BackwardSplit(ref xr, ref gr, ref dr, batch, channels, run, n, gamma, mean, inverseStd, gammaGradient, betaGradient, group, workspace!.GroupIndex);
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            nuint start = (nuint)c * run;
            float center = mean[c];
            double sumDy = 0, sumDyCentered = 0;
            for (int b = 0; b < batch; b++)
            {
                nuint at = start + (nuint)b * stride;
                (double s, double p) = SpanMath.SumGradient(ref Unsafe.Add(ref gr, at), ref Unsafe.Add(ref xr, at), run, center);
                sumDy += s;
                sumDyCentered += p;
            }
            double invStd = inverseStd[c];
            double sumDyXhat = sumDyCentered * invStd;
            gammaGradient[c] += (float)sumDyXhat;
            betaGradient[c] += (float)sumDy;

            // dx = a·dy − k·(x − μ) − b with a = γ·invStd, k = a·invStd·Σ(dy·x̂)/n, b = a·Σdy/n.
            double a = gamma[c] * invStd;
            float af = (float)a, k = (float)(a * invStd * sumDyXhat / n), shift = (float)(a * sumDy / n);
            for (int b = 0; b < batch; b++)
            {
                nuint at = start + (nuint)b * stride;
                SpanMath.BatchNormInputGradient(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gr, at), ref Unsafe.Add(ref dr, at), run, center, af, k, shift);
            }
        }
    }

    // A batch split across threads (Trainer.Threads): each thread sums its rows, the group adds the partial sums
    // in thread order, and every thread normalises its rows with the whole batch's statistics. Thread 0 alone
    // updates the running statistics; each thread adds its rows' share of the γ and β gradients to its own buffer.
    private static void ForwardTrainingSplit(ref float xr, ref float yr, int rows, int channels, nuint run, long n,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> runningMean, Span<float> runningVar,
        float momentum, float epsilon, Span<float> mean, Span<float> inverseStd, BatchGroup group, int thread)
    {
        nuint stride = (nuint)channels * run;
        Span<double> partial = group.Partial(thread, channels);
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int b = 0; b < rows; b++) sum += SpanMath.Sum(ref Unsafe.Add(ref xr, (nuint)c * run + (nuint)b * stride), run);
            partial[c] = sum;
        }
        ReadOnlySpan<double> sums = group.Sum(thread, channels);

        partial = group.Partial(thread, channels);
        for (int c = 0; c < channels; c++)
        {
            double mu = sums[c] / n, squares = 0;
            for (int b = 0; b < rows; b++) squares += SpanMath.SumSquaredDeviations(ref Unsafe.Add(ref xr, (nuint)c * run + (nuint)b * stride), run, mu);
            partial[c] = squares;
        }
        ReadOnlySpan<double> squareSums = group.Sum(thread, channels);

        for (int c = 0; c < channels; c++)
        {
            double mu = sums[c] / n, squares = squareSums[c];
            double invStd = 1.0 / Math.Sqrt(squares / n + epsilon);
            mean[c] = (float)mu;
            inverseStd[c] = (float)invStd;
            if (thread == 0)
            {
                runningMean[c] = (float)((1.0 - momentum) * runningMean[c] + momentum * mu);
                runningVar[c] = (float)((1.0 - momentum) * runningVar[c] + momentum * (squares / (n - 1)));
            }
            float center = (float)mu, scale = (float)(gamma[c] * invStd), shift = beta[c];
            for (int b = 0; b < rows; b++)
            {
                nuint at = (nuint)c * run + (nuint)b * stride;
                SpanMath.CenterScaleShift(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref yr, at), run, center, scale, shift);
            }
        }
    }

    private static void BackwardSplit(ref float xr, ref float gr, ref float dr, int rows, int channels, nuint run, double n,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseStd,
        Span<float> gammaGradient, Span<float> betaGradient, BatchGroup group, int thread)
    {
        nuint stride = (nuint)channels * run;
        Span<double> partial = group.Partial(thread, 2 * channels);
        for (int c = 0; c < channels; c++)
        {
            double sumDy = 0, sumDyCentered = 0;
            for (int b = 0; b < rows; b++)
            {
                nuint at = (nuint)c * run + (nuint)b * stride;
                (double s, double p) = SpanMath.SumGradient(ref Unsafe.Add(ref gr, at), ref Unsafe.Add(ref xr, at), run, mean[c]);
                sumDy += s;
                sumDyCentered += p;
            }
            partial[2 * c] = sumDy;
            partial[2 * c + 1] = sumDyCentered;
            // This thread's rows' share of the parameter gradients; the trainer adds the threads' buffers up.
            gammaGradient[c] += (float)(sumDyCentered * inverseStd[c]);
            betaGradient[c] += (float)sumDy;
        }
        ReadOnlySpan<double> sums = group.Sum(thread, 2 * channels);
        for (int c = 0; c < channels; c++)
        {
            double invStd = inverseStd[c], sumDy = sums[2 * c], sumDyXhat = sums[2 * c + 1] * invStd;
            double a = gamma[c] * invStd;
            float af = (float)a, k = (float)(a * invStd * sumDyXhat / n), shift = (float)(a * sumDy / n);
            for (int b = 0; b < rows; b++)
            {
                nuint at = (nuint)c * run + (nuint)b * stride;
                SpanMath.BatchNormInputGradient(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref gr, at), ref Unsafe.Add(ref dr, at), run, mean[c], af, k, shift);
            }
        }
    }

    /// <summary>
    /// Inference for one sample of <c>channels × spatial</c> floats with the running statistics:
    /// <c>y = γ·(x − running_mean)/sqrt(running_var + ε) + β</c>. <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length or <paramref name="y"/> partially overlaps <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Inference(ReadOnlySpan<float> x, Span<float> y, int channels, int spatial,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float epsilon)
    {
        int total = CheckShape(1, channels, spatial);
        CheckLength(x.Length, total, nameof(x));
        CheckLength(y.Length, total, nameof(y));
        CheckInPlace(x, y, nameof(y));
        CheckLength(gamma.Length, channels, nameof(gamma));
        CheckLength(beta.Length, channels, nameof(beta));
        CheckLength(runningMean.Length, channels, nameof(runningMean));
        CheckLength(runningVar.Length, channels, nameof(runningVar));

        ref float xr = ref SpanMath.Ref(x);
        ref float yr = ref SpanMath.Ref(y);
        nuint run = (nuint)spatial;
        for (int c = 0; c < channels; c++)
        {
            float scale = (float)(gamma[c] / Math.Sqrt((double)runningVar[c] + epsilon));
            nuint at = (nuint)c * run;
            SpanMath.CenterScaleShift(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref yr, at), run, runningMean[c], scale, beta[c]);
        }
    }

    /// <summary>
    /// The inference normalisation as a per-channel affine map <c>y = scale·x + shift</c>:
    /// <c>scale = γ/sqrt(running_var + ε)</c>, <c>shift = β − running_mean·scale</c> (computed in double). Folding
    /// it into the preceding convolution or dense layer gives <c>W' = W·scale[o]</c> per output channel o and
    /// <c>b' = b·scale + shift</c> (b = 0 without bias).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold(ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar,
        float epsilon, Span<float> scale, Span<float> shift)
    {
        int channels = gamma.Length;
        CheckLength(beta.Length, channels, nameof(beta));
        CheckLength(runningMean.Length, channels, nameof(runningMean));
        CheckLength(runningVar.Length, channels, nameof(runningVar));
        CheckLength(scale.Length, channels, nameof(scale));
        CheckLength(shift.Length, channels, nameof(shift));
        for (int c = 0; c < channels; c++)
        {
            double s = gamma[c] / Math.Sqrt((double)runningVar[c] + epsilon);
            scale[c] = (float)s;
            shift[c] = (float)(beta[c] - runningMean[c] * s);
        }
    }

    /// <summary>
    /// A folded weight: <c>folded[r, c] = w[r, c] · scale[c]</c> over <paramref name="rows"/> rows of
    /// <paramref name="columns"/> (a convolution's stored [patch, out] weight and its batch norm's per-channel scale),
    /// a vector at a time. Batch-1 inference refolds every call, so this pass is on its path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleColumns(ref float w, ref float scale, ref float folded, nuint rows, nuint columns)
    {
        for (nuint r = 0; r < rows; r++)
        {
            ref float source = ref Unsafe.Add(ref w, r * columns);
            ref float target = ref Unsafe.Add(ref folded, r * columns);
            nuint c = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; c + 16 <= columns; c += 16)
                    (Vector512.LoadUnsafe(ref source, c) * Vector512.LoadUnsafe(ref scale, c)).StoreUnsafe(ref target, c);
            if (Vector256.IsHardwareAccelerated)
                for (; c + 8 <= columns; c += 8)
                    (Vector256.LoadUnsafe(ref source, c) * Vector256.LoadUnsafe(ref scale, c)).StoreUnsafe(ref target, c);
            if (Vector128.IsHardwareAccelerated)
                for (; c + 4 <= columns; c += 4)
                    (Vector128.LoadUnsafe(ref source, c) * Vector128.LoadUnsafe(ref scale, c)).StoreUnsafe(ref target, c);
            for (; c < columns; c++)
                Unsafe.Add(ref target, c) = Unsafe.Add(ref source, c) * Unsafe.Add(ref scale, c);
        }
    }

    private static int CheckShape(int batch, int channels, int spatial)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spatial);
        long total = (long)batch * channels * spatial;
        if (total > int.MaxValue) throw new ArgumentException($"{batch} × {channels} × {spatial} floats exceed a span.");
        return (int)total;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} must hold {expected} floats, but holds {actual}.", name);
    }

    /// <summary>Allows the output to be the input exactly, or disjoint from it, but not shifted over it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CheckInPlace(ReadOnlySpan<float> input, ReadOnlySpan<float> output, string name)
    {
        if (input.Overlaps(output, out int offset) && offset != 0)
            throw new ArgumentException($"{name} overlaps the input partially; it must be the input itself or separate from it.", name);
    }
}
