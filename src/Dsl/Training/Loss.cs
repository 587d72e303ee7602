using System;

namespace Dsl;

/// <summary>
/// A loss over a minibatch of network outputs. <see cref="Compute"/> returns the mean over the batch and
/// writes the gradient of that mean, so the gradient is already divided by the batch size (as PyTorch's
/// default <c>reduction='mean'</c>), and the last, smaller batch of an epoch is weighted correctly.
/// </summary>
public abstract class Loss
{
    /// <summary>Softmax followed by cross-entropy, fused: see <see cref="SoftmaxCrossEntropy"/>.</summary>
    public static Loss SoftmaxCrossEntropy { get; } = new SoftmaxCrossEntropyLoss(0f);

    /// <summary>
    /// Softmax cross-entropy against targets that put <c>1 − ε</c> on the label and spread <c>ε</c> evenly over all
    /// classes, as PyTorch's <c>CrossEntropyLoss(label_smoothing=ε)</c>: <c>L = (1 − ε)·CE(label) + ε·mean_j(−log p_j)</c>.
    /// It keeps the logits from growing without bound on labels the network already gets right.
    /// </summary>
    /// <param name="labelSmoothing">ε in [0, 1); 0 is <see cref="SoftmaxCrossEntropy"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1) or not a number.</exception>
    public static Loss SoftmaxCrossEntropyWithLabelSmoothing(float labelSmoothing) =>
        labelSmoothing is >= 0f and < 1f
            ? new SoftmaxCrossEntropyLoss(labelSmoothing)
            : throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1).");

    /// <summary>Mean squared error: see <see cref="MeanSquaredError"/>.</summary>
    public static Loss MeanSquaredError { get; } = new MeanSquaredErrorLoss();

    /// <summary>For subclasses.</summary>
    protected Loss() { }

    /// <summary>Short name for reports, e.g. <c>softmax_cross_entropy</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The mean loss of a batch. Row <c>b</c> of <paramref name="outputs"/> (outputs.Length / batch floats) is
    /// the network's output for sample <c>sampleIndices[b]</c> of <paramref name="data"/>.
    /// </summary>
    /// <param name="outputs">Network outputs, sample after sample.</param>
    /// <param name="data">Where the labels or targets come from.</param>
    /// <param name="sampleIndices">Which samples of <paramref name="data"/> the rows are; the batch size is its length.</param>
    /// <param name="outputGradient">Receives dL/doutputs for the mean loss, same length as <paramref name="outputs"/> (it may be the same buffer, overwriting the outputs); or empty to skip the gradient (evaluation).</param>
    /// <returns>The loss averaged over the batch.</returns>
    /// <exception cref="ArgumentException">The lengths disagree, the data set has the wrong kind of targets for this loss, or a label is out of range.</exception>
    public float Compute(ReadOnlySpan<float> outputs, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient)
    {
        ArgumentNullException.ThrowIfNull(data);
        int batch = sampleIndices.Length;
        if (batch == 0) throw new ArgumentException("The batch is empty.", nameof(sampleIndices));
        if (outputs.Length % batch != 0)
            throw new ArgumentException($"outputs holds {outputs.Length} floats, which is not a whole number of rows for a batch of {batch}.", nameof(outputs));
        int width = outputs.Length / batch;
        if (width != data.OutputSize)
            throw new ArgumentException($"outputs has {width} values per sample but the data set needs {data.OutputSize}.", nameof(outputs));
        if (!outputGradient.IsEmpty && outputGradient.Length != outputs.Length)
            throw new ArgumentException($"outputGradient must be empty or hold {outputs.Length} floats, but holds {outputGradient.Length}.", nameof(outputGradient));
        return ComputeCore(outputs, width, data, sampleIndices, outputGradient);
    }

    /// <summary>
    /// <see cref="Compute"/> after its checks: <paramref name="outputs"/> has <paramref name="width"/> values
    /// per sample, equal to <see cref="Dataset.OutputSize"/>, and <paramref name="outputGradient"/> is empty or as long.
    /// </summary>
    protected abstract float ComputeCore(ReadOnlySpan<float> outputs, int width, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient);

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>
    /// <c>L = mean_b [ lse(z_b) − (1 − ε)·z_b,label − ε·mean_j z_bj ]</c> with <c>lse = log Σ_j exp(z_j)</c>, computed as
    /// <c>max + log Σ exp(z − max)</c> so large logits neither overflow nor cancel;
    /// <c>dL/dz = (softmax(z) − (1 − ε)·onehot(label) − ε/K) / batch</c> for K classes. ε = 0 is plain cross-entropy.
    /// Outputs are logits (no softmax layer before it). Needs a classification <see cref="Dataset"/>.
    /// </summary>
    private sealed class SoftmaxCrossEntropyLoss(float smoothing) : Loss
    {
        public override string Name => smoothing == 0f ? "softmax_cross_entropy" : $"softmax_cross_entropy(label_smoothing={smoothing:G3})";

        protected override float ComputeCore(ReadOnlySpan<float> outputs, int width, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient)
        {
            if (!data.IsClassification)
                throw new ArgumentException("Softmax cross-entropy needs a data set with class labels, this one has regression targets.", nameof(data));
            int batch = sampleIndices.Length;
            float invBatch = 1f / batch;
            float labelWeight = 1f - smoothing, spread = smoothing / width;
            bool withGradient = !outputGradient.IsEmpty;
            double total = 0;
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> z = outputs.Slice(b * width, width);
                int label = data.Label(sampleIndices[b]);
                // The data set checked its labels, but its array is shared with the caller and may have changed since.
                if ((uint)label >= (uint)width)
                    throw new ArgumentException($"Label {label} of sample {sampleIndices[b]} is outside [0, {width}).", nameof(data));

                // Read before the gradient is written, so outputGradient may be the outputs buffer itself.
                float zLabel = z[label];
                float max = z[0], mean = 0f;
                for (int j = 0; j < width; j++)
                {
                    max = MathF.Max(max, z[j]);
                    mean += z[j];
                }
                mean /= width;
                float sum = 0f;
                if (withGradient)
                {
                    // The exponentials are the unnormalised softmax: keep them in the gradient row, scale after.
                    Span<float> g = outputGradient.Slice(b * width, width);
                    for (int j = 0; j < width; j++) sum += g[j] = MathF.Exp(z[j] - max);
                    float scale = invBatch / sum, shift = spread * invBatch;
                    for (int j = 0; j < width; j++) g[j] = g[j] * scale - shift;
                    g[label] -= labelWeight * invBatch;
                }
                else
                {
                    for (int j = 0; j < width; j++) sum += MathF.Exp(z[j] - max);
                }
                // Both terms subtract from the same log-sum-exp: (max − z_label) and (max − mean) stay small.
                total += labelWeight * (max - zLabel) + smoothing * (max - mean) + MathF.Log(sum);
            }
            return (float)(total / batch);
        }
    }

    /// <summary>
    /// PyTorch's <c>MSELoss(reduction='mean')</c>: the mean over all batch × <see cref="Dataset.TargetSize"/>
    /// elements, <c>L = Σ_b Σ_j (y_bj − t_bj)² / (batch · TargetSize)</c>, so
    /// <c>dL/dy = 2 (y − t) / (batch · TargetSize)</c>. Needs a regression <see cref="Dataset"/>.
    /// </summary>
    private sealed class MeanSquaredErrorLoss : Loss
    {
        public override string Name => "mean_squared_error";

        protected override float ComputeCore(ReadOnlySpan<float> outputs, int width, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient)
        {
            if (data.IsClassification)
                throw new ArgumentException("Mean squared error needs a data set with regression targets, this one has class labels.", nameof(data));
            int batch = sampleIndices.Length;
            float gradScale = 2f / ((float)batch * width);
            bool withGradient = !outputGradient.IsEmpty;
            double total = 0;
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> y = outputs.Slice(b * width, width);
                ReadOnlySpan<float> t = data.Target(sampleIndices[b]);
                float rowSum = 0f;
                for (int j = 0; j < width; j++)
                {
                    float d = y[j] - t[j];
                    rowSum += d * d;
                }
                total += rowSum;

                if (withGradient)
                {
                    Span<float> g = outputGradient.Slice(b * width, width);
                    for (int j = 0; j < width; j++) g[j] = (y[j] - t[j]) * gradScale;
                }
            }
            return (float)(total / ((double)batch * width));
        }
    }
}

