using System;
using System.Collections.Generic;
using System.Linq;

namespace Dsl.Tests.Training;

public class TrainerTests
{
    // Points in [-1, 1]² labelled by the side of the line x0 − 0.5·x1 + 0.1 = 0, keeping a margin of 0.05 so the
    // classes are strictly separable and a linear model can reach (almost) 100%.
    private static Dataset SeparableTwoClassData(int count, int seed)
    {
        var rng = new Rng(seed);
        var features = new float[count * 2];
        var labels = new int[count];
        for (int n = 0; n < count;)
        {
            float x0 = rng.NextSingle(-1f, 1f), x1 = rng.NextSingle(-1f, 1f);
            float margin = x0 - 0.5f * x1 + 0.1f;
            if (MathF.Abs(margin) < 0.05f) continue;
            features[2 * n] = x0;
            features[2 * n + 1] = x1;
            labels[n] = margin > 0 ? 1 : 0;
            n++;
        }
        return new Dataset(features, 2, labels, 2);
    }

    private sealed class RecordingObserver : ITrainingObserver
    {
        public List<(int Epoch, int BatchIndex, int BatchCount, float RunningLoss)> Batches { get; } = [];
        public List<EpochReport> Epochs { get; } = [];
        public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss) => Batches.Add((epoch, batchIndex, batchCount, runningLoss));
        public void OnEpoch(EpochReport report) => Epochs.Add(report);
    }

    [Fact]
    public void Fit_LinearModel_LearnsSeparableTwoClassProblem()
    {
        Dataset train = SeparableTwoClassData(400, seed: 1);
        Dataset validation = SeparableTwoClassData(200, seed: 2);
        var net = new LinearNetwork(2, 2, seed: 3);
        var trainer = new Trainer(net, new Sgd(0.1f, momentum: 0.9f), Loss.SoftmaxCrossEntropy);
        EvaluationResult before = trainer.Evaluate(train);

        TrainingHistory history = trainer.Fit(train, epochs: 30, batchSize: 16, seed: 4, validation: validation);

        Assert.Equal(30, history.Epochs.Count);
        Assert.Equal(Enumerable.Range(1, 30), history.Epochs.Select(e => e.Epoch));
        Assert.True(history.Final.TrainLoss < 0.5f * history.Epochs[0].TrainLoss,
            $"loss went from {history.Epochs[0].TrainLoss} to {history.Final.TrainLoss}");
        Assert.True(history.Final.TrainAccuracy >= 0.95f, $"train accuracy {history.Final.TrainAccuracy}");
        Assert.True(history.Final.ValidationAccuracy >= 0.95f, $"validation accuracy {history.Final.ValidationAccuracy}");
        EvaluationResult after = trainer.Evaluate(train);
        Assert.True(after.Loss < before.Loss);
        Assert.True(after.Accuracy >= 0.95f, $"accuracy {after.Accuracy}");
        Assert.Equal(after, trainer.Evaluate(train, batchSize: 7)); // batching does not change the result
    }

    [Fact]
    public void Fit_Regression_DrivesMeanSquaredErrorDown()
    {
        // t = (2 x0 − x1 + 0.5, −x0), exactly linear, so the error can go to ~0.
        var rng = new Rng(9);
        const int count = 200;
        var features = new float[count * 2];
        var targets = new float[count * 2];
        for (int n = 0; n < count; n++)
        {
            float x0 = rng.NextSingle(-1f, 1f), x1 = rng.NextSingle(-1f, 1f);
            features[2 * n] = x0;
            features[2 * n + 1] = x1;
            targets[2 * n] = 2 * x0 - x1 + 0.5f;
            targets[2 * n + 1] = -x0;
        }
        var data = new Dataset(features, 2, targets, 2);
        var net = new LinearNetwork(2, 2, seed: 10);
        var trainer = new Trainer(net, new AdamW(0.05f, weightDecay: 0f), Loss.MeanSquaredError);

        TrainingHistory history = trainer.Fit(data, epochs: 40, batchSize: 20);

        Assert.True(history.Final.TrainLoss < 1e-3f, $"final loss {history.Final.TrainLoss}");
        Assert.True(history.Final.TrainLoss < history.Epochs[0].TrainLoss);
        Assert.Null(history.Final.TrainAccuracy);
        Assert.Null(trainer.Evaluate(data).Accuracy);
    }

    [Fact]
    public void Fit_SameSeedTwice_GivesBitIdenticalParameters()
    {
        Dataset train = SeparableTwoClassData(100, seed: 5);
        float[] Run(int seed)
        {
            var net = new LinearNetwork(2, 2, seed: 6);
            new Trainer(net, new AdamW(0.01f), Loss.SoftmaxCrossEntropy).Fit(train, epochs: 3, batchSize: 8, seed: seed);
            return net.Parameters.Values.ToArray();
        }

        float[] first = Run(seed: 42), second = Run(seed: 42), otherSeed = Run(seed: 43);

        Assert.Equal(first.Select(BitConverter.SingleToInt32Bits), second.Select(BitConverter.SingleToInt32Bits));
        Assert.NotEqual(first, otherSeed); // the seed does drive the order
    }

    [Fact]
    public void Fit_TrainsOnTheLastPartialBatch()
    {
        var data = new Dataset(new float[10], 1, new int[10], 2);
        var net = new LinearNetwork(1, 2, seed: 0);
        var observer = new RecordingObserver();

        new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { Threads = 1 }.Fit(data, epochs: 2, batchSize: 4, observers: observer);

        Assert.Equal(new[] { 4, 4, 2, 4, 4, 2 }, net.TrainBatchSizes);
        Assert.Equal(new[] { (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2) }, observer.Batches.Select(b => (b.Epoch, b.BatchIndex)));
        Assert.All(observer.Batches, b => Assert.Equal(3, b.BatchCount));
        Assert.Equal(new[] { 1, 2 }, observer.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void Fit_EachEpochVisitsEverySampleOnce_InTheOrderOfRngSeedPlusEpoch()
    {
        const int count = 23, seed = 17;
        var features = new float[count];
        for (int i = 0; i < count; i++) features[i] = i; // the feature is the sample index
        var data = new Dataset(features, 1, new int[count], 2);
        var net = new LinearNetwork(1, 2, seed: 0);

        new Trainer(net, new Sgd(0f), Loss.SoftmaxCrossEntropy) { Threads = 1 }.Fit(data, epochs: 3, batchSize: 5, seed: seed);

        for (int e = 0; e < 3; e++)
        {
            int[] expected = Enumerable.Range(0, count).ToArray();
            new Rng(seed + e).Shuffle(expected);
            int[] seen = net.TrainFirstFeatures.Skip(e * count).Take(count).Select(f => (int)f).ToArray();
            Assert.Equal(expected, seen);
        }
        Assert.NotEqual(net.TrainFirstFeatures.Take(count), net.TrainFirstFeatures.Skip(count).Take(count));
    }

    [Fact]
    public void Fit_RunningLossAtLastBatch_EqualsEpochTrainLoss()
    {
        Dataset train = SeparableTwoClassData(50, seed: 8);
        var observer = new RecordingObserver();
        new Trainer(new LinearNetwork(2, 2, seed: 1), new Sgd(0.1f), Loss.SoftmaxCrossEntropy)
            .Fit(train, epochs: 2, batchSize: 16, observers: observer);

        Assert.Equal(observer.Epochs[0].TrainLoss, observer.Batches[3].RunningLoss);
        Assert.Equal(observer.Epochs[1].TrainLoss, observer.Batches[7].RunningLoss);
    }

    [Fact]
    public void Evaluate_MatchesOneLossOverTheWholeDataSet()
    {
        Dataset data = SeparableTwoClassData(37, seed: 12);
        var net = new LinearNetwork(2, 2, seed: 13);
        var outputs = new float[37 * 2];
        net.Forward(data.Features, outputs, 37);
        int[] all = Enumerable.Range(0, 37).ToArray();
        float expectedLoss = Loss.SoftmaxCrossEntropy.Compute(outputs, data, all, Span<float>.Empty);
        float expectedAccuracy = Metrics.CountCorrect(outputs, data, all) / 37f;

        EvaluationResult result = new Trainer(net, new Sgd(0.1f), Loss.SoftmaxCrossEntropy).Evaluate(data, batchSize: 10);

        Assert.Equal(expectedLoss, result.Loss, 1e-6f); // batch means re-weighted in double: same up to rounding
        Assert.Equal(expectedAccuracy, result.Accuracy);
    }

    [Fact]
    public void Fit_DataNotMatchingTheNetwork_Throws()
    {
        var trainer = new Trainer(new LinearNetwork(2, 3, seed: 0), new Sgd(0.1f), Loss.SoftmaxCrossEntropy);
        var wrongInputs = new Dataset(new float[6], 3, new int[2], 3);
        var wrongClasses = new Dataset(new float[4], 2, new int[2], 2);
        var right = new Dataset(new float[4], 2, new int[2], 3);

        Assert.Contains("3 features", Assert.Throws<ArgumentException>(() => trainer.Fit(wrongInputs, 1, 4)).Message);
        Assert.Contains("2 classes", Assert.Throws<ArgumentException>(() => trainer.Fit(wrongClasses, 1, 4)).Message);
        Assert.Equal("validation", Assert.Throws<ArgumentException>(() => trainer.Fit(right, 1, 4, validation: wrongClasses)).ParamName);
        Assert.Throws<ArgumentException>(() => trainer.Evaluate(new Dataset([], 2, Array.Empty<int>(), 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(right, 0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(right, 1, 0));
    }
}
