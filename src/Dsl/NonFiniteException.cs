using System;
using System.Globalization;

namespace Dsl;

/// <summary>
/// A training pass produced a NaN or an infinity, found by the check <see cref="Workspace.CheckFinite"/> turns
/// on: names the first step (in pass order) whose output, or whose input gradient, is not finite.
/// </summary>
public sealed class NonFiniteException : ArithmeticException
{
    /// <summary>Describes the first non-finite value of a step's output or input gradient.</summary>
    public NonFiniteException(string step, bool gradient, int sample, int index, float value)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Step '{step}' produced {value} in its {(gradient ? "input gradient (backward)" : "output (forward)")} at sample {sample}, index {index}."))
    {
        Step = step;
        IsGradient = gradient;
        Sample = sample;
        Index = index;
        Value = value;
    }

    /// <summary>The step's name (its weight-name prefix, as in <see cref="NetworkStep.Name"/>).</summary>
    public string Step { get; }

    /// <summary>True when found in the backward pass (dL/d(step input)), false in the forward pass (the step's output).</summary>
    public bool IsGradient { get; }

    /// <summary>The sample of the batch.</summary>
    public int Sample { get; }

    /// <summary>The position in that sample's values.</summary>
    public int Index { get; }

    /// <summary>The value found: NaN or ±infinity.</summary>
    public float Value { get; }
}
