using System;
using System.Runtime.InteropServices;
using Dsl.Tests.Networks;

namespace Dsl.Tests.Reliability;

/// <summary>The networks the reliability tests run on, and helpers to fill and compare their tensors bit for bit.</summary>
internal static class ReliabilityNetworks
{
    /// <summary>A dense net, a conv net with a folded batch norm (running statistics and the I64 <c>num_batches_tracked</c>), a small ViT.</summary>
    public static readonly string[] Kinds = ["dense", "conv", "transformer"];

    public static INetwork Create(string kind, int seed) => kind switch
    {
        "dense" => new TinyMlp(seed),
        "conv" => new ConvNet(seed),
        "transformer" => new TinyVit(seed),
        "cnn" => new SmallCnn(seed),
        "moe" => new ClassifierMixtureNet(seed),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown network kind."),
    };

    /// <summary>
    /// Gives every tensor distinct seeded values: weights and biases in [-0.5, 0.5), running means in [-0.5, 0.5),
    /// running variances in [0.5, 1.5), integer buffers (num_batches_tracked) 1000 + seed. Zeros and ones would hide
    /// a load that skips or misplaces a tensor.
    /// </summary>
    public static void Randomize(Parameters parameters, int seed)
    {
        var rng = new Rng(seed);
        foreach (TensorInfo t in parameters.Tensors)
        {
            Span<float> v = parameters.Value(t);
            if (t.FileDType == TensorDType.I64)
            {
                v.Fill(1000 + seed);
                continue;
            }
            float low = t.Name.EndsWith("running_var", StringComparison.Ordinal) ? 0.5f : -0.5f;
            for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(low, low + 1f);
        }
    }

    /// <summary>The raw bits of the parameter values and of the buffers, padding included.</summary>
    public static (int[] Values, int[] Buffers) Bits(Parameters parameters) =>
        (MemoryMarshal.Cast<float, int>(parameters.Values).ToArray(), MemoryMarshal.Cast<float, int>(parameters.Buffers).ToArray());

    public static bool BitsEqual(ReadOnlySpan<float> actual, ReadOnlySpan<int> expected) =>
        MemoryMarshal.Cast<float, int>(actual).SequenceEqual(expected);

    /// <summary>Index of the first element whose bits differ, or -1.</summary>
    public static int FirstDifference(ReadOnlySpan<float> actual, ReadOnlySpan<int> expected)
    {
        ReadOnlySpan<int> bits = MemoryMarshal.Cast<float, int>(actual);
        if (bits.Length != expected.Length) return Math.Min(bits.Length, expected.Length);
        for (int i = 0; i < bits.Length; i++)
            if (bits[i] != expected[i]) return i;
        return -1;
    }

    /// <summary>True when the process runs without SIMD (CI's <c>DOTNET_EnableHWIntrinsic=0</c> leg), where kernels are several times slower.</summary>
    public static bool ScalarOnly => Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0" || !System.Numerics.Vector.IsHardwareAccelerated;
}
