using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// Inverted dropout, called by generated code: <c>y = x · keep / (1 − p)</c> in training, the same mask and
/// scale on the gradient in backward. Activations are <c>batch</c> rows of <c>features</c> floats; row s is
/// the global sample <c>firstSample + s</c>.
/// <para>
/// The mask is a counter-based hash, not a random stream, so it is a pure function of
/// (seed, step, layer, sample, element): identical on every SIMD path (integer arithmetic only; no float takes
/// part in the decision), the same for a row whichever thread or batch split computes it, and replayed by
/// backward without being stored. The definition (<see cref="Keeps"/>):
/// </para>
/// <list type="number">
/// <item>Row key: with <c>mix64</c> the SplitMix64 finaliser
/// <c>z = (z ^ z≫30)·0xBF58476D1CE4E5B9; z = (z ^ z≫27)·0x94D049BB133111EB; z ^ z≫31</c> and
/// <c>γ = 0x9E3779B97F4A7C15</c>, fold the four words (two's complement, 64-bit) in order:
/// <c>k = mix64(seed + γ)</c>, then <c>k = mix64((k ^ w) + γ)</c> for w = step, layer, sample; the key is the
/// high half, <c>rowKey = (uint)(k ≫ 32)</c>. The +γ keeps zero words from meeting mix64's fixed point 0.</item>
/// <item>Element hash: <c>h = triple32(rowKey ^ element·0x9E3779B9)</c> (32-bit wrapping multiply), with
/// Chris Wellons' triple32 <c>x ^= x≫17; x *= 0xED5AD4BB; x ^= x≫11; x *= 0xAC4C1B51; x ^= x≫15;
/// x *= 0x31848BAB; x ^= x≫14</c>, a bijection of 32 bits with the lowest measured bias in his search.</item>
/// <item>Keep iff <c>h ≥ threshold</c>, <c>threshold = (uint)round(p · 2³²)</c> (exact in double, rounding half
/// to even). A float p &lt; 1 is at most 1 − 2⁻²⁴, so the threshold is at most 2³² − 2⁸ and never overflows; p = 0
/// gives 0 and keeps everything. The keep probability is <c>1 − threshold / 2³²</c>, within 2⁻³³ of 1 − p.</item>
/// </list>
/// Kept values are multiplied by <c>scale = 1f / (1f − p)</c> computed in float; dropped values become +0, even
/// a NaN or an infinity (PyTorch multiplies by a 0 mask and would keep the NaN).
/// </summary>
public static class DropoutKernels
{
    private const ulong Golden64 = 0x9E3779B97F4A7C15UL;

    // Odd, so element·Golden32 is a bijection of the 32-bit element indices: no two elements of a row share an input.
    private const uint Golden32 = 0x9E3779B9u;

