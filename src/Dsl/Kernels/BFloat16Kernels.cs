using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// bfloat16 weights (<see cref="WeightType.BFloat16"/>) for the forward kernels: the widening loads the generated
/// kernels spell through the generator's <c>Isa</c>, one per rung, and the forward of machines without AVX2.
/// A bfloat16 is a float's high half, so widening is a zero-extension to 32 bits and a shift left by 16.
/// </summary>
public static class BFloat16Kernels
{
    /// <summary>16 bfloat16 at <paramref name="source"/> + <paramref name="offset"/> as floats (AVX-512: vpmovzxwd from memory, vpslld).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(ref ushort source, nuint offset)
    {
        Vector256<ushort> half = Vector256.LoadUnsafe(ref source, offset);
        Vector512<uint> wide = Avx512F.IsSupported
            ? Avx512F.ConvertToVector512UInt32(half)
            : Vector512.WidenLower(half.ToVector512Unsafe());
        return (wide << 16).AsSingle();
    }

    /// <summary>8 bfloat16 at <paramref name="source"/> + <paramref name="offset"/> as floats (AVX2: vpmovzxwd from memory, vpslld).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(ref ushort source, nuint offset)
    {
        Vector128<ushort> half = Vector128.LoadUnsafe(ref source, offset);
        Vector256<uint> wide = Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(half).AsUInt32()
            : Vector256.WidenLower(half.ToVector256Unsafe());
        return (wide << 16).AsSingle();
    }

    /// <summary>4 bfloat16 at <paramref name="source"/> + <paramref name="offset"/> as floats, reading those 8 bytes only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load128(ref ushort source, nuint offset)
    {
        ulong four = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref source, offset)));
        return (Vector128.WidenLower(Vector128.CreateScalarUnsafe(four).AsUInt16()) << 16).AsSingle();
    }

    /// <summary>The bfloat16 at <paramref name="source"/> + <paramref name="offset"/> as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref ushort source, nuint offset) => BFloat16.Widen(Unsafe.Add(ref source, offset));

    /// <summary>
    /// <c>y[r, :] = act(b + x[r, :] W)</c> for <paramref name="rows"/> rows with W and b in bfloat16, for machines without
    /// AVX2: four outputs at a time in a Vector128 (one chain per output, inputs in order), the rest scalar. Correct
    /// rather than fast; every row takes the same path, so a batched row equals batch 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TShape, TActivation>(ref float x, ref ushort w, ref ushort b, ref float y, nuint rows)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        for (nuint s = 0; s < rows; s++)
        {
            ref float xs = ref Unsafe.Add(ref x, s * inputs);
            ref float ys = ref Unsafe.Add(ref y, s * outputs);
            nuint o = 0;
            if (Vector128.IsHardwareAccelerated)
                for (; o + 4 <= outputs; o += 4)
                {
                    Vector128<float> acc = TShape.Bias ? Load128(ref b, o) : Vector128<float>.Zero;
                    for (nuint i = 0; i < inputs; i++)
                        acc = Vector128.MultiplyAddEstimate(Load128(ref w, i * outputs + o), Vector128.Create(Unsafe.Add(ref xs, i)), acc);
                    Vector128.StoreUnsafe(TActivation.Invoke(acc), ref ys, o);
                }
            for (; o < outputs; o++)
            {
                float acc = TShape.Bias ? Load(ref b, o) : 0f;
                for (nuint i = 0; i < inputs; i++) acc = Unsafe.Add(ref xs, i) * Load(ref w, i * outputs + o) + acc;
                Unsafe.Add(ref ys, o) = TActivation.Invoke(acc);
            }
        }
    }
}
