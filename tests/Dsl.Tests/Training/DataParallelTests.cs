using System;
using System.Linq;
using Dsl.Kernels;
using Dsl.Tests.Reliability;

namespace Dsl.Tests.Training;

/// <summary>
/// <see cref="Trainer.Threads"/>: a batch split across threads trains the same network as one thread, up to float
/// rounding (the weight gradients are summed per thread, then added), and a given thread count repeats bit for
/// bit. Batch normalisation uses the whole batch's statistics, so a per-thread normalisation would fail these.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class DataParallelTests
{
    // The tolerance of one-thread against two-thread weights after 7 steps: the per-step rounding (~1e-7 relative)
    // grows through the optimiser's steps, most where a ReLU sits near zero (on the Vector128 and scalar paths 2 of
    // the CNN's 126,720 values reach 2.5e-4); a thread normalising with its own half's statistics, a loss scaled by
    // the half batch or a lost half's gradient is off by 1e-2 or more.
    private const float Tolerance = 1e-3f;

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    [InlineData("cnn")]
    [InlineData("transformer")]
    [InlineData("moe")] // the balancing loss and its gradient from the whole batch's routing, however it is split
    public void TwoAndThreeThreads_MatchOneThreadUpToRounding_AndRepeatBitForBit(string network)
    {
        Parameters one = Train(network, threads: 1), two = Train(network, threads: 2), three = Train(network, threads: 3);
        Parameters twoAgain = Train(network, threads: 2);

        Assert.Equal(ReliabilityNetworks.Bits(two).Values, ReliabilityNetworks.Bits(twoAgain).Values);
        Assert.Equal(ReliabilityNetworks.Bits(two).Buffers, ReliabilityNetworks.Bits(twoAgain).Buffers);
        AssertClose(one.Values, two.Values, "values, 2 threads");
        AssertClose(one.Values, three.Values, "values, 3 threads");
        AssertClose(one.Buffers, two.Buffers, "buffers, 2 threads"); // running statistics and the batch count, updated once per batch
        AssertClose(one.Buffers, three.Buffers, "buffers, 3 threads");
        // Every path leaves the gradients zero for the next batch: the fused step on one thread, and on more each
        // thread zeroing its slice of every buffer after the update (a stale slice would have failed the above).
        // The CNN's 126,720 values give each thread's slice many of the update's chunks.
        foreach ((Parameters p, string threads) in new[] { (one, "1"), (two, "2"), (three, "3") })
            Assert.True(p.Gradients.ToArray().All(g => g == 0f), $"{network}, {threads} threads: gradients left non-zero");
    }

    [Fact]
    public void BatchNorm_SplitAcrossAGroup_NormalisesWithTheWholeBatchsStatistics()
    {
        var rng = new Random(3);
        const int Batch = 5, Channels = 3, Spatial = 7, Floats = Channels * Spatial;
        float[] x = Enumerable.Range(0, Batch * Floats).Select(_ => (float)rng.NextDouble() * 4 - 1).ToArray();
        float[] dy = Enumerable.Range(0, Batch * Floats).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] gamma = [0.5f, 1.5f, -1f], beta = [0.1f, -0.2f, 0.3f];

        // Whole batch on one thread.
        float[] y = new float[x.Length], dx = new float[x.Length];
        float[] mean = new float[Channels], invStd = new float[Channels], runningMean = new float[Channels], runningVar = [1f, 1f, 1f];
        float[] dGamma = new float[Channels], dBeta = new float[Channels];
        BatchNormKernels.ForwardTraining(x, y, Batch, Channels, Spatial, gamma, beta, runningMean, runningVar, 0.1f, 1e-5f, mean, invStd);
        BatchNormKernels.Backward(x, dy, dx, Batch, Channels, Spatial, gamma, mean, invStd, dGamma, dBeta);

        // Rows 0-1 on thread 0, rows 2-4 on thread 1.
        var group = new BatchGroup(2);
        group.Begin(active: 2, rows: Batch);
        float[] ySplit = new float[x.Length], dxSplit = new float[x.Length];
        float[] splitMean = new float[Channels], splitRunningMean = new float[Channels], splitRunningVar = [1f, 1f, 1f];
        float[][] dGammas = [new float[Channels], new float[Channels]], dBetas = [new float[Channels], new float[Channels]];
        var job = new BatchNormJob(group, x, dy, ySplit, dxSplit, gamma, beta, splitMean, splitRunningMean, splitRunningVar, dGammas, dBetas, splitAt: 2);
        using (var crew = new WorkerCrew(2)) crew.Run(job, 2, group);

        AssertClose(y, ySplit, "y");
        AssertClose(dx, dxSplit, "dx");
        AssertClose(mean, splitMean, "mean");
        AssertClose(runningMean, splitRunningMean, "running mean, updated once");
        AssertClose(runningVar, splitRunningVar, "running variance, updated once");
        for (int c = 0; c < Channels; c++)
        {
            Assert.Equal(dGamma[c], dGammas[0][c] + dGammas[1][c], 1e-5f);
            Assert.Equal(dBeta[c], dBetas[0][c] + dBetas[1][c], 1e-5f);
        }
    }

    private sealed class BatchNormJob(BatchGroup group, float[] x, float[] dy, float[] y, float[] dx, float[] gamma, float[] beta,
        float[] mean, float[] runningMean, float[] runningVar, float[][] dGammas, float[][] dBetas, int splitAt) : WorkerCrew.IJob
    {
        public void Run(int thread)
        {
            int floats = x.Length / group.TotalRows, first = thread == 0 ? 0 : splitAt, rows = thread == 0 ? splitAt : group.TotalRows - splitAt;
            var workspace = new Workspace(1, 1);
            workspace.JoinGroup(group, thread, null);
            int channels = gamma.Length;
            float[] threadMean = new float[channels], invStd = new float[channels];
            Range mine = new(first * floats, (first + rows) * floats);
            BatchNormKernels.ForwardTraining(x.AsSpan(mine), y.AsSpan(mine), rows, channels, floats / channels, gamma, beta,
                runningMean, runningVar, 0.1f, 1e-5f, threadMean, invStd, workspace);
            BatchNormKernels.Backward(x.AsSpan(mine), dy.AsSpan(mine), dx.AsSpan(mine), rows, channels, floats / channels, gamma,
                threadMean, invStd, dGammas[thread], dBetas[thread], workspace);
            if (thread == 1) threadMean.CopyTo(mean);
        }
    }

    [Fact]
    public void NonFiniteInput_OnTwoThreads_ThrowsTheStepsException_NamingTheSampleInTheWholeBatch()
    {
        NonFiniteException Run(int threads)
        {
            INetwork net = ReliabilityNetworks.Create("dense", 21);
            Dataset clean = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 8, seed: 8);
            float[] features = clean.Features.ToArray();
            features[6 * net.InputSize + 1] = float.NaN;
            var data = new Dataset(features, net.InputSize, Enumerable.Range(0, 8).Select(clean.Label).ToArray(), net.OutputSize);
            var trainer = new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { Threads = threads, CheckFinite = true };
            return Assert.Throws<NonFiniteException>(() => trainer.Fit(data, epochs: 1, batchSize: 8, seed: 1));
        }

        NonFiniteException one = Run(1), two = Run(2);

        Assert.Equal(one.Step, two.Step);
        Assert.Equal(one.Sample, two.Sample);
        Assert.Equal(one.Index, two.Index);
    }

    [Fact]
    public void Fit_OnTwoThreads_AllocatesNothingPerBatch()
    {
        INetwork net = ReliabilityNetworks.Create("dense", 21);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 400, seed: 8);
        var trainer = new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { Threads = 2 };
        Allocations.AssertFitAllocatesNothingPerBatch(trainer, data);
    }

    private static Parameters Train(string network, int threads)
    {
        INetwork net = ReliabilityNetworks.Create(network, 21);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 50, seed: 8);
        new Trainer(net, new Sgd(0.05f, momentum: 0.9f), Loss.SoftmaxCrossEntropy) { Threads = threads }.Fit(data, epochs: 1, batchSize: 8, seed: 5);
        return net.Parameters;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= Tolerance * (1 + MathF.Abs(expected[i])), $"{what} [{i}]: {expected[i]} vs {actual[i]}");
    }
}
