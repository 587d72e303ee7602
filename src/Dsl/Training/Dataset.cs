using System;

namespace Dsl;

/// <summary>
/// Samples for training or evaluation: row-major features (<see cref="InputSize"/> floats per sample) with
/// either an integer class label per sample (classification) or <see cref="TargetSize"/> float targets per
/// sample (regression). The arrays are wrapped, not copied, so a large data set is held once; do not change
/// them while a <see cref="Trainer"/> uses the data set.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _features;
    private readonly int[]? _labels;
    private readonly float[]? _targets;

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

    /// <summary>True when the samples carry class labels, false when they carry regression targets.</summary>
    public bool IsClassification => _labels is not null;

    /// <summary>Number of classes; 0 for a regression data set.</summary>
    public int ClassCount { get; }

    /// <summary>Targets per sample; 0 for a classification data set.</summary>
    public int TargetSize { get; }

    /// <summary>Outputs per sample a network must produce for this data: <see cref="ClassCount"/> or <see cref="TargetSize"/>.</summary>
    public int OutputSize => IsClassification ? ClassCount : TargetSize;

    /// <summary>All features, sample after sample.</summary>
    public ReadOnlySpan<float> Features => _features;

    /// <summary>All labels; empty for a regression data set.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>All targets, sample after sample; empty for a classification data set.</summary>
    public ReadOnlySpan<float> Targets => _targets;

    /// <summary>The <see cref="InputSize"/> features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Input(int index)
    {
        CheckIndex(index);
        return _features.AsSpan(index * InputSize, InputSize);
    }

    /// <summary>The class of sample <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">This is a regression data set.</exception>
    public int Label(int index)
    {
        if (_labels is null) throw new InvalidOperationException("This data set has regression targets, not class labels.");
        CheckIndex(index);
        return _labels[index];
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
