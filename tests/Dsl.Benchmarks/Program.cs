using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/Dsl.Benchmarks -- --filter '*'</c> runs the BenchmarkDotNet suite;
/// <c>-- --smoke</c> runs every benchmark a few times without BenchmarkDotNet, with the correctness and
/// allocation checks, and exits non-zero on a failure (for CI).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        PrintEnvironment();
        if (args.Contains("--smoke")) return Smoke.Run(Console.Out);

        Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToArray();
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }

    private static void PrintEnvironment()
    {
        Console.WriteLine($"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores");
        Console.WriteLine($"Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated} Vector256.IsHardwareAccelerated={Vector256.IsHardwareAccelerated} Vector128.IsHardwareAccelerated={Vector128.IsHardwareAccelerated}");
        Console.WriteLine($"Avx512F={Avx512F.IsSupported} Avx512BW={Avx512BW.IsSupported} Avx512Vbmi={Avx512Vbmi.IsSupported} Avx2={Avx2.IsSupported} Fma={Fma.IsSupported} AvxVnni={AvxVnni.IsSupported}");
        Console.WriteLine($"ONNX Runtime {OnnxMlp.RuntimeVersion}");
        Console.WriteLine();
    }
}
