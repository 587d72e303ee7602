using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

// Activation operators called by generated kernels, one per function, with an overload per vector width
// so the generated ISA paths stay one-liners. Generated kernels take the operator as a struct type argument,
// so the JIT specialises each kernel and the call disappears. Backward takes what the derivative is
// cheapest from: the output y where f' is a function of y (ReLU, tanh, sigmoid), the pre-activation z
// otherwise (SiLU, both GELUs); BackwardFromOutput says which.

/// <summary>An element-wise activation: forward at every vector width, and its derivative.</summary>
public interface IActivation
{
    /// <summary>True when <c>Backward</c> takes the output y, false when it takes the pre-activation z.</summary>
    static abstract bool BackwardFromOutput { get; }
    /// <summary>
    /// True when <c>Invoke</c> is a few inline instructions (identity, ReLU): kernels apply it to their
    /// accumulators before storing. Otherwise (it calls exp) kernels store the sums and apply it in a second
    /// pass, so no accumulator is live across a call, which would make the JIT spill them in the hot loop.
    /// </summary>
    static abstract bool Inline { get; }
    /// <summary>Forward.</summary>
    static abstract float Invoke(float z);
    /// <summary>Forward.</summary>
    static abstract Vector128<float> Invoke(Vector128<float> z);
    /// <summary>Forward.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> z);
    /// <summary>Forward.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> z);
    /// <summary>dz from y or z (see <see cref="BackwardFromOutput"/>) and dy.</summary>
    static abstract float Backward(float from, float dy);
    /// <summary>dz from y or z and dy.</summary>
    static abstract Vector128<float> Backward(Vector128<float> from, Vector128<float> dy);
    /// <summary>dz from y or z and dy.</summary>
    static abstract Vector256<float> Backward(Vector256<float> from, Vector256<float> dy);
    /// <summary>dz from y or z and dy.</summary>
    static abstract Vector512<float> Backward(Vector512<float> from, Vector512<float> dy);
}

/// <summary><c>y = z</c>; <c>dz = dy</c>. Used where a kernel must leave z for a later step (softmax, or keeping z for SiLU/GELU backward).</summary>
public readonly struct Identity : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => true;
    /// <inheritdoc/>
    public static bool Inline => true;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => z;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => z;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => z;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => z;
    /// <summary>Gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Backward(float y, float dy) => dy;
    /// <summary>Gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Backward(Vector128<float> y, Vector128<float> dy) => dy;
    /// <summary>Gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Backward(Vector256<float> y, Vector256<float> dy) => dy;
    /// <summary>Gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Backward(Vector512<float> y, Vector512<float> dy) => dy;
}

/// <summary><c>y = max(0, z)</c>; <c>dz = y &gt; 0 ? dy : 0</c>.</summary>
public readonly struct Relu : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => true;
    /// <inheritdoc/>
    public static bool Inline => true;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => MathF.Max(z, 0f);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => Vector128.Max(z, Vector128<float>.Zero);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => Vector256.Max(z, Vector256<float>.Zero);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => Vector512.Max(z, Vector512<float>.Zero);

    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Backward(float y, float dy) => y > 0f ? dy : 0f;
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Backward(Vector128<float> y, Vector128<float> dy) => dy & Vector128.GreaterThan(y, Vector128<float>.Zero);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Backward(Vector256<float> y, Vector256<float> dy) => dy & Vector256.GreaterThan(y, Vector256<float>.Zero);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Backward(Vector512<float> y, Vector512<float> dy) => dy & Vector512.GreaterThan(y, Vector512<float>.Zero);
}

