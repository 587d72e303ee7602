using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using Dsl;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// Span-wide activations at every length from 0 to 67 (all vector tails of every width), in place and not,
/// against the double-precision formulas of <see cref="Reference"/>; and both GELUs through each of their
/// scalar, 128-, 256- and 512-bit overloads called directly (a vector overload runs in software where the
/// hardware lacks it, so every path is checked on every machine) on a dense grid out to |z| = 10 and beyond.
/// </summary>
public class ActivationSpanTests
{
    public static TheoryData<Activation> Activations => new() { Activation.None, Activation.Relu, Activation.Tanh, Activation.Sigmoid, Activation.Silu, Activation.Gelu, Activation.GeluTanh };

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
                // tanh and exp-based sigmoid in float: a few ulps of 1 (observed < 1e-6).
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

    // Grid: every 0.01 over [-10, 10], 0 and its neighbours, and far points where exp under- or overflows.
    private static float[] GeluGrid()
    {
        var z = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 30f, -30f, 100f, -100f, 1e4f, -1e4f, 1e20f, -1e20f };
        for (int i = -1000; i <= 1000; i++) z.Add(i / 100f);
        return z.ToArray();
    }

    [Fact]
    public void Reference_Erfc_MatchesTabulatedValues()
    {
        // Values from CPython's math.erfc, covering both of Reference.Erfc's branches and the negative half.
        // Below 2.5 erfc is 1 − erf, so its error is absolute (a few 1e-16); from 2.5 the continued fraction
        // is relatively accurate (1e-14), which the lower tail of Φ relies on.
        (double X, double Erfc)[] table =
        {
            (0, 1), (0.5, 0.4795001221869535), (1, 0.15729920705028513), (2, 0.004677734981047265),
            (2.4999, 0.0004071699003334514), (2.5, 0.0004069520174449589), (3, 2.2090496998585438e-05),
            (5, 1.5374597944280351e-12), (10, 2.088487583762545e-45), (-1, 2 - 0.15729920705028513),
        };
        foreach ((double x, double expected) in table)
            Assert.True(Math.Abs(Reference.Erfc(x) - expected) <= 1e-15 + 1e-14 * expected, $"erfc({x}) = {Reference.Erfc(x):R}, expected {expected:R}");
    }

    [Fact]
    public void Gelu_EveryWidth_MatchesExactErfForm()
    {
        float[] z = GeluGrid();
        foreach ((string width, float[] y) in AtEveryWidth<Gelu>(z, backward: false))
            for (int i = 0; i < z.Length; i++)
            {
                double expected = Reference.Apply(Activation.Gelu, z[i]);
                // Φ from a fit with relative error 1.2e-7, evaluated in float; 1e-6 absolute plus two ulps of y
                // allows for the rounding of y = z Φ itself (an ulp of 10 is 1e-6).
                Assert.True(Math.Abs(y[i] - expected) <= 1e-6 + 2.4e-7 * Math.Abs(expected), $"{width}: gelu({z[i]:R}) = {y[i]:R}, expected {expected:R}");
                if (z[i] < -3f && z[i] > -12f)
                {
                    // Lower tail: Φ comes from erfc directly, not from 1 + erf, so y keeps its relative accuracy
                    // (gelu(-10) is -7.6e-23); exp's relative error, a few ulps times the size of its argument, bounds it.
                    Assert.True(Math.Abs(y[i] - expected) <= 2e-5 * Math.Abs(expected), $"{width}: gelu({z[i]:R}) = {y[i]:R}, expected {expected:R} (relative)");
                }
            }
    }

    [Fact]
    public void Gelu_EveryWidth_BackwardMatchesDerivative()
    {
        float[] z = GeluGrid();
        foreach ((string width, float[] dz) in AtEveryWidth<Gelu>(z, backward: true))
            for (int i = 0; i < z.Length; i++)
            {
                // dy = 1, so dz is Φ(z) + z φ(z) itself; same error budget as forward.
                double expected = Reference.Derivative(Activation.Gelu, z[i]);
                Assert.True(Math.Abs(dz[i] - expected) <= 1e-6 + 2.4e-7 * Math.Abs(expected), $"{width}: gelu'({z[i]:R}) = {dz[i]:R}, expected {expected:R}");
            }
    }

    [Fact]
    public void GeluTanh_EveryWidth_MatchesTanhForm()
    {
        float[] z = GeluGrid();
        foreach (bool backward in new[] { false, true })
            foreach ((string width, float[] values) in AtEveryWidth<GeluTanh>(z, backward))
                for (int i = 0; i < z.Length; i++)
                {
                    if (Math.Abs(z[i]) > 100f) continue; // 0.044715 z³ overflows float far out; ±30 and ±100 stay in
                    double expected = backward ? Reference.Derivative(Activation.GeluTanh, z[i]) : Reference.Apply(Activation.GeluTanh, z[i]);
                    // tanh from e^(2u) in float: a few ulps of 1 (see GeluTanh), times |z| up to 10.
                    Assert.True(Math.Abs(values[i] - expected) <= 2e-6 * (1 + Math.Abs(expected)), $"{width}: {(backward ? "backward" : "forward")}({z[i]:R}) = {values[i]:R}, expected {expected:R}");
                }
    }

    [Fact]
    public void Tanh_EveryWidth_MatchesTanhRelatively()
    {
        float[] z = GeluGrid();
        foreach ((string width, float[] y) in AtEveryWidth<Tanh>(z, backward: false))
            for (int i = 0; i < z.Length; i++)
            {
                double expected = Math.Tanh(z[i]);
                // The rational fit's error is relative, also near 0, where tanh(z) ≈ z: at most 3.0e-7 with AVX-512's
                // 14-bit reciprocal estimate, 3.4e-7 with SSE/AVX's 12-bit one (each refined by a Newton step) and
                // 3.9e-7 with a divide (software vectors), measured on every 5e-6 of [-10, 10]. It never leaves
                // [-1, 1] and is exactly ±1 from |z| = 7.9053 on.
                Assert.True(Math.Abs(y[i] - expected) <= 5e-7 * Math.Abs(expected) + 1e-38, $"{width}: tanh({z[i]:R}) = {y[i]:R}, expected {expected:R}");
                Assert.True(Math.Abs(y[i]) <= 1f, $"{width}: tanh({z[i]:R}) = {y[i]:R}");
                if (Math.Abs(z[i]) >= 9.5f) Assert.Equal(MathF.Sign(z[i]), y[i]); // where tanh rounds to ±1
            }
        foreach ((string width, float[] y) in AtEveryWidth<Tanh>(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity }, backward: false))
        {
            Assert.True(float.IsNaN(y[0]), $"{width}: tanh(NaN) = {y[0]}");
            Assert.Equal(1f, y[1]);
            Assert.Equal(-1f, y[2]);
        }
    }

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    public void GeluReferences_Derivative_MatchesCentralDifferences(Activation activation)
    {
        // Checks the closed-form derivatives the kernels are compared with against the reference forward:
        // h = 1e-5 leaves a truncation error about h² |f'''| < 1e-10 and a rounding error about 1e-16 / h = 1e-11.
        for (int i = -1000; i <= 1000; i += 7)
        {
            double z = i / 100.0, h = 1e-5;
            double numeric = (Reference.Apply(activation, z + h) - Reference.Apply(activation, z - h)) / (2 * h);
            Assert.True(Math.Abs(numeric - Reference.Derivative(activation, z)) <= 1e-8, $"{activation}'({z}): {Reference.Derivative(activation, z)} vs finite difference {numeric}");
        }
    }

    [Fact]
    public void Gelu_KnownValues()
    {
        Assert.Equal(0f, Gelu.Invoke(0f));
        Assert.Equal(0.5f, Gelu.Backward(0f, 1f), 6);
        Assert.Equal(0.8413447f, Gelu.Invoke(1f), 6); // Φ(1)
        Assert.Equal(10f, Gelu.Invoke(10f));
        Assert.Equal(0f, Gelu.Invoke(-100f));
        Assert.Equal(1f, Gelu.Backward(100f, 1f));
        Assert.Equal(0f, Gelu.Backward(-100f, 1f));
        Assert.False(Gelu.BackwardFromOutput);
        Assert.False(GeluTanh.BackwardFromOutput);
    }

    /// <summary>f(z), or f'(z) with dy = 1, through the scalar overload and each vector overload; the grid is zero-padded to whole vectors.</summary>
    private static IEnumerable<(string Width, float[] Values)> AtEveryWidth<T>(float[] z, bool backward) where T : struct, IActivation
    {
        int padded = (z.Length + 15) / 16 * 16;
        var input = new float[padded];
        z.CopyTo(input, 0);
        float[] ones = new float[padded];
        Array.Fill(ones, 1f);
        float[] scalar = new float[padded], v128 = new float[padded], v256 = new float[padded], v512 = new float[padded];
        for (int i = 0; i < padded; i++) scalar[i] = backward ? T.Backward(input[i], 1f) : T.Invoke(input[i]);
        for (int i = 0; i < padded; i += 4)
        {
            var v = Vector128.Create(input, i);
            (backward ? T.Backward(v, Vector128.Create(ones, i)) : T.Invoke(v)).CopyTo(v128, i);
        }
        for (int i = 0; i < padded; i += 8)
        {
            var v = Vector256.Create(input, i);
            (backward ? T.Backward(v, Vector256.Create(ones, i)) : T.Invoke(v)).CopyTo(v256, i);
        }
        for (int i = 0; i < padded; i += 16)
        {
            var v = Vector512.Create(input, i);
            (backward ? T.Backward(v, Vector512.Create(ones, i)) : T.Invoke(v)).CopyTo(v512, i);
        }
        yield return ("scalar", scalar);
        yield return ("Vector128", v128);
        yield return ("Vector256", v256);
        yield return ("Vector512", v512);
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
            case Activation.Gelu: ActivationSpan.Forward<Gelu>(z, y); break;
            case Activation.GeluTanh: ActivationSpan.Forward<GeluTanh>(z, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation));
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
            case Activation.Gelu: ActivationSpan.Backward<Gelu>(z, gradient); break;
            case Activation.GeluTanh: ActivationSpan.Backward<GeluTanh>(z, gradient); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }
}
