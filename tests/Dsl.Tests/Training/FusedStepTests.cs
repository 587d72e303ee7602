using System;
using System.Linq;
using Dsl.Tests.Networks;
using Dsl.Tests.Reliability;

namespace Dsl.Tests.Training;

/// <summary>
/// <see cref="NetworkExtensions.BackwardAndStep"/>: with plain SGD the products' weights take their update inside
/// the backward pass. Checked against the unfused step (<see cref="INetwork.Backward"/>, <see cref="Sgd.Step"/>) on
/// a twin network, over three steps, for every kind of product: dense (narrow and wide), convolutions (grouped,
/// 1-D depthwise, batch-normed), attention projections, projection and highway shortcuts, and repeated copies.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class FusedStepTests
{
    private const int Batch = 5;
    private const float LearningRate = 0.1f;

    public static TheoryData<string> Networks => new(["TinyMlp", "WideNet", "ConvNet", "SequenceNet", "SmallCnn", "TinyVit",
        "ProjectionResidualNet", "GatedResidualNet", "ResidualRepeat", "ConvRepeat", "DownsampleNormNet", "GatedImageNet"]);

    // The fused update adds Σ x·(−lr·dz) to W instead of rounding the gradient and then the update: the weights
    // differ by about an ulp of W. Reading W after its update for dx (or missing an update,
    // or applying one twice) is off by a share of the update itself, so the difference is measured against the
    // tensor's largest update: 1e-3 of it, plus 4 ulps of the largest weight.
    private const float UpdateTolerance = 1e-3f;

    [Theory]
    [MemberData(nameof(Networks))]
    public void PlainSgd_FusedStep_MatchesBackwardThenStep(string name)
    {
        INetwork unfused = Create(name), fused = Create(name);
        Workspace unfusedWorkspace = unfused.CreateWorkspace(Batch), fusedWorkspace = fused.CreateWorkspace(Batch);
        var unfusedSgd = new Sgd(LearningRate);
        var fusedSgd = new Sgd(LearningRate);
        var rng = new Rng(11);
        float[] x = new float[Batch * unfused.InputSize], dy = new float[Batch * unfused.OutputSize];
        float[] y = new float[dy.Length], fusedY = new float[dy.Length];
        fused.Parameters.ZeroGradients();
        for (int step = 0; step < 3; step++)
        {
            Fill(rng, x, dy);
            // Each step starts both from the fused network's state, so the forward passes agree bit for bit.
            fused.Parameters.Values.CopyTo(unfused.Parameters.Values);
            fused.Parameters.Buffers.CopyTo(unfused.Parameters.Buffers);
            float[] before = unfused.Parameters.Values.ToArray();

            BackwardThenStep(unfused, unfusedWorkspace, unfusedSgd, x, y, dy);

            fused.ForwardTrain(x, fusedY, Batch, fusedWorkspace);
            fused.BackwardAndStep(dy, Batch, fusedWorkspace, fusedSgd);

            Assert.Equal(y, fusedY); // same weights in, same forward
            AssertSameUpdate(before, unfused.Parameters, fused.Parameters, $"{name}, step {step}");
            Assert.True(fused.Parameters.Gradients.ToArray().All(g => g == 0f), $"{name}, step {step}: gradients left non-zero");
        }
        Assert.Equal(3, fusedSgd.StepCount);
    }

    [Fact]
    public void SgdWithMomentum_RunsBackwardStepAndZeroes_BitForBit()
    {
        INetwork reference = Create("ConvNet"), network = Create("ConvNet");
        Workspace referenceWorkspace = reference.CreateWorkspace(Batch), workspace = network.CreateWorkspace(Batch);
        var referenceSgd = new Sgd(LearningRate, momentum: 0.9f);
        var sgd = new Sgd(LearningRate, momentum: 0.9f);
        var rng = new Rng(12);
        float[] x = new float[Batch * reference.InputSize], dy = new float[Batch * reference.OutputSize], y = new float[dy.Length];
        for (int step = 0; step < 2; step++)
        {
            Fill(rng, x, dy);
            BackwardThenStep(reference, referenceWorkspace, referenceSgd, x, y, dy);

            network.ForwardTrain(x, y, Batch, workspace);
            network.BackwardAndStep(dy, Batch, workspace, sgd);
        }

        Assert.Equal(ReliabilityNetworks.Bits(reference.Parameters).Values, ReliabilityNetworks.Bits(network.Parameters).Values);
        Assert.True(network.Parameters.Gradients.ToArray().All(g => g == 0f));
    }

    [Fact]
    public void BackwardUpdatingWeights_OnADataParallelThreadsWorkspace_Throws_AndChangesNothing()
    {
        INetwork network = Create("TinyMlp");
        Workspace workspace = network.CreateWorkspace(2);
        var group = new BatchGroup(2);
        group.Begin(active: 2, rows: 4);
        workspace.JoinGroup(group, 0, null);
        float[] x = new float[2 * network.InputSize], dy = new float[2 * network.OutputSize], y = new float[dy.Length];
        dy.AsSpan().Fill(1f);
        float[] before = network.Parameters.Values.ToArray();

        Assert.Throws<InvalidOperationException>(() => network.BackwardUpdatingWeights(dy, 2, workspace, LearningRate));
        Assert.Throws<InvalidOperationException>(() => network.BackwardAndStep(dy, 2, workspace, new Sgd(LearningRate)));
        Assert.Equal(before, network.Parameters.Values.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => network.BackwardUpdatingWeights(dy, 2, network.CreateWorkspace(2), float.NaN));
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("cnn")]
    [InlineData("transformer")]
    public void Trainer_PlainSgdOnOneThread_MatchesTwoThreadsUpToRounding(string kind)
    {
        Parameters Train(int threads)
        {
            INetwork net = ReliabilityNetworks.Create(kind, 21);
            Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 50, seed: 8);
            new Trainer(net, new Sgd(0.05f), Loss.SoftmaxCrossEntropy) { Threads = threads }.Fit(data, epochs: 1, batchSize: 8, seed: 5);
            return net.Parameters;
        }

        Parameters one = Train(1), two = Train(2);

        // As DataParallelTests: per-step rounding grown through 7 steps stays far below 1e-3.
        for (int i = 0; i < one.Size; i++)
            Assert.True(MathF.Abs(one.Values[i] - two.Values[i]) <= 1e-3f * (1 + MathF.Abs(one.Values[i])), $"{kind} [{i}]: {one.Values[i]} vs {two.Values[i]}");
    }

    [Fact]
    public void Trainer_TwoThreads_ALastBatchOfOneSample_RunsAloneWithBatchNorm()
    {
        // 9 samples in batches of 8: the second batch has one sample, so one thread runs it after a split batch.
        // Batch norm must then normalise alone, not wait for the other thread of the batch before.
        INetwork net = ReliabilityNetworks.Create("conv", 21);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 9, seed: 8);
        INetwork reference = ReliabilityNetworks.Create("conv", 21);

        new Trainer(net, new Sgd(0.05f), Loss.SoftmaxCrossEntropy) { Threads = 2 }.Fit(data, epochs: 2, batchSize: 8, seed: 5);
        new Trainer(reference, new Sgd(0.05f), Loss.SoftmaxCrossEntropy) { Threads = 1 }.Fit(data, epochs: 2, batchSize: 8, seed: 5);

        for (int i = 0; i < net.Parameters.Size; i++)
            Assert.True(MathF.Abs(reference.Parameters.Values[i] - net.Parameters.Values[i]) <= 1e-3f * (1 + MathF.Abs(reference.Parameters.Values[i])));
    }

    private static INetwork Create(string name) => name switch
    {
        "TinyMlp" => new TinyMlp(3),
        "WideNet" => new WideNet(3),
        "ConvNet" => new ConvNet(3),
        "SequenceNet" => new SequenceNet(3),
        "SmallCnn" => new SmallCnn(3),
        "TinyVit" => new TinyVit(3),
        "ProjectionResidualNet" => new ProjectionResidualNet(3),
        "GatedResidualNet" => new GatedResidualNet(3),
        "ResidualRepeat" => new ResidualRepeat(3),
        "ConvRepeat" => new ConvRepeat(3),
        "DownsampleNormNet" => new DownsampleNormNet(3),
        "GatedImageNet" => new GatedImageNet(3),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown network."),
    };

    private static void Fill(Rng rng, float[] x, float[] dy)
    {
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
        for (int i = 0; i < dy.Length; i++) dy[i] = rng.NextSingle(-1f, 1f);
    }

    // The unfused step the fused one must match: zero, forward, Backward, the optimiser's Step.
    private static void BackwardThenStep(INetwork network, Workspace workspace, Sgd sgd, float[] x, float[] y, float[] dy)
    {
        network.Parameters.ZeroGradients();
        network.ForwardTrain(x, y, Batch, workspace);
        network.Backward(dy, Span<float>.Empty, Batch, workspace);
        sgd.Step(network.Parameters);
    }

    // Every parameter tensor must have moved, and by the same amount in both networks up to rounding.
    private static void AssertSameUpdate(float[] before, Parameters unfused, Parameters fused, string what)
    {
        foreach (TensorInfo t in unfused.Tensors)
        {
            if (t.Kind == TensorKind.Buffer) continue;
            ReadOnlySpan<float> start = before.AsSpan(t.Offset, t.Length), expected = unfused.Value(t), actual = fused.Value(fused.Find(t.Name)!);
            float largestUpdate = 0f, largestWeight = 0f;
            for (int i = 0; i < t.Length; i++)
            {
                largestUpdate = MathF.Max(largestUpdate, MathF.Abs(expected[i] - start[i]));
                largestWeight = MathF.Max(largestWeight, MathF.Abs(expected[i]));
            }
            Assert.True(largestUpdate > 0f, $"{what}: {t.Name} did not change");
            float tolerance = UpdateTolerance * largestUpdate + 4 * MathF.BitIncrement(largestWeight) - 4 * largestWeight;
            for (int i = 0; i < t.Length; i++)
                Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance,
                    $"{what}: {t.Name}[{i}] {actual[i]} against {expected[i]} (update {expected[i] - start[i]}, tolerance {tolerance})");
        }
    }
}