/// <summary><c>y = 1 / (1 + e^-z)</c>; <c>dz = dy y (1 - y)</c>.</summary>
public readonly struct Sigmoid : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => true;
    /// <inheritdoc/>
    public static bool Inline => false;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => 1f / (1f + MathF.Exp(-z));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => Vector128<float>.One / (Vector128<float>.One + FastExp.Exp(-z));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => Vector256<float>.One / (Vector256<float>.One + FastExp.Exp(-z));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => Vector512<float>.One / (Vector512<float>.One + FastExp.Exp(-z));

    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Backward(float y, float dy) => dy * y * (1f - y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Backward(Vector128<float> y, Vector128<float> dy) => dy * y * (Vector128<float>.One - y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Backward(Vector256<float> y, Vector256<float> dy) => dy * y * (Vector256<float>.One - y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Backward(Vector512<float> y, Vector512<float> dy) => dy * y * (Vector512<float>.One - y);
}

/// <summary><c>y = tanh(z)</c>; <c>dz = dy (1 - y^2)</c>.</summary>
/// <remarks>
/// The vector overloads evaluate the odd rational minimax fit <c>z P(z²) / Q(z²)</c> of degrees 13 and 6 that Eigen and
/// ONNX Runtime's MLAS use, fitted on |z| &lt; 7.9053, and exactly ±1 from there on (tanh is within 2.7e-7 of it):
/// 13 multiply-adds, a reciprocal estimate and a few selects, against an exp (about 25 instructions) and a divide for
/// <c>1 - 2 / (e^(2z) + 1)</c>, which also cancelled near 0. Relative error a few ulp over the whole range (see
/// ActivationSpanTests); NaN stays NaN.
/// </remarks>
public readonly struct Tanh : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => true;
    /// <inheritdoc/>
    public static bool Inline => false;
    private const float Saturation = 7.90531110763549805f; // the fit's edge; tanh rounds to within 2.7e-7 of ±1 there
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f;
    private const float A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => MathF.Tanh(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> z)
    {
        var x2 = z * z;
        var p = Vector128.MultiplyAddEstimate(x2, Vector128.Create(A13), Vector128.Create(A11));
        p = Vector128.MultiplyAddEstimate(p, x2, Vector128.Create(A9));
        p = Vector128.MultiplyAddEstimate(p, x2, Vector128.Create(A7));
        p = Vector128.MultiplyAddEstimate(p, x2, Vector128.Create(A5));
        p = Vector128.MultiplyAddEstimate(p, x2, Vector128.Create(A3));
        p = Vector128.MultiplyAddEstimate(p, x2, Vector128.Create(A1));
        var q = Vector128.MultiplyAddEstimate(x2, Vector128.Create(B6), Vector128.Create(B4));
        q = Vector128.MultiplyAddEstimate(q, x2, Vector128.Create(B2));
        q = Vector128.MultiplyAddEstimate(q, x2, Vector128.Create(B0));
        // ±1 from the fit's edge on, where z² may overflow; a NaN lane discards both.
        var y = Vector128.ConditionalSelect(Vector128.LessThan(Vector128.Abs(z), Vector128.Create(Saturation)), Quotient(z * p, q), Vector128.CopySign(Vector128<float>.One, z));
        return Vector128.ConditionalSelect(Vector128.Equals(z, z), y, z);
    }
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> z)
    {
        var x2 = z * z;
        var p = Vector256.MultiplyAddEstimate(x2, Vector256.Create(A13), Vector256.Create(A11));
        p = Vector256.MultiplyAddEstimate(p, x2, Vector256.Create(A9));
        p = Vector256.MultiplyAddEstimate(p, x2, Vector256.Create(A7));
        p = Vector256.MultiplyAddEstimate(p, x2, Vector256.Create(A5));
        p = Vector256.MultiplyAddEstimate(p, x2, Vector256.Create(A3));
        p = Vector256.MultiplyAddEstimate(p, x2, Vector256.Create(A1));
        var q = Vector256.MultiplyAddEstimate(x2, Vector256.Create(B6), Vector256.Create(B4));
        q = Vector256.MultiplyAddEstimate(q, x2, Vector256.Create(B2));
        q = Vector256.MultiplyAddEstimate(q, x2, Vector256.Create(B0));
        var y = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(z), Vector256.Create(Saturation)), Quotient(z * p, q), Vector256.CopySign(Vector256<float>.One, z));
        return Vector256.ConditionalSelect(Vector256.Equals(z, z), y, z);
    }
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> z)
    {
        var x2 = z * z;
        var p = Vector512.MultiplyAddEstimate(x2, Vector512.Create(A13), Vector512.Create(A11));
        p = Vector512.MultiplyAddEstimate(p, x2, Vector512.Create(A9));
        p = Vector512.MultiplyAddEstimate(p, x2, Vector512.Create(A7));
        p = Vector512.MultiplyAddEstimate(p, x2, Vector512.Create(A5));
        p = Vector512.MultiplyAddEstimate(p, x2, Vector512.Create(A3));
        p = Vector512.MultiplyAddEstimate(p, x2, Vector512.Create(A1));
        var q = Vector512.MultiplyAddEstimate(x2, Vector512.Create(B6), Vector512.Create(B4));
        q = Vector512.MultiplyAddEstimate(q, x2, Vector512.Create(B2));
        q = Vector512.MultiplyAddEstimate(q, x2, Vector512.Create(B0));
        var y = Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(z), Vector512.Create(Saturation)), Quotient(z * p, q), Vector512.CopySign(Vector512<float>.One, z));
        return Vector512.ConditionalSelect(Vector512.Equals(z, z), y, z);
    }

    // n/q for q in [B0, 1): n times the hardware's reciprocal estimate (12 or 14 bits) refined by one Newton step,
    // within about an ulp of the divide, which is not pipelined and was a seventh of a small tanh network's time.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Quotient(Vector128<float> n, Vector128<float> q)
    {
        if (!Sse.IsSupported)
            return n / q;
        var r = Sse.Reciprocal(q);
        return n * Vector128.MultiplyAddEstimate(r, Vector128.MultiplyAddEstimate(-q, r, Vector128<float>.One), r);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Quotient(Vector256<float> n, Vector256<float> q)
    {
        if (!Avx.IsSupported)
            return n / q;
        var r = Avx.Reciprocal(q);
        return n * Vector256.MultiplyAddEstimate(r, Vector256.MultiplyAddEstimate(-q, r, Vector256<float>.One), r);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quotient(Vector512<float> n, Vector512<float> q)
    {
        if (!Avx512F.IsSupported)
            return n / q;
        var r = Avx512F.Reciprocal14(q);
        return n * Vector512.MultiplyAddEstimate(r, Vector512.MultiplyAddEstimate(-q, r, Vector512<float>.One), r);
    }

    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Backward(float y, float dy) => dy * (1f - y * y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Backward(Vector128<float> y, Vector128<float> dy) => dy * (Vector128<float>.One - y * y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Backward(Vector256<float> y, Vector256<float> dy) => dy * (Vector256<float>.One - y * y);
    /// <summary>Gradient from the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Backward(Vector512<float> y, Vector512<float> dy) => dy * (Vector512<float>.One - y * y);
}

/// <summary><c>y = z sigmoid(z)</c>; <c>dz = dy s (1 + z (1 - s))</c> with <c>s = sigmoid(z)</c>.</summary>
public readonly struct Silu : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => false;
    /// <inheritdoc/>
    public static bool Inline => false;
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => z * Sigmoid.Invoke(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => z * Sigmoid.Invoke(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => z * Sigmoid.Invoke(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => z * Sigmoid.Invoke(z);

    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Backward(float z, float dy) { float s = Sigmoid.Invoke(z); return dy * s * (1f + z * (1f - s)); }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Backward(Vector128<float> z, Vector128<float> dy) { var s = Sigmoid.Invoke(z); return dy * s * (Vector128<float>.One + z * (Vector128<float>.One - s)); }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Backward(Vector256<float> z, Vector256<float> dy) { var s = Sigmoid.Invoke(z); return dy * s * (Vector256<float>.One + z * (Vector256<float>.One - s)); }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Backward(Vector512<float> z, Vector512<float> dy) { var s = Sigmoid.Invoke(z); return dy * s * (Vector512<float>.One + z * (Vector512<float>.One - s)); }
}

/// <summary>
/// GELU, exact form: <c>y = z Φ(z) = 0.5 z (1 + erf(z / sqrt 2))</c>; <c>dz = dy (Φ(z) + z φ(z))</c> with
/// <c>φ(z) = e^(-z^2/2) / sqrt(2 pi)</c>. PyTorch's <c>nn.GELU()</c>.
/// </summary>
/// <remarks>
/// .NET has no vector erf, so Φ comes from the Chebyshev fit of erfc in Numerical Recipes (2nd ed., §6.2,
/// <c>erfcc</c>): <c>erfc(x) = t e^(-x^2 + P(t))</c>, <c>t = 1 / (1 + x/2)</c> for x ≥ 0, relative error below
/// 1.2e-7 everywhere. With <c>a = |z|</c>, the tail <c>q = erfc(a / sqrt 2) / 2</c> gives <c>Φ(z) = q</c> for
/// z &lt; 0 and <c>1 - q</c> otherwise: the lower tail never forms <c>1 + erf</c>, so it keeps its relative
/// accuracy (gelu(-10) ≈ -7.6e-23, not rounding noise). In float the whole is within about 1e-6 of exact.
/// </remarks>
public readonly struct Gelu : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => false;
    /// <inheritdoc/>
    public static bool Inline => false;
    private const float HalfInvSqrt2 = 0.35355339059327373f; // x/2 = a / (2 sqrt 2)
    private const float InvSqrt2Pi = 0.3989422804014327f; // 1 / sqrt(2 pi)
    private const float P0 = -1.26551223f, P1 = 1.00002368f, P2 = 0.37409196f, P3 = 0.09678418f, P4 = -0.18628806f;
    private const float P5 = 0.27886807f, P6 = -1.13520398f, P7 = 1.48851587f, P8 = -0.82215223f, P9 = 0.17087277f;

    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => z * Cdf(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => z * Cdf(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => z * Cdf(z);
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => z * Cdf(z);

    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Backward(float z, float dy) => dy * (Cdf(z) + z * InvSqrt2Pi * MathF.Exp(-0.5f * z * z));
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Backward(Vector128<float> z, Vector128<float> dy) => dy * (Cdf(z) + z * Vector128.Create(InvSqrt2Pi) * FastExp.Exp(Vector128.Create(-0.5f) * z * z));
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Backward(Vector256<float> z, Vector256<float> dy) => dy * (Cdf(z) + z * Vector256.Create(InvSqrt2Pi) * FastExp.Exp(Vector256.Create(-0.5f) * z * z));
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Backward(Vector512<float> z, Vector512<float> dy) => dy * (Cdf(z) + z * Vector512.Create(InvSqrt2Pi) * FastExp.Exp(Vector512.Create(-0.5f) * z * z));

    // Φ(z): the tail q of |z| (see remarks), flipped to 1 - q for z ≥ 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Cdf(float z)
    {
        float a = MathF.Abs(z);
        float t = 1f / (1f + HalfInvSqrt2 * a);
        float p = P0 + t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * (P5 + t * (P6 + t * (P7 + t * (P8 + t * P9))))))));
        float q = 0.5f * t * MathF.Exp(p - 0.5f * a * a);
        return z >= 0f ? 1f - q : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Cdf(Vector128<float> z)
    {
        var a = Vector128.Abs(z);
        var t = Vector128<float>.One / (Vector128<float>.One + Vector128.Create(HalfInvSqrt2) * a);
        var p = Vector128.Create(P8) + t * Vector128.Create(P9);
        p = Vector128.Create(P7) + t * p;
        p = Vector128.Create(P6) + t * p;
        p = Vector128.Create(P5) + t * p;
        p = Vector128.Create(P4) + t * p;
        p = Vector128.Create(P3) + t * p;
        p = Vector128.Create(P2) + t * p;
        p = Vector128.Create(P1) + t * p;
        p = Vector128.Create(P0) + t * p;
        var q = Vector128.Create(0.5f) * t * FastExp.Exp(p - Vector128.Create(0.5f) * a * a);
        return Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(z, Vector128<float>.Zero), Vector128<float>.One - q, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Cdf(Vector256<float> z)
    {
        var a = Vector256.Abs(z);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(HalfInvSqrt2) * a);
        var p = Vector256.Create(P8) + t * Vector256.Create(P9);
        p = Vector256.Create(P7) + t * p;
        p = Vector256.Create(P6) + t * p;
        p = Vector256.Create(P5) + t * p;
        p = Vector256.Create(P4) + t * p;
        p = Vector256.Create(P3) + t * p;
        p = Vector256.Create(P2) + t * p;
        p = Vector256.Create(P1) + t * p;
        p = Vector256.Create(P0) + t * p;
        var q = Vector256.Create(0.5f) * t * FastExp.Exp(p - Vector256.Create(0.5f) * a * a);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero), Vector256<float>.One - q, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Cdf(Vector512<float> z)
    {
        var a = Vector512.Abs(z);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(HalfInvSqrt2) * a);
        var p = Vector512.Create(P8) + t * Vector512.Create(P9);
        p = Vector512.Create(P7) + t * p;
        p = Vector512.Create(P6) + t * p;
        p = Vector512.Create(P5) + t * p;
        p = Vector512.Create(P4) + t * p;
        p = Vector512.Create(P3) + t * p;
        p = Vector512.Create(P2) + t * p;
        p = Vector512.Create(P1) + t * p;
        p = Vector512.Create(P0) + t * p;
        var q = Vector512.Create(0.5f) * t * FastExp.Exp(p - Vector512.Create(0.5f) * a * a);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero), Vector512<float>.One - q, q);
    }
}

