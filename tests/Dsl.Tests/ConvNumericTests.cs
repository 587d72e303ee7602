using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// Convolution, pooling, flatten and batch norm layers as generated, against the double-precision
/// <see cref="LayerReference"/> (forward, and gradients by central differences of it) on every ISA setting.
/// </summary>
public class ConvNumericTests
{
    public static TheoryData<string> Networks => new()
    {
        nameof(ConvNet), nameof(SequenceNet), nameof(NormFirstNet), nameof(SmallCnn),
        nameof(DilatedDirectNet), nameof(WideDirectNet), nameof(TinyDirectNet), nameof(ChainDirectNet), nameof(LaneDirectNet),
        nameof(NarrowLaneNet), nameof(SevenLaneNet),
    };

    // The direct-kernel networks are there for inference; their training passes are the im2col kernels the first four
    // check here, and their long float sums (a batch norm's statistics, 1,485-input heads) put float rounding of
    // central differences near the tolerance. The reference-gradient test still covers their backward.
    public static TheoryData<string> FiniteDifferenceNetworks => new() { nameof(ConvNet), nameof(SequenceNet), nameof(NormFirstNet), nameof(SmallCnn) };

    internal static (INetwork Net, Layer[] Layers) Create(string name, int seed)
    {
        (INetwork net, Layer[] layers) = name switch
        {
            nameof(ConvNet) => Pair(new ConvNet(seed), n => new Layer[] { n.C1, n.C2, n.Bn, n.Pool, n.Pointwise, n.Average, n.Flat, n.Fc, n.Out }),
            nameof(SequenceNet) => Pair(new SequenceNet(seed), n => new Layer[] { n.Causal, n.Norm, n.Pool, n.Depthwise, n.Gap, n.Out }),
            nameof(NormFirstNet) => Pair(new NormFirstNet(seed), n => new Layer[] { n.Norm, n.Fc }),
            nameof(SmallCnn) => Pair(new SmallCnn(seed), n => new Layer[] { n.Conv1, n.Conv2, n.Flat, n.Head }),
            nameof(DilatedDirectNet) => Pair(new DilatedDirectNet(seed), n => new Layer[] { n.Dilated, n.Valid, n.Flat, n.Out }),
            nameof(WideDirectNet) => Pair(new WideDirectNet(seed), n => new Layer[] { n.Conv, n.Norm, n.Large, n.Flat, n.Out }),
            nameof(TinyDirectNet) => Pair(new TinyDirectNet(seed), n => new Layer[] { n.Conv, n.Flat, n.Out }),
            nameof(ChainDirectNet) => Pair(new ChainDirectNet(seed), n => new Layer[] { n.First, n.Middle, n.Last, n.Flat, n.Out }),
            nameof(LaneDirectNet) => Pair(new LaneDirectNet(seed), n => new Layer[] { n.Single, n.Dilated, n.Flat, n.Out }),
            nameof(NarrowLaneNet) => Pair(new NarrowLaneNet(seed), n => new Layer[] { n.Conv, n.Norm, n.Valid, n.Flat, n.Out }),
            nameof(SevenLaneNet) => Pair(new SevenLaneNet(seed), n => new Layer[] { n.Conv, n.Dilated, n.Flat, n.Out }),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        // Initialisation leaves biases at 0, batch norms at the identity and running statistics at (0, 1):
        // random values make every term of the maths matter.
        var rng = new Rng(seed + 1000);
        foreach (TensorInfo t in net.Parameters.Tensors)
        {
            Span<float> v = net.Parameters.Value(t);
            if (t.Name.EndsWith(".bias", StringComparison.Ordinal) || t.Name.EndsWith(".running_mean", StringComparison.Ordinal))
                for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(-0.5f, 0.5f);
            else if (t.Name.EndsWith(".running_var", StringComparison.Ordinal) || (t.Kind == TensorKind.Parameter && t.Shape.Length == 1))
                for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(0.5f, 1.5f); // variances and batch-norm scales
        }
        return (net, layers);

        static (INetwork, Layer[]) Pair<T>(T net, Func<T, Layer[]> layers) where T : INetwork => (net, layers(net));
    }

    private static double[][] Rows(float[] flat, int width) =>
        Enumerable.Range(0, flat.Length / width).Select(s => flat.Skip(s * width).Take(width).Select(v => (double)v).ToArray()).ToArray();

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_MatchesReference_WithBatchNormFoldedOrApplied(string name)
    {
        (INetwork net, Layer[] layers) = Create(name, seed: 1);
        var reference = new LayerReference(net, layers);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 11);
        var output = new float[batch * net.OutputSize];
        net.Forward(input, output, batch);
        double[][] expected = reference.Forward(Rows(input, net.InputSize), training: false);
        // Float sums of up to a few hundred products, and the batch norm folded into weights in float:
        // 1e-4 of the output's scale (observed ~1e-6).
        DenseNumericTests.AssertClose(expected.SelectMany(r => r).ToArray(), output, 1e-4, name);
    }

