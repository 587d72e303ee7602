using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// DropoutKernels: the mask's statistics (keep rate and independence across elements, samples, steps, layers
/// and seeds, each within 5 binomial standard deviations over 10⁶ values or pairs), the kernels against the
/// scalar definition <see cref="DropoutKernels.Keeps"/> bit for bit on every row length 0..70 and a few large
/// ones, backward against forward and against central differences, reproducibility under batch splitting, and
/// the argument checks. Run on every SIMD path by the test script, these also show the paths agree: each is
/// compared with the same scalar definition. Inputs come from <see cref="Rng"/> with fixed seeds.
/// </summary>
public sealed class DropoutKernelsTests
{
    public static TheoryData<float> Probabilities() => new() { 0.1f, 0.5f, 0.9f };

    // ---------- the mask's statistics ----------

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Mask_KeepRate_IsOneMinusP_AndHasNoPeriodInTheElementIndex(float p)
    {
        const int Rows = 1000, Features = 1000;
        bool[] mask = Mask(Rows, Features, p, seed: 7, step: 0, layer: 0, firstSample: 0);

        AssertRate(mask.Count(k => k), mask.Length, 1 - p, "keep fraction");
        // Each residue class of the element index mod 16 (a vector's lanes, an unroll) keeps at the same rate.
        for (int residue = 0; residue < 16; residue++)
        {
            int kept = 0, count = 0;
            for (int s = 0; s < Rows; s++)
                for (int i = residue; i < Features; i += 16, count++)
                    if (mask[s * Features + i]) kept++;
            AssertRate(kept, count, 1 - p, $"keep fraction of elements ≡ {residue} (mod 16)");
        }
    }

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Mask_LongRow_KeepRate_IsOneMinusP_InEveryResidueClass(float p)
    {
        // One row of 2²⁰ elements: large element indices, and the row key alone decides nothing.
        const int Features = 1 << 20;
        bool[] mask = Mask(1, Features, p, seed: 8, step: 3, layer: 2, firstSample: 5);

        AssertRate(mask.Count(k => k), Features, 1 - p, "keep fraction");
        for (int residue = 0; residue < 16; residue++)
        {
            int kept = 0;
            for (int i = residue; i < Features; i += 16) if (mask[i]) kept++;
            AssertRate(kept, Features / 16, 1 - p, $"keep fraction of elements ≡ {residue} (mod 16)");
        }
    }

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Mask_NeighbouringElementsAndSamples_AreIndependent(float p)
    {
        // Disjoint pairs (2j, 2j + 1), so under independence the count of pairs kept together is binomial.
        const int Rows = 2000, Features = 1000;
        bool[] mask = Mask(Rows, Features, p, seed: 9, step: 1, layer: 0, firstSample: 0);
        double both = (1.0 - p) * (1.0 - p);

        int elements = 0, elementPairs = 0;
        for (int s = 0; s < Rows; s++)
            for (int i = 0; i < Features; i += 2, elementPairs++)
                if (mask[s * Features + i] && mask[s * Features + i + 1]) elements++;
        AssertRate(elements, elementPairs, both, "both of elements (2j, 2j + 1) kept");

        int samples = 0, samplePairs = 0;
        for (int s = 0; s < Rows; s += 2)
            for (int i = 0; i < Features; i++, samplePairs++)
                if (mask[s * Features + i] && mask[(s + 1) * Features + i]) samples++;
        AssertRate(samples, samplePairs, both, "both of samples (2r, 2r + 1) kept");
    }

    public static TheoryData<float, string> OtherKeys()
    {
        var data = new TheoryData<float, string>();
        foreach (float p in new[] { 0.1f, 0.5f, 0.9f })
            foreach (string change in new[] { "step", "layer", "seed", "seed 0 to 1" })
                data.Add(p, change);
        return data;
    }