/// <summary>
/// GELU, tanh form: <c>y = 0.5 z (1 + t)</c>, <c>t = tanh(u)</c>, <c>u = c (z + 0.044715 z^3)</c>, <c>c = sqrt(2/pi)</c>;
/// <c>dz = dy (0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 * 0.044715 z^2))</c>. PyTorch's <c>nn.GELU(approximate="tanh")</c>.
/// </summary>
public readonly struct GeluTanh : IActivation
{
    /// <inheritdoc/>
    public static bool BackwardFromOutput => false;
    /// <inheritdoc/>
    public static bool Inline => false;
    private const float C = 0.7978845608028654f; // sqrt(2/pi)
    private const float K = 0.044715f;

    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Invoke(float z) => 0.5f * z * (1f + Tanh.Invoke(C * (z + K * z * z * z)));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Invoke(Vector128<float> z) => Vector128.Create(0.5f) * z * (Vector128<float>.One + ExpTanh(Vector128.Create(C) * (z + Vector128.Create(K) * z * z * z)));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Invoke(Vector256<float> z) => Vector256.Create(0.5f) * z * (Vector256<float>.One + ExpTanh(Vector256.Create(C) * (z + Vector256.Create(K) * z * z * z)));
    /// <summary>Forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Invoke(Vector512<float> z) => Vector512.Create(0.5f) * z * (Vector512<float>.One + ExpTanh(Vector512.Create(C) * (z + Vector512.Create(K) * z * z * z)));

    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Backward(float z, float dy)
    {
        float t = Tanh.Invoke(C * (z + K * z * z * z));
        return dy * (0.5f * (1f + t) + 0.5f * z * (1f - t * t) * C * (1f + 3f * K * z * z));
    }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Backward(Vector128<float> z, Vector128<float> dy)
    {
        var half = Vector128.Create(0.5f);
        var t = ExpTanh(Vector128.Create(C) * (z + Vector128.Create(K) * z * z * z));
        return dy * (half * (Vector128<float>.One + t) + half * z * (Vector128<float>.One - t * t) * Vector128.Create(C) * (Vector128<float>.One + Vector128.Create(3f * K) * z * z));
    }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Backward(Vector256<float> z, Vector256<float> dy)
    {
        var half = Vector256.Create(0.5f);
        var t = ExpTanh(Vector256.Create(C) * (z + Vector256.Create(K) * z * z * z));
        return dy * (half * (Vector256<float>.One + t) + half * z * (Vector256<float>.One - t * t) * Vector256.Create(C) * (Vector256<float>.One + Vector256.Create(3f * K) * z * z));
    }
    /// <summary>Gradient from the pre-activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Backward(Vector512<float> z, Vector512<float> dy)
    {
        var half = Vector512.Create(0.5f);
        var t = ExpTanh(Vector512.Create(C) * (z + Vector512.Create(K) * z * z * z));
        return dy * (half * (Vector512<float>.One + t) + half * z * (Vector512<float>.One - t * t) * Vector512.Create(C) * (Vector512<float>.One + Vector512.Create(3f * K) * z * z));
    }

    // tanh(u) = 1 - 2/(e^2u + 1), not Tanh's rational fit: the fit is exactly ±1 from |u| = 7.9 on, which would
    // flatten the tail of the derivative's 1 - t² to 0 (dz at z = -5 is -2e-6); e^2u keeps it to float resolution.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ExpTanh(Vector128<float> u) => Vector128<float>.One - Vector128.Create(2f) / (FastExp.Exp(u + u) + Vector128<float>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpTanh(Vector256<float> u) => Vector256<float>.One - Vector256.Create(2f) / (FastExp.Exp(u + u) + Vector256<float>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpTanh(Vector512<float> u) => Vector512<float>.One - Vector512.Create(2f) / (FastExp.Exp(u + u) + Vector512<float>.One);
}

/// <summary>
/// Softmax over one sample's outputs, <c>y_j = e^(z_j - max z) / sum_k e^(z_k - max z)</c> (shifting by the
/// maximum keeps e^ finite); backward <c>dz_j = y_j (dy_j - sum_k dy_k y_k)</c>.
/// </summary>
public static class Softmax
{
    /// <summary>In place: <paramref name="values"/> holds z on entry and y on return.</summary>
    public static void Forward(Span<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values) max = MathF.Max(max, v);
        float sum = 0f;
        for (int i = 0; i < values.Length; i++)
        {
            float e = MathF.Exp(values[i] - max);
            values[i] = e;
            sum += e;
        }
        float scale = 1f / sum;
        for (int i = 0; i < values.Length; i++) values[i] *= scale;
    }

    /// <summary>In place: <paramref name="gradient"/> holds dy on entry and dz on return.</summary>
    public static void Backward(ReadOnlySpan<float> y, Span<float> gradient)
    {
        float dot = 0f;
        for (int i = 0; i < y.Length; i++) dot += gradient[i] * y[i];
        for (int i = 0; i < y.Length; i++) gradient[i] = y[i] * (gradient[i] - dot);
    }
}
