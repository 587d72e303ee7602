using System;
using System.Runtime.Intrinsics;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// <see cref="FastExp"/> through each of its 128-, 256- and 512-bit overloads (a vector overload runs in software
/// where the hardware lacks it, so every path is checked on every machine) against double-precision
/// <see cref="Math.Exp(double)"/> over the whole float range it covers, and at its edges.
/// </summary>
public class FastExpTests
{
    // Cephes expf is good to ~2 ulp (1 ulp of the result is 2^-23 relative, 1.2e-7); allow 4 ulp.
    private const double Tolerance = 4.8e-7;

    [Fact]
    public void EveryWidth_MatchesDoubleExp_From_Minus87_To_88()
    {
        const int count = 200_003;
        double worst = 0;
        for (int i = 0; i < count; i++)
        {
            float x = -87.3f + (88.3f + 87.3f) * i / (count - 1);
            double expected = Math.Exp(x);
            foreach (float actual in AllWidths(x))
            {
                double error = Math.Abs(actual - expected) / expected;
                worst = Math.Max(worst, error);
                Assert.True(error <= Tolerance, $"exp({x:R}) = {actual:R}, expected {expected:R} (relative error {error:E2})");
            }
        }
        Assert.True(worst > 0, "the sweep compared nothing");
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(-88f, 0f)] // e^-88 is denormal: flushed to 0
    [InlineData(-1000f, 0f)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(89f, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(float.NaN, float.NaN)]
    public void Edges(float x, float expected)
    {
        foreach (float actual in AllWidths(x)) Assert.Equal(expected, actual);
    }

    [Fact]
    public void Lanes_AreIndependent()
    {
        var x = Vector512.Create(0f, 1f, -1f, float.NaN, 2f, -2f, 10f, -10f, 50f, -50f, 80f, -80f, 0.5f, -0.5f, 3f, -3f);
        Vector512<float> y = FastExp.Exp(x);
        for (int i = 0; i < 16; i++)
        {
            if (float.IsNaN(x[i])) Assert.True(float.IsNaN(y[i]));
            else Assert.True(Math.Abs(y[i] - Math.Exp(x[i])) <= Tolerance * Math.Exp(x[i]), $"lane {i}: exp({x[i]}) = {y[i]}");
        }
    }

    private static float[] AllWidths(float x) =>
    [
        FastExp.Exp(Vector128.Create(x))[3],
        FastExp.Exp(Vector256.Create(x))[7],
        FastExp.Exp(Vector512.Create(x))[15],
    ];
}
