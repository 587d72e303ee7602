using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Dsl.Benchmarks;

/// <summary>One benchmark's result: its class and method, mean time per call, and bytes allocated per call (null if unknown).</summary>
public sealed record Measurement(Type Class, string Method, double MeanNanoseconds, double? AllocatedBytes)
{
    /// <summary>Whether the method carries <see cref="MustNotAllocateAttribute"/>.</summary>
    public bool MustNotAllocate => Class.GetMethod(Method)?.GetCustomAttribute<MustNotAllocateAttribute>() is not null;

    /// <summary>The measurements of every successful benchmark of <paramref name="summaries"/>, and the names of those that failed.</summary>
    public static (List<Measurement> Results, List<string> Failed) From(IEnumerable<Summary> summaries)
    {
        var results = new List<Measurement>();
        var failed = new List<string>();
        foreach (Summary summary in summaries)
            foreach (BenchmarkReport report in summary.Reports)
            {
                Type type = report.BenchmarkCase.Descriptor.Type;
                string method = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
                if (report.ResultStatistics is not { } statistics)
                {
                    failed.Add($"{type.Name}.{method}");
                    continue;
                }
                long? allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                results.Add(new Measurement(type, method, statistics.Mean, allocated));
            }
        return (results, failed);
    }
}

/// <summary>
/// The performance issue's per-case table, computed from measurements of one run (BenchmarkDotNet's, or
/// the rough ones of <c>--smoke</c>): per case and implementation the mean, bytes allocated, GFLOP/s, share of
/// the measured single-core peak, the roofline bound and the share of it reached, ONNX Runtime's time over
/// this one, and the issue's target for the Dsl row. Peak and bandwidths come from <see cref="MachineProbes"/>
/// in the same measurements, or, when a probe did not run, from PERFORMANCE.md (marked).
/// </summary>
public static class CaseReport
{
    /// <summary>PERFORMANCE.md's single-core FP32 peak, used when <see cref="MachineProbes.FmaPeak"/> did not run.</summary>
    public const double DocumentedPeakGflops = 223;

    /// <summary>PERFORMANCE.md's one-core L2 read bandwidth, used when <see cref="MachineProbes.ReadL2"/> did not run.</summary>
    public const double DocumentedL2GBps = 175;

    /// <summary>PERFORMANCE.md's one-core L3 read bandwidth, used when <see cref="MachineProbes.ReadL3"/> did not run.</summary>
    public const double DocumentedL3GBps = 95;

    private const string CaseOrder = "TABCDEF";
    private const string Fallback = "†";

    private static readonly string[] ImplementationOrder = ["Dsl", "OnnxRuntime", "TensorPrimitives"];

    /// <summary>The report as markdown; <paramref name="source"/> says where the measurements come from.</summary>
    public static string Build(IReadOnlyList<Measurement> measurements, string source, IReadOnlyList<string>? failed = null)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        void Line(string line = "") => text.Append(line).Append('\n');

        Measurement? Find(Type type, string method) => measurements.FirstOrDefault(m => m.Class == type && m.Method == method);
        Measurement? fma = Find(typeof(MachineProbes), nameof(MachineProbes.FmaPeak));
        Measurement? l2 = Find(typeof(MachineProbes), nameof(MachineProbes.ReadL2));
        Measurement? l3 = Find(typeof(MachineProbes), nameof(MachineProbes.ReadL3));
        double peak = fma is null ? DocumentedPeakGflops : MachineProbes.FmaFlopsPerCall / fma.MeanNanoseconds;
        double l2Bandwidth = l2 is null ? DocumentedL2GBps : MachineProbes.L2Bytes / l2.MeanNanoseconds;
        double l3Bandwidth = l3 is null ? DocumentedL3GBps : MachineProbes.L3Bytes / l3.MeanNanoseconds;