    [Theory]
    [MemberData(nameof(OtherKeys))]
    public void Mask_ConsecutiveStepsLayersAndSeeds_AreIndependent(float p, string change)
    {
        const int Rows = 1000, Features = 1000;
        (ulong seed, long step, int layer) = change == "seed 0 to 1" ? (0UL, 0L, 0) : (11UL, 41L, 3);
        bool[] a = Mask(Rows, Features, p, seed, step, layer, firstSample: 0);
        bool[] b = change switch
        {
            "step" => Mask(Rows, Features, p, seed, step + 1, layer, firstSample: 0),
            "layer" => Mask(Rows, Features, p, seed, step, layer + 1, firstSample: 0),
            _ => Mask(Rows, Features, p, seed + 1, step, layer, firstSample: 0),
        };

        int both = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] && b[i]) both++;
        AssertRate(both, a.Length, (1.0 - p) * (1.0 - p), $"both masks kept, {change} changed");
    }

    // ---------- the definition ----------

    [Fact]
    public void Keeps_MatchesTheDocumentedFormula()
    {
        var rng = new Rng(1);
        foreach (float p in new[] { 0f, 1e-9f, 0.1f, 0.5f, 0.9f, 0.99999994f })
            for (int n = 0; n < 2000; n++)
            {
                ulong seed = rng.NextUInt64();
                long step = (long)rng.NextUInt64(), sample = (long)rng.NextUInt64();
                int layer = (int)rng.NextUInt64(), element = rng.NextInt(int.MaxValue);
                Assert.Equal(DocumentedKeeps(p, seed, step, layer, sample, element), DropoutKernels.Keeps(p, seed, step, layer, sample, element));
            }
    }

    [Fact]
    public void Keeps_IsPinned()
    {
        // The first 64 elements of one row, as bits (bit i = element i kept), also computed by a Python
        // transcription of the documented formula. A change here changes every dropout training run; it must be
        // deliberate.
        ulong bits = 0;
        for (int i = 0; i < 64; i++)
            if (DropoutKernels.Keeps(0.5f, seed: 1, step: 2, layer: 3, sample: 4, element: i)) bits |= 1UL << i;
        Assert.Equal(PinnedMask, bits);
    }

    private const ulong PinnedMask = 0x8F0C_CB93_1636_E251UL;

    [Fact]
    public void Keeps_PZero_KeepsEverything()
    {
        var rng = new Rng(2);
        for (int n = 0; n < 10000; n++)
            Assert.True(DropoutKernels.Keeps(0f, rng.NextUInt64(), (long)rng.NextUInt64(), (int)rng.NextUInt64(), (long)rng.NextUInt64(), rng.NextInt(int.MaxValue)));
    }

    // ---------- the kernels against the definition ----------

    public static IEnumerable<int> RowLengths() => Enumerable.Range(0, 71).Concat([255, 256, 257, 1000, 4099]);

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Forward_MatchesTheScalarDefinition_OnEveryRowLength(float p)
    {
        // scale = 1f / (1f − p) in float; kept values are exactly x·scale in float, dropped ones exactly +0.
        float scale = 1f / (1f - p);
        var rng = new Rng(3);
        foreach (int features in RowLengths())
            for (int batch = 1; batch <= 3; batch++)
            {
                (ulong seed, long step, int layer, long first) = (rng.NextUInt64(), (long)rng.NextUInt64(), rng.NextInt(100), (long)rng.NextUInt64() >> 1);
                float[] x = Values(rng, batch * features);
                var y = new float[x.Length];
                float[] inPlace = (float[])x.Clone();

                DropoutKernels.Forward(x, y, batch, features, p, seed, step, layer, first);
                DropoutKernels.Forward(inPlace, inPlace, batch, features, p, seed, step, layer, first);

                for (int s = 0; s < batch; s++)
                    for (int i = 0; i < features; i++)
                    {
                        int at = s * features + i;
                        float expected = DropoutKernels.Keeps(p, seed, step, layer, first + s, i) ? x[at] * scale : 0f;
                        AssertSameBits(expected, y[at], $"y[{s}, {i}] of {batch} × {features}");
                    }
                AssertSameBits(y, inPlace, $"in place, {batch} × {features}");
            }
    }

    [Fact]
    public void Forward_PZero_IsAnExactCopy()
    {
        var rng = new Rng(4);
        float[] x = Values(rng, 3 * 37);
        x[5] = float.NaN;
        x[6] = BitConverter.Int32BitsToSingle(0x7FC0_1234); // a NaN with a payload
        x[7] = -0f;
        x[8] = float.Epsilon;
        var y = new float[x.Length];
        float[] inPlace = (float[])x.Clone();

        DropoutKernels.Forward(x, y, 3, 37, 0f, 1, 2, 3, 4);
        DropoutKernels.Forward(inPlace, inPlace, 3, 37, 0f, 1, 2, 3, 4);

        AssertSameBits(x, y, "copy");
        AssertSameBits(x, inPlace, "in place");
    }

    [Fact]
    public void Forward_TouchesOnlyBatchTimesFeatures()
    {
        float[] x = Enumerable.Repeat(1f, 40).ToArray();
        float[] y = Enumerable.Repeat(-5f, 40).ToArray();

        DropoutKernels.Forward(x, y, 3, 11, 0.5f, 1, 2, 3, 4);

        Assert.All(y.Take(33), v => Assert.True(v is 0f or 2f));
        Assert.All(y.Skip(33), v => Assert.Equal(-5f, v));
    }

    [Fact]
    public void Forward_DroppedNonFiniteValues_BecomeZero()
    {
        // Every value infinite or NaN: the dropped ones become +0 (a select, not PyTorch's multiply by 0).
        const int Features = 67;
        float[] x = Enumerable.Range(0, Features).Select(i => i % 2 == 0 ? float.PositiveInfinity : float.NaN).ToArray();
        var y = new float[Features];

        DropoutKernels.Forward(x, y, 1, Features, 0.5f, 5, 6, 7, 8);

        for (int i = 0; i < Features; i++)
        {
            if (DropoutKernels.Keeps(0.5f, 5, 6, 7, 8, i)) Assert.False(float.IsFinite(y[i]), $"y[{i}] kept");
            else AssertSameBits(0f, y[i], $"y[{i}] dropped");
        }
        Assert.Contains(y, v => v == 0f);
        Assert.Contains(y, v => !float.IsFinite(v));
    }

    // ---------- backward ----------

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Backward_AppliesForwardsMask_OnEveryRowLength(float p)
    {
        float scale = 1f / (1f - p);
        var rng = new Rng(5);
        foreach (int features in RowLengths())
            for (int batch = 1; batch <= 3; batch++)
            {
                (ulong seed, long step, int layer, long first) = (rng.NextUInt64(), (long)rng.NextUInt64(), rng.NextInt(100), rng.NextInt(1 << 20));
                float[] dy = Values(rng, batch * features);
                float[] gradient = (float[])dy.Clone();
                float[] ones = Enumerable.Repeat(1f, dy.Length).ToArray();
                var forwardMask = new float[dy.Length];

                DropoutKernels.Backward(gradient, batch, features, p, seed, step, layer, first);
                DropoutKernels.Forward(ones, forwardMask, batch, features, p, seed, step, layer, first);

                for (int at = 0; at < dy.Length; at++)
                {
                    // Forward of ones is scale where kept and 0 where dropped: the mask forward used.
                    float expected = forwardMask[at] != 0f ? dy[at] * scale : 0f;
                    AssertSameBits(expected, gradient[at], $"gradient[{at / features}, {at % features}] of {batch} × {features}");
                }
            }
    }

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Backward_MatchesCentralDifferences(float p)
    {
        // L(x) = Σ dy · Forward(x), summed in double; dL/dx_i by central differences with h = 1/16 over every
        // element of a 2 × 37 batch, divided by the step x ± h actually took. Forward is linear in x for a fixed
        // mask, so what is left is the float rounding of (x ± h)·scale, about |x|·2⁻²⁴/h ≤ 2e-6 relative: inside
        // 1e-5·(1 + |reference|).
        const int Batch = 2, Features = 37;
        const float H = 1f / 16;
        var rng = new Rng(6);
        float[] x = Values(rng, Batch * Features);
        float[] dy = Values(rng, Batch * Features);
        var keys = (seed: 21UL, step: 22L, layer: 23, first: 24L);
        double Loss(float[] input)
        {
            var y = new float[input.Length];
            DropoutKernels.Forward(input, y, Batch, Features, p, keys.seed, keys.step, keys.layer, keys.first);
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)dy[i] * y[i];
            return sum;
        }
        float[] gradient = (float[])dy.Clone();

        DropoutKernels.Backward(gradient, Batch, Features, p, keys.seed, keys.step, keys.layer, keys.first);

        int dropped = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float[] plus = (float[])x.Clone(), minus = (float[])x.Clone();
            plus[i] += H;
            minus[i] -= H;
            double reference = (Loss(plus) - Loss(minus)) / ((double)plus[i] - minus[i]);
            Assert.True(Math.Abs(reference - gradient[i]) <= 1e-5 * (1 + Math.Abs(reference)),
                $"dL/dx[{i}] = {gradient[i]}, central difference {reference}");
            if (gradient[i] == 0f) dropped++;
        }
        Assert.InRange(dropped, 1, x.Length - 1); // both branches were checked
    }

    [Fact]
    public void Backward_PZero_LeavesTheGradient()
    {
        float[] gradient = Values(new Rng(7), 50);
        float[] before = (float[])gradient.Clone();

        DropoutKernels.Backward(gradient, 2, 25, 0f, 1, 2, 3, 4);

        AssertSameBits(before, gradient, "gradient");
    }

    // ---------- reproducibility ----------

    [Fact]
    public void SameKeys_GiveTheSameMask_OtherKeysAnother()
    {
        const int Batch = 2, Features = 256;
        bool[] reference = Mask(Batch, Features, 0.5f, seed: 1, step: 2, layer: 3, firstSample: 4);

        Assert.Equal(reference, Mask(Batch, Features, 0.5f, 1, 2, 3, 4));
        Assert.NotEqual(reference, Mask(Batch, Features, 0.5f, 2, 2, 3, 4));
        Assert.NotEqual(reference, Mask(Batch, Features, 0.5f, 1, 3, 3, 4));
        Assert.NotEqual(reference, Mask(Batch, Features, 0.5f, 1, 2, 4, 4));
        Assert.NotEqual(reference, Mask(Batch, Features, 0.5f, 1, 2, 3, 5));
        // Same mask positions at another rate differ too, but a higher rate only drops more: thresholds nest.
        bool[] more = Mask(Batch, Features, 0.7f, 1, 2, 3, 4);
        Assert.All(Enumerable.Range(0, reference.Length), i => Assert.True(reference[i] || !more[i], $"element {i}"));
    }

    [Theory]
    [InlineData(0L, 19)]
    [InlineData(1000L, 19)]
    [InlineData(1000L, 64)]
    public void SplitBatch_GivesTheRowsOfTheWholeBatch(long firstSample, int features)
    {
        const int Batch = 8;
        float[] x = Values(new Rng(8), Batch * features);
        var whole = new float[x.Length];
        var split = new float[x.Length];
        var gradientWhole = (float[])x.Clone();
        var gradientSplit = (float[])x.Clone();
        int head = 3 * features;

        DropoutKernels.Forward(x, whole, Batch, features, 0.3f, 5, 6, 7, firstSample);
        DropoutKernels.Forward(x.AsSpan(0, head), split.AsSpan(0, head), 3, features, 0.3f, 5, 6, 7, firstSample);
        DropoutKernels.Forward(x.AsSpan(head), split.AsSpan(head), 5, features, 0.3f, 5, 6, 7, firstSample + 3);
        DropoutKernels.Backward(gradientWhole, Batch, features, 0.3f, 5, 6, 7, firstSample);
        DropoutKernels.Backward(gradientSplit.AsSpan(0, head), 3, features, 0.3f, 5, 6, 7, firstSample);
        DropoutKernels.Backward(gradientSplit.AsSpan(head), 5, features, 0.3f, 5, 6, 7, firstSample + 3);

        AssertSameBits(whole, split, "forward");
        AssertSameBits(gradientWhole, gradientSplit, "backward");
    }

    // ---------- arguments and allocation ----------

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(-0f - float.Epsilon)]
    [InlineData(1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void BadProbability_Throws(float p)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("p", () => DropoutKernels.Forward(new float[4], new float[4], 1, 4, p, 0, 0, 0, 0));
        Assert.Contains("[0, 1)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>("p", () => DropoutKernels.Backward(new float[4], 1, 4, p, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("p", () => DropoutKernels.Keeps(p, 0, 0, 0, 0, 0));
    }

    [Fact]
    public void BadSizesAndSpans_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>("batch", () => DropoutKernels.Forward(new float[4], new float[4], -1, 4, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("features", () => DropoutKernels.Forward(new float[4], new float[4], 1, -4, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentException>("features", () => DropoutKernels.Forward(new float[4], new float[4], 1 << 16, 1 << 16, 0.5f, 0, 0, 0, 0));
        var e = Assert.Throws<ArgumentException>("x", () => DropoutKernels.Forward(new float[7], new float[8], 2, 4, 0.5f, 0, 0, 0, 0));
        Assert.Contains("at least 8", e.Message);
        Assert.Throws<ArgumentException>("y", () => DropoutKernels.Forward(new float[8], new float[7], 2, 4, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("batch", () => DropoutKernels.Backward(new float[4], -1, 4, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("features", () => DropoutKernels.Backward(new float[4], 1, -1, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentException>("gradient", () => DropoutKernels.Backward(new float[7], 2, 4, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>("element", () => DropoutKernels.Keeps(0.5f, 0, 0, 0, 0, -1));
        // Empty batches and rows are fine.
        DropoutKernels.Forward(Span<float>.Empty, Span<float>.Empty, 0, 4, 0.5f, 0, 0, 0, 0);
        DropoutKernels.Forward(Span<float>.Empty, Span<float>.Empty, 3, 0, 0.5f, 0, 0, 0, 0);
        DropoutKernels.Backward(Span<float>.Empty, 0, 4, 0.5f, 0, 0, 0, 0);
    }

    [Fact]
    public void Forward_PartialOverlap_Throws()
    {
        var buffer = new float[20];
        Assert.Throws<ArgumentException>("y", () => DropoutKernels.Forward(buffer.AsSpan(0, 16), buffer.AsSpan(4, 16), 2, 8, 0.5f, 0, 0, 0, 0));
        Assert.Throws<ArgumentException>("y", () => DropoutKernels.Forward(buffer.AsSpan(4, 16), buffer.AsSpan(0, 16), 2, 8, 0.5f, 0, 0, 0, 0));
        // Only the batch · features used are compared: spans that merely extend past them into each other are fine.
        DropoutKernels.Forward(buffer.AsSpan(0, 20), buffer.AsSpan(10, 10), 2, 5, 0.5f, 0, 0, 0, 0);
    }

    [Fact]
    public void ForwardAndBackward_AllocateNothing()
    {
        float[] x = Values(new Rng(9), 4 * 333);
        var y = new float[x.Length];
        float[] gradient = (float[])x.Clone();

        long allocated = Allocations.QuietestWindow(() =>
        {
            DropoutKernels.Forward(x, y, 4, 333, 0.25f, 1, 2, 3, 4);
            DropoutKernels.Backward(gradient, 4, 333, 0.25f, 1, 2, 3, 4);
            DropoutKernels.Keeps(0.25f, 1, 2, 3, 4, 5);
        }, callsPerWindow: 20);

        Assert.Equal(0, allocated);
    }

    // ---------- helpers ----------

    /// <summary>The kernel's mask: Forward of ones, kept where the output is not 0.</summary>
    private static bool[] Mask(int batch, int features, float p, ulong seed, long step, int layer, long firstSample)
    {
        float[] ones = new float[batch * features];
        ones.AsSpan().Fill(1f);
        DropoutKernels.Forward(ones, ones, batch, features, p, seed, step, layer, firstSample);
        return ones.Select(v => v != 0f).ToArray();
    }

    /// <summary>Within 5 binomial standard deviations: <c>|hits − n·q| ≤ 5 sqrt(n q (1 − q))</c>.</summary>
    private static void AssertRate(int hits, int n, double q, string what)
    {
        double sigma = Math.Sqrt(n * q * (1 - q));
        double deviation = (hits - n * q) / sigma;
        Assert.True(Math.Abs(deviation) <= 5, $"{what}: {hits} of {n} = {(double)hits / n:F5}, expected {q:F5} ({deviation:F2} σ)");
    }

    private static float[] Values(Rng rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextSingle(-2f, 2f);
        return values;
    }

    private static void AssertSameBits(float expected, float actual, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"{what}: {actual}, expected {expected}");

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) AssertSameBits(expected[i], actual[i], $"{what} [{i}]");
    }

    /// <summary>The definition as the <see cref="DropoutKernels"/> documentation states it, spelled out again.</summary>
    private static bool DocumentedKeeps(float p, ulong seed, long step, int layer, long sample, int element)
    {
        const ulong Gamma = 0x9E3779B97F4A7C15UL;
        static ulong Mix64(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        ulong k = Mix64(seed + Gamma);
        foreach (ulong word in new[] { (ulong)step, (ulong)(long)layer, (ulong)sample }) k = Mix64((k ^ word) + Gamma);
        uint h = (uint)(k >> 32) ^ unchecked((uint)element * 0x9E3779B9u);
        h ^= h >> 17;
        h *= 0xED5AD4BBu;
        h ^= h >> 11;
        h *= 0xAC4C1B51u;
        h ^= h >> 15;
        h *= 0x31848BABu;
        h ^= h >> 14;
        uint threshold = (uint)Math.Round((double)p * (1L << 32), MidpointRounding.ToEven);
        return h >= threshold;
    }
}
