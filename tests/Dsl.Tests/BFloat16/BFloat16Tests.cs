using System;
using System.IO;
using System.Linq;
using Dsl.Tests.Networks;

namespace Dsl.Tests.BFloat16Weights;

/// <summary>
/// <see cref="WeightType.BFloat16"/> networks: the rounding, the bfloat16 image kept in step with the fp32 master weights,
/// the kernels against a double-precision reference over the rounded weights, training identical to the fp32 twin,
/// compiled-in bfloat16 weights and zero allocation per call. Runs on every SIMD path (scripts/test.sh).
/// </summary>
public class BFloat16Tests
{
    private static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1: exact
    [InlineData(0x3F808000u, (ushort)0x3F80)] // 1 + half an ulp: a tie, to the even 0x3F80
    [InlineData(0x3F818000u, (ushort)0x3F82)] // a tie above an odd value: up to the even 0x3F82
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just above the tie: up
    [InlineData(0x3F807FFFu, (ushort)0x3F80)] // just below the tie: down
    [InlineData(0xBF818000u, (ushort)0xBF82)] // negative tie: the magnitude rounds as for positive values
    [InlineData(0x7F800000u, (ushort)0x7F80)] // +Inf
    [InlineData(0xFF800000u, (ushort)0xFF80)] // -Inf
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float.MaxValue: past the largest bfloat16 by more than half an ulp, Inf
    [InlineData(0x7F7F7FFFu, (ushort)0x7F7F)] // below the tie: the largest bfloat16, 3.39e38
    [InlineData(0x7F7F8000u, (ushort)0x7F80)] // the tie above the (odd) largest bfloat16: to the even, Inf
    [InlineData(0x00000001u, (ushort)0x0000)] // the smallest subnormal float: to zero
    [InlineData(0x00018000u, (ushort)0x0002)] // a subnormal tie above an odd value: up to the even
    [InlineData(0x00008000u, (ushort)0x0000)] // a subnormal tie above zero: down to the even zero
    [InlineData(0x007FFFFFu, (ushort)0x0080)] // the largest subnormal rounds up into the smallest normal
    [InlineData(0x80000000u, (ushort)0x8000)] // -0 keeps its sign
    public void Round_IsNearestTiesToEven(uint bits, ushort expected)
    {
        Assert.Equal(expected, BFloat16.Round(F(bits)));
        Assert.Equal(F((uint)expected << 16), BFloat16.Widen(expected));
    }

    [Theory]
    [InlineData(0x7FC00000u)] // quiet NaN
    [InlineData(0x7F800001u)] // signalling NaN whose payload lies in the low half only: must not become Inf
    [InlineData(0x7FFFFFFFu)] // rounding up would carry out of the exponent
    [InlineData(0xFF800001u)] // negative
    public void Round_KeepsNaN_Quiet(uint bits)
    {
        ushort h = BFloat16.Round(F(bits));
        Assert.True(float.IsNaN(BFloat16.Widen(h)));
        Assert.Equal(0x40, h & 0x40); // the quiet bit
        Assert.Equal(bits >> 31, (uint)h >> 15); // the sign
    }

    [Fact]
    public void RoundSpan_EqualsScalar_ForEveryLength()
    {
        var rng = new Random(3);
        uint[] specials = [0x7F800001u, 0x7FFFFFFFu, 0xFF800000u, 0x3F808000u, 0x3F818000u, 0x00018000u, 0x7F7FFFFFu, 0u];
        for (int n = 0; n <= 100; n++)
        {
            var source = new float[n];
            for (int i = 0; i < n; i++) source[i] = F(i % 7 == 3 ? specials[i % specials.Length] : (uint)rng.NextInt64(0, 1L << 32));
            var image = new ushort[n];
            BFloat16.Round(source, image);
            for (int i = 0; i < n; i++) Assert.Equal(BFloat16.Round(source[i]), image[i]);
        }
    }

