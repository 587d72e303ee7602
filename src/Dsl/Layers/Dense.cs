using System;

namespace Dsl;

/// <summary>
/// A dense layer's parameters inside its network's <see cref="Dsl.Parameters"/>. The weight is stored
/// input-major (element for unit <c>o</c> and input <c>i</c> at <c>[i * Units + o]</c>), the transpose of
/// PyTorch's <c>[out, in]</c>, because the generated kernels stream one input row at a time; safetensors
/// load/save convert (the weight's <see cref="TensorInfo.TransposeGroups"/> is 1). Use
/// <see cref="GetWeight"/>/<see cref="SetWeight"/> to address it PyTorch-style. Input shape <c>[inputs]</c>,
/// output shape <c>[units]</c>.
/// </summary>
public sealed class Dense : Layer
{
    private readonly Parameters _parameters;

    /// <summary>Created by generated network code.</summary>
    public Dense(Parameters parameters, string name, int inputs, int units, Activation activation, TensorInfo weight, TensorInfo? bias)
        : base(name, [inputs], [units])
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(weight);
        _parameters = parameters;
        Inputs = inputs;
        Units = units;
        Activation = activation;
        WeightInfo = weight;
        BiasInfo = bias;
    }

    /// <summary>Inputs per sample.</summary>
    public int Inputs { get; }

    /// <summary>Outputs per sample.</summary>
    public int Units { get; }

    /// <summary>Fused activation.</summary>
    public Activation Activation { get; }

    /// <summary><c>{Name}.weight</c>, shape [Units, Inputs], stored transposed.</summary>
    public TensorInfo WeightInfo { get; }

    /// <summary><c>{Name}.bias</c>, shape [Units], or null without bias.</summary>
    public TensorInfo? BiasInfo { get; }

    /// <summary>Weight values, input-major.</summary>
    public Span<float> Weight => _parameters.Value(WeightInfo);

    /// <summary>Bias values (empty without bias).</summary>
    public Span<float> Bias => BiasInfo is null ? Span<float>.Empty : _parameters.Value(BiasInfo);

    /// <summary>Accumulated weight gradient, input-major.</summary>
    public Span<float> WeightGradient => _parameters.Gradient(WeightInfo);

    /// <summary>Accumulated bias gradient (empty without bias).</summary>
    public Span<float> BiasGradient => BiasInfo is null ? Span<float>.Empty : _parameters.Gradient(BiasInfo);

    /// <summary>The weight from input <paramref name="input"/> to unit <paramref name="unit"/> (PyTorch's <c>weight[unit, input]</c>).</summary>
    public float GetWeight(int unit, int input) => Weight[Index(unit, input)];

    /// <summary>Sets PyTorch's <c>weight[unit, input]</c>.</summary>
    public void SetWeight(int unit, int input, float value) => Weight[Index(unit, input)] = value;

    private int Index(int unit, int input)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(unit);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unit, Units);
        ArgumentOutOfRangeException.ThrowIfNegative(input);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(input, Inputs);
        return input * Units + unit;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Dense {Inputs} -> {Units}, {Activation}";
}
