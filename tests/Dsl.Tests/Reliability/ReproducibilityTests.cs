using System;
using System.Threading;

namespace Dsl.Tests.Reliability;

/// <summary>
/// Training is a pure function of the initial parameters, the data and the Fit seed on one machine: two runs
/// give bit-identical parameters and buffers (BatchNorm running statistics, num_batches_tracked), even when the
/// second runs on another thread; another Fit seed (another shuffle) gives other weights.
/// </summary>
public sealed class ReproducibilityTests
{
    private const int InitSeed = 21;
    private const int FitSeed = 5;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string network in ReliabilityNetworks.Kinds)
        {
            data.Add(network, "adamw");
            data.Add(network, "sgd-momentum");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSeed_GivesBitIdenticalWeightsAndBuffers_OtherSeed_DifferentWeights(string network, string optimizer)
    {
        (int[] Values, int[] Buffers) initial = ReliabilityNetworks.Bits(ReliabilityNetworks.Create(network, InitSeed).Parameters);

        (int[] Values, int[] Buffers) first = Train(network, optimizer, FitSeed);
        (int[] Values, int[] Buffers) second = default;
        var thread = new Thread(() => second = Train(network, optimizer, FitSeed));
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)));
        (int[] Values, int[] Buffers) otherSeed = Train(network, optimizer, FitSeed + 1);

        Assert.NotEqual(initial.Values, first.Values); // training did something
        Assert.Equal(first.Values, second.Values);
        Assert.Equal(first.Buffers, second.Buffers);
        Assert.NotEqual(first.Values, otherSeed.Values);
        if (first.Buffers.Length > 0)
        {
            // The conv net's batch norm: running statistics and the batch counter moved, reproducibly.
            Assert.NotEqual(initial.Buffers, first.Buffers);
            Assert.NotEqual(first.Buffers, otherSeed.Buffers);
        }
    }

    /// <summary>3 epochs over 50 samples in batches of 8 (the last batch of each epoch holds 2) from fixed initial weights.</summary>
    private static (int[] Values, int[] Buffers) Train(string network, string optimizer, int fitSeed)
    {
        INetwork net = ReliabilityNetworks.Create(network, InitSeed);
        Dataset data = SyntheticData(net.InputSize, net.OutputSize, count: 50, seed: 8);
        Optimizer opt = optimizer == "adamw" ? new AdamW(learningRate: 3e-3f) : new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-4f);
        var trainer = new Trainer(net, opt, Loss.SoftmaxCrossEntropy);
        trainer.Fit(data, epochs: 3, batchSize: 8, seed: fitSeed);
        return ReliabilityNetworks.Bits(net.Parameters);
    }

    /// <summary>Uniform inputs, each labelled by the arg-max of a fixed random linear map: learnable, and the same for every run.</summary>
    internal static Dataset SyntheticData(int inputSize, int classes, int count, int seed)
    {
        var rng = new Rng(seed);
        var map = new float[classes * inputSize];
        for (int i = 0; i < map.Length; i++) map[i] = rng.NextSingle(-1f, 1f);
        var features = new float[count * inputSize];
        var labels = new int[count];
        for (int s = 0; s < count; s++)
        {
            Span<float> x = features.AsSpan(s * inputSize, inputSize);
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
            float best = float.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                float score = 0;
                for (int i = 0; i < inputSize; i++) score += map[c * inputSize + i] * x[i];
                if (score > best) (best, labels[s]) = (score, c);
            }
        }
        return new Dataset(features, inputSize, labels, classes);
    }
}