    /// <summary>
    /// Training forward: <c>y[s, i] = keep(s, i) ? x[s, i] · (1f / (1f − p)) : 0</c> for <paramref name="batch"/>
    /// rows of <paramref name="features"/> values, row s keyed as sample <c>firstSample + s</c>. Only the first
    /// <c>batch · features</c> floats of each span are touched. <paramref name="y"/> may be <paramref name="x"/>
    /// (in place). p = 0 copies x to y.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1), or <paramref name="batch"/> or <paramref name="features"/> is negative.</exception>
    /// <exception cref="ArgumentException">A span holds fewer than <c>batch · features</c> floats, or <paramref name="y"/> overlaps <paramref name="x"/> partially.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, int features, float p, ulong seed, long step, int layer, long firstSample)
    {
        int total = CheckShape(batch, features, p);
        CheckLength(x.Length, total, nameof(x));
        CheckLength(y.Length, total, nameof(y));
        x = x[..total];
        y = y[..total];
        BatchNormKernels.CheckInPlace(x, y, nameof(y));
        if (p == 0f)
        {
            x.CopyTo(y); // a no-op copy onto itself when in place
            return;
        }

        uint threshold = Threshold(p);
        float scale = 1f / (1f - p);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int s = 0; s < batch; s++)
        {
            nuint at = (nuint)s * (nuint)features;
            Apply(ref Unsafe.Add(ref xr, at), ref Unsafe.Add(ref yr, at), (nuint)features,
                RowKey(seed, step, layer, unchecked(firstSample + s)), threshold, scale);
        }
    }

    /// <summary>
    /// Backward, in place: <c>gradient[s, i] = keep(s, i) ? gradient[s, i] · (1f / (1f − p)) : 0</c> with the
    /// mask <see cref="Forward"/> used for the same keys. Dropout is linear in x for a fixed mask, so this is
    /// also dL/dx. Only the first <c>batch · features</c> floats are touched; p = 0 leaves the gradient as is.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1), or <paramref name="batch"/> or <paramref name="features"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradient"/> holds fewer than <c>batch · features</c> floats.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(Span<float> gradient, int batch, int features, float p, ulong seed, long step, int layer, long firstSample)
    {
        int total = CheckShape(batch, features, p);
        CheckLength(gradient.Length, total, nameof(gradient));
        if (p == 0f) return;

        uint threshold = Threshold(p);
        float scale = 1f / (1f - p);
        ref float gr = ref MemoryMarshal.GetReference(gradient);
        for (int s = 0; s < batch; s++)
        {
            ref float row = ref Unsafe.Add(ref gr, (nuint)s * (nuint)features);
            Apply(ref row, ref row, (nuint)features, RowKey(seed, step, layer, unchecked(firstSample + s)), threshold, scale);
        }
    }

    /// <summary>
    /// The mask's scalar definition (see <see cref="DropoutKernels"/>): whether element <paramref name="element"/>
    /// of sample <paramref name="sample"/> is kept by layer <paramref name="layer"/> at <paramref name="step"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1), or <paramref name="element"/> is negative.</exception>
    public static bool Keeps(float p, ulong seed, long step, int layer, long sample, int element)
    {
        CheckProbability(p);
        ArgumentOutOfRangeException.ThrowIfNegative(element);
        return Hash(RowKey(seed, step, layer, sample) ^ (uint)element * Golden32) >= Threshold(p);
    }

    /// <summary><c>y = keep ? x · scale : 0</c> over one row of <paramref name="n"/> floats; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply(ref float x, ref float y, nuint n, uint key, uint threshold, float scale)
    {
        // Each rung hashes lanes i..i+width−1 from salt = (i + lane)·Golden32, which is what the scalar loop
        // computes for the same element, so the paths agree bit for bit. The ladder goes down one step at a time
        // (then at most 3 scalar elements) rather than ending with an overlapping vector, which in place would
        // scale some values twice.
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<uint> k = Vector512.Create(key), t = Vector512.Create(threshold);
            Vector512<uint> salt = Vector512<uint>.Indices * Golden32, stride = Vector512.Create(unchecked(16u * Golden32));
            Vector512<float> s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16, salt += stride)
            {
                Vector512<uint> keep = Vector512.GreaterThanOrEqual(Hash(k ^ salt), t);
                Vector512.ConditionalSelect(keep.AsSingle(), Vector512.LoadUnsafe(ref x, i) * s, Vector512<float>.Zero).StoreUnsafe(ref y, i);
            }
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<uint> k = Vector256.Create(key), t = Vector256.Create(threshold);
            Vector256<uint> salt = (Vector256.Create((uint)i) + Vector256<uint>.Indices) * Golden32, stride = Vector256.Create(unchecked(8u * Golden32));
            Vector256<float> s = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8, salt += stride)
            {
                Vector256<uint> keep = Vector256.GreaterThanOrEqual(Hash(k ^ salt), t);
                Vector256.ConditionalSelect(keep.AsSingle(), Vector256.LoadUnsafe(ref x, i) * s, Vector256<float>.Zero).StoreUnsafe(ref y, i);
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<uint> k = Vector128.Create(key), t = Vector128.Create(threshold);
            Vector128<uint> salt = (Vector128.Create((uint)i) + Vector128<uint>.Indices) * Golden32, stride = Vector128.Create(unchecked(4u * Golden32));
            Vector128<float> s = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4, salt += stride)
            {
                Vector128<uint> keep = Vector128.GreaterThanOrEqual(Hash(k ^ salt), t);
                Vector128.ConditionalSelect(keep.AsSingle(), Vector128.LoadUnsafe(ref x, i) * s, Vector128<float>.Zero).StoreUnsafe(ref y, i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref y, i) = Hash(key ^ (uint)i * Golden32) >= threshold ? Unsafe.Add(ref x, i) * scale : 0f;
    }

    /// <summary>The row key: <c>mix64</c> folded over seed, step, layer and sample, high 32 bits.</summary>
    internal static uint RowKey(ulong seed, long step, int layer, long sample)
    {
        ulong k = Mix64(unchecked(seed + Golden64));
        k = Mix64(unchecked((k ^ (ulong)step) + Golden64));
        k = Mix64(unchecked((k ^ (ulong)(long)layer) + Golden64));
        k = Mix64(unchecked((k ^ (ulong)sample) + Golden64));
        return (uint)(k >> 32);
    }

    /// <summary><c>(uint)round(p · 2³²)</c>: keep iff the hash is at least this.</summary>
    internal static uint Threshold(float p) => (uint)Math.Round(p * 4294967296.0, MidpointRounding.ToEven);

    /// <summary>SplitMix64's output function (Stafford's mix 13).</summary>
    private static ulong Mix64(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    // triple32 (Chris Wellons, hash-prospector): one spelling per width, the same operations in the same order.

    private static uint Hash(uint x)
    {
        x ^= x >> 17;
        x = unchecked(x * 0xED5AD4BBu);
        x ^= x >> 11;
        x = unchecked(x * 0xAC4C1B51u);
        x ^= x >> 15;
        x = unchecked(x * 0x31848BABu);
        return x ^ (x >> 14);
    }

    private static Vector128<uint> Hash(Vector128<uint> x)
    {
        x ^= Vector128.ShiftRightLogical(x, 17);
        x *= 0xED5AD4BBu;
        x ^= Vector128.ShiftRightLogical(x, 11);
        x *= 0xAC4C1B51u;
        x ^= Vector128.ShiftRightLogical(x, 15);
        x *= 0x31848BABu;
        return x ^ Vector128.ShiftRightLogical(x, 14);
    }

    private static Vector256<uint> Hash(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 17);
        x *= 0xED5AD4BBu;
        x ^= Vector256.ShiftRightLogical(x, 11);
        x *= 0xAC4C1B51u;
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= 0x31848BABu;
        return x ^ Vector256.ShiftRightLogical(x, 14);
    }

    private static Vector512<uint> Hash(Vector512<uint> x)
    {
        x ^= Vector512.ShiftRightLogical(x, 17);
        x *= 0xED5AD4BBu;
        x ^= Vector512.ShiftRightLogical(x, 11);
        x *= 0xAC4C1B51u;
        x ^= Vector512.ShiftRightLogical(x, 15);
        x *= 0x31848BABu;
        return x ^ Vector512.ShiftRightLogical(x, 14);
    }

    private static int CheckShape(int batch, int features, float p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(features);
        CheckProbability(p);
        long total = (long)batch * features;
        if (total > int.MaxValue) throw new ArgumentException($"{batch} × {features} floats exceed a span.", nameof(features));
        return (int)total;
    }

    private static void CheckProbability(float p)
    {
        // Written so that NaN fails too; p = 1 would drop everything and scale by 1/0.
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1).");
    }

    private static void CheckLength(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} must hold at least {needed} floats (batch × features), but holds {actual}.", name);
    }
}