    /// <summary>
    /// SmallCnn's 12544 -> 10 head reads a packed copy of W at batch 1 with AVX-512 (NarrowKernels.Forward1Blocked),
    /// packed once per change of the weights: after a write to the head's weights the forward must follow the new values.
    /// </summary>
    [Fact]
    public void BatchOneForward_FollowsAWriteToTheHeadsWeights()
    {
        (INetwork net, Layer[] layers) = Create(nameof(SmallCnn), seed: 4);
        float[] input = DenseNumericTests.RandomInputs(net.InputSize, seed: 41);
        var before = new float[net.OutputSize];
        net.Forward(input, before);
        TensorInfo w = net.Parameters.Find("head.weight")!;
        Span<float> values = net.Parameters.Values;
        // The first, a middle and the last stored weight: the first and last blocks of 16 inputs.
        foreach (int i in new[] { 0, w.Length / 2 + 3, w.Length - 1 }) values[w.Offset + i] += 5f;
        var after = new float[net.OutputSize];
        net.Forward(input, after);
        double[] expected = new LayerReference(net, layers).Forward(Rows(input, net.InputSize), training: false)[0];
        DenseNumericTests.AssertClose(expected, after, 1e-4, "after the write");
        Assert.NotEqual(before, after);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void BatchedForward_IsBitIdenticalToBatchOne(string name)
    {
        (INetwork net, _) = Create(name, seed: 2);
        DenseNumericTests.AssertBatchedEqualsBatchOne(net, batch: 5, seed: 21);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesReferenceGradients(string name)
    {
        (INetwork net, Layer[] layers) = Create(name, seed: 3);
        var reference = new LayerReference(net, layers);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 31);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 32);
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);

        double[][] x = Rows(input, net.InputSize), dy = Rows(outputGradient, net.OutputSize);
        // Training forward first: it uses batch statistics, as the reference's training mode does.
        DenseNumericTests.AssertClose(reference.Forward(x, training: true).SelectMany(r => r).ToArray(), output, 1e-4, $"{name} training forward");

        // The reference gradient is exact to ~1e-8; the generated one sums float products: 1e-3 of the tensor's
        // scale allows for batch-norm statistics in float and is far below a missing or wrong term.
        var checkedTensors = 0;
        foreach ((string tensor, Dictionary<int, double> expected) in reference.ParameterGradients(x, dy, perTensor: 40, seed: 33))
        {
            TensorInfo info = net.Parameters.Find(tensor)!;
            var actual = new float[info.Length];
            info.StoredToFile(net.Parameters.Gradient(info), actual);
            double scale = 1 + expected.Values.Max(Math.Abs);
            foreach ((int i, double value) in expected)
                Assert.True(Math.Abs(value - actual[i]) <= 1e-3 * scale, $"{name} {tensor}[{i}]: reference {value:G6}, backward {actual[i]:G6}");
            checkedTensors++;
        }
        Assert.True(checkedTensors >= 2);
        DenseNumericTests.AssertClose(reference.InputGradients(x, dy).SelectMany(r => r).ToArray(), inputGradient, 1e-3, $"{name} dL/dx");
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceNetworks))]
    public void Backward_MatchesFiniteDifferencesOfTheGeneratedForward(string name)
    {
        (INetwork net, _) = Create(name, seed: 4);
        GradientCheck.Run(net, name, batch: 2, seed: 40, useTrainingForward: true, h: 1e-3f);
    }

    [Fact]
    public void ForwardTrain_UpdatesRunningStatisticsLikePyTorch()
    {
        (INetwork net, Layer[] layers) = Create(nameof(ConvNet), seed: 5);
        var norm = (BatchNorm)layers[2];
        float[] meanBefore = norm.RunningMean.ToArray(), varianceBefore = norm.RunningVar.ToArray();
        const int batch = 4;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 51);
        var output = new float[batch * net.OutputSize];
        net.ForwardTrain(input, output, batch, net.CreateWorkspace(batch));

        // Batch statistics of the norm's input (the C2 output) from the reference, then PyTorch's update:
        // running = 0.9 running + 0.1 stat, with the unbiased variance.
        var reference = new LayerReference(net, layers.Take(2));
        double[][] z = reference.Forward(Rows(input, net.InputSize), training: true);
        int spatial = norm.Spatial, n = batch * spatial;
        for (int c = 0; c < norm.Channels; c++)
        {
            double[] values = z.SelectMany(row => row.Skip(c * spatial).Take(spatial)).ToArray();
            double mean = values.Average();
            double unbiased = values.Select(v => (v - mean) * (v - mean)).Sum() / (n - 1);
            Assert.Equal(0.9 * meanBefore[c] + 0.1 * mean, norm.RunningMean[c], 1e-5);
            Assert.Equal(0.9 * varianceBefore[c] + 0.1 * unbiased, norm.RunningVar[c], 1e-4);
        }
        Assert.Equal(1, norm.NumBatchesTracked);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_And_Training_AllocateNothing(string name)
    {
        (INetwork net, _) = Create(name, seed: 6);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 60);
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, new float[batch * net.OutputSize], new float[batch * net.InputSize]));
    }

    [Fact]
    public void Summary_ShowsShapesParametersAndFlops()
    {
        string summary = new SmallCnn().Summary;
        Assert.Contains("conv1  Conv2D   8x28x28   Relu                80    112,896", summary); // 2 * 8*28*28 outputs * 9 taps
        Assert.Contains("flat   Flatten  12544                          0          0", summary);
        Assert.Equal(8 * 9 + 8 + 16 * 8 * 9 + 16 + 10 * 12544 + 10, SmallCnn.ParameterCount);
    }
}

