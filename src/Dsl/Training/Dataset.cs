using System;

namespace Dsl;

/// <summary>
/// Samples for training or evaluation, of one of three kinds: row-major features (<see cref="InputSize"/> floats per
/// sample) with an integer class label per sample (classification) or <see cref="TargetSize"/> float targets per
/// sample (regression); or token sequences (<see cref="IsTokenSequence"/>), <see cref="Positions"/> integer token ids
/// per sample with a target token per position (<see cref="NextTokens"/>, <see cref="TokenSequences"/>), for a
/// network that reads token ids (an <c>[Embedding]</c> first) and writes <see cref="Positions"/> × <see cref="ClassCount"/>
/// logits. The arrays are wrapped, not copied, so a large data set is held once; do not change them while a
/// <see cref="Trainer"/> uses the data set.
/// </summary>
public sealed class Dataset
{
    /// <summary>
    /// The target of a position that no loss or accuracy counts (padding), as PyTorch's <c>CrossEntropyLoss</c>'s
    /// default <c>ignore_index</c>.
    /// </summary>
    public const int IgnoreTarget = -100;

    private readonly float[] _features = [];
    private readonly int[]? _labels;
    private readonly float[]? _targets;
    private readonly int[]? _tokens;
    // Token sequences: sample i reads _tokens[i * _stride ..] and its targets _labels[_targetStart + i * _stride ..].
    private readonly int _stride, _targetStart;

