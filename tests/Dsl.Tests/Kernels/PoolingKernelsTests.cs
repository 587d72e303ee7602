using System;
using System.Collections.Generic;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// PoolingKernels against a double-precision scalar reference that loops over padded windows. Max pooling must
/// match exactly (it only selects); averages within 1e-6·(1 + |reference|).
/// </summary>
public sealed class PoolingKernelsTests
{
    // (channels, height, width, kernel, stride, padding): odd sizes, padding 0/1, stride 1/2.
    public static IEnumerable<object[]> Cases2D()
    {
        foreach ((int h, int w) in new[] { (1, 1), (7, 7), (17, 5), (7, 49), (2, 3) })
            foreach (int k in new[] { 1, 2, 3 })
                foreach (int s in new[] { 1, 2 })
                    foreach (int p in new[] { 0, 1 })
                        if (p <= k / 2 && h + 2 * p >= k && w + 2 * p >= k)
                            yield return new object[] { 3, h, w, k, s, p };
    }

    public static IEnumerable<object[]> Cases1D()
    {
        foreach (int length in new[] { 1, 7, 17, 49 })
            foreach (int k in new[] { 1, 2, 3, 4 })
                foreach (int s in new[] { 1, 2, 3 })
                    foreach (int p in new[] { 0, 1 })
                        if (p <= k / 2 && length + 2 * p >= k)
                            yield return new object[] { 2, length, k, s, p };
    }

