using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Dsl;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace Dsl.Onnx.Tests;

/// <summary>
/// Every test network exported with <see cref="OnnxExport.ToOnnx"/> and run by ONNX Runtime (CPU, all graph
/// optimisations) at batch 3 agrees with the network's own batched forward within
/// <see cref="OnnxHarness.Tolerance"/>; the deviations, per network and per block kind, are printed as tables
/// (the ones in docs/onnx.md).
/// </summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    /// <summary>The test networks.</summary>
    public static TheoryData<string> Networks => new(OnnxHarness.NetworkNames);

    [Theory]
    [MemberData(nameof(Networks))]
    public void Export_MatchesTheNetworksForward_InOnnxRuntime(string name)
    {
        (INetwork network, Deviation d) = OnnxHarness.Check(name);
        output.WriteLine($"{name}: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}, max |Δ| / (1 + max |y|) {d.Scaled:E2}");
        output.WriteLine(string.Join(Environment.NewLine, network.Steps));
        Assert.True(d.Scaled <= OnnxHarness.Tolerance,
            $"{name}: ONNX Runtime differs from Dsl by {d.MaxAbs:E3} (outputs up to {d.MaxOutput:E3}), more than {OnnxHarness.Tolerance:E0} (1 + max |y|).");
    }

    [Fact]
    public void PrunedNetwork_ExportsDenseWeightsWithZeros_AndOnnxRuntimeMatchesItsSparseKernels()
    {
        var network = new PruningSample.PrunedFashionMlp(seed: 5);
        OnnxHarness.Randomise(network, seed: 5);
        network.Parameters.Pruning!.Prune();
        Assert.NotNull(network.Parameters.Pruning.Sparse(0)); // Dsl's side runs the sparse kernel
        float[] input = OnnxHarness.Inputs(network, seed: 1234);

        Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input), OnnxHarness.RunExported(network, input));

        output.WriteLine($"pruned FashionMlp: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}");
        Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"ONNX Runtime differs from the sparse kernels by {d.MaxAbs:E3}");
    }

    /// <summary>The deviation tables: per network, and per block kind the largest over the networks that contain it.</summary>
    [Fact]
    public void DeviationTable()
    {
        var rows = new List<(string Name, string Kinds, Deviation D)>();
        var byKind = new SortedDictionary<string, (double MaxAbs, double MaxRelative)>(StringComparer.Ordinal);
        foreach (string name in OnnxHarness.NetworkNames)
        {
            (INetwork network, Deviation d) = OnnxHarness.Check(name);
            string[] kinds = OnnxHarness.BlockKinds(network).Where(k => k.Length > 0).Distinct().ToArray();
            rows.Add((name, string.Join("; ", kinds), d));
            foreach (string kind in kinds)
            {
                (double abs, double rel) = byKind.GetValueOrDefault(kind);
                byKind[kind] = (Math.Max(abs, d.MaxAbs), Math.Max(rel, d.Relative));
            }
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}, opset {OnnxExport.Opset}, batch {OnnxHarness.Batch}, seed 42 (weights) / 1234 (inputs)");
        text.AppendLine();
        text.AppendLine("| block kind | max abs. deviation | max rel. deviation | networks |");
        text.AppendLine("|---|--:|--:|---|");
        foreach ((string kind, (double abs, double rel)) in byKind)
        {
            string networks = string.Join(", ", rows.Where(r => r.Kinds.Split("; ").Contains(kind)).Select(r => r.Name));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | {abs:E1} | {rel:E1} | {networks} |");
        }
        text.AppendLine();
        text.AppendLine("| network | max abs. deviation | max abs. output | max rel. deviation | steps |");
        text.AppendLine("|---|--:|--:|--:|---|");
        foreach ((string name, string kinds, Deviation d) in rows)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {d.MaxAbs:E1} | {d.MaxOutput:F2} | {d.Relative:E1} | {kinds} |");
        output.WriteLine(text.ToString());

        Assert.All(rows, r => Assert.True(r.D.Scaled <= OnnxHarness.Tolerance, $"{r.Name}: scaled deviation {r.D.Scaled:E2}"));
    }
}
