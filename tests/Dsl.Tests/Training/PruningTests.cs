using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Dsl.Tests.Networks;

namespace Dsl.Tests.Training;

public class PruningTests
{
    private static Dataset RandomData(int count, int inputSize, int classes, int seed)
    {
        var rng = new Rng(seed);
        var features = new float[count * inputSize];
        for (int i = 0; i < features.Length; i++) features[i] = rng.NextGaussian();
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = (int)(rng.NextSingle(0f, classes - 1e-3f));
        return new Dataset(features, inputSize, labels, classes);
    }

    /// <summary>Every removed block's stored values, read back from the parameters.</summary>
    private static IEnumerable<float> RemovedValues(Parameters parameters, Span<float> laidOutLikeValues)
    {
        var found = new List<float>();
        foreach (TensorInfo t in parameters.Pruning!.Tensors)
        {
            int block = t.Pruning!.Block;
            Span<float> tensor = laidOutLikeValues.Slice(t.Offset, t.Length);
            for (int b = 0; b < t.Length / block; b++)
                if (parameters.Pruning.IsRemoved(t, b)) found.AddRange(tensor.Slice(b * block, block).ToArray());
        }
        return found;
    }

    [Fact]
    public void Declaration_MarksTheDeclaredWeightsOnly_WithTargetAndBlock()
    {
        var net = new PrunedMlp(seed: 1);
        Pruning pruning = net.Parameters.Pruning!;

        Assert.Equal(["hidden.weight", "second.weight"], pruning.Tensors.Select(t => t.Name));
        Assert.Equal((0.75f, 16), (pruning.Tensors[0].Pruning!.Sparsity, pruning.Tensors[0].Pruning!.Block));
        Assert.Equal((0.5f, 1), (pruning.Tensors[1].Pruning!.Sparsity, pruning.Tensors[1].Pruning!.Block));
        Assert.Null(net.Parameters.Find("out.weight")!.Pruning); // the output layer is not pruned unless declared
        Assert.Null(net.Parameters.Find("hidden.bias")!.Pruning);
        Assert.Null(new FashionMlp().Parameters.Pruning);
        Assert.All(pruning.Tensors, t => Assert.Equal(0f, pruning.Sparsity(t)));
        // The summary's layer table is followed by the connections each pruned weight keeps, known at run time.
        pruning.Prune();
        Assert.Contains("hidden.weight", net.Summary);
        Assert.Contains($"connections: {net.Parameters.Connections():N0} of", net.Summary);
    }

    [Fact]
    public void Prune_OneShot_RemovesTheSmallestBlocksToTheTargets()
    {
        var net = new PrunedCnn(seed: 3);
        Parameters parameters = net.Parameters;
        float[] before = parameters.Values.ToArray();

        parameters.Pruning!.Prune();

        foreach (TensorInfo t in parameters.Pruning.Tensors)
        {
            int block = t.Pruning!.Block, blocks = t.Length / block;
            Assert.Equal(Math.Round(t.Pruning.Sparsity * blocks) / blocks, parameters.Pruning.Sparsity(t), 6);
            // Independent of the implementation's ranking: every removed block's sum of squares (in double, from the
            // values before pruning) is at most every kept block's, and kept blocks are unchanged.
            double maxRemoved = 0, minKept = double.MaxValue;
            Span<float> after = parameters.Value(t);
            for (int b = 0; b < blocks; b++)
            {
                double score = 0;
                for (int k = 0; k < block; k++) score += (double)before[t.Offset + b * block + k] * before[t.Offset + b * block + k];
                bool removed = parameters.Pruning.IsRemoved(t, b);
                Assert.Equal(removed, !after.Slice(b * block, block).ContainsAnyExcept(0f));
                if (removed) maxRemoved = Math.Max(maxRemoved, score);
                else
                {
                    minKept = Math.Min(minKept, score);
                    Assert.Equal(before.AsSpan(t.Offset + b * block, block).ToArray(), after.Slice(b * block, block).ToArray());
                }
            }
            Assert.True(maxRemoved <= minKept * (1 + 1e-6), $"{t.Name}: removed a block of {maxRemoved} while keeping one of {minKept}");
        }
        // Every other tensor is untouched.
        foreach (TensorInfo t in parameters.Tensors.Where(t => t.Pruning is null && t.Kind == TensorKind.Parameter))
            Assert.Equal(before.AsSpan(t.Offset, t.Length).ToArray(), parameters.Value(t).ToArray());
    }