    [Theory]
    [MemberData(nameof(Cases2D))]
    public void MaxPool2D_ForwardAndBackward_MatchReference(int channels, int height, int width, int kernel, int stride, int padding)
    {
        var rng = new Random(height * 100 + width * 10 + kernel + stride * 7 + padding * 3);
        (int oh, int ow) = (Out(height, kernel, stride, padding), Out(width, kernel, stride, padding));
        // All negative, so a zero-padded maximum would be caught.
        float[] x = BatchNormKernelsTests.Random(rng, channels * height * width, -3, -1);
        float[] dy = BatchNormKernelsTests.Random(rng, channels * oh * ow, -1, 1);
        var y = new float[dy.Length];
        float[] dx = BatchNormKernelsTests.Random(rng, x.Length, -1, 1);
        float[] dxBefore = (float[])dx.Clone();

        PoolingKernels.MaxPool2DForward(x, y, channels, height, width, kernel, stride, padding, oh, ow);
        PoolingKernels.MaxPool2DBackward(x, dy, dx, channels, height, width, kernel, stride, padding, oh, ow);

        var expectedDx = new double[x.Length];
        for (int i = 0; i < x.Length; i++) expectedDx[i] = dxBefore[i];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double max = double.NegativeInfinity;
                    int arg = -1;
                    for (int a = 0; a < kernel; a++)
                        for (int b = 0; b < kernel; b++)
                        {
                            int r = i * stride - padding + a, q = j * stride - padding + b;
                            if (r < 0 || r >= height || q < 0 || q >= width) continue;
                            int index = (c * height + r) * width + q;
                            if (x[index] > max) (max, arg) = (x[index], index);
                        }
                    int o = (c * oh + i) * ow + j;
                    Assert.Equal(max, y[o]);
                    expectedDx[arg] += dy[o];
                }
        AssertClose(expectedDx, dx, 1e-6);
    }

    [Fact]
    public void MaxPool2D_Ties_GoToTheFirstMaximumInRowMajorOrder()
    {
        // One 2x2 window of equal values, then one with the maximum repeated on its second row.
        float[] x =
        {
            5, 5, 1, 2,
            5, 5, 7, 7,
        };
        var y = new float[2];
        var dx = new float[8];

        PoolingKernels.MaxPool2DForward(x, y, 1, 2, 4, 2, 2, 0, 1, 2);
        PoolingKernels.MaxPool2DBackward(x, new[] { 10f, 20f }, dx, 1, 2, 4, 2, 2, 0, 1, 2);

        Assert.Equal(new[] { 5f, 7f }, y);
        Assert.Equal(new[] { 10f, 0, 0, 0, 0, 0, 20f, 0 }, dx);
    }

    [Fact]
    public void MaxPool_NaN_Propagates()
    {
        float[] x = { 1, float.NaN, 3, 0 };
        var y = new float[1];
        PoolingKernels.MaxPool2DForward(x, y, 1, 2, 2, 2, 2, 0, 1, 1);
        Assert.True(float.IsNaN(y[0]));
        var y1 = new float[2];
        PoolingKernels.MaxPool1DForward(x, y1, 1, 4, 2, 2, 0, 2);
        Assert.True(float.IsNaN(y1[0]));
        Assert.Equal(3f, y1[1]);
    }

    [Theory]
    [MemberData(nameof(Cases2D))]
    public void AvgPool2D_ForwardAndBackward_MatchReference(int channels, int height, int width, int kernel, int stride, int padding)
    {
        var rng = new Random(height * 100 + width * 10 + kernel + stride * 7 + padding * 3 + 1);
        (int oh, int ow) = (Out(height, kernel, stride, padding), Out(width, kernel, stride, padding));
        float[] x = BatchNormKernelsTests.Random(rng, channels * height * width, -2, 2);
        float[] dy = BatchNormKernelsTests.Random(rng, channels * oh * ow, -1, 1);
        var y = new float[dy.Length];
        float[] dx = BatchNormKernelsTests.Random(rng, x.Length, -1, 1);
        float[] dxBefore = (float[])dx.Clone();

        PoolingKernels.AvgPool2DForward(x, y, channels, height, width, kernel, stride, padding, oh, ow);
        PoolingKernels.AvgPool2DBackward(dy, dx, channels, height, width, kernel, stride, padding, oh, ow);

        var expectedY = new double[y.Length];
        var expectedDx = new double[x.Length];
        for (int i = 0; i < x.Length; i++) expectedDx[i] = dxBefore[i];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int o = (c * oh + i) * ow + j;
                    double sum = 0;
                    for (int a = 0; a < kernel; a++)
                        for (int b = 0; b < kernel; b++)
                        {
                            int r = i * stride - padding + a, q = j * stride - padding + b;
                            if (r < 0 || r >= height || q < 0 || q >= width) continue; // zero padding, still counted below
                            sum += x[(c * height + r) * width + q];
                            expectedDx[(c * height + r) * width + q] += dy[o] / (double)(kernel * kernel);
                        }
                    expectedY[o] = sum / (kernel * kernel);
                }
        AssertClose(expectedY, y, 1e-6);
        AssertClose(expectedDx, dx, 1e-6);
    }

    [Fact]
    public void AvgPool2D_CountsPaddingInTheDivisor()
    {
        // 2x2 input of ones, 3x3 window with padding 1, stride 2: the one window sees 4 ones of 9 taps.
        var y = new float[1];
        PoolingKernels.AvgPool2DForward(new float[] { 1, 1, 1, 1 }, y, 1, 2, 2, 3, 2, 1, 1, 1);
        Assert.Equal(4f / 9f, y[0], 6);
    }

    [Theory]
    [MemberData(nameof(Cases1D))]
    public void MaxPool1D_ForwardAndBackward_MatchReference(int channels, int length, int kernel, int stride, int padding)
    {
        var rng = new Random(length * 100 + kernel * 10 + stride + padding * 1000);
        int outLength = Out(length, kernel, stride, padding);
        float[] x = BatchNormKernelsTests.Random(rng, channels * length, -3, -1);
        float[] dy = BatchNormKernelsTests.Random(rng, channels * outLength, -1, 1);
        var y = new float[dy.Length];
        var dx = new float[x.Length];

        PoolingKernels.MaxPool1DForward(x, y, channels, length, kernel, stride, padding, outLength);
        PoolingKernels.MaxPool1DBackward(x, dy, dx, channels, length, kernel, stride, padding, outLength);

        var expectedDx = new double[x.Length];
        for (int c = 0; c < channels; c++)
            for (int t = 0; t < outLength; t++)
            {
                double max = double.NegativeInfinity;
                int arg = -1;
                for (int k = 0; k < kernel; k++)
                {
                    int p = t * stride - padding + k;
                    if (p < 0 || p >= length) continue;
                    if (x[c * length + p] > max) (max, arg) = (x[c * length + p], c * length + p);
                }
                Assert.Equal(max, y[c * outLength + t]);
                expectedDx[arg] += dy[c * outLength + t];
            }
        AssertClose(expectedDx, dx, 1e-6);
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 7)]
    [InlineData(2, 17)]
    [InlineData(5, 49)]
    [InlineData(1, 100)]
    public void GlobalAvgPool_ForwardAndBackward_MatchReference(int channels, int spatial)
    {
        var rng = new Random(channels * 1000 + spatial);
        float[] x = BatchNormKernelsTests.Random(rng, channels * spatial, -2, 2);
        float[] dy = BatchNormKernelsTests.Random(rng, channels, -1, 1);
        var y = new float[channels];
        float[] dx = BatchNormKernelsTests.Random(rng, x.Length, 5, 6); // overwritten, not added to

        PoolingKernels.GlobalAvgPoolForward(x, y, channels, spatial);
        PoolingKernels.GlobalAvgPoolBackward(dy, dx, channels, spatial);

        var expectedY = new double[channels];
        var expectedDx = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int s = 0; s < spatial; s++) sum += x[c * spatial + s];
            expectedY[c] = sum / spatial;
            for (int s = 0; s < spatial; s++) expectedDx[c * spatial + s] = dy[c] / (double)spatial;
        }
        AssertClose(expectedY, y, 1e-6);
        AssertClose(expectedDx, dx, 1e-6);
    }

    [Fact]
    public void Kernels_CheckShapes()
    {
        var x = new float[2 * 7 * 7];
        PoolingKernels.MaxPool2DForward(x, new float[2 * 9], 2, 7, 7, 2, 2, 0, 3, 3); // 7x7, kernel 2, stride 2: 3x3
        Assert.Throws<ArgumentException>(() => PoolingKernels.MaxPool2DForward(x, new float[2 * 9 + 1], 2, 7, 7, 2, 2, 0, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => PoolingKernels.MaxPool2DForward(x, new float[2 * 16], 2, 7, 7, 2, 2, 0, 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PoolingKernels.AvgPool2DForward(x, new float[2 * 49], 2, 7, 7, 3, 1, 2, 9, 9));
        Assert.Throws<ArgumentException>(() => PoolingKernels.MaxPool1DBackward(new float[14], new float[14], new float[13], 2, 7, 1, 1, 0, 7));
        Assert.Throws<ArgumentException>(() => PoolingKernels.GlobalAvgPoolForward(new float[14], new float[3], 2, 7));
    }

    private static int Out(int size, int kernel, int stride, int padding) => (size + 2 * padding - kernel) / stride + 1;

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}
