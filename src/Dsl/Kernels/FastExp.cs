using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// e^x in single precision, vectorised: Cephes' <c>expf</c>. With n = round(x log2 e) and r = x − n ln 2 (ln 2 split
/// in two so r is exact), e^x = 2^n · e^r, where e^r on |r| ≤ ln 2 / 2 is a degree-7 polynomial: about 2 ulp.
/// The runtime's <c>VectorNNN.Exp(float)</c> widens to double and costs several times more; the activations
/// (sigmoid, tanh, SiLU, both GELUs) and the attention softmax use this one.
/// </summary>
/// <remarks>
/// Below −87.34 the result is 0 (e^x is denormal there), from 88.38 (where 2^n reaches 2^128) it is +∞ rather than a
/// float within 30% of the largest, and NaN stays NaN. Elsewhere it agrees with <see cref="System.MathF.Exp"/> to about 2 ulp.
/// </remarks>
public static class FastExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f; // exactly representable: n · Ln2High is exact for |n| < 2^12
    private const float Ln2Low = -2.12194440e-4f;
    private const float Lowest = -87.3365447505f; // ln of the smallest normal float
    private const float Highest = 88.7228391117f; // ln of the largest float
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var clamped = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Lowest)), Vector512.Create(Highest));
        var n = Vector512.Round(clamped * Vector512.Create(Log2E));
        var r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2High), clamped);
        r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Low), r);
        var p = Vector512.MultiplyAddEstimate(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P2));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P3));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P4));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P5));
        p = Vector512.MultiplyAddEstimate(p, r * r, r + Vector512<float>.One);
        // n is in [−126, 128] after the clamp, so the plain conversion needs no saturation fix-up (three instructions).
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        var result = p * scale;
        // Underflow to 0 and NaN through; +∞ comes from scale at n = 128.
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Lowest)), Vector512<float>.Zero, result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var clamped = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Lowest)), Vector256.Create(Highest));
        var n = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2High), clamped);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Low), r);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P2));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P3));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P4));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P5));
        p = Vector256.MultiplyAddEstimate(p, r * r, r + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        var result = p * scale;
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lowest)), Vector256<float>.Zero, result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        var clamped = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(Lowest)), Vector128.Create(Highest));
        var n = Vector128.Round(clamped * Vector128.Create(Log2E));
        var r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2High), clamped);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Low), r);
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(P0), r, Vector128.Create(P1));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P2));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P3));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P4));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P5));
        p = Vector128.MultiplyAddEstimate(p, r * r, r + Vector128<float>.One);
        var scale = Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
        var result = p * scale;
        result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(Lowest)), Vector128<float>.Zero, result);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }
}
