using System;

namespace Dsl;

/// <summary>
/// Small deterministic random generator (SplitMix64): the same seed gives the same stream on every machine
/// and .NET version, which <see cref="Random"/> does not promise.
/// </summary>
public sealed class Rng
{
    private ulong _state;

    /// <summary>Starts a stream from <paramref name="seed"/>.</summary>
    public Rng(long seed) => _state = unchecked((ulong)seed);

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = unchecked(_state += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [low, high).</summary>
    public float NextSingle(float low, float high) => low + (high - low) * NextSingle();

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)((NextUInt64() >> 32) * (ulong)maxExclusive >> 32);
    }

    /// <summary>Standard normal sample (Box-Muller).</summary>
    public float NextGaussian()
    {
        double u1 = 1.0 - (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        double u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
