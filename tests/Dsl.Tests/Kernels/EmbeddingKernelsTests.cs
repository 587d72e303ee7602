using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// EmbeddingKernels: the lookup copies rows exactly, the gradient adds rows (repeated ids accumulate), and every
/// id that is not an integer in [0, vocabulary) is refused before anything is written. Dimensions cover every
/// vector tail (1, 3, 7, 16, 17, 33, 64, 100).
/// </summary>
public sealed class EmbeddingKernelsTests
{
    private const int Vocabulary = 5;

    // Repeats and both ends of the vocabulary.
    private static readonly float[] Ids = { 3, 0, 4, 3, 1, 3, 2 };

    public static TheoryData<int> Dimensions() => new() { 1, 3, 7, 16, 17, 33, 64, 100 };

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void Gather_CopiesTableRows(int dimension)
    {
        float[] table = NormKernelsTests.Uniform(new Random(dimension), Vocabulary * dimension, -1, 1);
        var y = new float[Ids.Length * dimension];

        EmbeddingKernels.Gather(Ids, table, y, Vocabulary, dimension);

        for (int t = 0; t < Ids.Length; t++)
            Assert.Equal(table.AsSpan((int)Ids[t] * dimension, dimension).ToArray(), y.AsSpan(t * dimension, dimension).ToArray());
    }

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void ScatterAdd_AccumulatesRows(int dimension)
    {
        float[] dy = NormKernelsTests.Uniform(new Random(10 + dimension), Ids.Length * dimension, -1, 1);
        float[] start = NormKernelsTests.Uniform(new Random(20 + dimension), Vocabulary * dimension, -1, 1);
        float[] gradient = (float[])start.Clone();

        EmbeddingKernels.ScatterAdd(Ids, dy, gradient, dimension);

        var expected = NormKernelsTests.ToDouble(start);
        for (int t = 0; t < Ids.Length; t++)
            for (int j = 0; j < dimension; j++)
                expected[(int)Ids[t] * dimension + j] += dy[t * dimension + j];
        // Row 3 gets three float additions: a few ulps of values below 4.
        for (int i = 0; i < gradient.Length; i++)
            NormKernelsTests.AssertClose(expected[i], gradient[i], 1e-6, $"gradient[{i / dimension}, {i % dimension}]");
    }

    [Fact]
    public void Gather_NoIds_WritesNothing()
    {
        EmbeddingKernels.Gather(ReadOnlySpan<float>.Empty, new float[6], Span<float>.Empty, 3, 2);
        EmbeddingKernels.ScatterAdd(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, new float[6], 2);
    }

    [Theory]
    [InlineData(-1f, "-1")]
    [InlineData(5f, "5")]
    [InlineData(2.5f, "2.5")]
    [InlineData(-0.5f, "-0.5")]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(1e9f, "1E+09")]
    public void Gather_BadId_ThrowsNamingPositionAndValue_AndWritesNothing(float bad, string shown)
    {
        const int Dimension = 3;
        float[] ids = { 0, 1, 2, 3, bad, 4 };
        float[] table = NormKernelsTests.Uniform(new Random(1), Vocabulary * Dimension, -1, 1);
        var y = new float[ids.Length * Dimension];

        var e = Assert.Throws<ArgumentOutOfRangeException>("ids", () => EmbeddingKernels.Gather(ids, table, y, Vocabulary, Dimension));

        Assert.Contains("position 4", e.Message);
        Assert.Contains(shown, e.Message);
        Assert.Contains("vocabulary 5", e.Message);
        Assert.All(y, v => Assert.Equal(0f, v)); // ids are all checked before the first row is copied
    }

    [Fact]
    public void ScatterAdd_BadId_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("ids", () => EmbeddingKernels.ScatterAdd(new[] { 1f, 5f }, new float[4], new float[10], 2));
        Assert.Contains("position 1", e.Message);
    }

    [Fact]
    public void BadLengths_Throw()
    {
        Assert.Throws<ArgumentException>("table", () => EmbeddingKernels.Gather(new[] { 0f }, new float[9], new float[2], Vocabulary, 2));
        Assert.Throws<ArgumentException>("y", () => EmbeddingKernels.Gather(new[] { 0f }, new float[10], new float[3], Vocabulary, 2));
        Assert.Throws<ArgumentOutOfRangeException>("vocabulary", () => EmbeddingKernels.Gather(new[] { 0f }, new float[0], new float[2], 0, 2));
        Assert.Throws<ArgumentException>("dy", () => EmbeddingKernels.ScatterAdd(new[] { 0f }, new float[3], new float[10], 2));
        Assert.Throws<ArgumentException>("tableGradient", () => EmbeddingKernels.ScatterAdd(new[] { 0f }, new float[2], new float[9], 2));
    }
}
