using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// The reference ops checked against known values, hand-computed cases and properties, so the oracle for the
/// transformer and residual tests is itself trusted before any generated code is compared with it.
/// </summary>
public class RefOpsTests
{
    [Theory]
    // Values from Python's math.erf / math.erfc (correctly rounded libm).
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(-1.5, -0.9661051464753108)]
    [InlineData(1.9999999, 0.9953222629522538)] // just below the switch to the continued fraction
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(7.0, 1.0)]
    public void Erf_MatchesKnownValues(double x, double expected) =>
        Assert.True(Math.Abs(RefOps.Erf(x) - expected) <= 1e-13, $"erf({x}) = {RefOps.Erf(x):R}, expected {expected:R}");

    [Theory]
    [InlineData(2.0, 0.004677734981047265)]
    [InlineData(3.0, 2.2090496998585438e-05)]
    [InlineData(5.0, 1.5374597944280351e-12)]
    public void Erfc_KeepsRelativeAccuracyInTheTail(double x, double expected) =>
        Assert.True(Math.Abs(RefOps.Erfc(x) / expected - 1) <= 1e-12, $"erfc({x}) = {RefOps.Erfc(x):R}, expected {expected:R}");

    [Fact]
    public void Erf_IsContinuousAcrossTheSeriesToFractionSwitch()
    {
        // d erf/dx at 2 is 2/√π e^-4 ≈ 0.0207: a step of 1e-9 moves erf by ~2e-11.
        double below = RefOps.Erf(2 - 1e-9), at = RefOps.Erf(2);
        Assert.InRange(at - below, 1.5e-11, 2.6e-11);
    }

    [Theory]
    // Python: 0.5 * z * (1 + math.erf(z / math.sqrt(2))); the tail from 0.5 * z * math.erfc(-z / math.sqrt(2)).
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-1.0, -0.15865525393145707)]
    [InlineData(2.5, 2.4844758366855597)]
    [InlineData(0.0, 0.0)]
    public void Gelu_MatchesTheErfDefinition(double z, double expected) =>
        Assert.True(Math.Abs(RefOps.Gelu(z) - expected) <= 1e-14, $"gelu({z}) = {RefOps.Gelu(z):R}");

    [Fact]
    public void Gelu_LowerTailKeepsRelativeAccuracy()
    {
        double expected = -7.619853024160593e-23; // 0.5 * -10 * erfc(10 / sqrt 2)
        Assert.True(Math.Abs(RefOps.Gelu(-10) / expected - 1) <= 1e-12, $"gelu(-10) = {RefOps.Gelu(-10):R}");
    }

    [Theory]
    [InlineData(1.0, 0.8411919906082768)]
    [InlineData(-2.0, -0.04540230591222494)]
    public void GeluTanh_MatchesTheTanhForm(double z, double expected) =>
        Assert.True(Math.Abs(RefOps.GeluTanh(z) - expected) <= 1e-14);

    [Fact]
    public void ElementwiseActivations_MatchTheirDefinitions()
    {
        Assert.Equal(0, RefOps.Apply(Activation.Relu, -2));
        Assert.Equal(3, RefOps.Apply(Activation.Relu, 3));
        Assert.Equal(Math.Tanh(0.7), RefOps.Apply(Activation.Tanh, 0.7));
        Assert.Equal(1 / (1 + Math.Exp(-0.7)), RefOps.Apply(Activation.Sigmoid, 0.7), 1e-15);
        Assert.Equal(Math.Exp(-800) / (1 + Math.Exp(-800)), RefOps.Apply(Activation.Sigmoid, -800)); // no NaN from e^800
        Assert.Equal(-0.7 / (1 + Math.Exp(0.7)), RefOps.Apply(Activation.Silu, -0.7), 1e-15);
        Assert.Equal(1.25, RefOps.Apply(Activation.None, 1.25));
        Assert.Throws<ArgumentOutOfRangeException>(() => RefOps.Apply(Activation.Softmax, 1));
    }

    [Fact]
    public void Softmax_NormalisesEachTokenSeparately()
    {
        double[] y = RefOps.Activate(Activation.Softmax, new[] { 1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0 }, features: 3);
        double e = Math.Exp(1), sum = e + e * e + e * e * e;
        Assert.Equal(new[] { e / sum, e * e / sum, e * e * e / sum }, y.Take(3), new Tolerance(1e-15));
        Assert.Equal(new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }, y.Skip(3), new Tolerance(1e-15)); // shifted by the max: no overflow
    }

    [Fact]
    public void Dense_IsXWTransposePlusB_PerToken()
    {
        // W [2 out, 3 in] row-major as in PyTorch; two tokens.
        double[] w = { 1, 2, 3, -1, 0, 1 }, b = { 0.5, -0.5 };
        double[] y = RefOps.Dense(new double[] { 1, 1, 1, 2, 0, -1 }, w, b, inputs: 3, units: 2);
        Assert.Equal(new[] { 6.5, -0.5, -0.5, -3.5 }, y);
        double[] activated = RefOps.Dense(new double[] { 1, 1, 1 }, w, null, 3, 2, Activation.Relu);
        Assert.Equal(new[] { 6.0, 0.0 }, activated);
        Assert.Throws<ArgumentException>(() => RefOps.Dense(new double[4], w, b, 3, 2));
    }

    [Fact]
    public void Conv2D_WithStrideEqualToKernel_EmbedsPatches()
    {
        // One 4x4 channel, two 2x2 filters with stride 2: filter 0 sums its patch, filter 1 takes the patch's top-left.
        double[] image = Enumerable.Range(0, 16).Select(i => (double)i).ToArray();
        double[] w = { 1, 1, 1, 1, 1, 0, 0, 0 };
        double[] y = RefOps.Conv2D(image, w, new[] { 0.0, 100.0 }, inChannels: 1, height: 4, width: 4, outChannels: 2, kernel: 2, stride: 2);
        // Patches (top-left, sum): (0, 0+1+4+5), (2, 2+3+6+7), (8, 8+9+12+13), (10, 10+11+14+15).
        Assert.Equal(new double[] { 10, 18, 42, 50, 100, 102, 108, 110 }, y);
    }

    [Fact]
    public void Conv2D_PaddingReadsZeros()
    {
        // 1x1 input 5, 3x3 ones kernel, padding 1: a single output seeing only the centre.
        double[] y = RefOps.Conv2D(new[] { 5.0 }, Enumerable.Repeat(1.0, 9).ToArray(), null, 1, 1, 1, 1, kernel: 3, stride: 1, padding: 1);
        Assert.Equal(new[] { 5.0 }, y);
    }

    [Fact]
    public void Tokens_TransposesChannelMajorToTokenMajor()
    {
        // [C=2, positions=3] -> [3 tokens, 2 features].
        double[] y = RefOps.Tokens(new double[] { 1, 2, 3, 10, 20, 30 }, channels: 2);
        Assert.Equal(new double[] { 1, 10, 2, 20, 3, 30 }, y);
    }

    [Fact]
    public void LayerNorm_WithUnitGammaAndZeroBeta_GivesZeroMeanUnitVariancePerToken()
    {
        double[] x = { 1, 2, 3, 4, 5, -10, 0.5, 0.25, 7, 3 };
        double[] y = RefOps.LayerNorm(x, features: 5, Enumerable.Repeat(1.0, 5).ToArray(), new double[5], epsilon: 0);
        for (int t = 0; t < 2; t++)
        {
            double[] token = y.Skip(5 * t).Take(5).ToArray();
            double mean = token.Average();
            Assert.Equal(0, mean, 1e-14);
            Assert.Equal(1, token.Select(v => (v - mean) * (v - mean)).Average(), 1e-13); // biased variance
        }
        // Token 0 by hand: mean 3, biased variance 2.
        Assert.Equal(new[] { -2 / Math.Sqrt(2), -1 / Math.Sqrt(2), 0, 1 / Math.Sqrt(2), 2 / Math.Sqrt(2) }, y.Take(5), new Tolerance(1e-15));
    }

    [Fact]
    public void LayerNorm_AppliesEpsilonGammaAndBeta()
    {
        // x = (0, 2): mean 1, variance 1; with ε = 3 the scale is 1/2.
        double[] y = RefOps.LayerNorm(new double[] { 0, 2 }, 2, new[] { 2.0, 3.0 }, new[] { 0.5, -1.0 }, epsilon: 3);
        Assert.Equal(new[] { 2 * -0.5 + 0.5, 3 * 0.5 - 1 }, y);
        Assert.Equal(new[] { -1.0, 1.0 }, RefOps.LayerNorm(new double[] { 0, 2 }, 2, new[] { 1.0, 1.0 }, null, epsilon: 0));
    }

    [Fact]
    public void RmsNorm_DividesByTheRootMeanSquare()
    {
        // (3, 4): mean square 12.5; with ε = 3.5 the root is 4.
        double[] y = RefOps.RmsNorm(new double[] { 3, 4, 1, -1 }, 2, new[] { 1.0, 2.0 }, epsilon: 3.5);
        Assert.Equal(new[] { 0.75, 2.0 }, y.Take(2));
        double root = Math.Sqrt(1 + 3.5);
        Assert.Equal(new[] { 1 / root, -2 / root }, y.Skip(2), new Tolerance(1e-15));
        Assert.Equal((double)1.1920929e-7f, RefOps.RmsNormEpsilon);
    }

    private static double[] Identity(int n)
    {
        var m = new double[n * n];
        for (int i = 0; i < n; i++) m[i * n + i] = 1;
        return m;
    }

    private static double[] Stack(params double[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void Attention_OneHeadIdentityProjections_IsTheSoftmaxWeightedMeanOfTheTokens()
    {
        // Two tokens (1, 0) and (0, 1), D = 2: scores q_i·k_j/√2 are 1/√2 on the diagonal and 0 off it.
        double[] x = { 1, 0, 0, 1 };
        double[] inProj = Stack(Identity(2), Identity(2), Identity(2));
        double[] y = RefOps.MultiHeadSelfAttention(x, features: 2, heads: 1, inProj, null, Identity(2), null, causal: false);
        double a = Math.Exp(1 / Math.Sqrt(2)), self = a / (a + 1), other = 1 / (a + 1);
        Assert.Equal(new[] { self, other, other, self }, y, new Tolerance(1e-15));

        // Causal: token 0 sees only itself.
        double[] causal = RefOps.MultiHeadSelfAttention(x, 2, 1, inProj, null, Identity(2), null, causal: true);
        Assert.Equal(new[] { 1, 0, other, self }, causal, new Tolerance(1e-15));
    }

    [Fact]
    public void Attention_ProjectionsBiasesAndScale_FollowPyTorchsLayout()
    {
        // D = 2, one head: Q rows 0-1 = 0 with bias (1, 1), K rows 2-3 = identity with bias 0, V rows 4-5 = 2·I
        // with bias (0, 1); out_proj swaps the two features and adds (10, 20). Scores for every query: k_j · (1, 1) / √2.
        double[] x = { 0.3, -0.2, 0.9, 0.4 };
        double[] inProj = Stack(new double[4], Identity(2), new double[] { 2, 0, 0, 2 });
        double[] inBias = { 1, 1, 0, 0, 0, 1 };
        double[] outProj = { 0, 1, 1, 0 };
        double[] y = RefOps.MultiHeadSelfAttention(x, 2, 1, inProj, inBias, outProj, new double[] { 10, 20 }, causal: false);
        double s0 = (0.3 - 0.2) / Math.Sqrt(2), s1 = (0.9 + 0.4) / Math.Sqrt(2);
        double p0 = Math.Exp(s0) / (Math.Exp(s0) + Math.Exp(s1)), p1 = 1 - p0;
        double v0 = p0 * 0.6 + p1 * 1.8, v1 = p0 * (-0.4 + 1) + p1 * (0.8 + 1);
        Assert.Equal(new[] { 10 + v1, 20 + v0, 10 + v1, 20 + v0 }, y, new Tolerance(1e-14));
    }

    [Fact]
    public void Attention_HeadsOwnContiguousColumnChunks()
    {
        // D = 4, 2 heads: Q rows of head 1 (rows 2-3) are zero, so head 1 attends uniformly and its columns
        // (2, 3) are the mean of V's columns 2, 3 (over all tokens, or tokens j <= i when causal); head 0 is not uniform.
        var rng = new Rng(5);
        double[] Random(int n) => Enumerable.Range(0, n).Select(_ => (double)rng.NextSingle(-1, 1)).ToArray();
        double[] x = Random(3 * 4);
        double[] inProj = Random(12 * 4);
        for (int i = 2 * 4; i < 4 * 4; i++) inProj[i] = 0;
        double[] inBias = Random(12);
        inBias[2] = inBias[3] = 0;
        foreach (bool causal in new[] { false, true })
        {
            double[] y = RefOps.MultiHeadSelfAttention(x, 4, 2, inProj, inBias, Identity(4), null, causal);
            double[] v = RefOps.Dense(x, inProj.Skip(8 * 4).ToArray(), inBias.Skip(8).ToArray(), 4, 4);
            for (int i = 0; i < 3; i++)
                for (int c = 2; c < 4; c++)
                {
                    int visible = causal ? i + 1 : 3;
                    double mean = Enumerable.Range(0, visible).Average(j => v[j * 4 + c]);
                    Assert.Equal(mean, y[i * 4 + c], 1e-14);
                }
            double uniform = Enumerable.Range(0, 3).Average(j => v[j * 4]);
            Assert.True(Math.Abs(y[2 * 4] - uniform) > 1e-6, "head 0 should not attend uniformly");
        }
    }

    [Fact]
    public void Attention_CausalFirstTokenIsItsOwnProjectedValue()
    {
        var rng = new Rng(7);
        double[] Random(int n) => Enumerable.Range(0, n).Select(_ => (double)rng.NextSingle(-1, 1)).ToArray();
        const int d = 6;
        double[] x = Random(4 * d), inProj = Random(3 * d * d), inBias = Random(3 * d), outProj = Random(d * d), outBias = Random(d);
        double[] y = RefOps.MultiHeadSelfAttention(x, d, 3, inProj, inBias, outProj, outBias, causal: true);
        double[] v0 = RefOps.Dense(x.Take(d).ToArray(), inProj.Skip(2 * d * d).ToArray(), inBias.Skip(2 * d).ToArray(), d, d);
        double[] expected = RefOps.Dense(v0, outProj, outBias, d, d);
        Assert.Equal(expected, y.Take(d), new Tolerance(1e-14));
        // And the last token sees everything, so it matches the unmasked attention.
        double[] full = RefOps.MultiHeadSelfAttention(x, d, 3, inProj, inBias, outProj, outBias, causal: false);
        Assert.Equal(full.Skip(3 * d), y.Skip(3 * d), new Tolerance(1e-14));
    }

    [Fact]
    public void Attention_NonCausalIsPermutationEquivariant()
    {
        var rng = new Rng(9);
        double[] Random(int n) => Enumerable.Range(0, n).Select(_ => (double)rng.NextSingle(-1, 1)).ToArray();
        const int d = 4, length = 3;
        double[] x = Random(length * d), inProj = Random(3 * d * d), inBias = Random(3 * d), outProj = Random(d * d), outBias = Random(d);
        int[] order = { 2, 0, 1 };
        double[] permuted = order.SelectMany(t => x.Skip(t * d).Take(d)).ToArray();
        double[] y = RefOps.MultiHeadSelfAttention(x, d, 2, inProj, inBias, outProj, outBias, false);
        double[] yPermuted = RefOps.MultiHeadSelfAttention(permuted, d, 2, inProj, inBias, outProj, outBias, false);
        Assert.Equal(order.SelectMany(t => y.Skip(t * d).Take(d)), yPermuted, new Tolerance(1e-14));
    }

    [Theory]
    [InlineData(false, new[] { -0.2624535128202291, 0.10201703923532211, 0.2838663386401661, 0.12470106093836936, 0.05899162384728776, 0.04770955975008713, -0.08095304462909997, -0.11236506124246673, 0.23585796854060567, -0.05213522179150494, -0.33756332547140105, -0.21746953728562682 })]
    [InlineData(true, new[] { -0.3277812622678125, 0.09188319752935574, 0.341100400931873, 0.18054654964749486, -0.10018294883790117, 0.08064625953709907, 0.10452738044237117, 0.002837570294754857, 0.23585796854060567, -0.05213522179150494, -0.33756332547140105, -0.21746953728562682 })]
    public void Attention_MatchesAMatrixStyleImplementation(bool causal, double[] expected)
    {
        // Golden values from an independent pure-Python transcription of torch.nn.functional.multi_head_attention_forward
        // (linear, chunk(3), view(L, heads, d).transpose, q/√d @ kᵀ + mask, softmax, @ v, transpose back, out linear)
        // with L = 3, D = 4, 2 heads and these closed-form weights.
        const int length = 3, d = 4;
        double[] x = Enumerable.Range(0, length * d).Select(i => Math.Cos(0.3 * i + 0.1)).ToArray();
        double[] inProj = Enumerable.Range(0, 3 * d * d).Select(i => 0.5 * Math.Sin(0.37 * i + 0.2)).ToArray();
        double[] inBias = Enumerable.Range(0, 3 * d).Select(i => 0.1 * Math.Cos(0.53 * i)).ToArray();
        double[] outProj = Enumerable.Range(0, d * d).Select(i => 0.4 * Math.Sin(0.29 * i - 0.3)).ToArray();
        double[] outBias = Enumerable.Range(0, d).Select(i => 0.05 * i - 0.1).ToArray();
        double[] y = RefOps.MultiHeadSelfAttention(x, d, 2, inProj, inBias, outProj, outBias, causal);
        Assert.Equal(expected, y, new Tolerance(1e-14));
    }

    [Fact]
    public void Embedding_LooksUpRowsAndRejectsBadIds()
    {
        double[] table = Enumerable.Range(0, 4 * 2).Select(i => (double)i).ToArray(); // 4 ids x 2 features
        Assert.Equal(new double[] { 6, 7, 0, 1, 6, 7 }, RefOps.Embedding(new double[] { 3, 0, 3 }, table, 4, 2));
        foreach (double bad in new[] { 4, -1, 1.5, double.NaN, double.PositiveInfinity })
            Assert.Throws<ArgumentOutOfRangeException>(() => RefOps.Embedding(new[] { 0, bad }, table, 4, 2));
    }

    [Fact]
    public void PositionalEmbeddingAddsAndPoolingAveragesTokens()
    {
        Assert.Equal(new double[] { 11, 22, 33, 44 }, RefOps.PositionalEmbedding(new double[] { 1, 2, 3, 4 }, new double[] { 10, 20, 30, 40 }));
        Assert.Equal(new double[] { 3, 4 }, RefOps.MeanOverTokens(new double[] { 1, 2, 3, 4, 5, 6 }, features: 2));
        Assert.Equal(new double[] { 0.25 * 1 + 0.75 * 3, 0.5 * 2 + 0.5 * 4 }, RefOps.Highway(new[] { 0.25, 0.5 }, new double[] { 1, 2 }, new double[] { 3, 4 }));
    }

    [Fact]
    public void FunctionReference_GradientsMatchAnalyticDerivatives()
    {
        // y = (a x0² + sin(b x1), a b x0), L = dy0 y0 + dy1 y1:
        // dL/da = dy0 x0² + dy1 b x0, dL/db = dy0 x1 cos(b x1) + dy1 a x0,
        // dL/dx0 = dy0 2 a x0 + dy1 a b, dL/dx1 = dy0 b cos(b x1).
        var values = new Dictionary<string, double[]> { ["w"] = new[] { 1.3, -0.7 } };
        var reference = new FunctionReference(values, (w, x) =>
        {
            double a = w["w"][0], b = w["w"][1];
            return new[] { a * x[0] * x[0] + Math.Sin(b * x[1]), a * b * x[0] };
        });
        double[][] inputs = { new[] { 0.4, 1.1 }, new[] { -2.0, 0.3 } };
        double[][] dy = { new[] { 1.0, -0.5 }, new[] { 0.25, 2.0 } };
        {
            double a = 1.3, b = -0.7, da = 0, db = 0;
            for (int s = 0; s < 2; s++)
            {
                double x0 = inputs[s][0], x1 = inputs[s][1];
                da += dy[s][0] * x0 * x0 + dy[s][1] * b * x0;
                db += dy[s][0] * x1 * Math.Cos(b * x1) + dy[s][1] * a * x0;
            }
            Dictionary<int, double> gradient = reference.ParameterGradients(inputs, dy, perTensor: 10, seed: 1)["w"];
            Assert.Equal(da, gradient[0], 1e-8);
            Assert.Equal(db, gradient[1], 1e-8);

            double[][] dx = reference.InputGradients(inputs, dy);
            for (int s = 0; s < 2; s++)
            {
                double x0 = inputs[s][0], x1 = inputs[s][1];
                Assert.Equal(dy[s][0] * 2 * a * x0 + dy[s][1] * a * b, dx[s][0], 1e-8);
                Assert.Equal(dy[s][0] * b * Math.Cos(b * x1), dx[s][1], 1e-8);
            }
        }
        // Differencing restores every value it touched, and the caller's dictionary was copied.
        Assert.Equal(new[] { 1.3, -0.7 }, reference.Values["w"]);
        Assert.Equal(new[] { 0.4, 1.1 }, inputs[0]);
        Assert.Equal(reference.Forward(inputs)[1], new[] { 1.3 * 4 + Math.Sin(-0.7 * 0.3), 1.3 * -0.7 * -2.0 });
    }

    [Fact]
    public void FunctionReference_SamplesPositionsLikeLayerReference()
    {
        var values = new Dictionary<string, double[]> { ["big"] = Enumerable.Range(0, 100).Select(i => i * 0.01).ToArray() };
        var reference = new FunctionReference(values, (w, x) => new[] { w["big"].Select((v, i) => v * v * (i + 1)).Sum() * x[0] });
        Dictionary<int, double> gradient = reference.ParameterGradients(new[] { new[] { 2.0 } }, new[] { new[] { 1.0 } }, perTensor: 7, seed: 3)["big"];
        Assert.Equal(LayerReference.Positions(100, 7, 3), gradient.Keys.OrderBy(i => i));
        foreach ((int i, double g) in gradient) Assert.Equal(2 * values["big"][i] * (i + 1) * 2.0, g, 1e-7);
    }

    [Fact]
    public void FunctionReference_OnAGeneratedNetwork_AgreesWithLayerReference()
    {
        // TinyMlp through RefOps.Dense and tensor names, against the layer-walking reference: the same weights
        // read through TensorInfo.StoredToFile, the same forward and the same gradients.
        (INetwork net, Dense[] layers) = DenseNumericTests.Create(nameof(TinyMlp), seed: 8);
        var function = new FunctionReference(net, (w, x) =>
        {
            double[] h = RefOps.Dense(x, w["fc1.weight"], w["fc1.bias"], 16, 64, Activation.Tanh);
            h = RefOps.Dense(h, w["fc2.weight"], w["fc2.bias"], 64, 64, Activation.Tanh);
            return RefOps.Dense(h, w["out.weight"], w["out.bias"], 64, 4);
        });
        var layerReference = new LayerReference(net, layers);
        double[][] x = Enumerable.Range(0, 2).Select(s => DenseNumericTests.RandomInputs(16, 80 + s).Select(v => (double)v).ToArray()).ToArray();
        double[][] dy = Enumerable.Range(0, 2).Select(s => DenseNumericTests.RandomInputs(4, 90 + s).Select(v => (double)v).ToArray()).ToArray();
        Assert.Equal(layerReference.Forward(x, training: false).SelectMany(r => r), function.Forward(x).SelectMany(r => r), new Tolerance(1e-12));

        Dictionary<string, Dictionary<int, double>> expected = layerReference.ParameterGradients(x, dy, perTensor: 5, seed: 4);
        Dictionary<string, Dictionary<int, double>> actual = function.ParameterGradients(x, dy, perTensor: 5, seed: 4);
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach ((string name, Dictionary<int, double> gradient) in expected)
            foreach ((int i, double g) in gradient) Assert.Equal(g, actual[name][i], 1e-9);
        Assert.Equal(layerReference.InputGradients(x, dy).SelectMany(r => r), function.InputGradients(x, dy).SelectMany(r => r), new Tolerance(1e-9));
    }

    /// <summary>Element-wise absolute tolerance for sequence assertions.</summary>
    private sealed class Tolerance(double limit) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= limit;
        public int GetHashCode(double obj) => 0;
    }
}
