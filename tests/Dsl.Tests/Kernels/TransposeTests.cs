using System.Runtime.Intrinsics;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// <see cref="DenseKernels.Transpose"/> against the element loop: whole 8 x 8 blocks, the edges that do not fill one
/// and matrices smaller than a block; a convolution's pixel rows and channel planes (784 x 32, 196 x 64) both ways.
/// </summary>
public sealed class TransposeTests
{
    [Theory]
    [InlineData(784, 32)]
    [InlineData(32, 784)]
    [InlineData(196, 64)]
    [InlineData(64, 196)]
    [InlineData(8, 8)]
    [InlineData(13, 21)]
    [InlineData(17, 9)]
    [InlineData(1, 5)]
    [InlineData(5, 1)]
    public void MatchesTheElementLoop(int rows, int columns)
    {
        var rng = new Rng(rows * 1000 + columns);
        float[] source = new float[rows * columns];
        for (int i = 0; i < source.Length; i++) source[i] = rng.NextSingle(-1f, 1f);
        float[] expected = new float[source.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                expected[c * rows + r] = source[r * columns + c];
        float[] actual = new float[source.Length + 1];
        actual[^1] = 42f;

        DenseKernels.Transpose(ref source[0], ref actual[0], (nuint)rows, (nuint)columns);

        Assert.Equal(expected, actual[..^1]);
        Assert.Equal(42f, actual[^1]); // nothing written past the matrix
    }

    // A 16 x 16 tile (a channel-lanes convolution's positions x channels) into 16 rows 23 floats apart, its first `rows`
    // rows only: every other float of the destination keeps its value.
    [Theory]
    [InlineData(16)]
    [InlineData(14)]
    [InlineData(9)]
    [InlineData(1)]
    public void Tile16_MatchesTheElementLoop_AndStoresOnlyItsRows(int rows)
    {
        if (!Vector512.IsHardwareAccelerated) return; // the channel-lanes kernel runs only with AVX-512
        const int stride = 23;
        var rng = new Rng(rows);
        float[] tile = new float[256];
        for (int i = 0; i < tile.Length; i++) tile[i] = rng.NextSingle(-1f, 1f);
        float[] expected = new float[16 * stride + 16];
        for (int i = 0; i < expected.Length; i++) expected[i] = -7f - i;
        float[] actual = (float[])expected.Clone();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < 16; c++)
                expected[c * stride + r] = tile[r * 16 + c];

        DenseKernels.TransposeTile16(ref tile[0], ref actual[0], stride, rows);

        Assert.Equal(expected, actual);
    }
}
