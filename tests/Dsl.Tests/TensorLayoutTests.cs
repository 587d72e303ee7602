using System;
using System.Linq;
using Dsl;

namespace Dsl.Tests;

public sealed class TensorLayoutTests
{
    // Shapes with odd sizes: [OC, IC/groups, KH, KW] style and 2-D dense style.
    public static TheoryData<int[], int> GroupedShapes() => new()
    {
        { new[] { 3, 5 }, 1 },
        { new[] { 7, 1 }, 1 },
        { new[] { 1, 9 }, 1 },
        { new[] { 5, 3, 3, 3 }, 1 },
        { new[] { 6, 3, 3, 3 }, 2 },
        { new[] { 6, 1, 5 }, 2 },
        { new[] { 9, 2, 3, 1 }, 3 },
        { new[] { 3, 7, 1, 1 }, 3 },
        { new[] { 15, 1, 3, 3 }, 3 },
    };

    [Theory]
    [MemberData(nameof(GroupedShapes))]
    public void FileToStored_PlacesEveryElementAtThePerGroupTransposedIndex(int[] shape, int groups)
    {
        var t = new TensorInfo("w", shape, TensorInit.Zeros, transposeGroups: groups);
        int m = shape[0] / groups;
        int r = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        float[] file = Distinct(t.Length);
        var stored = new float[t.Length];

        t.FileToStored(file, stored);

        // Independent index arithmetic: file [g, m, r] -> stored [g, r, m].
        for (int g = 0; g < groups; g++)
            for (int o = 0; o < m; o++)
                for (int k = 0; k < r; k++)
                {
                    int fileIndex = (g * m + o) * r + k;
                    int storedIndex = g * r * m + k * m + o;
                    Assert.Equal(file[fileIndex], stored[storedIndex]);
                    Assert.Equal(storedIndex, t.StoredIndex(fileIndex));
                }
    }

    [Theory]
    [MemberData(nameof(GroupedShapes))]
    public void StoredToFile_InvertsFileToStored(int[] shape, int groups)
    {
        var t = new TensorInfo("w", shape, TensorInit.Zeros, transposeGroups: groups);
        float[] file = Distinct(t.Length);
        var stored = new float[t.Length];
        var back = new float[t.Length];

        t.FileToStored(file, stored);
        t.StoredToFile(stored, back);

        Assert.Equal(file, back);
    }

    [Fact]
    public void StoredTransposed_IsTransposeGroupsOne()
    {
        var dense = new TensorInfo("fc.weight", new[] { 3, 5 }, TensorInit.Zeros, 5, 3, storedTransposed: true);
        Assert.Equal(1, dense.TransposeGroups);
        Assert.True(dense.StoredTransposed);

        var conv = new TensorInfo("conv.weight", new[] { 4, 1, 3, 3 }, TensorInit.Zeros, transposeGroups: 2);
        Assert.Equal(2, conv.TransposeGroups);
        Assert.True(conv.StoredTransposed);

        var plain = new TensorInfo("b", new[] { 4 }, TensorInit.Zeros);
        Assert.Equal(0, plain.TransposeGroups);
        Assert.False(plain.StoredTransposed);
    }

    [Fact]
    public void Untransposed_ConversionsCopy()
    {
        var t = new TensorInfo("b", new[] { 2, 3 }, TensorInit.Zeros);
        float[] file = Distinct(6);
        var stored = new float[6];
        t.FileToStored(file, stored);
        Assert.Equal(file, stored);
        var back = new float[6];
        t.StoredToFile(stored, back);
        Assert.Equal(file, back);
        Assert.Equal(4, t.StoredIndex(4));

        // A plain copy may run in place.
        t.FileToStored(stored, stored);
        Assert.Equal(file, stored);
    }

    [Fact]
    public void ScalarShape_HasLengthOne()
    {
        var t = new TensorInfo("bn.num_batches_tracked", Array.Empty<int>(), TensorInit.Zeros, kind: TensorKind.Buffer, fileDType: TensorDType.I64);
        Assert.Equal(1, t.Length);
        Assert.Empty(t.Shape);
        Assert.Equal("bn.num_batches_tracked []", t.ToString());
    }

    [Fact]
    public void Conversions_CheckLengthsAndOverlap()
    {
        var t = new TensorInfo("w", new[] { 4, 3 }, TensorInit.Zeros, transposeGroups: 2);
        var ok = new float[12];
        Assert.Throws<ArgumentException>(() => t.FileToStored(new float[11], ok));
        Assert.Throws<ArgumentException>(() => t.FileToStored(ok, new float[13]));
        Assert.Throws<ArgumentException>(() => t.StoredToFile(new float[12], new float[11]));
        Assert.Throws<ArgumentException>(() => t.StoredToFile(ok, ok));
        var big = new float[20];
        Assert.Throws<ArgumentException>(() => t.FileToStored(big.AsSpan(0, 12), big.AsSpan(8, 12)));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.StoredIndex(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.StoredIndex(-1));
    }

    [Fact]
    public void Constructor_RejectsInvalidLayouts()
    {
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 5, 2 }, TensorInit.Zeros, transposeGroups: 2));
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 6 }, TensorInit.Zeros, transposeGroups: 2));
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 6 }, TensorInit.Zeros, storedTransposed: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorInfo("w", new[] { 6, 1 }, TensorInit.Zeros, transposeGroups: -1));
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 6, 0 }, TensorInit.Zeros));
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 65536, 65536 }, TensorInit.Zeros));
        var e = Assert.Throws<ArgumentException>(() => new TensorInfo("w", new[] { 2 }, TensorInit.Zeros, fileDType: TensorDType.I64));
        Assert.Contains("only buffers", e.Message);
    }

    private static float[] Distinct(int length) => Enumerable.Range(0, length).Select(k => k + 0.5f).ToArray();
}
