using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl;

/// <summary>
/// bfloat16 as a <see cref="ushort"/>: the high 16 bits of an IEEE float (sign, 8 exponent bits, 7 mantissa bits).
/// Widening is exact (the low 16 bits become zero); narrowing rounds to nearest, ties to even, as PyTorch's
/// <c>tensor.to(torch.bfloat16)</c>: values past the largest bfloat16 (3.39e38) by half an ulp or more become
/// infinity, subnormals round like any other value, and a NaN stays a NaN (made quiet, its sign kept).
/// </summary>
public static class BFloat16
{
    /// <summary>The bfloat16 nearest <paramref name="value"/>, ties to even; NaN gives a quiet NaN.</summary>
    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The float <paramref name="value"/> stands for (exact).</summary>
    public static float Widen(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    /// <summary><paramref name="value"/> rounded to bfloat16 and back: the float a bfloat16 weight stands for.</summary>
    public static float RoundTrip(float value) => Widen(Round(value));

    /// <summary><see cref="Round(float)"/> of each value of <paramref name="source"/> into <paramref name="destination"/>, vectorised.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void Round(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException($"The destination holds {destination.Length} values; the source has {source.Length}.", nameof(destination));
        ref uint s = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
        ref ushort d = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                Vector256.StoreUnsafe(Vector256.Narrow(Round(Vector256.LoadUnsafe(ref s, i)), Round(Vector256.LoadUnsafe(ref s, i + 8))), ref d, i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                Vector128.StoreUnsafe(Vector128.Narrow(Round(Vector128.LoadUnsafe(ref s, i)), Round(Vector128.LoadUnsafe(ref s, i + 4))), ref d, i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = Round(BitConverter.UInt32BitsToSingle(Unsafe.Add(ref s, i)));
    }

    /// <summary><see cref="Widen(ushort)"/> of each value of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException($"The destination holds {destination.Length} values; the source has {source.Length}.", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = Widen(source[i]);
    }

    // The rounding of Round(float) on a vector of float bits, each lane's result in its low 16 bits (Narrow drops the rest).
    private static Vector256<uint> Round(Vector256<uint> bits)
    {
        Vector256<uint> rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        Vector256<uint> nan = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(nan, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }

    private static Vector128<uint> Round(Vector128<uint> bits)
    {
        Vector128<uint> rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
        Vector128<uint> nan = Vector128.GreaterThan(bits & Vector128.Create(0x7FFF_FFFFu), Vector128.Create(0x7F80_0000u));
        return Vector128.ConditionalSelect(nan, (bits >> 16) | Vector128.Create(0x40u), rounded);
    }
}
