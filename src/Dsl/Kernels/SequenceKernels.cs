using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Element-wise pieces of residual connections and token sequences, called by generated code: sums, the
/// highway gate, mean over tokens. The sum and the scaling are also what the embedding and attention kernels
/// use for their rows.
/// </summary>
public static class SequenceKernels
{
    /// <summary><c>y = a + b</c>. <paramref name="y"/> may be <paramref name="a"/> or <paramref name="b"/>.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Check(a.Length, b.Length, nameof(b));
        Check(a.Length, y.Length, nameof(y));
        Add(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), ref MemoryMarshal.GetReference(y), (nuint)a.Length);
    }

    /// <summary><c>y += a</c>.</summary>
    public static void AddInPlace(Span<float> y, ReadOnlySpan<float> a) => Add(y, a, y);

    /// <summary><c>sum += Σ_s dy[s]</c> over <paramref name="batch"/> rows of <c>sum.Length</c> values (a gradient shared by every sample).</summary>
    public static void SumSamples(ReadOnlySpan<float> dy, int batch, Span<float> sum)
    {
        Check(batch * sum.Length, dy.Length, nameof(dy));
        for (int s = 0; s < batch; s++) AddInPlace(sum, dy.Slice(s * sum.Length, sum.Length));
    }

    /// <summary><c>y[d] = (1/L) Σ_t x[t, d]</c> over <paramref name="length"/> tokens of <paramref name="features"/> values.</summary>
    public static void MeanTokens(ReadOnlySpan<float> x, Span<float> y, int length, int features)
    {
        Check(length * features, x.Length, nameof(x));
        Check(features, y.Length, nameof(y));
        y.Clear();
        for (int t = 0; t < length; t++) AddInPlace(y, x.Slice(t * features, features));
        Scale(ref MemoryMarshal.GetReference(y), (nuint)features, 1f / length);
    }

    /// <summary><c>dx[t, d] = dy[d] / L</c> for every token.</summary>
    public static void MeanTokensBackward(ReadOnlySpan<float> dy, Span<float> dx, int length, int features)
    {
        Check(features, dy.Length, nameof(dy));
        Check(length * features, dx.Length, nameof(dx));
        for (int t = 0; t < length; t++)
        {
            Span<float> row = dx.Slice(t * features, features);
            dy.CopyTo(row);
            Scale(ref MemoryMarshal.GetReference(row), (nuint)features, 1f / length);
        }
    }

    /// <summary>Highway: <c>y = t f + (1 − t) x = x + t (f − x)</c> with the gate <paramref name="gate"/> already through its sigmoid.</summary>
    public static void Highway(ReadOnlySpan<float> x, ReadOnlySpan<float> f, ReadOnlySpan<float> gate, Span<float> y)
    {
        Check(x.Length, f.Length, nameof(f));
        Check(x.Length, gate.Length, nameof(gate));
        Check(x.Length, y.Length, nameof(y));
        for (int i = 0; i < x.Length; i++) y[i] = x[i] + gate[i] * (f[i] - x[i]);
    }

    /// <summary>The gate's pre-activation gradient: <c>dA = dy (f − x) t (1 − t)</c>.</summary>
    public static void HighwayGateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> f, ReadOnlySpan<float> gate, ReadOnlySpan<float> dy, Span<float> gateGradient)
    {
        Check(x.Length, f.Length, nameof(f));
        Check(x.Length, gate.Length, nameof(gate));
        Check(x.Length, dy.Length, nameof(dy));
        Check(x.Length, gateGradient.Length, nameof(gateGradient));
        for (int i = 0; i < x.Length; i++) gateGradient[i] = dy[i] * (f[i] - x[i]) * gate[i] * (1f - gate[i]);
    }

    /// <summary>The carry path and the branch: <c>skipGradient += (1 − t) dy</c>, then <c>dy = t dy</c> (dL/dF) in place.</summary>
    public static void HighwayCarry(ReadOnlySpan<float> gate, Span<float> dy, Span<float> skipGradient)
    {
        Check(gate.Length, dy.Length, nameof(dy));
        Check(gate.Length, skipGradient.Length, nameof(skipGradient));
        for (int i = 0; i < gate.Length; i++)
        {
            skipGradient[i] += (1f - gate[i]) * dy[i];
            dy[i] *= gate[i];
        }
    }

    /// <summary>
    /// The highway mix's backward when its gate <paramref name="gate"/> = T is a step of its own (a 1×1 convolution
    /// with a sigmoid, whose backward applies the sigmoid's derivative): <c>dF = T dy</c>, the carry
    /// <c>dx = (1 − T) dy</c>, then <c>dy = dy (F − x)</c> (dL/dT) in place.
    /// </summary>
    public static void HighwaySplit(ReadOnlySpan<float> x, ReadOnlySpan<float> f, ReadOnlySpan<float> gate, Span<float> dy, Span<float> branchGradient, Span<float> carryGradient)
    {
        Check(x.Length, f.Length, nameof(f));
        Check(x.Length, gate.Length, nameof(gate));
        Check(x.Length, dy.Length, nameof(dy));
        Check(x.Length, branchGradient.Length, nameof(branchGradient));
        Check(x.Length, carryGradient.Length, nameof(carryGradient));
        for (int i = 0; i < x.Length; i++)
        {
            float g = dy[i];
            branchGradient[i] = gate[i] * g;
            carryGradient[i] = (1f - gate[i]) * g;
            dy[i] = g * (f[i] - x[i]);
        }
    }

    /// <summary><c>y = a + b</c> over <paramref name="n"/> floats; <paramref name="y"/> may be either input.</summary>
    internal static void Add(ref float a, ref float b, ref float y, nuint n)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref a, i) + Vector512.LoadUnsafe(ref b, i)).StoreUnsafe(ref y, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref a, i) + Vector256.LoadUnsafe(ref b, i)).StoreUnsafe(ref y, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref a, i) + Vector128.LoadUnsafe(ref b, i)).StoreUnsafe(ref y, i);
        for (; i < n; i++) Unsafe.Add(ref y, i) = Unsafe.Add(ref a, i) + Unsafe.Add(ref b, i);
    }

    /// <summary>In place <c>x *= factor</c> over <paramref name="n"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Scale(ref float x, nuint n, float factor) => Scale(ref x, ref x, n, factor);

    /// <summary>
    /// <c>y = x·factor</c> over <paramref name="n"/> floats; in place when <paramref name="y"/> is <paramref name="x"/>,
    /// and a copy with factor 1 (a multiply by 1 is exact).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Scale(ref float x, ref float y, nuint n, float factor)
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (var f = Vector512.Create(factor); i + 16 <= n; i += 16) (Vector512.LoadUnsafe(ref x, i) * f).StoreUnsafe(ref y, i);
        if (Vector256.IsHardwareAccelerated)
            for (var f = Vector256.Create(factor); i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref x, i) * f).StoreUnsafe(ref y, i);
        if (Vector128.IsHardwareAccelerated)
            for (var f = Vector128.Create(factor); i + 4 <= n; i += 4) (Vector128.LoadUnsafe(ref x, i) * f).StoreUnsafe(ref y, i);
        for (; i < n; i++) Unsafe.Add(ref y, i) = Unsafe.Add(ref x, i) * factor;
    }

    private static void Check(int expected, int actual, string name)
    {
        if (expected != actual) throw new ArgumentException($"{name} has {actual} values; expected {expected}.", name);
    }
}
