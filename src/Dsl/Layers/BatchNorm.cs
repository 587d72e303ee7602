using System;

namespace Dsl;

/// <summary>
/// A batch normalisation layer's tensors inside its network's <see cref="Dsl.Parameters"/> (see
/// <see cref="BatchNorm2DAttribute"/> for the maths): per channel, the parameters γ (<see cref="Weight"/>) and
/// β (<see cref="Bias"/>) and the buffers <see cref="RunningMean"/>, <see cref="RunningVar"/> and
/// <see cref="NumBatchesTracked"/>. Input and output have the same shape, <c>[Channels, ...]</c>, channel-major,
/// each channel's <see cref="Spatial"/> positions contiguous. All per-channel tensors are <c>[Channels]</c> in
/// file order; <c>num_batches_tracked</c> is a scalar (shape <c>[]</c>), I64 in files and a float in memory.
/// </summary>
public abstract class BatchNorm : Layer
{
    private readonly Parameters _parameters;

    private protected BatchNorm(Parameters parameters, string name, int[] shape, float momentum, float epsilon, Activation activation,
        TensorInfo weight, TensorInfo bias, TensorInfo runningMean, TensorInfo runningVar, TensorInfo numBatchesTracked)
        : base(name, shape, shape)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"Layer '{name}': momentum must be in [0, 1].");
        if (!(epsilon >= 0f) || float.IsPositiveInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"Layer '{name}': epsilon must be finite and not negative.");
        int channels = shape[0];
        LayerChecks.Tensor(parameters, weight, name, "weight", [channels], TensorKind.Parameter);
        LayerChecks.Tensor(parameters, bias, name, "bias", [channels], TensorKind.Parameter);
        LayerChecks.Tensor(parameters, runningMean, name, "running_mean", [channels], TensorKind.Buffer);
        LayerChecks.Tensor(parameters, runningVar, name, "running_var", [channels], TensorKind.Buffer);
        LayerChecks.Tensor(parameters, numBatchesTracked, name, "num_batches_tracked", [], TensorKind.Buffer, TensorDType.I64);
        _parameters = parameters;
        Channels = channels;
        Spatial = InputSize / channels;
        Momentum = momentum;
        Epsilon = epsilon;
        Activation = activation;
        WeightInfo = weight;
        BiasInfo = bias;
        RunningMeanInfo = runningMean;
        RunningVarInfo = runningVar;
        NumBatchesTrackedInfo = numBatchesTracked;
    }

    /// <summary>Channels normalised independently.</summary>
    public int Channels { get; }

    /// <summary>Positions per channel per sample (<c>H·W</c>, <c>L</c>, or 1 for flat features); statistics are over batch × Spatial values.</summary>
    public int Spatial { get; }

    /// <summary>Weight of the current batch in the running statistics.</summary>
    public float Momentum { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Activation applied after the normalisation.</summary>
    public Activation Activation { get; }

    /// <summary><c>{Name}.weight</c> (γ), [Channels], a parameter.</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary><c>{Name}.bias</c> (β), [Channels], a parameter.</summary>
    public TensorInfo BiasInfo { get; }

    /// <summary><c>{Name}.running_mean</c>, [Channels], a buffer.</summary>
    public TensorInfo RunningMeanInfo { get; }

    /// <summary><c>{Name}.running_var</c>, [Channels], a buffer (unbiased variance estimates).</summary>
    public TensorInfo RunningVarInfo { get; }

    /// <summary><c>{Name}.num_batches_tracked</c>, shape [], an I64 buffer.</summary>
    public TensorInfo NumBatchesTrackedInfo { get; }

    /// <summary>γ, per channel.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>β, per channel.</summary>
    public Span<float> Bias => _parameters.Value(BiasInfo);

    /// <summary>Accumulated gradient of γ.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <summary>Accumulated gradient of β.</summary>
    public Span<float> BiasGradient => _parameters.Gradient(BiasInfo);

    /// <summary>Running mean per channel, used in inference; updated by training forward passes.</summary>
    public Span<float> RunningMean => _parameters.Value(RunningMeanInfo);

    /// <summary>Running (unbiased) variance per channel, used in inference; updated by training forward passes.</summary>
    public Span<float> RunningVar => _parameters.Value(RunningVarInfo);

    /// <summary>
    /// Training batches seen (PyTorch's <c>num_batches_tracked</c>). Held as a float, so it counts exactly up to
    /// 2^24 = 16,777,216 batches; beyond that an increment may be lost (the count only feeds PyTorch's
    /// cumulative average, which a fixed momentum does not use).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public long NumBatchesTracked
    {
        get => (long)_parameters.Value(NumBatchesTrackedInfo)[0];
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _parameters.Value(NumBatchesTrackedInfo)[0] = value;
        }
    }
}

/// <summary>
/// Batch normalisation of a <c>[Channels, Height, Width]</c> activation (<see cref="BatchNorm2DAttribute"/>,
/// PyTorch's <c>nn.BatchNorm2d</c>).
/// </summary>
public sealed class BatchNorm2D : BatchNorm
{
    /// <summary>Created by generated network code.</summary>
    /// <exception cref="ArgumentException">A size is not positive, momentum or epsilon is out of range, or a tensor does not match.</exception>
    public BatchNorm2D(Parameters parameters, string name, int channels, int height, int width, float momentum, float epsilon, Activation activation,
        TensorInfo weight, TensorInfo bias, TensorInfo runningMean, TensorInfo runningVar, TensorInfo numBatchesTracked)
        : base(parameters, name, [channels, height, width], momentum, epsilon, activation, weight, bias, runningMean, runningVar, numBatchesTracked)
    {
        Height = height;
        Width = width;
    }

    /// <summary>Rows per channel.</summary>
    public int Height { get; }

    /// <summary>Columns per channel.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: BatchNorm2D {FormatShape(InputShape)}, momentum {Momentum}, eps {Epsilon}, {Activation}";
}

/// <summary>
/// Batch normalisation of a <c>[Channels, Length]</c> sequence or of flat <c>[Channels]</c> features
/// (<see cref="BatchNorm1DAttribute"/>, PyTorch's <c>nn.BatchNorm1d</c>).
/// </summary>
public sealed class BatchNorm1D : BatchNorm
{
    /// <summary>Created by generated network code. A <paramref name="length"/> of 0 means flat features: shape <c>[Channels]</c>, statistics over the batch only.</summary>
    /// <exception cref="ArgumentException">A size is out of range, momentum or epsilon is out of range, or a tensor does not match.</exception>
    public BatchNorm1D(Parameters parameters, string name, int channels, int length, float momentum, float epsilon, Activation activation,
        TensorInfo weight, TensorInfo bias, TensorInfo runningMean, TensorInfo runningVar, TensorInfo numBatchesTracked)
        : base(parameters, name, length == 0 ? [channels] : [channels, length], momentum, epsilon, activation, weight, bias, runningMean, runningVar, numBatchesTracked)
    {
        Length = length;
    }

    /// <summary>Positions per channel, or 0 for flat features.</summary>
    public int Length { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: BatchNorm1D {FormatShape(InputShape)}, momentum {Momentum}, eps {Epsilon}, {Activation}";
}
