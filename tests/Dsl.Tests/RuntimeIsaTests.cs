using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// <see cref="Runtime.Isa"/> and <see cref="Runtime.MachineIsa"/>. scripts/test.sh runs this class once per ISA
/// setting, so the machine's rung is checked with wider vectors switched off too.
/// </summary>
public class RuntimeIsaTests
{
    [Fact]
    public void Isa_IsTheOneThisRunAskedFor()
    {
        // Same names as DslInstructionSets and DenseNumericTests.IsaSetting_IsTheOneThisRunAskedFor's DSL_EXPECT_ISA.
        string? expected = Environment.GetEnvironmentVariable("DSL_EXPECT_ISA");
        string actual = Runtime.Isa.ToString().ToLowerInvariant();
        if (expected is not null) Assert.Equal(expected, actual);
        // The kernels' own ladder; not MachineIsa, since the runtime may prefer 256-bit vectors on an AVX-512 processor.
        InstructionSet kernels = Vector512.IsHardwareAccelerated ? InstructionSet.Avx512
            : Vector256.IsHardwareAccelerated ? InstructionSet.Avx2
            : Vector128.IsHardwareAccelerated ? InstructionSet.Vector128
            : InstructionSet.Scalar;
        Assert.Equal(kernels, Runtime.Isa);
    }

    [Fact]
    public void MachineIsa_IsNeverNarrowerThanIsa() => Assert.True(Runtime.MachineIsa >= Runtime.Isa, $"MachineIsa {Runtime.MachineIsa}, Isa {Runtime.Isa}");

    [Fact]
    public void MachineIsa_MatchesTheKernelsCpuFlags()
    {
        // Linux lists in /proc/cpuinfo what the processor has and the kernel enabled, whatever DOTNET_Enable* says.
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        string flagsLine = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
        var flags = flagsLine[(flagsLine.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        InstructionSet expected =
            new[] { "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma" }.All(flags.Contains) ? InstructionSet.Avx512
            : new[] { "avx2", "fma" }.All(flags.Contains) ? InstructionSet.Avx2
            : InstructionSet.Vector128;
        Assert.Equal(expected, Runtime.MachineIsa);
    }
}
