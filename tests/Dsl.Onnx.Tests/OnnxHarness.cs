using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Microsoft.ML.OnnxRuntime;

namespace Dsl.Onnx.Tests;

/// <summary>How far ONNX Runtime's output is from Dsl's: <c>max |Δ|</c>, and that over <c>max |y|</c> of Dsl's output.</summary>
public sealed record Deviation(double MaxAbs, double MaxOutput)
{
    /// <summary><c>max |Δ| / max |y|</c>: the error relative to the output's scale.</summary>
    public double Relative => MaxOutput > 0 ? MaxAbs / MaxOutput : MaxAbs;

    /// <summary>The checked quantity, <c>max |Δ| / (1 + max |y|)</c>.</summary>
    public double Scaled => MaxAbs / (1 + MaxOutput);
}

/// <summary>Creates the test networks with non-trivial weights and inputs, runs them through Dsl and ONNX Runtime, and compares.</summary>
public static class OnnxHarness
{
    /// <summary>Samples per run: more than one, so the batch dimension and the batched forward are exercised.</summary>
    public const int Batch = 3;

    /// <summary>
    /// Tolerance of <c>max |Δ| ≤ 1e-4 (1 + max |y|)</c>. Both sides compute in float32, but in different orders
    /// (Dsl's register-tiled FMA kernels, ONNX Runtime's MLAS kernels and its fused operators) and with different
    /// approximations of exp, tanh and erf; on these networks that gives 1e-7 to 1e-5 of the output's scale. A
    /// mapping error (a wrong layout, epsilon, padding, mask or missing bias) moves outputs by 1e-2 or more. The
    /// 1 + keeps outputs near zero (softmax tails, ReLU zeros) from needing an impossible relative accuracy.
    /// </summary>
    public const double Tolerance = 1e-4;

    /// <summary>Every network of the test assembly that exports, by class name.</summary>
    public static IReadOnlyList<string> NetworkNames { get; } = typeof(OnnxHarness).Assembly.GetTypes()
        .Where(t => t.IsDefined(typeof(NetworkAttribute), inherit: false) && t.Namespace == typeof(OnnxHarness).Namespace) // not the linked samples'
        .Select(t => t.Name)
        .OrderBy(n => n, StringComparer.Ordinal)
        .ToArray();

    /// <summary>The network of class <paramref name="name"/>, its tensors made non-trivial from <paramref name="seed"/>.</summary>
    public static INetwork Create(string name, int seed)
    {
        Type type = typeof(OnnxHarness).Assembly.GetType($"{typeof(OnnxHarness).Namespace}.{name}")
            ?? throw new ArgumentOutOfRangeException(nameof(name), name, "no such test network");
        var network = (INetwork)Activator.CreateInstance(type, seed)!;
        Randomise(network, seed);
        return network;
    }

    /// <summary>
    /// Gives every tensor that the initialiser sets to a constant a random value, so biases, norm scales and
    /// shifts, running statistics and gate biases all matter: zeros (biases, β, running means) become
    /// U(−0.5, 0.5), ones (γ, running variances) U(0.5, 1.5), gate biases U(−1.5, −0.5). Random weights stay.
    /// </summary>
    public static void Randomise(INetwork network, int seed)
    {
        var rng = new Rng(seed + 7919);
        Parameters p = network.Parameters;
        foreach (TensorInfo t in p.Tensors)
        {
            if (t.FileDType == TensorDType.I64) continue; // num_batches_tracked: a counter, not used by inference
            Span<float> v = p.Value(t);
            (float low, float high) = t.Init switch
            {
                TensorInit.Zeros => (-0.5f, 0.5f),
                TensorInit.Ones => (0.5f, 1.5f),
                TensorInit.MinusOnes => (-1.5f, -0.5f),
                _ => (0f, 0f),
            };
            if (low == high) continue;
            for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(low, high);
        }
    }

    /// <summary><see cref="Batch"/> samples: U(−1, 1), or integer token ids below the vocabulary for a network that starts with an embedding.</summary>
    public static float[] Inputs(INetwork network, int seed, int batch = Batch)
    {
        var rng = new Rng(seed);
        var x = new float[batch * network.InputSize];
        NetworkStep first = network.Steps[0];
        if (first.Kind == StepKind.Embedding)
        {
            int vocabulary = network.Parameters.Find(first.Tensors[0])!.Shape[0];
            for (int i = 0; i < x.Length; i++) x[i] = Math.Min(vocabulary - 1, (int)(rng.NextSingle() * vocabulary));
        }
        else
        {
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
        }
        return x;
    }

