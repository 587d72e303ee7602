using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl;

/// <summary>
/// The rungs of the instruction-set ladder the generated kernels dispatch over, narrowest first, so rungs compare
/// with <c>&lt;</c> and <c>&gt;</c>. The names match <c>DslInstructionSets</c> (MSBuild): <c>scalar</c>,
/// <c>vector128</c>, <c>avx2</c>, <c>avx512</c>.
/// </summary>
public enum InstructionSet
{
    /// <summary>Plain float arithmetic: no vector hardware, or hardware intrinsics switched off.</summary>
    Scalar,
    /// <summary>128-bit vectors: x64 without AVX2 (and NativeAOT's default x64 baseline), or AdvSimd (NEON) on arm64.</summary>
    Vector128,
    /// <summary>256-bit vectors: x64 with AVX2 and FMA.</summary>
    Avx2,
    /// <summary>512-bit vectors: x64 with AVX-512 F, BW, DQ and VL.</summary>
    Avx512,
}

/// <summary>
/// Which instruction-set rung the kernels run on this process, and which the processor could run.
/// </summary>
/// <remarks>
/// The two differ when the runtime is told to leave wider vectors alone: the <c>DOTNET_EnableAVX512=0</c>-style
/// switches, a processor where the runtime prefers 256-bit vectors, and above all NativeAOT. A NativeAOT x64
/// executable is compiled once for a baseline x64 processor, so unless the project sets
/// <c>&lt;IlcInstructionSet&gt;x86-64-v3&lt;/IlcInstructionSet&gt;</c> (AVX2) or <c>native</c> (the build machine's
/// own, which then must match where it runs), <see cref="Isa"/> is <see cref="InstructionSet.Vector128"/> even on an
/// AVX-512 machine, while <see cref="MachineIsa"/> still says <see cref="InstructionSet.Avx512"/>.
/// </remarks>
public static class Runtime
{
    /// <summary>
    /// The rung the generated kernels run on now: the widest vector width this runtime accelerates, chosen exactly as
    /// the kernels choose it (<c>Vector512</c>, <c>Vector256</c>, <c>Vector128.IsHardwareAccelerated</c>, in turn).
    /// </summary>
    public static InstructionSet Isa =>
        Vector512.IsHardwareAccelerated ? InstructionSet.Avx512
        : Vector256.IsHardwareAccelerated ? InstructionSet.Avx2
        : Vector128.IsHardwareAccelerated ? InstructionSet.Vector128
        : InstructionSet.Scalar;

    /// <summary>
    /// The widest rung the processor and operating system support, whatever the runtime's switches or the NativeAOT
    /// baseline: on x64 read from the CPUID feature bits, on arm64 <see cref="InstructionSet.Vector128"/> (AdvSimd is
    /// part of every arm64 processor). Never narrower than <see cref="Isa"/>.
    /// </summary>
    public static InstructionSet MachineIsa { get; } = ReadMachineIsa();

    private static InstructionSet ReadMachineIsa()
    {
        InstructionSet machine = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => CpuIdIsa(),
            Architecture.Arm64 => InstructionSet.Vector128,
            _ => InstructionSet.Scalar,
        };
        // What runs is supported by definition; this covers processors the bits below do not describe.
        return machine > Isa ? machine : Isa;
    }

    /// <summary>The rung the CPUID feature bits allow, following Intel's SDM (volume 1, 14.3 and 15.2).</summary>
    private static InstructionSet CpuIdIsa()
    {
        // X86Base.CpuId executes the instruction itself, so it answers even when the runtime's switches disable
        // every hardware intrinsic; it only refuses on processors that are not x86.
        if (!X86Base.IsSupported && !CanCallCpuId()) return InstructionSet.Scalar;
        (_, _, int leaf1Ecx, int leaf1Edx) = X86Base.CpuId(1, 0);
        if (!Bit(leaf1Edx, 26)) return InstructionSet.Scalar; // SSE2: every x64 processor has it
        const InstructionSet narrow = InstructionSet.Vector128;

        // AVX and wider need the operating system to save the upper registers on a context switch: OSXSAVE says it
        // manages that state. .NET offers no XGETBV to read which parts of it the OS enabled, so OSXSAVE stands in for
        // it: an OS that enables XSAVE but masks the AVX-512 state would be over-reported here.
        bool osxsave = Bit(leaf1Ecx, 27), avx = Bit(leaf1Ecx, 28), fma = Bit(leaf1Ecx, 12);
        (int maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (!osxsave || !avx || !fma || maxLeaf < 7) return narrow;
        (_, int leaf7Ebx, _, _) = X86Base.CpuId(7, 0);
        if (!Bit(leaf7Ebx, 5)) return narrow; // AVX2
        // The runtime accelerates Vector512 only with F, BW, DQ and VL together (CD comes with every such part).
        bool avx512 = Bit(leaf7Ebx, 16) && Bit(leaf7Ebx, 17) && Bit(leaf7Ebx, 30) && Bit(leaf7Ebx, 31);
        return avx512 ? InstructionSet.Avx512 : InstructionSet.Avx2;
    }

    private static bool CanCallCpuId()
    {
        try
        {
            X86Base.CpuId(0, 0);
            return true;
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    private static bool Bit(int register, int bit) => (register & (1 << bit)) != 0;
}
