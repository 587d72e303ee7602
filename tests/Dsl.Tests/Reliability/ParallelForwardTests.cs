using System;
using System.Linq;
using Xunit.Abstractions;

namespace Dsl.Tests.Reliability;

/// <summary>
/// <see cref="ParallelForward"/>: a batch split across threads gives every row the output of a single-threaded
/// batched call, bit for bit, and a call allocates nothing.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class ParallelForwardTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("dense", 2, 64)]
    [InlineData("dense", 3, 7)]
    [InlineData("conv", 2, 9)]
    [InlineData("cnn", 2, 5)]
    [InlineData("transformer", 2, 6)]
    [InlineData("dense", 4, 2)] // fewer rows than threads
    public void SplitBatch_MatchesOneThreadBitForBit(string kind, int threads, int batch)
    {
        INetwork net = ReliabilityNetworks.Create(kind, 31);
        ReliabilityNetworks.Randomize(net.Parameters, 31);
        var rng = new Rng(5);
        float[] x = Enumerable.Range(0, batch * net.InputSize).Select(_ => rng.NextSingle(-1f, 1f)).ToArray();
        float[] expected = new float[batch * net.OutputSize], actual = new float[expected.Length];
        net.Forward(x, expected, batch);

        using var parallel = new ParallelForward(net, threads);
        parallel.Forward(x, actual, batch);

        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Forward_AllocatesNothing_AndChecksItsArguments()
    {
        INetwork net = ReliabilityNetworks.Create("dense", 31);
        float[] x = new float[16 * net.InputSize], y = new float[16 * net.OutputSize];
        using var parallel = new ParallelForward(net, 2);
        for (int i = 0; i < 20; i++) parallel.Forward(x, y, 16); // JIT, the workers' first calls

        // Every thread's bytes count (the worker's too), so the test runner's own threads can add some to a window: as
        // in ConcurrencyTests, an allocation per call shows in every window of 25 calls, so the quietest must be 0.
        long[] windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 25; i++) parallel.Forward(x, y, 16);
            windows[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        output.WriteLine($"bytes allocated in each window of 25 calls: {string.Join(" ", windows)}");

        Assert.Equal(0, windows.Min());
        Assert.Throws<ArgumentException>(() => parallel.Forward(x, y, 17));
        parallel.Dispose();
        Assert.Throws<ObjectDisposedException>(() => parallel.Forward(x, y, 16));
    }
}
