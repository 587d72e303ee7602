using System;

namespace Dsl.Tests.Training;

public class LossTests
{
    // 6 samples, 5 classes; the batch takes 4 of them out of order so the sample-index mapping is exercised.
    private const int Classes = 5;
    private static readonly int[] Labels = [3, 0, 4, 1, 2, 0];
    private static readonly int[] BatchIndices = [5, 0, 3, 2];

    private static Dataset ClassificationData() => new(new float[Labels.Length], inputSize: 1, labels: (int[])Labels.Clone(), classCount: Classes);

    private static float[] RandomValues(int count, int seed, float scale)
    {
        var rng = new Rng(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = scale * rng.NextGaussian();
        return values;
    }

    private static double ReferenceCrossEntropy(double[] logits, int[] labels, int width)
    {
        int batch = labels.Length;
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double sumExp = 0;
            for (int j = 0; j < width; j++) sumExp += Math.Exp(logits[b * width + j]);
            total += Math.Log(sumExp) - logits[b * width + labels[b]];
        }
        return total / batch;
    }

    private static int[] BatchLabels() => Array.ConvertAll(BatchIndices, i => Labels[i]);

    [Fact]
    public void SoftmaxCrossEntropy_MatchesDoublePrecisionReference()
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 11, scale: 3f);
        var gradient = new float[logits.Length];

        float loss = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, gradient);

        double expected = ReferenceCrossEntropy(Array.ConvertAll(logits, v => (double)v), BatchLabels(), Classes);
        // Losses are O(1); float exp/log/sum over 5 terms are good to a few 1e-7, so 1e-5 is loose but exact enough.
        Assert.Equal(expected, loss, 1e-5);
    }

    [Fact]
    public void SoftmaxCrossEntropy_GradientMatchesCentralFiniteDifferences()
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 12, scale: 3f);
        var gradient = new float[logits.Length];
        Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, gradient);

        // Differences of the double-precision reference with h = 1e-4: truncation error ~h² = 1e-8 and rounding
        // ~1e-16/h = 1e-12, so the numerical derivative is exact to ~1e-8; the float gradient (entries <= 1/batch)
        // is good to ~1e-7, hence the 1e-6 tolerance.
        const double h = 1e-4;
        double[] z = Array.ConvertAll(logits, v => (double)v);
        int[] labels = BatchLabels();
        for (int k = 0; k < z.Length; k++)
        {
            double saved = z[k];
            z[k] = saved + h;
            double plus = ReferenceCrossEntropy(z, labels, Classes);
            z[k] = saved - h;
            double minus = ReferenceCrossEntropy(z, labels, Classes);
            z[k] = saved;
            Assert.Equal((plus - minus) / (2 * h), gradient[k], 1e-6);
        }
    }

    [Fact]
    public void SoftmaxCrossEntropy_LargeLogits_GiveFiniteExactLossAndGradient()
    {
        // Naive exp(1e4) overflows to infinity; the max-shifted form must give the exact answers below.
        float[] logits =
        [
            1e4f, 0f, -1e4f, 0f, 0f,      // sample 5, label 0: the label holds the max -> loss 0
            1e4f, 0f, -1e4f, 0f, 0f,      // sample 0, label 3: loss = 1e4 - 0
            -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, // sample 3, label 1: uniform -> loss log 5
            1e4f, 1e4f, 1e4f, 1e4f, 1e4f, // sample 2, label 4: uniform -> loss log 5
        ];
        var gradient = new float[logits.Length];

        float loss = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, gradient);

        Assert.True(float.IsFinite(loss));
        Assert.Equal((0 + 1e4 + 2 * Math.Log(5)) / 4, loss, 1e-3);
        Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
        // Sample 0 (label 3): softmax is one-hot on class 0.
        Assert.Equal(new[] { 0.25f, 0f, 0f, -0.25f, 0f }, gradient.AsSpan(5, 5).ToArray());
        // Sample 2 (label 4): uniform softmax 0.2 each, minus one at the label, over the batch of 4.
        for (int j = 0; j < 5; j++) Assert.Equal((0.2 - (j == 4 ? 1 : 0)) / 4, gradient[15 + j], 1e-7);
    }

    [Fact]
    public void SoftmaxCrossEntropy_WithoutGradientBuffer_ReturnsSameLoss()
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 13, scale: 2f);
        float withGradient = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, new float[logits.Length]);
        float without = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, Span<float>.Empty);
        Assert.Equal(withGradient, without);
    }

    [Fact]
    public void SoftmaxCrossEntropy_GradientWrittenOverOutputs_IsTheSame()
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 14, scale: 2f);
        var separate = new float[logits.Length];
        float expectedLoss = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, separate);

        float inPlaceLoss = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, logits);

        Assert.Equal(expectedLoss, inPlaceLoss);
        Assert.Equal(separate, logits);
    }

    [Fact]
    public void SoftmaxCrossEntropy_OutputWidthDiffersFromClassCount_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Loss.SoftmaxCrossEntropy.Compute(new float[BatchIndices.Length * 4], ClassificationData(), BatchIndices, Span<float>.Empty));
        Assert.Equal("outputs", e.ParamName);
    }

    [Fact]
    public void SoftmaxCrossEntropy_LabelChangedOutOfRangeAfterConstruction_Throws()
    {
        int[] labels = [0, 1];
        var data = new Dataset(new float[2], inputSize: 1, labels: labels, classCount: 2);
        labels[1] = 7; // the data set wraps the caller's array
        Assert.Throws<ArgumentException>(() => Loss.SoftmaxCrossEntropy.Compute(new float[4], data, [0, 1], new float[4]));
    }

    [Fact]
    public void SoftmaxCrossEntropy_OnRegressionData_Throws()
    {
        var data = new Dataset(new float[2], inputSize: 1, targets: new float[4], targetSize: 2);
        Assert.Throws<ArgumentException>(() => Loss.SoftmaxCrossEntropy.Compute(new float[4], data, [0, 1], Span<float>.Empty));
    }

    [Fact]
    public void Compute_GradientBufferOfWrongLength_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Loss.SoftmaxCrossEntropy.Compute(new float[BatchIndices.Length * Classes], ClassificationData(), BatchIndices, new float[3]));
        Assert.Equal("outputGradient", e.ParamName);
    }

    private const int TargetSize = 3;

    private static Dataset RegressionData(out float[] targets)
    {
        targets = RandomValues(6 * TargetSize, seed: 21, scale: 1f);
        return new Dataset(new float[6], inputSize: 1, targets: targets, targetSize: TargetSize);
    }

    private static double ReferenceMse(double[] outputs, float[] targets, int[] indices)
    {
        double total = 0;
        for (int b = 0; b < indices.Length; b++)
        {
            for (int j = 0; j < TargetSize; j++)
            {
                double d = outputs[b * TargetSize + j] - targets[indices[b] * TargetSize + j];
                total += d * d;
            }
        }
        return total / (indices.Length * TargetSize); // PyTorch MSELoss(reduction='mean'): over every element
    }

    /// <summary>PyTorch's label-smoothed cross-entropy in double: (1 − ε)·CE(label) + ε·mean_j(−log p_j).</summary>
    private static double ReferenceSmoothedCrossEntropy(double[] logits, int[] labels, int width, double smoothing)
    {
        int batch = labels.Length;
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double sumExp = 0;
            for (int j = 0; j < width; j++) sumExp += Math.Exp(logits[b * width + j]);
            double logSum = Math.Log(sumExp), uniform = 0;
            for (int j = 0; j < width; j++) uniform += (logSum - logits[b * width + j]) / width;
            total += (1 - smoothing) * (logSum - logits[b * width + labels[b]]) + smoothing * uniform;
        }
        return total / batch;
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    public void LabelSmoothing_LossAndGradientMatchDoubleReferenceAndFiniteDifferences(float smoothing)
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 13, scale: 3f);
        var gradient = new float[logits.Length];
        Loss loss = Loss.SoftmaxCrossEntropyWithLabelSmoothing(smoothing);

        float value = loss.Compute(logits, ClassificationData(), BatchIndices, gradient);

        double[] z = Array.ConvertAll(logits, v => (double)v);
        int[] labels = BatchLabels();
        // Tolerances as for plain cross-entropy above: 1e-5 on an O(1) loss, 1e-6 on gradients of at most 1/batch.
        Assert.Equal(ReferenceSmoothedCrossEntropy(z, labels, Classes, smoothing), value, 1e-5);
        const double h = 1e-4;
        for (int k = 0; k < z.Length; k++)
        {
            double saved = z[k];
            z[k] = saved + h;
            double plus = ReferenceSmoothedCrossEntropy(z, labels, Classes, smoothing);
            z[k] = saved - h;
            double minus = ReferenceSmoothedCrossEntropy(z, labels, Classes, smoothing);
            z[k] = saved;
            Assert.Equal((plus - minus) / (2 * h), gradient[k], 1e-6);
        }
    }

    [Fact]
    public void LabelSmoothing_Zero_IsPlainCrossEntropyAndLargeLogitsStayFinite()
    {
        float[] logits = RandomValues(BatchIndices.Length * Classes, seed: 14, scale: 3f);
        logits[0] = 1e4f;
        logits[7] = -1e4f;
        var plain = new float[logits.Length];
        var smoothedByZero = new float[logits.Length];
        float expected = Loss.SoftmaxCrossEntropy.Compute(logits, ClassificationData(), BatchIndices, plain);
        Assert.Equal(expected, Loss.SoftmaxCrossEntropyWithLabelSmoothing(0f).Compute(logits, ClassificationData(), BatchIndices, smoothedByZero));
        Assert.Equal(plain, smoothedByZero);

        var gradient = new float[logits.Length];
        float smoothed = Loss.SoftmaxCrossEntropyWithLabelSmoothing(0.1f).Compute(logits, ClassificationData(), BatchIndices, gradient);
        Assert.True(float.IsFinite(smoothed));
        Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
        // The smoothing term ε·mean_j(lse − z_j) of the two extreme rows is ~200 each; the reference shifts each row's max
        // out so double does not overflow. 1e-2 on a loss of ~100 is float rounding.
        double[] z = Array.ConvertAll(logits, v => (double)v);
        Assert.Equal(ReferenceSmoothedCrossEntropyStable(z, BatchLabels(), Classes, 0.1), smoothed, 1e-2);
    }

    /// <summary>The reference with the max shifted out, for logits whose exponentials overflow double.</summary>
    private static double ReferenceSmoothedCrossEntropyStable(double[] logits, int[] labels, int width, double smoothing)
    {
        var shifted = (double[])logits.Clone();
        for (int b = 0; b < labels.Length; b++)
        {
            double max = double.MinValue;
            for (int j = 0; j < width; j++) max = Math.Max(max, logits[b * width + j]);
            for (int j = 0; j < width; j++) shifted[b * width + j] -= max;
        }
        // Cross-entropy is invariant to a per-row shift of the logits, smoothed or not.
        return ReferenceSmoothedCrossEntropy(shifted, labels, width, smoothing);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    [InlineData(float.NaN)]
    public void LabelSmoothing_OutsideZeroToOne_Throws(float smoothing) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Loss.SoftmaxCrossEntropyWithLabelSmoothing(smoothing));

    [Fact]
    public void MeanSquaredError_DividesByAllElementsLikePyTorch()
    {
        var data = new Dataset(new float[2], inputSize: 1, targets: new float[4], targetSize: 2);
        // torch.nn.MSELoss()(tensor([[1., 2.], [3., 4.]]), zeros(2, 2)) == (1 + 4 + 9 + 16) / 4 == 7.5
        Assert.Equal(7.5f, Loss.MeanSquaredError.Compute([1, 2, 3, 4], data, [0, 1], Span<float>.Empty));
    }

    [Fact]
    public void MeanSquaredError_MatchesDoublePrecisionReference()
    {
        Dataset data = RegressionData(out float[] targets);
        float[] outputs = RandomValues(BatchIndices.Length * TargetSize, seed: 22, scale: 2f);

        float loss = Loss.MeanSquaredError.Compute(outputs, data, BatchIndices, new float[outputs.Length]);

        // Twelve float squares summed: relative error a few 1e-7 of a loss of order 5.
        Assert.Equal(ReferenceMse(Array.ConvertAll(outputs, v => (double)v), targets, BatchIndices), loss, 1e-5);
    }

    [Fact]
    public void MeanSquaredError_GradientMatchesCentralFiniteDifferences()
    {
        Dataset data = RegressionData(out float[] targets);
        float[] outputs = RandomValues(BatchIndices.Length * TargetSize, seed: 23, scale: 2f);
        var gradient = new float[outputs.Length];
        Loss.MeanSquaredError.Compute(outputs, data, BatchIndices, gradient);

        // Same bounds as for cross-entropy: the double-precision difference quotient (h = 1e-4) is exact to ~1e-8
        // (a quadratic has no truncation error at all), the float gradient to ~1e-7 of its O(1) entries.
        const double h = 1e-4;
        double[] y = Array.ConvertAll(outputs, v => (double)v);
        for (int k = 0; k < y.Length; k++)
        {
            double saved = y[k];
            y[k] = saved + h;
            double plus = ReferenceMse(y, targets, BatchIndices);
            y[k] = saved - h;
            double minus = ReferenceMse(y, targets, BatchIndices);
            y[k] = saved;
            Assert.Equal((plus - minus) / (2 * h), gradient[k], 1e-6);
        }
    }

    [Fact]
    public void MeanSquaredError_LargeValues_GiveFiniteLossAndGradient()
    {
        var data = new Dataset(new float[2], inputSize: 1, targets: [-1e4f, 1e4f, 0f, 0f], targetSize: 2);
        var gradient = new float[4];

        float loss = Loss.MeanSquaredError.Compute([1e4f, -1e4f, 1e4f, 1e4f], data, [0, 1], gradient);

        Assert.Equal((4e8 + 4e8 + 1e8 + 1e8) / 4, loss, 1.0);
        Assert.Equal(new[] { 1e4f, -1e4f, 5e3f, 5e3f }, gradient);
    }

    [Fact]
    public void MeanSquaredError_OnClassificationData_Throws()
    {
        var data = new Dataset(new float[2], inputSize: 1, labels: [0, 1], classCount: 2);
        Assert.Throws<ArgumentException>(() => Loss.MeanSquaredError.Compute(new float[4], data, [0, 1], Span<float>.Empty));
    }

    [Fact]
    public void ArgMax_ReturnsFirstOfTiesAndIgnoresNaN()
    {
        Assert.Equal(1, Metrics.ArgMax([0f, 3f, 3f, -1f]));
        Assert.Equal(2, Metrics.ArgMax([float.NaN, 1f, 2f]));
        Assert.Equal(0, Metrics.ArgMax([5f, float.NaN, 2f]));
    }

    [Fact]
    public void CountCorrect_CountsRowsWhoseArgMaxIsTheLabel()
    {
        var data = new Dataset(new float[3], inputSize: 1, labels: [0, 1, 1], classCount: 2);
        // Rows are samples 2, 0, 1: predictions 1 (label 1, right), 1 (label 0, wrong), 0 (label 1, wrong).
        Assert.Equal(1, Metrics.CountCorrect([0f, 1f, 0f, 1f, 2f, 1f], data, [2, 0, 1]));
    }
}