/// <summary>Classification metrics on network outputs.</summary>
public static class Metrics
{
    /// <summary>Index of the largest value; the first one on ties, as <c>torch.argmax</c>. A NaN loses to any number.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("No values.", nameof(values));
        int best = 0;
        float bestValue = values[0];
        for (int j = 1; j < values.Length; j++)
        {
            // A NaN first value would win every comparison's "else"; let any number replace it.
            if (values[j] > bestValue || float.IsNaN(bestValue))
            {
                best = j;
                bestValue = values[j];
            }
        }
        return best;
    }

    /// <summary>
    /// How many rows of <paramref name="outputs"/> have their <see cref="ArgMax"/> equal to the label of the
    /// matching sample in <paramref name="sampleIndices"/>. Divide by the batch size for accuracy.
    /// </summary>
    public static int CountCorrect(ReadOnlySpan<float> outputs, Dataset data, ReadOnlySpan<int> sampleIndices)
    {
        ArgumentNullException.ThrowIfNull(data);
        int batch = sampleIndices.Length;
        if (batch == 0) return 0;
        if (outputs.Length != (long)batch * data.ClassCount || !data.IsClassification)
            throw new ArgumentException($"outputs must hold {batch} × {data.ClassCount} class scores for a classification data set, but holds {outputs.Length} floats.", nameof(outputs));
        int width = data.ClassCount;
        int correct = 0;
        for (int b = 0; b < batch; b++)
        {
            if (ArgMax(outputs.Slice(b * width, width)) == data.Label(sampleIndices[b])) correct++;
        }
        return correct;
    }
}
