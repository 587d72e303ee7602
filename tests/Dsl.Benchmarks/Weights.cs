using System;
using System.Collections.Generic;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>One dense layer in PyTorch's layout: <c>Weight[o * Inputs + i]</c> is <c>weight[o, i]</c>.</summary>
public sealed record MlpLayer(int Inputs, int Units, Activation Activation, float[] Weight, float[] Bias);

/// <summary>Copies a Dsl network's layers out for the peers, and gives every case the same fixed-seed data.</summary>
public static class Weights
{
    /// <summary>The layers of <paramref name="layers"/>, weights transposed back to [out, in] through <see cref="Dense.GetWeight"/>.</summary>
    public static MlpLayer[] Export(IReadOnlyList<Dense> layers)
    {
        var result = new MlpLayer[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            Dense d = layers[l];
            var weight = new float[d.Units * d.Inputs];
            for (int o = 0; o < d.Units; o++)
                for (int i = 0; i < d.Inputs; i++)
                    weight[o * d.Inputs + i] = d.GetWeight(o, i);
            var bias = new float[d.Units];
            d.Bias.CopyTo(bias);
            result[l] = new MlpLayer(d.Inputs, d.Units, d.Activation, weight, bias);
        }
        return result;
    }

    /// <summary>
    /// Initialises <paramref name="network"/> from <paramref name="seed"/>, then moves every trainable tensor the
    /// initialiser sets to a constant off it: biases (zeros) to U(-0.1, 0.1), norm scales (ones) to 1 + U(-0.1, 0.1).
    /// Constant tensors would leave their handling untested by the peer checks.
    /// </summary>
    public static void Prepare(INetwork network, int seed)
    {
        Parameters parameters = network.Parameters;
        parameters.Initialize(seed);
        var rng = new Rng(seed + 1000);
        foreach (TensorInfo t in parameters.Tensors)
        {
            if (t.Kind != TensorKind.Parameter) continue;
            float offset = t.Init switch { TensorInit.Zeros => 0f, TensorInit.Ones => 1f, _ => float.NaN };
            if (float.IsNaN(offset)) continue;
            Span<float> v = parameters.Value(t);
            for (int j = 0; j < v.Length; j++) v[j] = offset + rng.NextSingle(-0.1f, 0.1f);
        }
    }

    /// <summary><paramref name="count"/> inputs uniform in [0, 1) (pixel-like), from <paramref name="seed"/>.</summary>
    public static float[] Inputs(int count, int seed)
    {
        var rng = new Rng(seed);
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle();
        return x;
    }
}

/// <summary>Output comparisons run before timing.</summary>
public static class Agreement
{
    /// <summary>Relative tolerance of the peer checks.</summary>
    public const float Tolerance = 1e-4f;

    /// <summary>
    /// Throws unless every <c>|actual_j - expected_j| &lt;= 1e-4 * max(|expected_j|, 1)</c>: relative, with an
    /// absolute floor of 1e-4 below magnitude 1 (near-zero outputs have no meaningful relative error).
    /// Returns the largest scaled error.
    /// </summary>
    public static float Check(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: {actual.Length} outputs, expected {expected.Length}.");
        float worst = 0f;
        for (int j = 0; j < expected.Length; j++)
        {
            float scaled = MathF.Abs(actual[j] - expected[j]) / MathF.Max(MathF.Abs(expected[j]), 1f);
            if (!(scaled <= Tolerance))
                throw new InvalidOperationException(
                    $"{what}: output {j} is {actual[j]:R}, Dsl gives {expected[j]:R} (scaled error {scaled:E2} > {Tolerance:E0}).");
            worst = MathF.Max(worst, scaled);
        }
        return worst;
    }

    /// <summary>
    /// Throws unless every <c>|actual_j - expected_j| &lt;= 1e-4 * max_k |expected_k|</c>: relative to the
    /// tensor's largest magnitude, for gradients, whose entries span many orders of magnitude. Returns the largest scaled error.
    /// </summary>
    public static float CheckScaled(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: {actual.Length} values, expected {expected.Length}.");
        float scale = 0f;
        foreach (float e in expected) scale = MathF.Max(scale, MathF.Abs(e));
        if (!(scale > 0f)) throw new InvalidOperationException($"{what}: Dsl's values are all zero or not finite.");
        float worst = 0f;
        for (int j = 0; j < expected.Length; j++)
        {
            float scaled = MathF.Abs(actual[j] - expected[j]) / scale;
            if (!(scaled <= Tolerance))
                throw new InvalidOperationException(
                    $"{what}: value {j} is {actual[j]:R}, Dsl gives {expected[j]:R} (error {scaled:E2} of the largest magnitude {scale:E2} > {Tolerance:E0}).");
            worst = MathF.Max(worst, scaled);
        }
        return worst;
    }
}
