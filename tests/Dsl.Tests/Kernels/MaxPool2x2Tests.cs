using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// <see cref="PoolingKernels.MaxPool2x2"/> and <see cref="PoolingKernels.MaxPool2x2Backward"/> against loops over
/// the windows: the forward against <see cref="MathF.Max(float, float)"/> over the four taps (bit for bit, signed
/// zeros included), the backward with the generated pools' rule (the first maximum in row-major order, NaN maximal,
/// the first NaN winning); ties, signed zeros and NaNs planted, at widths that use every vector width and the scalar
/// tail, odd sizes included.
/// </summary>
public sealed class MaxPool2x2Tests
{
    // Planes, height, width: FashionCnn's two pools, odd sizes, a single window, and rows that use every vector width.
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 3, 28, 28 }, { 2, 14, 14 }, { 2, 7, 7 }, { 1, 2, 2 }, { 2, 5, 33 }, { 1, 4, 50 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_MatchesMathFMaxOverEachWindow_WithSignedZerosAndNaN(int planes, int height, int width)
    {
        var rng = new Rng(height * 100 + width + 7);
        float[] x = new float[planes * height * width];
        for (int i = 0; i < x.Length; i++)
        {
            int pick = rng.NextInt(20);
            x[i] = pick switch { 0 => float.NaN, 1 or 2 => 0f, 3 or 4 => -0f, _ => rng.NextSingle(-2f, 2f) };
        }
        int outHeight = height / 2, outWidth = width / 2;
        int[] expected = new int[planes * outHeight * outWidth];
        for (int c = 0; c < planes; c++)
            for (int r = 0; r < outHeight; r++)
                for (int j = 0; j < outWidth; j++)
                {
                    int window = c * height * width + 2 * r * width + 2 * j;
                    float best = MathF.Max(MathF.Max(MathF.Max(x[window], x[window + 1]), x[window + width]), x[window + width + 1]);
                    expected[(c * outHeight + r) * outWidth + j] = BitConverter.SingleToInt32Bits(best);
                }
        float[] y = new float[expected.Length + 1];
        y[^1] = 42f;

        PoolingKernels.MaxPool2x2(ref x[0], ref y[0], (nuint)planes, (nuint)height, (nuint)width);

        Assert.Equal(expected, Array.ConvertAll(y[..^1], BitConverter.SingleToInt32Bits));
        Assert.Equal(42f, y[^1]); // nothing written past the output
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_MatchesTheWindowLoop_WithTiesAndNaN(int planes, int height, int width)
    {
        var rng = new Rng(height * 100 + width);
        float[] x = new float[planes * height * width];
        for (int i = 0; i < x.Length; i++)
        {
            // Few distinct values, so ties are common; some NaNs.
            int pick = rng.NextInt(20);
            x[i] = pick == 0 ? float.NaN : (pick % 4) - 1.5f;
        }
        int outHeight = height / 2, outWidth = width / 2;
        float[] dy = new float[planes * outHeight * outWidth];
        for (int i = 0; i < dy.Length; i++) dy[i] = rng.NextSingle(-1f, 1f) + 2f; // never 0, so a misplaced gradient shows
        float[] expected = new float[x.Length];
        for (int c = 0; c < planes; c++)
            for (int r = 0; r < outHeight; r++)
                for (int j = 0; j < outWidth; j++)
                {
                    int window = c * height * width + 2 * r * width + 2 * j;
                    int[] taps = [window, window + 1, window + width, window + width + 1];
                    int at = taps[0];
                    float best = x[at];
                    for (int t = 1; t < 4; t++)
                    {
                        float v = x[taps[t]];
                        if (v > best || float.IsNaN(v) && !float.IsNaN(best)) { best = v; at = taps[t]; }
                    }
                    expected[at] += dy[(c * outHeight + r) * outWidth + j];
                }
        float[] actual = new float[x.Length];

        PoolingKernels.MaxPool2x2Backward(ref x[0], ref dy[0], ref actual[0], (nuint)planes, (nuint)height, (nuint)width);

        Assert.Equal(expected, actual);
    }
}
