using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsl;

namespace Dsl.Tests;

public sealed class WorkspaceTests
{
    [Fact]
    public void Shared_IsSeparateFromPerSampleRegions()
    {
        var w = new Workspace(floatsPerSample: 10, maxBatch: 4, sharedFloats: 33);
        Assert.Equal(33, w.SharedFloats);
        w.Region(0, 10, 4).Fill(1f);
        w.Shared(0, 33).Fill(2f);

        Assert.All(w.Region(0, 10, 4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(w.Shared(0, 33).ToArray(), v => Assert.Equal(2f, v));
        Assert.Equal(5, w.Shared(28, 5).Length);
        Assert.Equal(0, w.Shared(33, 0).Length);
    }

    [Fact]
    public unsafe void Shared_StartsOn64Bytes()
    {
        var w = new Workspace(3, 5, sharedFloats: 100);
        long address = (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(w.Shared(0, 100)));
        Assert.Equal(0, address % 64);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 34)]
    [InlineData(33, 1)]
    [InlineData(20, 14)]
    [InlineData(1, -1)]
    [InlineData(int.MaxValue, 2)]
    public void Shared_OutOfRange_Throws(int offset, int length)
    {
        var w = new Workspace(10, 4, sharedFloats: 33);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Shared(offset, length));
    }

    [Fact]
    public void DefaultSharedFloats_IsZero()
    {
        var w = new Workspace(10, 4);
        Assert.Equal(0, w.SharedFloats);
        Assert.Equal(0, w.Shared(0, 0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Shared(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Workspace(10, 4, sharedFloats: -1));
    }
}
