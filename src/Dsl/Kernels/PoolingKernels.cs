using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Pooling over one sample, called by generated code. Activations are channel-major and row-major:
/// <c>x[c, h, w]</c> at <c>(c·height + h)·width + w</c> (1-D: <c>x[c, t]</c> at <c>c·length + t</c>). Window
/// <c>(i, j)</c> covers input rows <c>i·stride − padding .. + kernel − 1</c> and likewise columns; the output
/// size must be PyTorch's <c>floor((size + 2·padding − kernel) / stride) + 1</c> and padding at most
/// <c>kernel / 2</c> (so every window overlaps the input). Max pooling pads with −∞ (padding never wins);
/// average pooling pads with zeros and divides by <c>kernel²</c> (<c>count_include_pad=True</c>). Backward
/// passes add into <c>dx</c>, which the caller zeroes first, except <see cref="GlobalAvgPoolBackward"/>, which
/// overwrites it. Scalar code, but for the common 2×2 max pool with stride 2 (vectorised both ways).
/// </summary>
public static class PoolingKernels
{
    /// <summary>
    /// <c>y[c, i, j] = max over the window of x</c>. Among equal maxima the first in row-major window order is
    /// the one <see cref="MaxPool2DBackward"/> credits; a NaN counts as maximal and propagates, as in PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2DForward(ReadOnlySpan<float> x, Span<float> y, int channels, int height, int width,
        int kernel, int stride, int padding, int outHeight, int outWidth)
    {
        Check2D(x.Length, y.Length, channels, height, width, kernel, stride, padding, outHeight, outWidth, nameof(x), nameof(y));
        int plane = height * width, outPlane = outHeight * outWidth;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * plane, plane);
            Span<float> yc = y.Slice(c * outPlane, outPlane);
            for (int i = 0; i < outHeight; i++)
                for (int j = 0; j < outWidth; j++)
                    yc[i * outWidth + j] = xc[ArgMax2D(xc, height, width, kernel, i * stride - padding, j * stride - padding)];
        }
    }

    /// <summary>
    /// Adds each <c>dy[c, i, j]</c> to <c>dx</c> at the first maximal input of window (i, j), recomputed from
    /// <paramref name="x"/> exactly as <see cref="MaxPool2DForward"/> chose it (ties: first in row-major window
    /// order, as PyTorch on CPU). <paramref name="dx"/> must be zeroed by the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2DBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int channels, int height, int width,
        int kernel, int stride, int padding, int outHeight, int outWidth)
    {
        Check2D(x.Length, dy.Length, channels, height, width, kernel, stride, padding, outHeight, outWidth, nameof(x), nameof(dy));
        BatchNormKernels.CheckLength(dx.Length, x.Length, nameof(dx));
        int plane = height * width, outPlane = outHeight * outWidth;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * plane, plane);
            ReadOnlySpan<float> gc = dy.Slice(c * outPlane, outPlane);
            Span<float> dc = dx.Slice(c * plane, plane);
            for (int i = 0; i < outHeight; i++)
                for (int j = 0; j < outWidth; j++)
                    dc[ArgMax2D(xc, height, width, kernel, i * stride - padding, j * stride - padding)] += gc[i * outWidth + j];
        }
    }

    /// <summary>
    /// Max-pool backward for 2×2 windows with stride 2 and no padding over <paramref name="planes"/> planes of
    /// <paramref name="height"/> × <paramref name="width"/> (outputs <c>height/2 × width/2</c>): each window's
    /// gradient goes to its first maximum in row-major order, a NaN counting as maximal (the first NaN wins), as
    /// generated pools choose it in the forward. Every position of every window is written (the gradient or 0);
    /// a last odd row or column, in no window, is left alone. Vectorised: a vector of 2k columns of the two rows
    /// holds k windows, each lane pair comparing its window's four values in order, without a branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2x2Backward(ref float x, ref float dy, ref float dx, nuint planes, nuint height, nuint width)
    {
        nuint outHeight = height / 2, outWidth = width / 2, columns = outWidth * 2;
        for (nuint c = 0; c < planes; c++)
        {
            for (nuint r = 0; r < outHeight; r++)
            {
                nuint top = c * height * width + 2 * r * width;
                ref float xTop = ref Unsafe.Add(ref x, top);
                ref float dxTop = ref Unsafe.Add(ref dx, top);
                ref float g = ref Unsafe.Add(ref dy, (c * outHeight + r) * outWidth);
                nuint j = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; j + 16 <= columns; j += 16)
                    {
                        Vector256<float> g8 = Vector256.LoadUnsafe(ref g, j / 2);
                        Windows(Vector512.LoadUnsafe(ref xTop, j), Vector512.LoadUnsafe(ref xTop, j + width),
                            Vector512.Shuffle(Vector512.Create(g8, g8), Pairs512), Swap512, Even512, out Vector512<float> up, out Vector512<float> down);
                        up.StoreUnsafe(ref dxTop, j);
                        down.StoreUnsafe(ref dxTop, j + width);
                    }
                if (Vector256.IsHardwareAccelerated)
                    for (; j + 8 <= columns; j += 8)
                    {
                        Vector128<float> g4 = Vector128.LoadUnsafe(ref g, j / 2);
                        Windows(Vector256.LoadUnsafe(ref xTop, j), Vector256.LoadUnsafe(ref xTop, j + width),
                            Vector256.Shuffle(Vector256.Create(g4, g4), Pairs256), Swap256, Even256, out Vector256<float> up, out Vector256<float> down);
                        up.StoreUnsafe(ref dxTop, j);
                        down.StoreUnsafe(ref dxTop, j + width);
                    }
                for (; j < columns; j += 2)
                {
                    // One window: the same comparisons as the vectors, one lane.
                    float a = Unsafe.Add(ref xTop, j), b = Unsafe.Add(ref xTop, j + 1), d0 = Unsafe.Add(ref xTop, j + width), d1 = Unsafe.Add(ref xTop, j + width + 1);
                    float best = a;
                    nuint at = 0;
                    if (b > best || float.IsNaN(b) && !float.IsNaN(best)) { best = b; at = 1; }
                    if (d0 > best || float.IsNaN(d0) && !float.IsNaN(best)) { best = d0; at = width; }
                    if (d1 > best || float.IsNaN(d1) && !float.IsNaN(best)) at = width + 1;
                    Unsafe.Add(ref dxTop, j) = 0;
                    Unsafe.Add(ref dxTop, j + 1) = 0;
                    Unsafe.Add(ref dxTop, j + width) = 0;
                    Unsafe.Add(ref dxTop, j + width + 1) = 0;
                    Unsafe.Add(ref dxTop, j + at) = Unsafe.Add(ref g, j / 2);
                }
            }
        }
    }

    /// <summary>
    /// Max-pool forward for 2×2 windows with stride 2 and no padding over <paramref name="planes"/> planes of
    /// <paramref name="height"/> × <paramref name="width"/> into <c>height/2 × width/2</c> (a last odd row or column,
    /// in no window, is not read). The maximum is IEEE 754's, as <see cref="MathF.Max(float, float)"/>: a NaN
    /// propagates and +0 is above −0, so the values are the generated scalar loop's. Vectorised: the two rows' maxima,
    /// then each lane pair's, then the pairs' left lanes packed into half a vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2x2(ref float x, ref float y, nuint planes, nuint height, nuint width)
    {
        nuint outHeight = height / 2, outWidth = width / 2, columns = outWidth * 2;
        for (nuint c = 0; c < planes; c++)
        {
            for (nuint r = 0; r < outHeight; r++)
            {
                ref float xTop = ref Unsafe.Add(ref x, c * height * width + 2 * r * width);
                ref float yRow = ref Unsafe.Add(ref y, (c * outHeight + r) * outWidth);
                nuint j = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; j + 16 <= columns; j += 16)
                    {
                        Vector512<float> rows = Vector512.Max(Vector512.LoadUnsafe(ref xTop, j), Vector512.LoadUnsafe(ref xTop, j + width));
                        Vector512.Shuffle(Vector512.Max(rows, Vector512.Shuffle(rows, Swap512)), Left512).GetLower().StoreUnsafe(ref yRow, j / 2);
                    }
                if (Vector256.IsHardwareAccelerated)
                    for (; j + 8 <= columns; j += 8)
                    {
                        Vector256<float> rows = Vector256.Max(Vector256.LoadUnsafe(ref xTop, j), Vector256.LoadUnsafe(ref xTop, j + width));
                        Vector256.Shuffle(Vector256.Max(rows, Vector256.Shuffle(rows, Swap256)), Left256).GetLower().StoreUnsafe(ref yRow, j / 2);
                    }
                for (; j < columns; j += 2)
                    Unsafe.Add(ref yRow, j / 2) = MathF.Max(MathF.Max(MathF.Max(Unsafe.Add(ref xTop, j), Unsafe.Add(ref xTop, j + 1)),
                        Unsafe.Add(ref xTop, j + width)), Unsafe.Add(ref xTop, j + width + 1));
            }
        }
    }

    // Lane pairs (2k, 2k+1) hold one window: Swap exchanges a pair's lanes, Pairs spreads k gradients over k pairs,
    // Even marks the left lane of each pair.
    private static readonly Vector512<int> Swap512 = Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    private static readonly Vector512<int> Pairs512 = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    private static readonly Vector512<float> Even512 = Vector512.Create(-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0).AsSingle();
    private static readonly Vector256<int> Swap256 = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
    private static readonly Vector256<int> Pairs256 = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
    private static readonly Vector256<float> Even256 = Vector256.Create(-1, 0, -1, 0, -1, 0, -1, 0).AsSingle();
    // The left lane of each pair, packed into the lower half.
    private static readonly Vector512<int> Left512 = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    private static readonly Vector256<int> Left256 = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);

    // The windows of one vector of top-row and bottom-row columns: each lane gets its window's four values in order
    // (a b / c d), keeps the first maximum (NaN maximal, the first NaN winning), and takes the gradient if it is that one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Windows(Vector512<float> top, Vector512<float> bottom, Vector512<float> g, Vector512<int> swap, Vector512<float> even,
        out Vector512<float> up, out Vector512<float> down)
    {
        Vector512<float> topSwapped = Vector512.Shuffle(top, swap), bottomSwapped = Vector512.Shuffle(bottom, swap);
        Vector512<float> a = Vector512.ConditionalSelect(even, top, topSwapped), b = Vector512.ConditionalSelect(even, topSwapped, top);
        Vector512<float> c = Vector512.ConditionalSelect(even, bottom, bottomSwapped), d = Vector512.ConditionalSelect(even, bottomSwapped, bottom);
        Vector512<float> best = a;
        Vector512<float> takeB = Wins(b, best);
        best = Vector512.ConditionalSelect(takeB, b, best);
        Vector512<float> takeC = Wins(c, best);
        best = Vector512.ConditionalSelect(takeC, c, best);
        Vector512<float> takeD = Wins(d, best);
        Vector512<float> selectC = Vector512.AndNot(takeC, takeD), selectB = Vector512.AndNot(Vector512.AndNot(takeB, takeC), takeD);
        Vector512<float> selectA = ~(takeB | takeC | takeD);
        up = g & Vector512.ConditionalSelect(even, selectA, selectB);
        down = g & Vector512.ConditionalSelect(even, selectC, takeD);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Wins(Vector512<float> v, Vector512<float> best) =>
        Vector512.GreaterThan(v, best) | Vector512.AndNot(~Vector512.Equals(v, v), ~Vector512.Equals(best, best));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Windows(Vector256<float> top, Vector256<float> bottom, Vector256<float> g, Vector256<int> swap, Vector256<float> even,
        out Vector256<float> up, out Vector256<float> down)
    {
        Vector256<float> topSwapped = Vector256.Shuffle(top, swap), bottomSwapped = Vector256.Shuffle(bottom, swap);
        Vector256<float> a = Vector256.ConditionalSelect(even, top, topSwapped), b = Vector256.ConditionalSelect(even, topSwapped, top);
        Vector256<float> c = Vector256.ConditionalSelect(even, bottom, bottomSwapped), d = Vector256.ConditionalSelect(even, bottomSwapped, bottom);
        Vector256<float> best = a;
        Vector256<float> takeB = Wins(b, best);
        best = Vector256.ConditionalSelect(takeB, b, best);
        Vector256<float> takeC = Wins(c, best);
        best = Vector256.ConditionalSelect(takeC, c, best);
        Vector256<float> takeD = Wins(d, best);
        Vector256<float> selectC = Vector256.AndNot(takeC, takeD), selectB = Vector256.AndNot(Vector256.AndNot(takeB, takeC), takeD);
        Vector256<float> selectA = ~(takeB | takeC | takeD);
        up = g & Vector256.ConditionalSelect(even, selectA, selectB);
        down = g & Vector256.ConditionalSelect(even, selectC, takeD);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Wins(Vector256<float> v, Vector256<float> best) =>
        Vector256.GreaterThan(v, best) | Vector256.AndNot(~Vector256.Equals(v, v), ~Vector256.Equals(best, best));

    /// <summary><c>y[c, i, j] = (sum of x over the window's in-bounds part) / kernel²</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2DForward(ReadOnlySpan<float> x, Span<float> y, int channels, int height, int width,
        int kernel, int stride, int padding, int outHeight, int outWidth)
    {
        Check2D(x.Length, y.Length, channels, height, width, kernel, stride, padding, outHeight, outWidth, nameof(x), nameof(y));
        int plane = height * width, outPlane = outHeight * outWidth;
        float inverseArea = 1f / (kernel * kernel);
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * plane, plane);
            Span<float> yc = y.Slice(c * outPlane, outPlane);
            for (int i = 0; i < outHeight; i++)
            {
                (int h0, int h1) = Clamp(i * stride - padding, kernel, height);
                for (int j = 0; j < outWidth; j++)
                {
                    (int w0, int w1) = Clamp(j * stride - padding, kernel, width);
                    float sum = 0f;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            sum += xc[h * width + w];
                    yc[i * outWidth + j] = sum * inverseArea;
                }
            }
        }
    }

    /// <summary>Adds <c>dy[c, i, j] / kernel²</c> to every in-bounds input of window (i, j). <paramref name="dx"/> (<c>channels·height·width</c> floats) must be zeroed by the caller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgPool2DBackward(ReadOnlySpan<float> dy, Span<float> dx, int channels, int height, int width,
        int kernel, int stride, int padding, int outHeight, int outWidth)
    {
        Check2D(dx.Length, dy.Length, channels, height, width, kernel, stride, padding, outHeight, outWidth, nameof(dx), nameof(dy));
        int plane = height * width, outPlane = outHeight * outWidth;
        float inverseArea = 1f / (kernel * kernel);
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> gc = dy.Slice(c * outPlane, outPlane);
            Span<float> dc = dx.Slice(c * plane, plane);
            for (int i = 0; i < outHeight; i++)
            {
                (int h0, int h1) = Clamp(i * stride - padding, kernel, height);
                for (int j = 0; j < outWidth; j++)
                {
                    (int w0, int w1) = Clamp(j * stride - padding, kernel, width);
                    float g = gc[i * outWidth + j] * inverseArea;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            dc[h * width + w] += g;
                }
            }
        }
    }

    /// <summary><c>y[c, t] = max over the window of x[c, .]</c>; ties and NaN as in <see cref="MaxPool2DForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool1DForward(ReadOnlySpan<float> x, Span<float> y, int channels, int length,
        int kernel, int stride, int padding, int outLength)
    {
        Check1D(x.Length, y.Length, channels, length, kernel, stride, padding, outLength, nameof(x), nameof(y));
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * length, length);
            Span<float> yc = y.Slice(c * outLength, outLength);
            for (int t = 0; t < outLength; t++) yc[t] = xc[ArgMax1D(xc, kernel, t * stride - padding)];
        }
    }

    /// <summary>Adds each <c>dy[c, t]</c> to <c>dx</c> at the first maximal input of window t. <paramref name="dx"/> must be zeroed by the caller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool1DBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int channels, int length,
        int kernel, int stride, int padding, int outLength)
    {
        Check1D(x.Length, dy.Length, channels, length, kernel, stride, padding, outLength, nameof(x), nameof(dy));
        BatchNormKernels.CheckLength(dx.Length, x.Length, nameof(dx));
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * length, length);
            ReadOnlySpan<float> gc = dy.Slice(c * outLength, outLength);
            Span<float> dc = dx.Slice(c * length, length);
            for (int t = 0; t < outLength; t++) dc[ArgMax1D(xc, kernel, t * stride - padding)] += gc[t];
        }
    }

    /// <summary><c>y[c] = mean of x[c, ·]</c> over its <paramref name="spatial"/> positions (summed in double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAvgPoolForward(ReadOnlySpan<float> x, Span<float> y, int channels, int spatial)
    {
        CheckGlobal(x.Length, y.Length, channels, spatial, nameof(x), nameof(y));
        ref float xr = ref SpanMath.Ref(x);
        for (int c = 0; c < channels; c++)
            y[c] = (float)(SpanMath.Sum(ref System.Runtime.CompilerServices.Unsafe.Add(ref xr, (nuint)c * (nuint)spatial), (nuint)spatial) / spatial);
    }

    /// <summary>Writes (does not add) <c>dx[c, s] = dy[c] / spatial</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAvgPoolBackward(ReadOnlySpan<float> dy, Span<float> dx, int channels, int spatial)
    {
        CheckGlobal(dx.Length, dy.Length, channels, spatial, nameof(dx), nameof(dy));
        float inverse = 1f / spatial;
        for (int c = 0; c < channels; c++) dx.Slice(c * spatial, spatial).Fill(dy[c] * inverse);
    }

    // PyTorch's CPU rule: start from the first in-bounds element with max = −∞, take a value when it is greater or NaN.
    private static int ArgMax2D(ReadOnlySpan<float> plane, int height, int width, int kernel, int top, int left)
    {
        (int h0, int h1) = Clamp(top, kernel, height);
        (int w0, int w1) = Clamp(left, kernel, width);
        int best = h0 * width + w0;
        float max = float.NegativeInfinity;
        for (int h = h0; h < h1; h++)
        {
            for (int w = w0; w < w1; w++)
            {
                int index = h * width + w;
                float v = plane[index];
                if (v > max || float.IsNaN(v))
                {
                    max = v;
                    best = index;
                }
            }
        }
        return best;
    }

    private static int ArgMax1D(ReadOnlySpan<float> row, int kernel, int start)
    {
        (int t0, int t1) = Clamp(start, kernel, row.Length);
        int best = t0;
        float max = float.NegativeInfinity;
        for (int t = t0; t < t1; t++)
        {
            float v = row[t];
            if (v > max || float.IsNaN(v))
            {
                max = v;
                best = t;
            }
        }
        return best;
    }

    private static (int Start, int End) Clamp(int start, int kernel, int size) => (Math.Max(start, 0), Math.Min(start + kernel, size));

    private static void Check2D(int inputLength, int outputLength, int channels, int height, int width, int kernel, int stride, int padding,
        int outHeight, int outWidth, string inputName, string outputName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        CheckWindow(height, kernel, stride, padding, outHeight, nameof(outHeight));
        CheckWindow(width, kernel, stride, padding, outWidth, nameof(outWidth));
        BatchNormKernels.CheckLength(inputLength, checked(channels * height * width), inputName);
        BatchNormKernels.CheckLength(outputLength, checked(channels * outHeight * outWidth), outputName);
    }

    private static void Check1D(int inputLength, int outputLength, int channels, int length, int kernel, int stride, int padding,
        int outLength, string inputName, string outputName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        CheckWindow(length, kernel, stride, padding, outLength, nameof(outLength));
        BatchNormKernels.CheckLength(inputLength, checked(channels * length), inputName);
        BatchNormKernels.CheckLength(outputLength, checked(channels * outLength), outputName);
    }

    private static void CheckWindow(int size, int kernel, int stride, int padding, int output, string outputName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(output, outputName);
        if (padding > kernel / 2)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Padding must be at most half the kernel ({kernel / 2}).");
        long padded = (long)size + 2L * padding;
        long expected = padded < kernel ? 0 : (padded - kernel) / stride + 1;
        if (output != expected)
            throw new ArgumentOutOfRangeException(outputName, output, $"Expected {expected} for size {size}, kernel {kernel}, stride {stride}, padding {padding}.");
    }

    private static void CheckGlobal(int spatialLength, int channelLength, int channels, int spatial, string spatialName, string channelName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spatial);
        BatchNormKernels.CheckLength(spatialLength, checked(channels * spatial), spatialName);
        BatchNormKernels.CheckLength(channelLength, channels, channelName);
    }
}
