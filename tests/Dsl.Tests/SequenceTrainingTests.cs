using System;
using System.Linq;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// Issue #16, part 1: token-sequence data sets, the per-token softmax cross-entropy (against a double-precision
/// reference and finite differences), training a causal network with it through <see cref="Trainer.Fit"/> on one and
/// two threads, gradient-norm clipping and the learning-rate warm-up.
/// </summary>
public class SequenceTrainingTests
{
    private const int Vocabulary = 7, Length = 8;

    private static int[] Stream(int count, int seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextInt(Vocabulary)).ToArray();
    }

    [Fact]
    public void NextTokens_SlicesTheStream_WithTheFollowingTokenAsEachTarget()
    {
        int[] stream = Stream(50, seed: 1);
        Dataset data = Dataset.NextTokens(stream, window: Length, stride: 5, Vocabulary);
        Assert.True(data.IsTokenSequence && data.IsClassification);
        Assert.Equal((50 - Length - 1) / 5 + 1, data.Count); // 9: the last window starts at 40 and its target is token 48
        Assert.Equal(Length, data.InputSize);
        Assert.Equal(Length * Vocabulary, data.OutputSize);
        for (int i = 0; i < data.Count; i++)
        {
            Assert.Equal(stream.AsSpan(5 * i, Length).ToArray(), data.TokensOf(i).ToArray());
            Assert.Equal(stream.AsSpan(5 * i + 1, Length).ToArray(), data.LabelsOf(i).ToArray());
        }
        // Wrapped, not copied: a sample's tokens are the stream's memory.
        Assert.True(data.TokensOf(3).Overlaps(stream.AsSpan(15, Length)));
        var input = new float[Length];
        data.CopyInput(2, input);
        Assert.Equal(stream.AsSpan(10, Length).ToArray().Select(t => (float)t), input);
        Assert.Throws<InvalidOperationException>(() => data.Input(0));
        Assert.Throws<InvalidOperationException>(() => data.Label(0));
    }

    [Fact]
    public void TokenDataSets_RejectBadInput_NamingWhatIsWrong()
    {
        var tooShort = Assert.Throws<ArgumentException>(() => Dataset.NextTokens(new int[8], window: 8, stride: 1, Vocabulary));
        Assert.Contains("holds 8 tokens; a window of 8 and the target after it need 9", tooShort.Message);
        var badToken = Assert.Throws<ArgumentException>(() => Dataset.NextTokens([1, 2, 7, 3], window: 2, stride: 1, Vocabulary));
        Assert.Contains("Token 7 at 2 is outside [0, 7)", badToken.Message);
        var badTarget = Assert.Throws<ArgumentException>(() => Dataset.TokenSequences([1, 2, 3, 4], 2, [1, -1, 2, 3], Vocabulary));
        Assert.Contains("Target -1 at 1 is outside [0, 7) and is not IgnoreTarget (-100)", badTarget.Message);
        var ragged = Assert.Throws<ArgumentException>(() => Dataset.TokenSequences([1, 2, 3], 2, [1, 2, 3], Vocabulary));
        Assert.Contains("not a whole number of sequences of length 2", ragged.Message);

        // A network whose outputs are not positions × vocabulary is refused by name.
        var trainer = new Trainer(new TinyGpt(seed: 1), new Sgd(0.1f), Loss.SoftmaxCrossEntropy);
        Dataset wrongVocabulary = Dataset.NextTokens(Stream(40, seed: 2).Select(t => t % 5).ToArray(), Length, 4, vocabulary: 5);
        var mismatch = Assert.Throws<ArgumentException>(() => trainer.Evaluate(wrongVocabulary));
        Assert.Contains("8 positions × 5 token classes = 40 logits per sample but the network has 56 outputs", mismatch.Message);
    }

    /// <summary>Logits, labels with some <see cref="Dataset.IgnoreTarget"/>, and the double-precision loss and gradient of PyTorch's CrossEntropyLoss.</summary>
    private static (float[] Logits, int[] Labels, double Loss, double[] Gradient) Case(int rows, int seed)
    {
        var rng = new Rng(seed);
        float[] logits = Enumerable.Range(0, rows * Vocabulary).Select(_ => 3f * rng.NextGaussian()).ToArray();
        int[] labels = Enumerable.Range(0, rows).Select(r => r % 5 == 3 ? Dataset.IgnoreTarget : rng.NextInt(Vocabulary)).ToArray();
        int counted = labels.Count(l => l != Dataset.IgnoreTarget);
        double loss = 0;
        var gradient = new double[logits.Length];
        for (int r = 0; r < rows; r++)
        {
            if (labels[r] == Dataset.IgnoreTarget) continue;
            double[] z = logits.Skip(r * Vocabulary).Take(Vocabulary).Select(v => (double)v).ToArray();
            double lse = Math.Log(z.Sum(Math.Exp));
            loss += lse - z[labels[r]];
            for (int j = 0; j < Vocabulary; j++)
                gradient[r * Vocabulary + j] = (Math.Exp(z[j] - lse) - (j == labels[r] ? 1 : 0)) / counted;
        }
        return (logits, labels, loss / counted, gradient);
    }

    [Fact]
    public void PerTokenCrossEntropy_MatchesTheDoubleReference_IgnoringPadding_ThroughADatasetOrLabels()
    {
        const int batch = 3;
        (float[] logits, int[] labels, double expected, double[] expectedGradient) = Case(batch * Length, seed: 3);
        Dataset data = Dataset.TokenSequences(new int[labels.Length], Length, labels, Vocabulary);
        Assert.Equal(labels.Count(l => l != Dataset.IgnoreTarget), Loss.SoftmaxCrossEntropy.Count(data, [0, 1, 2]));

        var gradient = new float[logits.Length];
        float loss = Loss.SoftmaxCrossEntropy.Compute(logits, data, [0, 1, 2], gradient);
        var fromLabels = new float[logits.Length];
        float lossFromLabels = Loss.SoftmaxCrossEntropy.Compute(logits, labels, fromLabels);

        // Float sums of 7 exponentials per row: 1e-6 relative.
        Assert.Equal(expected, loss, 1e-6 * Math.Abs(expected));
        Assert.Equal(loss, lossFromLabels);
        for (int i = 0; i < logits.Length; i++)
        {
            Assert.Equal(expectedGradient[i], gradient[i], 1e-6);
            Assert.Equal(gradient[i], fromLabels[i]);
        }
        Assert.All(Enumerable.Range(0, Vocabulary), j => Assert.Equal(0f, gradient[3 * Vocabulary + j])); // row 3 is padding

        // Finite differences of the loss itself, in double through float logits: h = 1e-2, the loss is smooth.
        for (int i = 0; i < logits.Length; i += 5)
        {
            float x0 = logits[i];
            logits[i] = x0 + 1e-2f;
            double plus = Loss.SoftmaxCrossEntropy.Compute(logits, labels, default);
            logits[i] = x0 - 1e-2f;
            double minus = Loss.SoftmaxCrossEntropy.Compute(logits, labels, default);
            logits[i] = x0;
            Assert.Equal(gradient[i], (plus - minus) / 2e-2, 2e-4);
        }

        var allPadding = new int[Length];
        Array.Fill(allPadding, Dataset.IgnoreTarget);
        Assert.Equal(0f, Loss.SoftmaxCrossEntropy.Compute(logits.AsSpan(0, Length * Vocabulary), allPadding, default));
        var badLabel = Assert.Throws<ArgumentException>(() => Loss.SoftmaxCrossEntropy.Compute(logits.AsSpan(0, Vocabulary), [9], default));
        Assert.Contains("Label 9 of row 0 is outside [0, 7)", badLabel.Message);
        Assert.Throws<NotSupportedException>(() => Loss.MeanSquaredError.Compute(logits, labels, default));
    }

    [Fact]
    public void CausalNetwork_WithThePerTokenLoss_BackwardMatchesFiniteDifferences()
    {
        // GradientCheck differentiates the dot product of the outputs with a fixed vector; here that vector is the
        // per-token loss's gradient, so the check covers the network's backward for exactly what training feeds it.
        var net = new TinyGpt(seed: 4);
        float[] tokens = Stream(2 * Length, seed: 5).Select(t => (float)t).ToArray();
        var logits = new float[2 * TinyGpt.OutputSize];
        net.Forward(tokens, logits, 2);
        int[] labels = Stream(2 * Length, seed: 6);
        labels[5] = Dataset.IgnoreTarget;
        var dLogits = new float[logits.Length];
        Loss.SoftmaxCrossEntropy.Compute(logits, labels, dLogits);

        Workspace workspace = net.CreateWorkspace(2);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(tokens, logits, 2, workspace);
        net.Backward(dLogits, Span<float>.Empty, 2, workspace);
        float[] analytic = net.Parameters.Gradients.ToArray();

        double LossAt()
        {
            var y = new float[logits.Length];
            net.Forward(tokens, y, 2);
            return Loss.SoftmaxCrossEntropy.Compute(y, labels, default);
        }
        int checkedCount = 0;
        for (int index = 0; index < analytic.Length; index += 7)
        {
            float x0 = net.Parameters.Values[index];
            net.Parameters.Values[index] = x0 + 1e-2f;
            double plus = LossAt();
            net.Parameters.Values[index] = x0 - 1e-2f;
            double minus = LossAt();
            net.Parameters.Values[index] = x0;
            double numeric = (plus - minus) / 2e-2;
            // Central differences in float with h = 1e-2: truncation and rounding well under 1e-3 absolute.
            Assert.True(Math.Abs(numeric - analytic[index]) <= 1e-3 + 2e-2 * Math.Abs(analytic[index]),
                $"parameter {index}: finite difference {numeric:G6}, backward {analytic[index]:G6}");
            checkedCount++;
        }
        Assert.True(checkedCount > 100);
    }

    /// <summary>A stream where the next token is the current one plus one (mod 7), with a random token every 10: learnable, not trivially.</summary>
    private static int[] CountingStream(int count, int seed)
    {
        var rng = new Rng(seed);
        var stream = new int[count];
        for (int i = 1; i < count; i++) stream[i] = i % 10 == 0 ? rng.NextInt(Vocabulary) : (stream[i - 1] + 1) % Vocabulary;
        return stream;
    }

    [Fact]
    public void Fit_OnNextTokens_LearnsTheSequence_AndReportsPerTokenAccuracyAndPerplexity()
    {
        var net = new TinyGpt(seed: 7);
        Dataset train = Dataset.NextTokens(CountingStream(2000, seed: 8), Length, stride: 3, Vocabulary);
        Dataset validation = Dataset.NextTokens(CountingStream(400, seed: 9), Length, stride: Length, Vocabulary);
        var optimizer = new AdamW(3e-3f);
        var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy) { Threads = 2, MaxGradientNorm = 1f };
        EvaluationResult before = trainer.Evaluate(validation);
        TrainingHistory history = trainer.Fit(train, epochs: 4, batchSize: 32, seed: 10, validation: validation,
            new CosineDecay(optimizer, 3e-3f, epochs: 4, warmupBatches: 20));

        // Chance is ln 7 = 1.95 nats; nine tokens in ten follow from the one before.
        Assert.InRange(before.Loss, 1.5f, 3f);
        EpochReport last = history.Final;
        Assert.True(last.ValidationLoss < 0.6f, $"validation loss {last.ValidationLoss}");
        Assert.True(last.ValidationAccuracy > 0.8f, $"validation accuracy {last.ValidationAccuracy}");
        Assert.Equal(MathF.Exp(last.ValidationLoss!.Value), last.ValidationPerplexity);
        Assert.True(trainer.GradientNorm > 0);
        var text = new System.IO.StringWriter();
        new ConsoleProgress(text, interactive: false) { ShowPerplexity = true }.OnEpoch(last);
        Assert.Contains($"val_ppl {last.ValidationPerplexity:F2}", text.ToString());
    }

    [Fact]
    public void ASplitBatch_WithPaddingUnevenAcrossThreads_TrainsAsOneThreadDoes()
    {
        // Thread 0 gets the first half of the batch, all of its padding: each thread's mean must be weighted by the
        // targets it counts, not by its rows, or the two runs part.
        int[] tokens = Stream(8 * Length, seed: 11);
        int[] targets = Stream(8 * Length, seed: 12);
        for (int i = 0; i < 3 * Length; i++) if (i % 3 != 0) targets[i] = Dataset.IgnoreTarget;
        Dataset data = Dataset.TokenSequences(tokens, Length, targets, Vocabulary);

        float[] Train(int threads, float? clip)
        {
            var net = new TinyGpt(seed: 13);
            var trainer = new Trainer(net, new Sgd(0.5f, momentum: 0.9f), Loss.SoftmaxCrossEntropy) { Threads = threads, MaxGradientNorm = clip };
            TrainingHistory h = trainer.Fit(data, epochs: 2, batchSize: 8, seed: 14);
            Assert.All(h.Epochs, e => Assert.InRange(e.TrainAccuracy!.Value, 0f, 1f));
            return net.Parameters.Values.ToArray();
        }
        foreach (float? clip in new float?[] { null, 0.05f })
        {
            float[] one = Train(1, clip), two = Train(2, clip);
            // Float rounding of gradients summed in another order, through two steps of SGD with momentum.
            for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], two[i], 2e-5f);
        }
    }

    [Fact]
    public void MaxGradientNorm_ScalesTheStepToTheNorm()
    {
        int[] stream = Stream(200, seed: 15);
        Dataset data = Dataset.NextTokens(stream, Length, Length, Vocabulary);
        var reference = new TinyGpt(seed: 16);
        var clipped = new TinyGpt(seed: 16);
        // One plain SGD step of the whole data set: the unclipped gradient is (initial - after) / lr.
        new Trainer(reference, new Sgd(1f), Loss.SoftmaxCrossEntropy) { Threads = 1 }.Fit(data, 1, data.Count);
        var trainer = new Trainer(clipped, new Sgd(1f), Loss.SoftmaxCrossEntropy) { Threads = 1, MaxGradientNorm = 0.1f };
        trainer.Fit(data, 1, data.Count);
        float[] initial = new TinyGpt(seed: 16).Parameters.Values.ToArray();
        double norm = Math.Sqrt(initial.Select((v, i) => Math.Pow(v - reference.Parameters.Values[i], 2)).Sum());
        Assert.Equal(norm, trainer.GradientNorm, 1e-4 * norm);
        Assert.True(norm > 0.1);
        for (int i = 0; i < initial.Length; i++)
            Assert.Equal((initial[i] - reference.Parameters.Values[i]) * 0.1 / norm, initial[i] - clipped.Parameters.Values[i], 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.MaxGradientNorm = 0f);
    }

    [Fact]
    public void CosineDecay_WarmsUpLinearlyOverBatches_ThenFollowsTheEpochCosine()
    {
        var sgd = new Sgd(1f);
        var schedule = new CosineDecay(sgd, 0.4f, epochs: 2, warmupBatches: 4);
        var rates = new float[8];
        for (int k = 0; k < 8; k++)
        {
            int epoch = k / 4 + 1, batch = k % 4;
            rates[k] = sgd.LearningRate;
            schedule.OnBatch(epoch, batch, 4, 0f);
            if (batch == 3) schedule.OnEpoch(new EpochReport(epoch, 0f, null, null, null, TimeSpan.Zero));
        }
        // Batches 0-3 warm up (0.1, 0.2, 0.3, 0.4); epoch 2 (index 1 of 2) trains with 0.4 (1 + cos(pi/2)) / 2 = 0.2.
        float[] expected = [0.1f, 0.2f, 0.3f, 0.4f, 0.2f, 0.2f, 0.2f, 0.2f];
        for (int k = 0; k < 8; k++) Assert.Equal(expected[k], rates[k], 1e-6f);
    }
}