    /// <summary>Dsl's batched forward.</summary>
    public static float[] Forward(INetwork network, float[] input, int batch = Batch)
    {
        var y = new float[batch * network.OutputSize];
        network.Forward(input, y, batch);
        return y;
    }

    /// <summary>Session options of every run: CPU, one thread, every graph optimisation (constant folding, fusions).</summary>
    public static SessionOptions Options() => new()
    {
        IntraOpNumThreads = 1,
        InterOpNumThreads = 1,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    /// <summary>Runs <paramref name="session"/> on <paramref name="input"/> of <paramref name="batch"/> samples of the network's input shape.</summary>
    public static float[] Run(InferenceSession session, INetwork network, float[] input, int batch = Batch)
    {
        long[] shape = [batch, .. network.Steps[0].InputShape.Select(d => (long)d)];
        using OrtValue value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, [OnnxExport.InputName], [value], [OnnxExport.OutputName]);
        OrtValue output = outputs[0];
        long[] outputShape = output.GetTensorTypeAndShape().Shape;
        long[] expected = [batch, .. network.Steps[^1].OutputShape.Select(d => (long)d)];
        if (!outputShape.SequenceEqual(expected))
            throw new InvalidOperationException($"ONNX Runtime's output has shape [{string.Join(", ", outputShape)}], expected [{string.Join(", ", expected)}].");
        return output.GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Exports <paramref name="network"/>, runs the model through ONNX Runtime and returns its output.</summary>
    public static float[] RunExported(INetwork network, float[] input, int batch = Batch)
    {
        using SessionOptions options = Options();
        using var session = new InferenceSession(network.ToOnnx(), options);
        return Run(session, network, input, batch);
    }

    /// <summary>The deviation of <paramref name="actual"/> from <paramref name="expected"/>; NaN anywhere counts as infinite.</summary>
    public static Deviation Compare(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        if (expected.Length != actual.Length) throw new ArgumentException($"{actual.Length} values, expected {expected.Length}.");
        double maxAbs = 0, maxOutput = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            maxAbs = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(maxAbs, d);
            maxOutput = Math.Max(maxOutput, Math.Abs((double)expected[i]));
        }
        return new Deviation(maxAbs, maxOutput);
    }

    /// <summary>Exports network <paramref name="name"/> (seed 42) and compares ONNX Runtime's output with Dsl's on batch-3 inputs (seed 1234).</summary>
    public static (INetwork Network, Deviation Deviation) Check(string name)
    {
        INetwork network = Create(name, seed: 42);
        float[] input = Inputs(network, seed: 1234);
        float[] expected = Forward(network, input);
        float[] actual = RunExported(network, input);
        return (network, Compare(expected, actual));
    }

    /// <summary>
    /// The block kinds of a network as the deviation table groups them: the step kind, with the activation of
    /// dense, convolution and batch-norm steps, the variant of residual ends and causal attention or convolution.
    /// </summary>
    public static IEnumerable<string> BlockKinds(INetwork network)
    {
        foreach (NetworkStep s in network.Steps)
        {
            string activation = s.Activation == Activation.None ? "" : $", {s.Activation}";
            yield return s.Kind switch
            {
                StepKind.ResidualBegin => "",
                StepKind.ResidualShortcut => "Residual, convolution shortcut",
                StepKind.ResidualEnd => s.Gated ? "Residual, gated (highway)" : s.Projection ? "Residual, projection" : "Residual, identity",
                StepKind.Dense => $"Dense{(s.InputShape.Count == 2 ? " per token" : "")}{activation}",
                StepKind.Conv1D or StepKind.Conv2D => $"{s.Kind}{(s.Causal ? " causal" : "")}{(s.Groups > 1 ? " grouped" : "")}{(s.Dilation > 1 ? " dilated" : "")}{activation}",
                StepKind.BatchNorm1D or StepKind.BatchNorm2D => $"{s.Kind}{activation}",
                StepKind.MultiHeadSelfAttention => $"MultiHeadSelfAttention, {s.Heads} head{(s.Heads > 1 ? "s" : "")}{(s.Causal ? ", causal" : "")}{(s.Bias ? "" : ", no bias")}",
                StepKind.MixtureOfExperts => $"MixtureOfExperts, {(s.Gate == MixtureGate.TopKSoftmax ? "renormalised" : "Switch")} gates{(s.InputShape.Count == 2 ? ", per token" : "")}",
                StepKind.GlobalAvgPool => s.InputShape.Count == 3 ? "GlobalAvgPool, image" : s.OutputShape[0] == s.InputShape[0] ? "GlobalAvgPool, sequence" : "GlobalAvgPool, tokens",
                _ => s.Kind.ToString(),
            };
        }
    }
}