    [Fact]
    public void BFloat16Values_AreTheRoundedValues_InTheKernelsLayout()
    {
        var net = new HalfMlp784(seed: 5);
        Assert.Equal(WeightType.BFloat16, net.Parameters.WeightType);
        Assert.Equal(WeightType.Float32, new FullMlp784().Parameters.WeightType);
        AssertImageCurrent(net.Parameters);
        unsafe
        {
            fixed (ushort* p = net.Parameters.BFloat16Values)
                Assert.Equal(0u, (uint)((nuint)p % 32)); // each tensor at a multiple of 16 values: 32-byte aligned
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(70)]
    public void Forward_MatchesDoubleReference_OverRoundedWeights(int batch)
    {
        CheckForward(new HalfMlp784(seed: 1), batch, seed: batch);
        CheckForward(new HalfOdd(seed: 2), batch, seed: batch + 100);
    }

    [Fact]
    public void Training_EqualsFp32Twin_AndInferenceReadsTheNewWeights()
    {
        var half = new HalfMlp784(seed: 9);
        var full = new FullMlp784(seed: 9);
        Assert.True(half.Parameters.ReadOnlyValues.SequenceEqual(full.Parameters.ReadOnlyValues));
        float[] before = half.Parameters.BFloat16Values.ToArray().Select(BFloat16.Widen).ToArray();

        const int batch = 16;
        float[] x = Inputs(batch * 784, seed: 4);
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = i % 10;
        Train(half, x, labels, batch);
        Train(full, x, labels, batch);
        // The master weights: bit for bit the fp32 network's.
        Assert.True(half.Parameters.ReadOnlyValues.SequenceEqual(full.Parameters.ReadOnlyValues));
        // The image followed the optimiser's steps.
        AssertImageCurrent(half.Parameters);
        Assert.NotEqual(before, half.Parameters.BFloat16Values.ToArray().Select(BFloat16.Widen).ToArray());
        CheckForward(half, 3, seed: 8);
    }

    private static void Train(INetwork net, float[] x, int[] labels, int batch)
    {
        var optimizer = new AdamW(1e-3f);
        Workspace workspace = net.CreateWorkspace(batch);
        var logits = new float[batch * 10];
        var gradient = new float[batch * 10];
        for (int step = 0; step < 3; step++)
        {
            net.Parameters.ZeroGradients();
            net.ForwardTrain(x, logits, batch, workspace);
            Loss.SoftmaxCrossEntropy.Compute(logits, labels, gradient);
            net.Backward(gradient, Span<float>.Empty, batch, workspace);
            optimizer.Step(net.Parameters);
            // Inference between steps: the image is rounded again after each.
            net.Forward(x.AsSpan(0, 784), logits.AsSpan(0, 10));
        }
    }

    [Fact]
    public void Image_IsRoundedAgain_AfterLoadAndInitialize()
    {
        var net = new HalfOdd(seed: 1);
        _ = net.Parameters.BFloat16Values; // allocated and current
        var other = new HalfOdd(seed: 2);
        string path = Path.Combine(Path.GetTempPath(), $"dsl-bf16-{Guid.NewGuid():N}.safetensors");
        try
        {
            other.Save(path);
            net.Load(path);
            AssertImageCurrent(net.Parameters);
            Assert.True(net.Parameters.BFloat16Values.SequenceEqual(other.Parameters.BFloat16Values));
        }
        finally
        {
            File.Delete(path);
        }
        net.Parameters.Initialize(3);
        AssertImageCurrent(net.Parameters);
        net.Parameters.Values[0] = 1.00390625f; // a write through Values: 1 + 2^-8, the tie, rounds to 1
        Assert.Equal((ushort)0x3F80, net.Parameters.BFloat16Values[0]);
    }

    [Fact]
    public void Pretrained_EqualsLoadingTheFile_BitForBit()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "Data", "bf16-compiled.safetensors");
        HalfCompiled compiled = HalfCompiled.Pretrained();
        Assert.True(compiled.Parameters.ReadsCompiledWeights);
        Assert.Equal(WeightType.BFloat16, compiled.Parameters.WeightType);
        var loaded = new HalfCompiled();
        loaded.Load(file);
        Assert.True(compiled.Parameters.BFloat16Values.SequenceEqual(loaded.Parameters.BFloat16Values));

        float[] x = Inputs(5 * 20, seed: 11);
        var a = new float[5 * 7];
        var b = new float[5 * 7];
        compiled.Forward(x, a, 5);
        loaded.Forward(x, b, 5);
        Assert.Equal(b, a);
        compiled.Forward(x.AsSpan(0, 20), a.AsSpan(0, 7));
        loaded.Forward(x.AsSpan(0, 20), b.AsSpan(0, 7));
        Assert.Equal(b, a);
        Assert.True(compiled.Parameters.ReadsCompiledWeights);