    [Fact]
    public void Prune_MasksOnlyGrow_AndConnectionsCountTheNonZeroWeights()
    {
        var net = new PrunedMlp(seed: 4);
        Pruning pruning = net.Parameters.Pruning!;
        TensorInfo hidden = pruning.Tensors[0];
        // The biases start at zero: 64 + 16 + 4 values that are parameters but not (yet) connections.
        long parameters = net.Parameters.ParameterCount - (64 + 16 + 4);
        Assert.Equal(parameters, net.Parameters.Connections());

        pruning.Prune(hidden, 0.5f);
        bool[] half = Enumerable.Range(0, hidden.Length / 16).Select(b => pruning.IsRemoved(hidden, b)).ToArray();
        pruning.Prune(hidden, 0.25f); // lower than now: nothing comes back
        Assert.Equal(0.5f, pruning.Sparsity(hidden));
        pruning.Prune(hidden, 0.75f);
        for (int b = 0; b < half.Length; b++)
            if (half[b]) Assert.True(pruning.IsRemoved(hidden, b));

        Assert.Equal(hidden.Length / 4, pruning.Connections(hidden));
        Assert.Equal(parameters - 3 * hidden.Length / 4, net.Parameters.Connections());
        Assert.Contains("hidden.weight", pruning.Describe());
        Assert.Contains("75.0 %", pruning.Describe());

        pruning.Reset();
        Assert.Equal(0f, pruning.TotalSparsity);
    }

    [Fact]
    public void Prune_Global_RemovesTheAskedShareOfAllPrunableConnectionsWithOneThreshold()
    {
        var net = new PrunedCnn(seed: 5);
        Pruning pruning = net.Parameters.Pruning!;
        float[] before = net.Parameters.Values.ToArray();
        pruning.Prune(0.5f, PruningScope.Global);

        Assert.Equal(0.5, pruning.TotalSparsity, 2);
        // One threshold on the mean square per weight (from the values before pruning): no removed block of either
        // tensor beats a kept one of either, and the two tensors end at different sparsities.
        double maxRemoved = 0, minKept = double.MaxValue;
        foreach (TensorInfo t in pruning.Tensors)
        {
            int block = t.Pruning!.Block;
            for (int b = 0; b < t.Length / block; b++)
            {
                double meanSquare = 0;
                for (int k = 0; k < block; k++) meanSquare += (double)before[t.Offset + b * block + k] * before[t.Offset + b * block + k] / block;
                if (pruning.IsRemoved(t, b)) maxRemoved = Math.Max(maxRemoved, meanSquare);
                else minKept = Math.Min(minKept, meanSquare);
            }
        }
        Assert.True(maxRemoved <= minKept * (1 + 1e-6), $"removed a block of mean square {maxRemoved} while keeping one of {minKept}");
        Assert.NotEqual(pruning.Sparsity(pruning.Tensors[0]), pruning.Sparsity(pruning.Tensors[1]));
    }

    public static TheoryData<string> Optimizers => new() { "sgd-momentum", "sgd-nesterov", "adamw", "sgd-plain" };