// Stride-1, one-group convolutions run the direct kernel in inference: these cover its generation-time choices on
// every rung (odd widths with an overlapping last vector, rows per block with a leftover row, channel blocks with a
// remainder, a window too large to unroll, padding 0/1/2, dilation, a folded batch norm, exp-based activations).

/// <summary>13x17: padding 2 with dilation 2 (Tanh, applied after the kernel), then a valid 3x3 (11x15, ReLU).</summary>
[Network(Channels = 2, Height = 13, Width = 17)]
public partial class DilatedDirectNet
{
    [Conv2D(5, 3, Padding = 2, Dilation = 2, Activation = Activation.Tanh)] public partial Conv2D Dilated { get; }
    [Conv2D(9, 3, Activation = Activation.Relu)] public partial Conv2D Valid { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary>5x33: a folded batch norm (no bias, padding 1), then a 5x5 window (too large to unroll) with GELU.</summary>
[Network(Channels = 3, Height = 5, Width = 33)]
public partial class WideDirectNet
{
    [Conv2D(7, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }
    [Conv2D(10, 5, Padding = 2, Activation = Activation.Gelu)] public partial Conv2D Large { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>Output rows of 2: narrower than any vector, so every rung runs the scalar kernel.</summary>
[Network(Channels = 2, Height = 4, Width = 3)]
public partial class TinyDirectNet
{
    [Conv2D(6, 2, Activation = Activation.Sigmoid)] public partial Conv2D Conv { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(2)] public partial Dense Out { get; }
}

/// <summary>
/// 9x21: three padded convolutions in a row, so at batch 1 each of the first two writes its output inside the next
/// one's zero border (the middle one also reads its input so), the last dilated; a row of 21 ends in an overlapping vector.
/// </summary>
[Network(Channels = 2, Height = 9, Width = 21)]
public partial class ChainDirectNet
{
    [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D First { get; }
    [Conv2D(5, 3, Padding = 1)] public partial Conv2D Middle { get; }
    [Conv2D(3, 3, Padding = 2, Dilation = 2, Activation = Activation.Relu)] public partial Conv2D Last { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary>
/// Rows of 17 with 16 and 32 output channels: with AVX-512 the channels go in the lanes (a row of 17 would fill 17 of
/// 32 lanes), in tiles of 9 and 8 positions. The first writes inside the second's zero border; the second, dilated,
/// takes two blocks of 16 channels and an activation applied after the kernel (GELU).
/// </summary>
[Network(Channels = 4, Height = 6, Width = 17)]
public partial class LaneDirectNet
{
    [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Single { get; }
    [Conv2D(32, 3, Padding = 2, Dilation = 2, Activation = Activation.Gelu)] public partial Conv2D Dilated { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>
/// Rows of 11 and 9 with 32 output channels: im2col on AVX2 and below, the channels in the lanes with AVX-512
/// (DirectLanes). The first pads and takes a folded batch norm; the second is unpadded with GELU after the kernel.
/// </summary>
[Network(Channels = 4, Height = 5, Width = 11)]
public partial class NarrowLaneNet
{
    [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }
    [Conv2D(32, 3, Activation = Activation.Gelu)] public partial Conv2D Valid { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>
/// Rows of 7 with 32 output channels: with AVX-512 two rows share a channel-lanes tile (14 accumulators), the seventh
/// row alone; the second layer dilated, with tanh after the kernel.
/// </summary>
[Network(Channels = 4, Height = 7, Width = 7)]
public partial class SevenLaneNet
{
    [Conv2D(32, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv { get; }
    [Conv2D(32, 3, Padding = 2, Dilation = 2, Activation = Activation.Tanh)] public partial Conv2D Dilated { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(2)] public partial Dense Out { get; }
}
