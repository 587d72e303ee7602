using System;

namespace Dsl.Tests;

/// <summary>The zero-allocation check shared by the numeric and reliability tests.</summary>
internal static class Allocations
{
    /// <summary>
    /// Calls <paramref name="call"/> once to warm up (JIT, per-thread buffers), then <paramref name="callsPerWindow"/>
    /// times in each of <paramref name="windows"/> windows, and returns the bytes this thread allocated in the quietest
    /// window. A per-call allocation lands in every window; a one-off allocation by the runtime on this thread (a late
    /// tier-up or call-counting stub, seen as 3.2 KB and 5.5 KB under DOTNET_EnableHWIntrinsic=0) lands in one at most.
    /// </summary>
    public static long QuietestWindow(Action call, int callsPerWindow, int windows = 4)
    {
        call();
        long quietest = long.MaxValue;
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerWindow; i++) call();
            quietest = Math.Min(quietest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return quietest;
    }

    /// <summary>
    /// <see cref="QuietestWindow"/> of one call to each entry point: batch-1 and batched Forward, ForwardTrain and
    /// Backward on <paramref name="batch"/> rows (an empty <paramref name="inputGradient"/> skips dL/dx).
    /// </summary>
    public static long OfEveryEntryPoint(INetwork net, float[] input, int batch, float[] outputGradient, float[] inputGradient)
    {
        var output = new float[batch * net.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        return QuietestWindow(() =>
        {
            net.Forward(input.AsSpan(0, net.InputSize), output.AsSpan(0, net.OutputSize));
            net.Forward(input, output, batch);
            net.ForwardTrain(input, output, batch, workspace);
            net.Backward(outputGradient, inputGradient, batch, workspace);
        }, callsPerWindow: 5);
    }

    /// <summary>
    /// Asserts that <see cref="Trainer.Fit"/> allocates nothing per batch: after a warm-up epoch (JIT, per-thread
    /// buffers), three epochs in batches of 4 allocate at most 800 bytes per epoch more than one epoch does (a
    /// per-epoch report and shuffle), not 8 bytes or more per batch of the 100 per epoch of 400 samples.
    /// </summary>
    public static void AssertFitAllocatesNothingPerBatch(Trainer trainer, Dataset data)
    {
        Assert.Equal(400, data.Count);
        trainer.Fit(data, epochs: 1, batchSize: 4);
        long Bytes(int epochs)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            trainer.Fit(data, epochs, batchSize: 4);
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }

        long one = Bytes(1), three = Bytes(3);

        Assert.True(three - one < 2 * 800, $"1 epoch {one} B, 3 epochs {three} B");
    }
}