    private static Optimizer Create(string name) => name switch
    {
        "sgd-momentum" => new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-3f),
        "sgd-nesterov" => new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-3f, nesterov: true),
        "adamw" => new AdamW(1e-2f, weightDecay: 0.1f),
        "sgd-plain" => new Sgd(0.05f), // the fused step: W updated inside the backward pass
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Training_KeepsRemovedWeightsZero_ThroughMomentumAndWeightDecay(string optimizerName)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            var net = new PrunedMlp(seed: 6);
            Dataset data = RandomData(64, 24, 4, seed: 7);
            Optimizer optimizer = Create(optimizerName);
            var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy) { Threads = threads };
            // Build momentum first, then prune in the middle of training: the state of the removed weights is non-zero then.
            trainer.Fit(data, epochs: 2, batchSize: 16, seed: 1);
            net.Parameters.Pruning!.Prune();
            float[] kept = net.Parameters.Values.ToArray();

            trainer.Fit(data, epochs: 3, batchSize: 16, seed: 2);

            Assert.All(RemovedValues(net.Parameters, net.Parameters.Values), v => Assert.Equal(0f, v));
            // Training went on for the kept weights.
            Assert.NotEqual(kept, net.Parameters.Values.ToArray());
            Assert.Equal(0.75f, net.Parameters.Pruning.Sparsity(net.Parameters.Pruning.Tensors[0]));
        }
    }

    [Fact]
    public void Step_ZeroesTheGradientsOfRemovedWeights_AndClearsTheirMomentum()
    {
        var net = new PrunedMlp(seed: 8);
        Parameters parameters = net.Parameters;
        Dataset data = RandomData(16, 24, 4, seed: 9);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        Workspace workspace = net.CreateWorkspace(16);
        var output = new float[16 * 4];
        var gradient = new float[16 * 4];
        int[] rows = Enumerable.Range(0, 16).ToArray();

        void Backward()
        {
            parameters.ZeroGradients();
            net.ForwardTrain(data.Features, output, 16, workspace);
            Loss.SoftmaxCrossEntropy.Compute(output, data, rows, gradient);
            net.Backward(gradient, Span<float>.Empty, 16, workspace);
        }

        Backward();
        sgd.Step(parameters); // momentum everywhere
        parameters.Pruning!.Prune();
        Backward();
        Assert.Contains(RemovedValues(parameters, parameters.Gradients), g => g != 0f); // the dense backward does not know the masks
        sgd.Step(parameters);
        Assert.All(RemovedValues(parameters, parameters.Gradients), g => Assert.Equal(0f, g));
        Assert.All(RemovedValues(parameters, parameters.Values), v => Assert.Equal(0f, v));
        // With their momentum cleared and their gradient zero, a removed weight does not move even before the re-masking.
        for (int step = 0; step < 3; step++)
        {
            Backward();
            sgd.Step(parameters);
            Assert.All(RemovedValues(parameters, parameters.Values), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void MagnitudePruning_FollowsTheCubicScheduleToTheTargets()
    {
        var net = new PrunedMlp(seed: 10);
        Dataset data = RandomData(80, 24, 4, seed: 11); // 5 batches of 16 per epoch
        var schedule = new MagnitudePruning(net, startStep: 3, endStep: 13, frequency: 2);
        var seen = new List<(long Step, float Hidden, float Second)>();
        var recorder = new Recorder(() =>
        {
            Pruning p = net.Parameters.Pruning!;
            seen.Add((schedule.Step, p.Sparsity(p.Tensors[0]), p.Sparsity(p.Tensors[1])));
        });

        new Trainer(net, new Sgd(0.05f, momentum: 0.9f), Loss.SoftmaxCrossEntropy) { Threads = 1 }
            .Fit(data, epochs: 4, batchSize: 16, seed: 1, validation: null, schedule, recorder);

        Assert.Equal(20, seen.Count);
        int hiddenBlocks = 24 * 64 / 16, secondBlocks = 64 * 16;
        foreach ((long step, float hidden, float second) in seen)
        {
            // The last pruning step at or before this one: t0, t0 + Δt, ..., and t1 itself.
            long pruned = step < 3 ? 0 : step >= 13 ? 13 : 3 + (step - 3) / 2 * 2;
            double progress = pruned == 0 ? 0 : 1 - Math.Pow(1 - (pruned - 3) / 10.0, 3);
            Assert.Equal(Math.Round(0.75 * progress * hiddenBlocks) / hiddenBlocks, hidden, 6);
            Assert.Equal(Math.Round(0.5 * progress * secondBlocks) / secondBlocks, second, 6);
        }
        Assert.Equal(0.75f, seen[^1].Hidden);
        Assert.Equal(0.5f, seen[^1].Second);
        Assert.Equal(0.0, schedule.Progress(3));
        Assert.Equal(1 - Math.Pow(0.5, 3), schedule.Progress(8), 12);
        Assert.Equal(1.0, schedule.Progress(20));
    }

    [Fact]
    public void MagnitudePruning_WithAFinalSparsity_OverridesTheDeclaredTargets()
    {
        var net = new PrunedCnn(seed: 12);
        Dataset data = RandomData(32, 72, 3, seed: 13);
        var schedule = new MagnitudePruning(net, startStep: 1, endStep: 4, frequency: 1, finalSparsity: 0.5f);
        new Trainer(net, new AdamW(1e-3f), Loss.SoftmaxCrossEntropy).Fit(data, epochs: 2, batchSize: 8, seed: 0, validation: null, schedule);
        Assert.All(net.Parameters.Pruning!.Tensors, t => Assert.Equal(0.5f, net.Parameters.Pruning.Sparsity(t)));
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var net = new PrunedMlp();
        Pruning pruning = net.Parameters.Pruning!;
        Assert.Throws<ArgumentOutOfRangeException>(() => pruning.Prune(1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => pruning.Prune(float.NaN));
        Assert.Throws<ArgumentException>(() => pruning.Prune(net.Parameters.Find("out.weight")!, 0.5f));
        Assert.Throws<ArgumentException>(() => pruning.ClearRemoved(new float[3]));
        Assert.Throws<ArgumentException>(() => new MagnitudePruning(new FashionMlp(), 1, 10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MagnitudePruning(net, 0, 10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MagnitudePruning(net, 5, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MagnitudePruning(net, 1, 4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MagnitudePruning(net, 1, 4, 1, initialSparsity: 0.6f)); // above the 0.5 target
        Assert.Throws<ArgumentOutOfRangeException>(() => new PruningTarget(1f, 16));
        Assert.Throws<ArgumentException>(() => new TensorInfo("w", [12, 4], TensorInit.Zeros, transposeGroups: 1, pruning: new PruningTarget(0.5f, 8)));
        Assert.Throws<ArgumentException>(() => new TensorInfo("b", [16], TensorInit.Zeros, pruning: new PruningTarget(0.5f, 16)));
    }

    [Fact]
    public void SaveAndLoad_BringTheMasksBackFromTheZeros_AndTheOutputs()
    {
        var net = new PrunedCnn(seed: 14);
        net.Parameters.Pruning!.Prune();
        string path = Path.Combine(Path.GetTempPath(), $"dsl-pruned-{Guid.NewGuid():N}.safetensors");
        try
        {
            net.Save(path);
            var loaded = new PrunedCnn(seed: 99);
            loaded.Load(path);
            foreach (TensorInfo t in net.Parameters.Pruning.Tensors)
            {
                TensorInfo other = loaded.Parameters.Find(t.Name)!;
                Assert.Equal(net.Parameters.Pruning.Sparsity(t), loaded.Parameters.Pruning!.Sparsity(other));
                for (int b = 0; b < t.Length / t.Pruning!.Block; b++)
                    Assert.Equal(net.Parameters.Pruning.IsRemoved(t, b), loaded.Parameters.Pruning.IsRemoved(other, b));
            }
            var input = new float[PrunedCnn.InputSize];
            var rng = new Rng(15);
            for (int i = 0; i < input.Length; i++) input[i] = rng.NextGaussian();
            float[] a = new float[3], b2 = new float[3];
            net.Forward(input, a);
            loaded.Forward(input, b2);
            Assert.Equal(a, b2);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Recorder(Action onBatch) : ITrainingObserver
    {
        public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss) => onBatch();

        public void OnEpoch(EpochReport report)
        {
        }
    }
}
