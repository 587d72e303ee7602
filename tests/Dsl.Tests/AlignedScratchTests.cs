using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsl.Kernels;
using Xunit;

namespace Dsl.Tests;

/// <summary>
/// Generated networks' batch-1 scratch starts on a 64-byte boundary (on the stack through <see cref="AlignedScratch.Align"/>,
/// per thread in an <see cref="AlignedScratch"/>), so regions on multiples of 16 floats start on cache lines.
/// </summary>
public sealed class AlignedScratchTests
{
    private static unsafe nuint Address(Span<float> span) => (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(1000)]
    public void Align_TakesTheFloatsThatStartOnALine_InsideTheSpan(int floats)
    {
        // Every float offset of a 16-byte-aligned buffer: each start within a line must find the line after it.
        float[] backing = GC.AllocateArray<float>(floats + AlignedScratch.StackSlack + 16, pinned: true);
        for (int shift = 0; shift < 16; shift++)
        {
            Span<float> raw = backing.AsSpan(shift, floats + AlignedScratch.StackSlack);
            Span<float> aligned = AlignedScratch.Align(raw, floats);
            Assert.Equal(0u, Address(aligned) % 64);
            Assert.Equal(floats, aligned.Length);
            Assert.True(Address(aligned) >= Address(raw) && Address(aligned) + (nuint)(4 * floats) <= Address(raw) + (nuint)(4 * raw.Length));
        }
    }

    [Fact]
    public void PerThreadScratch_IsAlignedAndZeroed()
    {
        var scratch = new AlignedScratch(12345);
        Span<float> floats = scratch.Floats;
        Assert.Equal(12345, floats.Length);
        Assert.Equal(0u, Address(floats) % 64);
        Assert.True(floats.IndexOfAnyExcept(0f) < 0);
    }
}
