using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// AttentionKernels' row softmax against a double-precision reference, with and without the causal mask, at
/// lengths covering every vector tail and group of rows (1, 3, 7, 16, 17, 33, 64, 100); the head gather and
/// scatter against element loops. Tolerances: probabilities within
/// 1e-6 + 1e-5·p (float e^ is a few ulps, the row sum a few more); gradients within 1e-5·(1 + |reference|).
/// </summary>
public sealed class AttentionKernelsTests
{
    public static TheoryData<int, bool> Lengths()
    {
        var data = new TheoryData<int, bool>();
        foreach (int length in new[] { 1, 3, 7, 16, 17, 33, 64, 100 })
        {
            data.Add(length, false);
            data.Add(length, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SoftmaxRows_MatchesReference(int length, bool causal)
    {
        float[] scores = NormKernelsTests.Uniform(new Random(length), length * length, -4, 4);
        float[] p = (float[])scores.Clone();

        AttentionKernels.SoftmaxRows(p, length, causal);

        for (int i = 0; i < length; i++)
        {
            double[] expected = Reference(scores, i, length, causal);
            double sum = 0;
            for (int j = 0; j < length; j++)
            {
                float actual = p[i * length + j];
                if (causal && j > i) Assert.Equal(0f, actual); // masked: exactly zero, not merely tiny
                Assert.True(Math.Abs(actual - expected[j]) <= 1e-6 + 1e-5 * expected[j], $"p[{i}, {j}] = {actual:R}, expected {expected[j]:R}");
                sum += actual;
            }
            Assert.True(Math.Abs(sum - 1) <= 1e-5, $"row {i} sums to {sum}");
        }
    }

    [Fact]
    public void SoftmaxRows_Sixteen_SameFloatsAsTheGeneralPath()
    {
        // 16 x 16 without the mask takes its own path on AVX-512 (all rows reduced together); a causal matrix's last
        // row also has all 16 keys and takes the general one. Each row, moved there, must come out bit for bit the same.
        const int Length = 16;
        float[] scores = NormKernelsTests.Uniform(new Random(16), Length * Length, -6, 6);
        float[] p = (float[])scores.Clone();
        AttentionKernels.SoftmaxRows(p, Length, causal: false);
        for (int i = 0; i < Length; i++)
        {
            float[] causal = new float[Length * Length];
            Array.Copy(scores, i * Length, causal, (Length - 1) * Length, Length);
            AttentionKernels.SoftmaxRows(causal, Length, causal: true);
            for (int j = 0; j < Length; j++)
                Assert.True(BitConverter.SingleToInt32Bits(p[i * Length + j]) == BitConverter.SingleToInt32Bits(causal[(Length - 1) * Length + j]),
                    $"p[{i}, {j}] = {p[i * Length + j]:R}, general path {causal[(Length - 1) * Length + j]:R}");
        }
    }

    [Fact]
    public void SoftmaxRows_HugeScores_StayFinite()
    {
        // e^100 overflows float: only the max shift keeps these finite.
        const int Length = 17;
        float[] scores = NormKernelsTests.Uniform(new Random(1), Length * Length, 90, 110);
        foreach (bool causal in new[] { false, true })
        {
            float[] p = (float[])scores.Clone();
            AttentionKernels.SoftmaxRows(p, Length, causal);
            for (int i = 0; i < Length; i++)
            {
                double[] expected = Reference(scores, i, Length, causal);
                for (int j = 0; j < Length; j++)
                    Assert.True(Math.Abs(p[i * Length + j] - expected[j]) <= 1e-6 + 1e-5 * expected[j], $"causal {causal} p[{i}, {j}] = {p[i * Length + j]:R}, expected {expected[j]:R}");
            }
        }
    }

    [Fact]
    public void SoftmaxRows_Causal_FirstRowIsOneHot()
    {
        float[] p = { 3f, 7f, -2f, 0.5f, 1f, 9f, 4f, 4f, 4f };
        AttentionKernels.SoftmaxRows(p, 3, causal: true);
        Assert.Equal(new[] { 1f, 0f, 0f }, p[..3]);
        Assert.Equal(0f, p[5]);
        for (int j = 6; j < 9; j++) Assert.Equal(1.0 / 3, p[j], 1e-7);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SoftmaxRowsBackward_MatchesFormulaAndFiniteDifferences(int length, bool causal)
    {
        float[] scores = NormKernelsTests.Uniform(new Random(100 + length), length * length, -3, 3);
        float[] dy = NormKernelsTests.Uniform(new Random(200 + length), length * length, -1, 1);
        float[] p = (float[])scores.Clone();
        AttentionKernels.SoftmaxRows(p, length, causal);
        float[] gradient = (float[])dy.Clone();

        AttentionKernels.SoftmaxRowsBackward(p, gradient, length);

        // Finite differences on a few rows (all of them for short sequences) keep the test quick.
        int step = Math.Max(1, length / 5);
        for (int i = 0; i < length; i += step)
        {
            double[] row = NormKernelsTests.ToDouble(scores.AsSpan(i * length, length));
            double[] w = NormKernelsTests.ToDouble(dy.AsSpan(i * length, length));
            double[] expected = Reference(scores, i, length, causal);
            double dot = NormKernelsTests.Dot(w, expected);
            double[] numeric = NormKernelsTests.FiniteDifferences(row, s => NormKernelsTests.Dot(w, Softmax(s, i, causal)));
            for (int j = 0; j < length; j++)
            {
                float actual = gradient[i * length + j];
                // Textbook: dz_j = p_j (dy_j − Σ_k dy_k p_k).
                NormKernelsTests.AssertClose(expected[j] * (w[j] - dot), actual, 1e-5, $"dz[{i}, {j}]");
                NormKernelsTests.AssertClose(numeric[j], actual, 1e-5, $"dz[{i}, {j}] vs finite difference");
                if (causal && j > i) Assert.Equal(0f, actual);
            }
        }
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>("scores", () => AttentionKernels.SoftmaxRows(new float[8], 3, causal: false));
        Assert.Throws<ArgumentOutOfRangeException>("length", () => AttentionKernels.SoftmaxRows(new float[0], 0, causal: false));
        Assert.Throws<ArgumentException>("gradient", () => AttentionKernels.SoftmaxRowsBackward(new float[9], new float[10], 3));
        float[] shared = new float[9];
        Assert.Throws<ArgumentException>("gradient", () => AttentionKernels.SoftmaxRowsBackward(shared, shared, 3));
    }

    [Theory]
    [InlineData(3, 8, 4)]    // head rows shorter than every vector
    [InlineData(5, 21, 7)]   // 7 floats: one 4-wide vector and a scalar tail
    [InlineData(16, 64, 16)] // case E: one 512-bit vector per row
    [InlineData(4, 120, 40)] // 512, 256 and 128-bit steps per row
    [InlineData(12, 40, 10)] // K^T: one whole 8 x 8 block, then the edges
    public void GatherAndScatterHead_MatchElementLoops(int length, int modelDim, int headDim)
    {
        float[] qkv = NormKernelsTests.Uniform(new Random(length * modelDim), length * 3 * modelDim, -2, 2);
        const float scale = 0.37f;
        for (int head = 0; head < modelDim / headDim; head++)
        {
            var q = new float[length * headDim];
            var kT = new float[length * headDim];
            var v = new float[length * headDim];
            AttentionKernels.GatherHead(qkv, length, modelDim, headDim, head, scale, q, kT, v);
            float[] mixed = NormKernelsTests.Uniform(new Random(head), length * modelDim, -1, 1), before = (float[])mixed.Clone();
            AttentionKernels.ScatterHead(v, length, modelDim, headDim, head, mixed);
            for (int t = 0; t < length; t++)
            {
                for (int i = 0; i < headDim; i++)
                {
                    int at = t * 3 * modelDim + head * headDim + i;
                    Assert.Equal(qkv[at] * scale, q[t * headDim + i]);
                    Assert.Equal(qkv[at + modelDim], kT[i * length + t]);
                    Assert.Equal(qkv[at + 2 * modelDim], v[t * headDim + i]);
                }
                // The head's columns take its output; every other column is left as it was.
                for (int c = 0; c < modelDim; c++)
                {
                    bool inHead = c >= head * headDim && c < (head + 1) * headDim;
                    Assert.Equal(inHead ? v[t * headDim + c - head * headDim] : before[t * modelDim + c], mixed[t * modelDim + c]);
                }
            }
        }
    }

    [Fact]
    public void GatherAndScatterHead_BadArguments_Throw()
    {
        float[] qkv = new float[2 * 3 * 8], head = new float[2 * 4], mixed = new float[2 * 8];
        Assert.Throws<ArgumentException>("qkv", () => AttentionKernels.GatherHead(new float[47], 2, 8, 4, 0, 1f, head, head, head));
        Assert.Throws<ArgumentException>("kT", () => AttentionKernels.GatherHead(qkv, 2, 8, 4, 0, 1f, new float[8], new float[9], new float[8]));
        Assert.Throws<ArgumentOutOfRangeException>("head", () => AttentionKernels.GatherHead(qkv, 2, 8, 4, 2, 1f, head, head, head));
        Assert.Throws<ArgumentOutOfRangeException>("headDim", () => AttentionKernels.GatherHead(qkv, 2, 8, 0, 0, 1f, head, head, head));
        Assert.Throws<ArgumentException>("mixed", () => AttentionKernels.ScatterHead(head, 2, 8, 4, 1, new float[15]));
        Assert.Throws<ArgumentException>("o", () => AttentionKernels.ScatterHead(new float[7], 2, 8, 4, 1, mixed));
        Assert.Throws<ArgumentOutOfRangeException>("head", () => AttentionKernels.ScatterHead(head, 2, 8, 4, -1, mixed));
    }

    private static double[] Reference(float[] scores, int row, int length, bool causal) =>
        Softmax(NormKernelsTests.ToDouble(scores.AsSpan(row * length, length)), row, causal);

    /// <summary>Softmax of one row in double; with causal, over j ≤ row only, zero beyond.</summary>
    private static double[] Softmax(double[] z, int row, bool causal)
    {
        int keys = causal ? row + 1 : z.Length;
        double max = double.NegativeInfinity;
        for (int j = 0; j < keys; j++) max = Math.Max(max, z[j]);
        var p = new double[z.Length];
        double sum = 0;
        for (int j = 0; j < keys; j++) sum += p[j] = Math.Exp(z[j] - max);
        for (int j = 0; j < keys; j++) p[j] /= sum;
        return p;
    }
}
