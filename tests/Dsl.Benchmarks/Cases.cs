using System;
using System.Collections.Generic;
using System.Reflection;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>Where the weights a call reads live, which picks the bandwidth of the case's roofline bound.</summary>
public enum WeightLevel
{
    /// <summary>Small enough for L1: no bandwidth term (the suite has no L1 probe); the bound is FLOPs / peak.</summary>
    L1,
    /// <summary>In the 1 MB L2: the 256 KB read probe's bandwidth.</summary>
    L2,
    /// <summary>Larger than L2, in L3: the 8 MB read probe's bandwidth.</summary>
    L3,
}

/// <summary>What the performance issue asks of a case's Dsl method (on top of allocating nothing).</summary>
public enum TargetKind
{
    /// <summary>ONNX Runtime's mean divided by Dsl's is at least the target value.</summary>
    FasterThanOnnxRuntime,
    /// <summary>The roofline bound divided by Dsl's mean is at least the target value.</summary>
    OfRoofline,
    /// <summary>The compute bound (FLOPs / measured peak) divided by Dsl's mean is at least the target value.</summary>
    OfPeak,
}

/// <summary>
/// Marks a benchmark class as one case of the performance issue, with the counts its report row is computed
/// from. <see cref="Flops"/> counts 2 x the multiply-adds of the matrix products, convolutions and attention
/// products of one call (activations, norms, softmax, bias adds and the optimiser are not counted);
/// <see cref="WeightBytes"/> is 4 x the parameter count, the bytes of fp32 weights and biases a call reads
/// (once, at batch 1). The benchmark setups check both against the network they build
/// (<see cref="CaseCounts.Check"/>), so a constant here cannot drift from the network.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CaseAttribute : Attribute
{
    /// <summary>Marks case <paramref name="id"/> (T, A, ... F) on <paramref name="network"/>.</summary>
    public CaseAttribute(string id, string network)
    {
        Id = id;
        Network = network;
    }

    /// <summary>The case letter.</summary>
    public string Id { get; }

    /// <summary>What runs, in words: network and batch.</summary>
    public string Network { get; }

    /// <summary>Floating-point operations of one call: 2 x multiply-adds of the products (see the class summary).</summary>
    public long Flops { get; set; }

    /// <summary>Bytes of fp32 parameters one call reads: 4 x the parameter count.</summary>
    public long WeightBytes { get; set; }

    /// <summary>The cache level the weights live in.</summary>
    public WeightLevel WeightsIn { get; set; }

    /// <summary>The kind of target the issue sets.</summary>
    public TargetKind Target { get; set; }

    /// <summary>The target's value: a speed-up over ONNX Runtime, or a fraction of the roofline bound or of peak.</summary>
    public double TargetValue { get; set; }

    /// <summary>The target in words, for the report.</summary>
    public string TargetText => Target switch
    {
        TargetKind.FasterThanOnnxRuntime => $">= {TargetValue:0.##}x faster than ORT",
        TargetKind.OfRoofline => $">= {CaseReport.Percent(TargetValue)} of roofline",
        TargetKind.OfPeak => $">= {CaseReport.Percent(TargetValue)} of peak",
        _ => "?",
    };

    /// <summary>The case attribute of <paramref name="type"/>, if it is a case.</summary>
    public static CaseAttribute? Of(Type type) => type.GetCustomAttribute<CaseAttribute>(inherit: false);
}

/// <summary>Counts of a network's work from its <see cref="INetwork.Steps"/>, to check the constants of <see cref="CaseAttribute"/>.</summary>
public static class CaseCounts
{
    /// <summary>
    /// 2 x multiply-adds of one sample's dense layers, convolutions and attention (the Q/K/V and output
    /// projections and the two L x L products). Other steps count 0.
    /// </summary>
    public static long MatrixFlops(INetwork network)
    {
        long flops = 0;
        foreach (NetworkStep step in network.Steps)
        {
            IReadOnlyList<int> i = step.InputShape, o = step.OutputShape;
            switch (step.Kind)
            {
                case StepKind.Dense:
                    flops += 2L * Product(i) * o[^1];
                    break;
                case StepKind.Conv2D:
                    flops += 2L * o[0] * o[1] * o[2] * (i[0] / step.Groups) * step.Kernel * step.Kernel;
                    break;
                case StepKind.Conv1D:
                    flops += 2L * o[0] * o[1] * (i[0] / step.Groups) * step.Kernel;
                    break;
                case StepKind.MultiHeadSelfAttention:
                {
                    long length = i[0], model = i[1];
                    flops += 2L * length * model * 4 * model;      // Q, K, V and output projections
                    flops += 2L * 2 * length * length * model;     // Q K^T and A V, all heads together
                    break;
                }
                case StepKind.ResidualEnd when step.Projection:
                    throw new NotSupportedException($"{step.Name}: projected residuals are not counted.");
            }
        }
        return flops;
    }

    /// <summary>
    /// Throws unless the <see cref="CaseAttribute"/> of <paramref name="benchmarkClass"/> (if any) states
    /// <paramref name="batch"/> x <see cref="MatrixFlops"/> and, when it gives weight bytes, 4 x the
    /// network's parameter count. <paramref name="flopsPerSample"/> overrides the count (a training step).
    /// </summary>
    public static void Check(Type benchmarkClass, INetwork network, int batch, long? flopsPerSample = null)
    {
        CaseAttribute? c = CaseAttribute.Of(benchmarkClass);
        if (c is null) return;
        long flops = batch * (flopsPerSample ?? MatrixFlops(network));
        if (c.Flops != flops)
            throw new InvalidOperationException($"{benchmarkClass.Name}: [Case] states {c.Flops:N0} FLOPs per call, the network counts {flops:N0}.");
        long bytes = 4L * network.Parameters.ParameterCount;
        if (c.WeightBytes != 0 && c.WeightBytes != bytes)
            throw new InvalidOperationException($"{benchmarkClass.Name}: [Case] states {c.WeightBytes:N0} weight bytes, the network has {bytes:N0}.");
    }

    private static long Product(IReadOnlyList<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p *= d;
        return p;
    }
}
