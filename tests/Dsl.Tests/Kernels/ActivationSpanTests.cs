using System;
using Dsl;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// Span-wide activations at every length from 0 to 67 (all vector tails of every width), in place and not,
/// against the double-precision formulas of <see cref="Reference"/>.
/// </summary>
public class ActivationSpanTests
{
    public static TheoryData<Activation> Activations => new() { Activation.None, Activation.Relu, Activation.Tanh, Activation.Sigmoid, Activation.Silu, Activation.Gelu };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Forward_EveryLength_InPlaceAndNot_MatchesReference(Activation activation)
    {
        for (int length = 0; length <= 67; length++)
        {
            float[] z = DenseNumericTests.RandomInputs(length, seed: length, scale: 4f);
            var y = new float[length];
            float[] inPlace = (float[])z.Clone();
            Forward(activation, z, y);
            Forward(activation, inPlace, inPlace);
            for (int i = 0; i < length; i++)
            {
                // exp-based tanh/sigmoid in float: a few ulps of 1 (observed < 1e-6).
                double expected = Reference.Apply(activation, z[i]);
                Assert.True(Math.Abs(expected - y[i]) <= 1e-5 * (1 + Math.Abs(expected)), $"{activation} length {length} [{i}]: {y[i]} vs {expected}");
                Assert.Equal(y[i], inPlace[i]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void Backward_EveryLength_MatchesReferenceDerivative(Activation activation)
    {
        for (int length = 0; length <= 67; length++)
        {
            float[] z = DenseNumericTests.RandomInputs(length, seed: 100 + length, scale: 4f);
            float[] dy = DenseNumericTests.RandomInputs(length, seed: 200 + length);
            var y = new float[length];
            Forward(activation, z, y);
            float[] gradient = (float[])dy.Clone();
            Backward(activation, z, y, gradient);
            for (int i = 0; i < length; i++)
            {
                double expected = dy[i] * Reference.Derivative(activation, z[i]);
                Assert.True(Math.Abs(expected - gradient[i]) <= 1e-5 * (1 + Math.Abs(expected)), $"{activation} length {length} [{i}]: {gradient[i]} vs {expected}");
            }
        }
    }

    private static void Forward(Activation activation, ReadOnlySpan<float> z, Span<float> y)
    {
        switch (activation)
        {
            case Activation.None: ActivationSpan.Forward<Identity>(z, y); break;
            case Activation.Relu: ActivationSpan.Forward<Relu>(z, y); break;
            case Activation.Tanh: ActivationSpan.Forward<Tanh>(z, y); break;
            case Activation.Sigmoid: ActivationSpan.Forward<Sigmoid>(z, y); break;
            case Activation.Silu: ActivationSpan.Forward<Silu>(z, y); break;
            default: ActivationSpan.Forward<Gelu>(z, y); break;
        }
    }

    // Each operator's Backward takes y or z, as its BackwardFromOutput says.
    private static void Backward(Activation activation, ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> gradient)
    {
        switch (activation)
        {
            case Activation.None: ActivationSpan.Backward<Identity>(y, gradient); break;
            case Activation.Relu: ActivationSpan.Backward<Relu>(y, gradient); break;
            case Activation.Tanh: ActivationSpan.Backward<Tanh>(y, gradient); break;
            case Activation.Sigmoid: ActivationSpan.Backward<Sigmoid>(y, gradient); break;
            case Activation.Silu: ActivationSpan.Backward<Silu>(z, gradient); break;
            default: ActivationSpan.Backward<Gelu>(z, gradient); break;
        }
    }
}
