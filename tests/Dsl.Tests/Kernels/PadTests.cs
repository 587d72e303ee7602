using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// <see cref="PatchKernels.Pad"/> against the element loop: short and long rows, with and without border rows and
/// columns (one side only, as a causal convolution pads); the buffer starts dirty, so a border left uncleared shows,
/// and nothing past the padded planes is written.
/// </summary>
public sealed class PadTests
{
    [Theory]
    [InlineData(8, 28, 28, 1, 1, 1)] // case D's second convolution
    [InlineData(3, 5, 17, 2, 2, 2)]
    [InlineData(2, 4, 16, 1, 0, 3)]
    [InlineData(1, 3, 9, 0, 2, 0)] // causal: left only
    [InlineData(2, 2, 8, 1, 1, 1)]
    [InlineData(2, 3, 7, 1, 1, 1)]
    [InlineData(1, 2, 4, 1, 1, 1)]
    [InlineData(1, 2, 3, 1, 1, 1)]
    [InlineData(1, 1, 1, 1, 1, 1)]
    [InlineData(2, 3, 33, 1, 1, 1)]
    public void MatchesTheElementLoop(int channels, int height, int width, int top, int left, int right)
    {
        var rng = new Rng(channels * 10_000 + height * 100 + width);
        float[] x = new float[channels * height * width];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
        int paddedHeight = height + 2 * top, paddedWidth = left + width + right;
        float[] expected = new float[channels * paddedHeight * paddedWidth];
        for (int c = 0; c < channels; c++)
            for (int h = 0; h < height; h++)
                for (int w = 0; w < width; w++)
                    expected[(c * paddedHeight + top + h) * paddedWidth + left + w] = x[(c * height + h) * width + w];
        float[] actual = new float[expected.Length + 1];
        Array.Fill(actual, float.NaN);
        actual[^1] = 42f;

        PatchKernels.Pad(ref x[0], ref actual[0], channels, height, width, top, left, right);

        Assert.Equal(expected, actual[..^1]);
        Assert.Equal(42f, actual[^1]); // nothing written past the planes
    }
}