        Line($"# Performance issue cases ({source})");
        Line();
        Line(string.Create(culture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} logical cores, probes on {MachineProbes.VectorBits}-bit vectors, float32, one thread."));
        Line();
        Line("## Machine probes");
        Line();
        Line("| probe | mean | result | used as |");
        Line("|---|--:|--:|---|");
        Line(Probe(fma, $"FMA loop ({MachineProbes.FmaChains} chains of {MachineProbes.VectorBits}-bit FMAs, {MachineProbes.FmaFlopsPerCall:N0} FLOP)", peak, "GFLOP/s", "single-core peak", DocumentedPeakGflops));
        Line(Probe(l2, $"read {MachineProbes.L2Bytes / 1024} KB ({MachineProbes.L2Bytes:N0} B, L2)", l2Bandwidth, "GB/s", "L2 bandwidth", DocumentedL2GBps));
        Line(Probe(l3, $"read {MachineProbes.L3Bytes / (1024 * 1024)} MB ({MachineProbes.L3Bytes:N0} B, L3)", l3Bandwidth, "GB/s", "L3 bandwidth", DocumentedL3GBps));
        if (fma is null || l2 is null || l3 is null)
            Line($"\n{Fallback} The probe did not run in this run: the value is PERFORMANCE.md's, and every figure derived from it is marked {Fallback}.");
        Line();

        Line("## Cases");
        Line();
        Line("| case | network | implementation | mean | allocated | GFLOP/s | % of peak | roofline bound | % of bound | ORT mean / mean | target | met |");
        Line("|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|");
        int targets = 0, met = 0;
        var cases = measurements
            .Where(m => CaseAttribute.Of(m.Class) is not null)
            .GroupBy(m => m.Class)
            .OrderBy(g => CaseOrder.IndexOf(CaseAttribute.Of(g.Key)!.Id, StringComparison.Ordinal))
            .ThenBy(g => g.Key.Name, StringComparer.Ordinal);
        foreach (IGrouping<Type, Measurement> group in cases)
        {
            CaseAttribute c = CaseAttribute.Of(group.Key)!;
            Measurement? ort = group.FirstOrDefault(m => m.Method == "OnnxRuntime");
            string peakMark = fma is null ? Fallback : "";
            double computeBound = c.Flops / peak;
            double? bandwidth = c.WeightsIn switch { WeightLevel.L2 => l2Bandwidth, WeightLevel.L3 => l3Bandwidth, _ => null };
            double memoryBound = bandwidth is { } b ? c.WeightBytes / b : 0;
            double bound = Math.Max(computeBound, memoryBound);
            bool memoryBinds = memoryBound > computeBound;
            string boundMark = (memoryBinds ? (c.WeightsIn == WeightLevel.L2 ? l2 : l3) is null : fma is null) ? Fallback : "";
            string boundText = $"{Time(bound)} ({(memoryBinds ? c.WeightsIn.ToString() : "compute")}){boundMark}";

            foreach (Measurement m in group.OrderBy(m => Array.IndexOf(ImplementationOrder, m.Method) is var i && i < 0 ? int.MaxValue : i))
            {
                double gflops = c.Flops / m.MeanNanoseconds;
                double? speedup = ort is null ? null : ort.MeanNanoseconds / m.MeanNanoseconds;
                string target = "", verdict = "";
                if (m.Method == "Dsl")
                {
                    targets++;
                    target = c.TargetText + ", 0 B";
                    double? achieved = c.Target switch
                    {
                        TargetKind.FasterThanOnnxRuntime => speedup,
                        TargetKind.OfRoofline => bound / m.MeanNanoseconds,
                        _ => computeBound / m.MeanNanoseconds,
                    };
                    if (achieved is null) verdict = "n/a: no ONNX Runtime result";
                    else
                    {
                        var misses = new List<string>();
                        if (achieved < c.TargetValue)
                            misses.Add(c.Target == TargetKind.FasterThanOnnxRuntime ? $"{achieved:0.0#}x" : Percent(achieved.Value));
                        if (m.AllocatedBytes is null) misses.Add("allocation unknown");
                        else if (m.AllocatedBytes > 0) misses.Add($"allocates {Bytes(m.AllocatedBytes)}");
                        if (misses.Count == 0) met++;
                        verdict = misses.Count == 0 ? "yes" : $"no ({string.Join(", ", misses)})";
                    }
                }
                Line(string.Create(culture,
                    $"| {c.Id} | {c.Network} | {Implementation(m.Method)} | {Time(m.MeanNanoseconds)} | {Bytes(m.AllocatedBytes)} | {gflops:F1} | {Percent(gflops / peak)}{peakMark} | {boundText} | {Percent(bound / m.MeanNanoseconds)}{boundMark} | {(speedup is { } s ? s.ToString("F2", culture) : "—")} | {target} | {verdict} |"));
            }
        }
        Line();
        Line($"Dsl targets met: {met} of {targets}.");
        Line();
        Line("FLOPs are 2 x the multiply-adds of the matrix products, convolutions and attention products (Q/K/V/output");
        Line("projections, QK^T, AV) of one call; activations, norms, softmax, bias adds, the loss and the optimiser are not");
        Line("counted (case F: forward and weight-gradient products plus the head's input gradient). Roofline bound =");
        Line("max(FLOPs / peak, weight bytes / bandwidth of the level the weights live in), weight bytes = 4 x parameter count;");
        Line("L1-resident weights (case T) have no bandwidth term. % of bound = bound / mean. Targets apply to the Dsl row:");
        Line("Dense 64->64, C2 and F against ONNX Runtime's mean, A and B against the roofline bound, the tanh MLP, C, D and E");
        Line("against FLOPs / peak (issue #13's targets; C must also match ONNX Runtime, see its ratio); every");
        Line("Dsl method must allocate 0 B. The probes run at other moments than the cases (each benchmark in its own");
        Line("process): on a shared machine a share above 100% means the probe ran under more load than the case.");

        var others = measurements.Where(m => CaseAttribute.Of(m.Class) is null && m.Class != typeof(MachineProbes))
            .OrderBy(m => m.Class.Name, StringComparer.Ordinal).ThenBy(m => m.Method, StringComparer.Ordinal).ToList();
        if (others.Count > 0)
        {
            Line();
            Line("## Other benchmarks (no peer, no target)");
            Line();
            Line("| benchmark | mean | allocated |");
            Line("|---|--:|--:|");
            foreach (Measurement m in others) Line($"| {m.Class.Name}.{m.Method} | {Time(m.MeanNanoseconds)} | {Bytes(m.AllocatedBytes)} |");
        }

        var allocating = measurements.Where(m => m.MustNotAllocate && m.AllocatedBytes is > 0).ToList();
        if (allocating.Count > 0)
        {
            Line();
            Line("Methods marked [MustNotAllocate] that allocated: " + string.Join(", ", allocating.Select(m => $"{m.Class.Name}.{m.Method} ({Bytes(m.AllocatedBytes)})")) + ".");
        }
        if (failed is { Count: > 0 })
        {
            Line();
            Line("Benchmarks without a result (failed): " + string.Join(", ", failed) + ".");
        }
        return text.ToString();
    }

    private static string Probe(Measurement? m, string what, double value, string unit, string usedAs, double documented) =>
        m is null
            ? string.Create(CultureInfo.InvariantCulture, $"| {what} | not run | {documented:F0} {unit}{Fallback} | {usedAs} |")
            : string.Create(CultureInfo.InvariantCulture, $"| {what} | {Time(m.MeanNanoseconds)} | {value:F1} {unit} | {usedAs} |");

    /// <summary>A fraction as a whole percentage, "85%".</summary>
    public static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:F0}%");

    private static string Implementation(string method) => method switch
    {
        "Dsl" => "Dsl",
        "OnnxRuntime" => "ONNX Runtime",
        "TensorPrimitives" => "TensorPrimitives",
        _ => method,
    };

    /// <summary>A time in ns, µs or ms.</summary>
    public static string Time(double nanoseconds) => nanoseconds switch
    {
        < 1e3 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds:F1} ns"),
        < 1e6 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e3:F2} µs"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6:F2} ms"),
    };

    private static string Bytes(double? bytes) => bytes switch
    {
        null => "?",
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B"),
    };
}
