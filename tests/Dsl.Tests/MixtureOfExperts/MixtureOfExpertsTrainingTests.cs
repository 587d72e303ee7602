using System;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;
using Dsl.Tests.Reliability;

namespace Dsl.Tests.MixtureOfExperts;

/// <summary>Training a mixture: the reports, the progress line, and 0 B per call and per batch.</summary>
[Collection(AllocationCollection.Name)]
public sealed class MixtureOfExpertsTrainingTests
{
    [Fact]
    public void Fit_ReportsTheAuxiliaryLossAndEachExpertsLoad_AndTheProgressLineShowsThem()
    {
        INetwork net = new ClassifierMixtureNet(3);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 96, seed: 4);
        var trainer = new Trainer(net, new AdamW(0.01f), Loss.SoftmaxCrossEntropy);
        TrainingHistory history = trainer.Fit(data, epochs: 2, batchSize: 16, seed: 5);

        EpochReport report = history.Final;
        MixtureReport moe = Assert.Single(report.Mixtures);
        Assert.Equal("moe", moe.Name);
        Assert.Equal(4, moe.Load.Count);
        Assert.Equal(1f, moe.Load.Sum(), 4);
        Assert.True(moe.Balance >= 1f - 1e-4f && moe.Balance <= 4f, $"balance {moe.Balance}");
        Assert.Equal(0.01f * moe.Balance, moe.AuxiliaryLoss, 4);
        Assert.Equal(moe.AuxiliaryLoss, report.AuxiliaryLoss, 6);
        Assert.InRange(moe.RouterEntropy, 0f, MathF.Log(4) + 1e-4f);
        Assert.Equal(0, moe.Dropped);

        string line = ConsoleProgress.Format(report);
        Assert.Contains($"aux {report.AuxiliaryLoss:F4}", line);
        Assert.Contains($"moe load {moe.MinLoad:F3}-{moe.MaxLoad:F3} of 4", line);
        // A network without a mixture reports none.
        INetwork plain = new TinyMlp(3);
        EpochReport other = new Trainer(plain, new Sgd(0.01f), Loss.SoftmaxCrossEntropy)
            .Fit(ReproducibilityTests.SyntheticData(plain.InputSize, plain.OutputSize, count: 16, seed: 4), epochs: 1, batchSize: 8).Final;
        Assert.Empty(other.Mixtures);
        Assert.Equal(0f, other.AuxiliaryLoss);
        Assert.DoesNotContain("aux", ConsoleProgress.Format(other));
    }

    [Theory]
    [InlineData("flat")]
    [InlineData("tokens")]
    [InlineData("repeated")]
    [InlineData("capacity")]
    public void EveryEntryPoint_AllocatesNothing(string name)
    {
        INetwork net = name switch
        {
            "flat" => new FlatMixtureNet(1),
            "tokens" => new TokenMixtureNet(1),
            "repeated" => new RepeatedMixtureNet(1),
            _ => new CapacityMixtureNet(1),
        };
        const int batch = 6;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 2);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 3);
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, outputGradient, new float[batch * net.InputSize]));
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, outputGradient, []));
    }

    [Fact]
    public void Fit_OnTwoThreads_AllocatesNothingPerBatch()
    {
        INetwork net = new ClassifierMixtureNet(21);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 400, seed: 8);
        Allocations.AssertFitAllocatesNothingPerBatch(new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { Threads = 2 }, data);
    }
}