        // Reading the fp32 values (Save, export) widens the image once and leaves it compiled in; the first write
        // widens it into Values, exactly: the file's values rounded to bfloat16.
        var twin = new FullCompiledTwin();
        twin.Load(file);
        float[] rounded = twin.Parameters.ReadOnlyValues.ToArray().Select(BFloat16.RoundTrip).ToArray();
        Assert.Equal(rounded, compiled.Parameters.ReadOnlyValues.ToArray());
        Assert.True(compiled.Parameters.ReadsCompiledWeights);
        Assert.Equal(rounded, compiled.Parameters.Values.ToArray());
        Assert.False(compiled.Parameters.ReadsCompiledWeights);
        Assert.True(compiled.Parameters.BFloat16Values.SequenceEqual(loaded.Parameters.BFloat16Values));
        compiled.Forward(x, a, 5);
        loaded.Forward(x, b, 5);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Forward_AllocatesNothing_AfterWarmUp()
    {
        var net = new HalfMlp784(seed: 1);
        float[] x = Inputs(64 * 784, seed: 1);
        var y = new float[64 * 10];
        Assert.Equal(0, Allocations.QuietestWindow(() => net.Forward(x.AsSpan(0, 784), y.AsSpan(0, 10)), callsPerWindow: 20));
        Assert.Equal(0, Allocations.QuietestWindow(() => net.Forward(x, y, 64), callsPerWindow: 5));
        // Training's write accesses between the calls: the image is rounded again in place, without allocating.
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, x, 64, new float[64 * 10], Array.Empty<float>()));
    }

    private static void AssertImageCurrent(Parameters parameters)
    {
        ReadOnlySpan<float> values = parameters.ReadOnlyValues;
        ReadOnlySpan<ushort> image = parameters.BFloat16Values;
        Assert.Equal(values.Length, image.Length);
        for (int i = 0; i < values.Length; i++)
            if (image[i] != BFloat16.Round(values[i])) Assert.Fail($"value {i}: image {image[i]:X4}, rounded {BFloat16.Round(values[i]):X4}");
    }

    private static float[] Inputs(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// Forward (batch 1 for each sample, and the batch at once) against a double-precision forward over the weights rounded
    /// to bfloat16. Tolerance: fp32 accumulation of n products errs by at most about n·2^-24 of the sum of their magnitudes;
    /// 1e-5 of that sum (carried through the layers in double, activations being 1-Lipschitz here or nearly) holds for these
    /// sizes with room, and is far below bfloat16's own rounding (2^-9 = 2e-3 relative per weight), which a reference over
    /// the unrounded weights would show.
    /// </summary>
    private static void CheckForward(INetwork net, int batch, int seed)
    {
        float[] x = Inputs(batch * net.InputSize, seed);
        var batched = new float[batch * net.OutputSize];
        net.Forward(x, batched, batch);
        var one = new float[net.OutputSize];
        for (int s = 0; s < batch; s++)
        {
            net.Forward(x.AsSpan(s * net.InputSize, net.InputSize), one);
            (double[] expected, double[] scale) = ReferenceForward(net, x.AsSpan(s * net.InputSize, net.InputSize));
            for (int o = 0; o < net.OutputSize; o++)
            {
                double tolerance = 1e-5 * scale[o] + 1e-7;
                Assert.True(Math.Abs(one[o] - expected[o]) <= tolerance, $"sample {s} output {o}: batch 1 {one[o]}, reference {expected[o]} (± {tolerance})");
                float row = batched[s * net.OutputSize + o];
                Assert.True(Math.Abs(row - expected[o]) <= tolerance, $"sample {s} output {o}: batch {batch} {row}, reference {expected[o]} (± {tolerance})");
            }
        }
    }

    // The network's steps in double over the bfloat16 image, with each output's sum of magnitudes for the tolerance.
    private static (double[] Y, double[] Scale) ReferenceForward(INetwork net, ReadOnlySpan<float> input)
    {
        Parameters p = net.Parameters;
        ReadOnlySpan<ushort> image = p.BFloat16Values;
        double[] x = new double[input.Length], xs = new double[input.Length];
        for (int i = 0; i < x.Length; i++) xs[i] = Math.Abs(x[i] = input[i]);
        foreach (NetworkStep step in net.Steps)
        {
            if (step.Kind == StepKind.Dropout) continue;
            Assert.Equal(StepKind.Dense, step.Kind);
            TensorInfo weight = p.Find(step.Tensors[0])!;
            int outputs = step.OutputShape[0], inputs = x.Length;
            var z = new double[outputs];
            var scale = new double[outputs];
            for (int o = 0; o < outputs; o++)
            {
                double sum = step.Bias ? BFloat16.Widen(image[p.Find(step.Tensors[1])!.Offset + o]) : 0, magnitude = Math.Abs(sum);
                for (int i = 0; i < inputs; i++)
                {
                    double w = BFloat16.Widen(image[weight.Offset + i * outputs + o]); // stored input-major [in, out]
                    sum += x[i] * w;
                    magnitude += xs[i] * Math.Abs(w);
                }
                z[o] = sum;
                scale[o] = magnitude;
            }
            if (step.Activation == Activation.Softmax)
            {
                double max = z.Max(), total = 0;
                for (int o = 0; o < outputs; o++) total += z[o] = Math.Exp(z[o] - max);
                for (int o = 0; o < outputs; o++) z[o] /= total;
            }
            else
                for (int o = 0; o < outputs; o++) z[o] = Reference.Apply(step.Activation, z[o]);
            (x, xs) = (z, scale);
        }
        return (x, xs);
    }
}
