using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using Dsl;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// Generated dense forward and backward against the double-precision <see cref="Reference"/> and against central
/// finite differences, on networks whose widths hit every tail case. CI runs this class once per ISA setting
/// (AVX-512, AVX2, Vector128, scalar), so each generated path is checked.
/// </summary>
public class DenseNumericTests
{
    public static TheoryData<string> Networks => new() { nameof(FashionMlp), nameof(TailNet), nameof(WideNet), nameof(OddNet), nameof(TinyMlp), nameof(ChunkNet), nameof(PanelNet), nameof(NarrowNet), nameof(DotNet) };

    internal static (INetwork Net, Dense[] Layers) Create(string name, int seed)
    {
        (INetwork net, Dense[] layers) = name switch
        {
            nameof(FashionMlp) => Pair(new FashionMlp(seed), n => new[] { n.Fc1, n.Fc2, n.Head }),
            nameof(TailNet) => Pair(new TailNet(seed), n => new[] { n.L1, n.L2, n.L3, n.L4, n.L5, n.L6, n.Out }),
            nameof(WideNet) => Pair(new WideNet(seed), n => new[] { n.Expand, n.Wide, n.Classes }),
            nameof(OddNet) => Pair(new OddNet(seed), n => new[] { n.Hidden, n.Narrow, n.Out }),
            nameof(TinyMlp) => Pair(new TinyMlp(seed), n => new[] { n.Fc1, n.Fc2, n.Out }),
            nameof(ChunkNet) => Pair(new ChunkNet(seed), n => new[] { n.Wide, n.Narrow, n.Out }),
            nameof(PanelNet) => Pair(new PanelNet(seed), n => new[] { n.Wide, n.Middle, n.Out }),
            nameof(NarrowNet) => Pair(new NarrowNet(seed), n => new[] { n.Ten, n.Up1, n.Three, n.Up2, n.Fourteen, n.Up3, n.Four }),
            nameof(DotNet) => Pair(new DotNet(seed), n => new[] { n.Dot }),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        // Initialisation leaves biases at zero; random biases make the bias paths matter.
        var rng = new Rng(seed + 1000);
        foreach (Dense layer in layers)
            for (int o = 0; o < layer.Bias.Length; o++) layer.Bias[o] = rng.NextSingle(-0.5f, 0.5f);
        return (net, layers);

        static (INetwork, Dense[]) Pair<T>(T net, Func<T, Dense[]> layers) where T : INetwork => (net, layers(net));
    }

    internal static float[] RandomInputs(int count, int seed, float scale = 1f)
    {
        var rng = new Rng(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = rng.NextSingle(-scale, scale);
        return values;
    }

    [Fact]
    public void IsaSetting_IsTheOneThisRunAskedFor()
    {
        // scripts/test.sh sets DSL_EXPECT_ISA for each run so a silently ignored DOTNET_Enable* variable fails here.
        string? expected = Environment.GetEnvironmentVariable("DSL_EXPECT_ISA");
        string actual = Vector512.IsHardwareAccelerated ? "avx512"
            : Vector256.IsHardwareAccelerated ? "avx2"
            : Vector128.IsHardwareAccelerated ? "vector128"
            : "scalar";
        if (expected is not null) Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_MatchesScalarReference(string name)
    {
        (INetwork net, Dense[] layers) = Create(name, seed: 1);
        var reference = new Reference(layers);
        var output = new float[net.OutputSize];
        for (int sample = 0; sample < 3; sample++)
        {
            float[] input = RandomInputs(net.InputSize, seed: 10 + sample);
            net.Forward(input, output);
            double[] expected = reference.Forward(input)[layers.Length];
            // Float accumulation over at most 784 products of magnitude <= 1, plus approximated exp/tanh:
            // 1e-4 relative to the output's scale covers it with a wide margin (observed ~1e-6).
            AssertClose(expected, output, 1e-4, $"{name} sample {sample}");
        }
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void BatchedForward_IsBitIdenticalToBatchOne(string name)
    {
        (INetwork net, _) = Create(name, seed: 2);
        // Batches 1..13 cover the four-sample kernels, the blocked kernel's micro-tiles (12 rows with AVX-512, 6 or 8 with
        // AVX2) and every count of rows left over (run as tiles of 8, 4, 2 and 1); 23 is a full tile and 8 + 2 + 1 left.
        // 64, 65 and 131 fill one 64-sample block, spill one sample into a second, and end in a partial third.
        foreach (int batch in Enumerable.Range(1, 13).Concat([23, 64, 65, 131]))
            AssertBatchedEqualsBatchOne(net, batch, seed: 20 + batch, exact: !ReorderedAtBatchOne.Contains(name));
    }

    /// <summary>
    /// Networks with a layer of 256 or more inputs and fewer outputs than an AVX-512 (or AVX2) vector: its batch-1
    /// kernel reads whole vectors across W's rows (docs/architecture.md, "Kernels") and so adds in another order
    /// than the batched kernel; the two agree to float rounding (<see cref="ReorderedTolerance"/>).
    /// </summary>
    private static readonly HashSet<string> ReorderedAtBatchOne = [nameof(WideNet), nameof(NarrowNet), nameof(DotNet)];

    /// <summary>Relative to the output's scale: a sum of up to 1000 products of magnitude up to 1, added in another order.</summary>
    private const double ReorderedTolerance = 1e-5;

    /// <summary>
    /// Each output lane sums the same products in the same order whichever kernel runs it (one sample or a tile of
    /// rows), so batched inference equals batch-1 inference exactly; or, where the batch-1 kernel adds in another
    /// order (<paramref name="exact"/> false), to float rounding.
    /// </summary>
    internal static void AssertBatchedEqualsBatchOne(INetwork net, int batch, int seed, bool exact = true)
    {
        float[] input = RandomInputs(batch * net.InputSize, seed);
        var batched = new float[batch * net.OutputSize];
        net.Forward(input, batched, batch);
        var single = new float[net.OutputSize];
        for (int s = 0; s < batch; s++)
        {
            net.Forward(input.AsSpan(s * net.InputSize, net.InputSize), single);
            float[] row = batched.AsSpan(s * net.OutputSize, net.OutputSize).ToArray();
            if (exact) Assert.Equal(single, row);
            else AssertClose(Array.ConvertAll(row, v => (double)v), single, ReorderedTolerance, $"batch {batch}, sample {s}");
        }
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void ForwardTrain_MatchesInferenceForward(string name)
    {
        (INetwork net, _) = Create(name, seed: 3);
        const int batch = 6;
        float[] input = RandomInputs(batch * net.InputSize, seed: 30);
        var inference = new float[batch * net.OutputSize];
        var training = new float[batch * net.OutputSize];
        net.Forward(input, inference, batch);
        net.ForwardTrain(input, training, batch, net.CreateWorkspace(batch));
        // Training applies SiLU/GELU in a separate pass (to keep z) whose vector width may differ from the fused one.
        AssertClose(inference.Select(v => (double)v).ToArray(), training, 1e-5, name);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesScalarReference(string name)
    {
        (INetwork net, Dense[] layers) = Create(name, seed: 4);
        const int batch = 5; // one group of four and a single: both kernel shapes
        float[] input = RandomInputs(batch * net.InputSize, seed: 40);
        float[] outputGradient = RandomInputs(batch * net.OutputSize, seed: 41);
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);

        var reference = new Reference(layers);
        double[][] weightGradients = layers.Select(l => new double[l.Units * l.Inputs]).ToArray();
        double[][] biasGradients = layers.Select(l => new double[l.Units]).ToArray();
        var expectedInputGradient = new double[batch * net.InputSize];
        for (int s = 0; s < batch; s++)
        {
            double[][] activations = reference.Forward(input.AsSpan(s * net.InputSize, net.InputSize));
            double[] dx = reference.Backward(activations, outputGradient.AsSpan(s * net.OutputSize, net.OutputSize), weightGradients, biasGradients);
            dx.CopyTo(expectedInputGradient, s * net.InputSize);
        }

        // Sums over a batch of 5 and up to 784 inputs in float: 1e-4 of the tensor's scale (observed ~1e-6).
        AssertClose(expectedInputGradient, inputGradient, 1e-4, $"{name} dL/dx");
        for (int l = 0; l < layers.Length; l++)
        {
            Dense layer = layers[l];
            var actual = new float[layer.Units * layer.Inputs];
            for (int o = 0; o < layer.Units; o++)
                for (int i = 0; i < layer.Inputs; i++) actual[o * layer.Inputs + i] = layer.WeightGradient[i * layer.Units + o];
            AssertClose(weightGradients[l], actual, 1e-4, $"{name} {layer.Name}.weight grad");
            if (!layer.BiasGradient.IsEmpty)
                AssertClose(biasGradients[l], layer.BiasGradient.ToArray(), 1e-4, $"{name} {layer.Name}.bias grad");
        }
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_AccumulatesAcrossCalls(string name)
    {
        (INetwork net, _) = Create(name, seed: 5);
        const int batch = 3;
        float[] input = RandomInputs(batch * net.InputSize, seed: 50);
        float[] outputGradient = RandomInputs(batch * net.OutputSize, seed: 51);
        var output = new float[batch * net.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, Span<float>.Empty, batch, workspace);
        float[] once = net.Parameters.Gradients.ToArray();
        net.Backward(outputGradient, Span<float>.Empty, batch, workspace);
        float[] twice = net.Parameters.Gradients.ToArray();
        Assert.Contains(once, v => v != 0);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-5f * (1 + Math.Abs(twice[i])));
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesFiniteDifferences(string name)
    {
        (INetwork net, _) = Create(name, seed: 6);
        GradientCheck.Run(net, name, batch: 2, seed: 60, useTrainingForward: false);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_And_Training_AllocateNothing(string name)
    {
        (INetwork net, _) = Create(name, seed: 7);
        const int batch = 5;
        float[] input = RandomInputs(batch * net.InputSize, seed: 70);
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, new float[batch * net.OutputSize], Array.Empty<float>()));
    }

    [Fact]
    public void Forward_WrongSpanLengths_ThrowNamingExpectedAndActual()
    {
        var net = new FashionMlp();
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new float[783], new float[10]));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("784", e.Message);
        Assert.Contains("783", e.Message);
        e = Assert.Throws<ArgumentException>(() => net.Forward(new float[784], new float[9]));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("10", e.Message);
        e = Assert.Throws<ArgumentException>(() => net.Forward(new float[784 * 3], new float[10 * 2], 3));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("30", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(new float[0], new float[0], 0));
        Workspace small = net.CreateWorkspace(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.ForwardTrain(new float[784 * 3], new float[30], 3, small));
        Assert.Throws<ArgumentException>(() => net.ForwardTrain(new float[784], new float[10], 1, new TinyMlp().CreateWorkspace(1)));
        Assert.Throws<InvalidOperationException>(() => net.Backward(new float[10], Span<float>.Empty, 1, net.CreateWorkspace(1)));
    }

    [Fact]
    public void Constructor_SameSeed_SameWeights_DifferentSeed_DifferentWeights()
    {
        Assert.Equal(new FashionMlp(7).Parameters.Values.ToArray(), new FashionMlp(7).Parameters.Values.ToArray());
        Assert.NotEqual(new FashionMlp(7).Parameters.Values.ToArray(), new FashionMlp(8).Parameters.Values.ToArray());
    }

    [Fact]
    public void GeneratedConstants_DescribeTheDeclaration()
    {
        Assert.Equal(784, FashionMlp.InputSize);
        Assert.Equal(10, FashionMlp.OutputSize);
        Assert.Equal(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, FashionMlp.ParameterCount);
        var net = new FashionMlp();
        Assert.Equal(FashionMlp.ParameterCount, net.Parameters.ParameterCount);
        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "head.weight", "head.bias" }, net.Parameters.Tensors.Select(t => t.Name));
        Assert.Equal(new[] { 256, 784 }, net.Fc1.WeightInfo.Shape);
        Assert.Contains("fc1    Dense  256     Relu           200,960  401,408", net.Summary);
        Assert.All(net.Parameters.Tensors, t => Assert.Equal(0, t.Offset % 16));
    }

    internal static void AssertClose(double[] expected, ReadOnlySpan<float> actual, double relativeToScale, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1 + expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= relativeToScale * scale, $"{what}[{i}]: expected {expected[i]:G9}, got {actual[i]:G9} (error {error:G3}, allowed {relativeToScale * scale:G3})");
        }
    }
}
