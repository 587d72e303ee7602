using System;

namespace Dsl;

/// <summary>
/// A loss over a minibatch of network outputs. <see cref="Compute(ReadOnlySpan{float}, Dataset, ReadOnlySpan{int}, Span{float})"/> returns the mean over the batch and
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
    /// <see cref="Compute(ReadOnlySpan{float}, Dataset, ReadOnlySpan{int}, Span{float})"/> after its checks: <paramref name="outputs"/> has <paramref name="width"/> values
    /// per sample, equal to <see cref="Dataset.OutputSize"/>, and <paramref name="outputGradient"/> is empty or as long.
    /// </summary>
    protected abstract float ComputeCore(ReadOnlySpan<float> outputs, int width, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient);

    /// <summary>
    /// The number of terms <see cref="Compute(ReadOnlySpan{float}, Dataset, ReadOnlySpan{int}, Span{float})"/>'s mean over these samples divides by: the samples by default; for
    /// softmax cross-entropy on token sequences the target tokens that are not <see cref="Dataset.IgnoreTarget"/>.
    /// <see cref="Trainer"/> weights each thread's share of a batch by it, so a split batch has the whole batch's mean.
    /// </summary>
    public virtual long Count(Dataset data, ReadOnlySpan<int> sampleIndices)
    {
        ArgumentNullException.ThrowIfNull(data);
        return sampleIndices.Length;
    }

    /// <summary>
    /// The mean loss of rows of outputs against a class label per row, without a <see cref="Dataset"/>: for a
    /// manual training loop, where <paramref name="outputs"/> is a batch's logits (<c>batch × classes</c>, or
    /// <c>batch × positions × classes</c> with a label per position) and <paramref name="labels"/> has one label per
    /// row. Labels of <see cref="Dataset.IgnoreTarget"/> are left out of the mean and get a zero gradient.
    /// </summary>
    /// <param name="outputs">Rows of <c>outputs.Length / labels.Length</c> values.</param>
    /// <param name="labels">A class per row, in <c>[0, classes)</c>, or <see cref="Dataset.IgnoreTarget"/>.</param>
    /// <param name="outputGradient">Receives dL/doutputs of the mean (may be <paramref name="outputs"/> itself), or empty.</param>
    /// <returns>The mean over the rows not ignored (0 when every row is).</returns>
    /// <exception cref="ArgumentException">The lengths disagree or a label is out of range.</exception>
    /// <exception cref="NotSupportedException">This loss takes float targets (mean squared error).</exception>
    public float Compute(ReadOnlySpan<float> outputs, ReadOnlySpan<int> labels, Span<float> outputGradient)
    {
        if (labels.IsEmpty) throw new ArgumentException("No labels.", nameof(labels));
        if (outputs.Length % labels.Length != 0 || outputs.Length == 0)
            throw new ArgumentException($"outputs holds {outputs.Length} floats, which is not a whole row for each of {labels.Length} labels.", nameof(outputs));
        if (!outputGradient.IsEmpty && outputGradient.Length != outputs.Length)
            throw new ArgumentException($"outputGradient must be empty or hold {outputs.Length} floats, but holds {outputGradient.Length}.", nameof(outputGradient));
        return ComputeLabels(outputs, outputs.Length / labels.Length, labels, outputGradient);
    }

    /// <summary><see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/> after its checks: rows of <paramref name="classes"/> values, one label each.</summary>
    /// <exception cref="NotSupportedException">Unless a subclass supports labels.</exception>
    protected virtual float ComputeLabels(ReadOnlySpan<float> outputs, int classes, ReadOnlySpan<int> labels, Span<float> outputGradient) =>
        throw new NotSupportedException($"{Name} takes float targets, not class labels: compute it on a regression Dataset.");

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>
    /// <c>L = mean_r [ lse(z_r) − (1 − ε)·z_r,label − ε·mean_j z_rj ]</c> over the rows r that have a label (one per
    /// sample, or one per position of a token sequence, without those of <see cref="Dataset.IgnoreTarget"/>), with
    /// <c>lse = log Σ_j exp(z_j)</c> computed as <c>max + log Σ exp(z − max)</c> so large logits neither overflow nor
    /// cancel; <c>dL/dz = (softmax(z) − (1 − ε)·onehot(label) − ε/K) / rows</c> for K classes, 0 on ignored rows.
    /// ε = 0 is plain cross-entropy: PyTorch's <c>CrossEntropyLoss(ignore_index=-100, label_smoothing=ε)</c>. Outputs
    /// are logits (no softmax layer before it). Needs a classification or token-sequence <see cref="Dataset"/>.
    /// </summary>
    private sealed class SoftmaxCrossEntropyLoss(float smoothing) : Loss
    {
        public override string Name => smoothing == 0f ? "softmax_cross_entropy" : $"softmax_cross_entropy(label_smoothing={smoothing:G3})";

        public override long Count(Dataset data, ReadOnlySpan<int> sampleIndices)
        {
            ArgumentNullException.ThrowIfNull(data);
            return data.IsTokenSequence ? Metrics.CountLabelled(data, sampleIndices) : sampleIndices.Length;
        }

        protected override float ComputeCore(ReadOnlySpan<float> outputs, int width, Dataset data, ReadOnlySpan<int> sampleIndices, Span<float> outputGradient)
        {
            if (!data.IsClassification)
                throw new ArgumentException("Softmax cross-entropy needs a data set with class labels, this one has regression targets.", nameof(data));
            int classes = data.ClassCount, positions = data.Positions;
            long count = Count(data, sampleIndices);
            double total = 0;
            for (int b = 0; b < sampleIndices.Length; b++)
            {
                int at = b * width;
                total += Rows(outputs.Slice(at, width), classes, data.LabelsOf(sampleIndices[b]), outputGradient.IsEmpty ? default : outputGradient.Slice(at, width), count, sampleIndices[b]);
            }
            return count == 0 ? 0f : (float)(total / count);
        }

        protected override float ComputeLabels(ReadOnlySpan<float> outputs, int classes, ReadOnlySpan<int> labels, Span<float> outputGradient)
        {
            long count = Metrics.Counted(labels);
            double total = Rows(outputs, classes, labels, outputGradient, count, sample: -1);
            return count == 0 ? 0f : (float)(total / count);
        }

        // The summed loss of labels.Length rows of `classes` logits; their gradient, of the mean over `count` rows, into g unless it is empty.
        private double Rows(ReadOnlySpan<float> outputs, int classes, ReadOnlySpan<int> labels, Span<float> g, long count, int sample)
        {
            float invCount = 1f / count;
            float labelWeight = 1f - smoothing, spread = smoothing / classes;
            double total = 0;
            for (int r = 0; r < labels.Length; r++)
            {
                ReadOnlySpan<float> z = outputs.Slice(r * classes, classes);
                Span<float> gr = g.IsEmpty ? default : g.Slice(r * classes, classes);
                int label = labels[r];
                if (label == Dataset.IgnoreTarget)
                {
                    gr.Clear();
                    continue;
                }
                // A data set checked its labels, but its array is shared with the caller and may have changed since.
                if ((uint)label >= (uint)classes)
                    throw new ArgumentException(
                        $"Label {label}{(sample < 0 ? $" of row {r}" : $" of sample {sample}{(labels.Length > 1 ? $", position {r}" : "")}")} is outside [0, {classes}).",
                        sample < 0 ? "labels" : "data");

                // Read before the gradient is written, so the gradient may be the outputs buffer itself.
                float zLabel = z[label];
                float max = z[0], mean = 0f;
                for (int j = 0; j < classes; j++)
                {
                    max = MathF.Max(max, z[j]);
                    mean += z[j];
                }
                mean /= classes;
                float sum = 0f;
                if (!gr.IsEmpty)
                {
                    // The exponentials are the unnormalised softmax: keep them in the gradient row, scale after.
                    for (int j = 0; j < classes; j++) sum += gr[j] = MathF.Exp(z[j] - max);
                    float scale = invCount / sum, shift = spread * invCount;
                    for (int j = 0; j < classes; j++) gr[j] = gr[j] * scale - shift;
                    gr[label] -= labelWeight * invCount;
                }
                else
                {
                    for (int j = 0; j < classes; j++) sum += MathF.Exp(z[j] - max);
                }
                // Both terms subtract from the same log-sum-exp: (max − z_label) and (max − mean) stay small.
                total += labelWeight * (max - zLabel) + smoothing * (max - mean) + MathF.Log(sum);
            }
            return total;
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
    /// How many labelled rows of <paramref name="outputs"/> have their <see cref="ArgMax"/> equal to their label: one
    /// row per sample of <paramref name="sampleIndices"/>, or one per position of a token sequence (rows of
    /// <see cref="Dataset.IgnoreTarget"/> are not counted). Divide by <see cref="CountLabelled"/> for accuracy.
    /// </summary>
    public static int CountCorrect(ReadOnlySpan<float> outputs, Dataset data, ReadOnlySpan<int> sampleIndices)
    {
        ArgumentNullException.ThrowIfNull(data);
        int batch = sampleIndices.Length;
        if (batch == 0) return 0;
        if (outputs.Length != (long)batch * data.OutputSize || !data.IsClassification)
            throw new ArgumentException($"outputs must hold {batch} × {data.OutputSize} class scores for a classification data set, but holds {outputs.Length} floats.", nameof(outputs));
        int classes = data.ClassCount;
        int correct = 0;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<int> labels = data.LabelsOf(sampleIndices[b]);
            ReadOnlySpan<float> rows = outputs.Slice(b * data.OutputSize, data.OutputSize);
            for (int r = 0; r < labels.Length; r++)
                if (labels[r] != Dataset.IgnoreTarget && ArgMax(rows.Slice(r * classes, classes)) == labels[r]) correct++;
        }
        return correct;
    }

    /// <summary>The labels of these samples that count (all but <see cref="Dataset.IgnoreTarget"/>): the denominator of accuracy.</summary>
    public static int CountLabelled(Dataset data, ReadOnlySpan<int> sampleIndices)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.IsClassification) return 0;
        if (!data.IsTokenSequence) return sampleIndices.Length;
        int counted = 0;
        foreach (int index in sampleIndices) counted += Counted(data.LabelsOf(index));
        return counted;
    }

    // The labels that are not Dataset.IgnoreTarget.
    internal static int Counted(ReadOnlySpan<int> labels)
    {
        int counted = 0;
        foreach (int label in labels) counted += label == Dataset.IgnoreTarget ? 0 : 1;
        return counted;
    }
}