    /// <summary>A classification data set: sample <c>i</c> has features <c>features[i*inputSize ..]</c> and class <c>labels[i]</c> in <c>[0, classCount)</c>.</summary>
    /// <exception cref="ArgumentException">The lengths do not agree, or a label is outside <c>[0, classCount)</c>.</exception>
    public Dataset(float[] features, int inputSize, int[] labels, int classCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        Count = SampleCount(features, inputSize);
        if (labels.Length != Count)
            throw new ArgumentException(
                $"Expected {Count} labels (features hold {features.Length} floats = {Count} samples of {inputSize}), but labels holds {labels.Length}.",
                nameof(labels));
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"Label {labels[i]} of sample {i} is outside [0, {classCount}).", nameof(labels));
        }
        _features = features;
        _labels = labels;
        InputSize = inputSize;
        ClassCount = classCount;
        Positions = 1;
    }

    private Dataset(int[] tokens, int[] targets, int length, int stride, int targetStart, int count, int vocabulary)
    {
        _tokens = tokens;
        _labels = targets;
        _stride = stride;
        _targetStart = targetStart;
        Count = count;
        InputSize = length;
        Positions = length;
        ClassCount = vocabulary;
    }

    /// <summary>
    /// Next-token prediction over one long token stream, without copying it: sample i is the <paramref name="window"/>
    /// tokens from <c>i × stride</c>, and its target at each position is the token after it in the stream. Samples
    /// start every <paramref name="stride"/> tokens while a whole window and its last target fit.
    /// </summary>
    /// <param name="stream">Token ids in <c>[0, vocabulary)</c>.</param>
    /// <param name="window">Tokens per sample: the network's input length.</param>
    /// <param name="stride">Tokens between the starts of consecutive samples (the window for no overlap).</param>
    /// <param name="vocabulary">Token ids (classes) there are: the network's logits per position.</param>
    /// <exception cref="ArgumentException">A token is outside <c>[0, vocabulary)</c>, or the stream is shorter than one window and its target.</exception>
    public static Dataset NextTokens(int[] stream, int window, int stride, int vocabulary)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabulary);
        if (stream.Length < window + 1)
            throw new ArgumentException($"The stream holds {stream.Length} tokens; a window of {window} and the target after it need {window + 1}.", nameof(stream));
        CheckTokens(stream, vocabulary, nameof(stream), allowIgnored: false);
        int count = (stream.Length - window - 1) / stride + 1;
        return new Dataset(stream, stream, window, stride, targetStart: 1, count, vocabulary);
    }

    /// <summary>
    /// Token sequences of <paramref name="length"/> with a target per position: sample i is
    /// <c>tokens[i × length ..]</c> and its targets <c>targets[i × length ..]</c>. A target of <see cref="IgnoreTarget"/>
    /// (padding) is left out of the loss and accuracy.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths disagree, a token is outside <c>[0, vocabulary)</c>, or a target is neither in it nor <see cref="IgnoreTarget"/>.</exception>
    public static Dataset TokenSequences(int[] tokens, int length, int[] targets, int vocabulary)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabulary);
        if (tokens.Length % length != 0)
            throw new ArgumentException($"tokens holds {tokens.Length} ids, which is not a whole number of sequences of length {length}.", nameof(tokens));
        if (targets.Length != tokens.Length)
            throw new ArgumentException($"Expected a target per token ({tokens.Length}), but targets holds {targets.Length}.", nameof(targets));
        CheckTokens(tokens, vocabulary, nameof(tokens), allowIgnored: false);
        CheckTokens(targets, vocabulary, nameof(targets), allowIgnored: true);
        return new Dataset(tokens, targets, length, length, targetStart: 0, tokens.Length / length, vocabulary);
    }

    private static void CheckTokens(int[] ids, int vocabulary, string name, bool allowIgnored)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] < (uint)vocabulary || (allowIgnored && ids[i] == IgnoreTarget)) continue;
            throw new ArgumentException($"{(allowIgnored ? "Target" : "Token")} {ids[i]} at {i} is outside [0, {vocabulary}){(allowIgnored ? $" and is not {nameof(IgnoreTarget)} ({IgnoreTarget})" : "")}.", name);
        }
    }

    /// <summary>A regression data set: sample <c>i</c> has features <c>features[i*inputSize ..]</c> and targets <c>targets[i*targetSize ..]</c>.</summary>
    /// <exception cref="ArgumentException">The lengths do not agree.</exception>
    public Dataset(float[] features, int inputSize, float[] targets, int targetSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetSize);
        Count = SampleCount(features, inputSize);
        if (targets.Length != (long)Count * targetSize)
            throw new ArgumentException(
                $"Expected {(long)Count * targetSize} targets ({Count} samples × targetSize {targetSize}), but targets holds {targets.Length}.",
                nameof(targets));
        _features = features;
        _targets = targets;
        InputSize = inputSize;
        TargetSize = targetSize;
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Features per sample.</summary>
    public int InputSize { get; }

    /// <summary>True when the samples carry class labels (one per sample, or a target token per position), false when they carry regression targets.</summary>
    public bool IsClassification => _labels is not null;

    /// <summary>True for token sequences: integer token ids in, a target token per position.</summary>
    public bool IsTokenSequence => _tokens is not null;

    /// <summary>Number of classes (the vocabulary, for token sequences); 0 for a regression data set.</summary>
    public int ClassCount { get; }

    /// <summary>Targets per sample; 0 for a classification data set.</summary>
    public int TargetSize { get; }

    /// <summary>Labels per sample: the sequence length for token sequences, 1 for per-sample classification, 0 for regression.</summary>
    public int Positions { get; }

    /// <summary>Outputs per sample a network must produce for this data: <see cref="Positions"/> × <see cref="ClassCount"/> or <see cref="TargetSize"/>.</summary>
    public int OutputSize => IsClassification ? Positions * ClassCount : TargetSize;

    /// <summary>All features, sample after sample; empty for token sequences.</summary>
    public ReadOnlySpan<float> Features => _features;

    /// <summary>All per-sample labels; empty for a regression data set and for token sequences (see <see cref="LabelsOf"/>).</summary>
    public ReadOnlySpan<int> Labels => IsTokenSequence ? default : _labels;

    /// <summary>All targets, sample after sample; empty for a classification data set.</summary>
    public ReadOnlySpan<float> Targets => _targets;

    /// <summary>The <see cref="InputSize"/> features of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">This is a token-sequence data set (see <see cref="TokensOf"/> and <see cref="CopyInput"/>).</exception>
    public ReadOnlySpan<float> Input(int index)
    {
        if (IsTokenSequence) throw new InvalidOperationException("This data set holds token ids, not float features: read them with TokensOf or CopyInput.");
        CheckIndex(index);
        return _features.AsSpan(index * InputSize, InputSize);
    }

    /// <summary>The <see cref="Positions"/> token ids of sample <paramref name="index"/> of a token-sequence data set.</summary>
    /// <exception cref="InvalidOperationException">This data set holds float features.</exception>
    public ReadOnlySpan<int> TokensOf(int index)
    {
        if (_tokens is null) throw new InvalidOperationException("This data set holds float features, not token ids.");
        CheckIndex(index);
        return _tokens.AsSpan(index * _stride, Positions);
    }

    /// <summary>Writes sample <paramref name="index"/>'s network input into <paramref name="destination"/>: its features, or its token ids as floats (as an embedding reads them).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not <see cref="InputSize"/> long.</exception>
    public void CopyInput(int index, Span<float> destination)
    {
        if (destination.Length != InputSize)
            throw new ArgumentException($"destination must hold {InputSize} floats, but holds {destination.Length}.", nameof(destination));
        if (_tokens is null)
        {
            Input(index).CopyTo(destination);
            return;
        }
        ReadOnlySpan<int> tokens = TokensOf(index);
        for (int i = 0; i < tokens.Length; i++) destination[i] = tokens[i];
    }

    /// <summary>The class of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">This is a regression data set, or a token sequence (a label per position: <see cref="LabelsOf"/>).</exception>
    public int Label(int index)
    {
        if (_labels is null) throw new InvalidOperationException("This data set has regression targets, not class labels.");
        if (IsTokenSequence) throw new InvalidOperationException($"This data set has a target per position ({Positions}): read them with LabelsOf.");
        CheckIndex(index);
        return _labels[index];
    }

    /// <summary>
    /// The <see cref="Positions"/> labels of sample <paramref name="index"/>: its target tokens (some may be
    /// <see cref="IgnoreTarget"/>), or its one class. A slice of the wrapped arrays; nothing is copied.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is a regression data set.</exception>
    public ReadOnlySpan<int> LabelsOf(int index)
    {
        if (_labels is null) throw new InvalidOperationException("This data set has regression targets, not class labels.");
        CheckIndex(index);
        return IsTokenSequence ? _labels.AsSpan(_targetStart + index * _stride, Positions) : _labels.AsSpan(index, 1);
    }

    /// <summary>The <see cref="TargetSize"/> targets of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">This is a classification data set.</exception>
    public ReadOnlySpan<float> Target(int index)
    {
        if (_targets is null) throw new InvalidOperationException("This data set has class labels, not regression targets.");
        CheckIndex(index);
        return _targets.AsSpan(index * TargetSize, TargetSize);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Sample index must be in [0, {Count}).");
    }

    private static int SampleCount(float[] features, int inputSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        if (features.Length % inputSize != 0)
            throw new ArgumentException(
                $"features holds {features.Length} floats, which is not a whole number of samples of inputSize {inputSize}.",
                nameof(features));
        return features.Length / inputSize;
    }
}
