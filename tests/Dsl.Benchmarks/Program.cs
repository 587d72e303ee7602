using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/Dsl.Benchmarks -- --filter '*'</c> runs the BenchmarkDotNet suite and
/// then writes the per-case report (<see cref="CaseReport"/>) to the console and to
/// <c>BenchmarkDotNet.Artifacts/results/cases.md</c>; <c>-- --smoke</c> runs every benchmark a few times without
/// BenchmarkDotNet, with the correctness and allocation checks, and exits non-zero on a failure (for CI);
/// <c>-- --smoke CaseE Probes</c> does that for the classes whose names contain one of the words.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        PrintEnvironment();
        if (args.Contains("--smoke")) return Smoke.Run(Console.Out, [.. args.Where(a => a != "--smoke")]);

        Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, Config(args)).ToArray();
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        WriteReport(summaries);
        return failed ? 1 : 0;
    }

    /// <summary>
    /// The suite's job: one launch, 3 warm-up and 12 measured iterations (of BenchmarkDotNet's default 500 ms),
    /// with allocations and Min/Median columns. A <c>--job</c> on the command line replaces the job.
    /// </summary>
    public static IConfig Config(IReadOnlyList<string> args)
    {
        ManualConfig config = ManualConfig.Create(DefaultConfig.Instance)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Min, StatisticColumn.Median);
        bool jobOnCommandLine = args.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
        if (!jobOnCommandLine)
            config.AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(12).WithId("Suite"));
        return config;
    }

    private static void WriteReport(Summary[] summaries)
    {
        if (summaries.Length == 0) return;
        (List<Measurement> results, List<string> failed) = Measurement.From(summaries);
        if (results.Count == 0 && failed.Count == 0) return;
        string report = CaseReport.Build(results, "BenchmarkDotNet, mean of the measured iterations", failed);
        Console.WriteLine();
        Console.WriteLine(report);
        string directory = summaries[0].ResultsDirectoryPath;
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "cases.md");
        File.WriteAllText(path, report);
        Console.WriteLine($"Case report written to {path}");
    }

    private static void PrintEnvironment()
    {
        Console.WriteLine($"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores");
        Console.WriteLine($"Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated} Vector256.IsHardwareAccelerated={Vector256.IsHardwareAccelerated} Vector128.IsHardwareAccelerated={Vector128.IsHardwareAccelerated}");
        Console.WriteLine($"Avx512F={Avx512F.IsSupported} Avx512BW={Avx512BW.IsSupported} Avx512Vbmi={Avx512Vbmi.IsSupported} Avx2={Avx2.IsSupported} Fma={Fma.IsSupported} AvxVnni={AvxVnni.IsSupported}");
        Console.WriteLine($"ONNX Runtime {OnnxPeer.RuntimeVersion}");
        Console.WriteLine();
    }
}
