using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Xunit.Abstractions;

namespace Dsl.Tests.Reliability;

/// <summary>
/// The inference contract of docs/thread-safety.md: one instance per network serves batch-1 and batched
/// <see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float})"/> calls from many threads at once, with outputs
/// bit-identical to single-threaded calls and no allocation per call once a thread has warmed up.
/// </summary>
public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    // A dense net; a conv net whose batch norm is folded into the convolution on every call (from the shared
    // running statistics); a small ViT with attention; a CNN whose batch-1 activations live in a [ThreadStatic] buffer.
    private static readonly string[] Kinds = ["dense", "conv", "transformer", "cnn"];
    private const int Samples = 8;
    private const int Batch = 3;
    private const int Windows = 4;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void SharedInstances_ManyThreads_MatchSingleThreadedOutputsBitForBit_AndAllocateNothingPerCall()
    {
        INetwork[] nets = Kinds.Select((kind, i) => ReliabilityNetworks.Create(kind, 300 + i)).ToArray();
        for (int n = 0; n < nets.Length; n++) ReliabilityNetworks.Randomize(nets[n].Parameters, 300 + n);
        float[][] inputs = nets.Select((net, n) => RandomInputs(Samples * net.InputSize, 400 + n)).ToArray();

        // Single-threaded references: each sample alone, and each window of Batch consecutive samples.
        var one = new int[nets.Length][][];
        var batched = new int[nets.Length][][];
        for (int n = 0; n < nets.Length; n++)
        {
            INetwork net = nets[n];
            one[n] = new int[Samples][];
            for (int s = 0; s < Samples; s++)
            {
                var y = new float[net.OutputSize];
                net.Forward(inputs[n].AsSpan(s * net.InputSize, net.InputSize), y);
                one[n][s] = Bits(y);
            }
            batched[n] = new int[Samples - Batch + 1][];
            for (int s = 0; s + Batch <= Samples; s++)
            {
                var y = new float[Batch * net.OutputSize];
                net.Forward(inputs[n].AsSpan(s * net.InputSize, Batch * net.InputSize), y, Batch);
                batched[n][s] = Bits(y);
            }
        }
        (int[] Values, int[] Buffers)[] weightsBefore = nets.Select(net => ReliabilityNetworks.Bits(net.Parameters)).ToArray();

        int threadCount = Environment.ProcessorCount * 4;
        int calls = ReliabilityNetworks.ScalarOnly ? 800 : 3_200;
        var mismatches = new int[threadCount];
        var firstMismatch = new string?[threadCount];
        var allocated = new long[threadCount];
        var windowAllocated = Enumerable.Range(0, threadCount).Select(_ => new long[Windows]).ToArray();
        var errors = new Exception?[threadCount];
        using var start = new Barrier(threadCount);
        var clock = Stopwatch.StartNew();

        var threads = Enumerable.Range(0, threadCount).Select(t => new Thread(() =>
        {
            try
            {
                var y = new float[Batch * nets.Max(net => net.OutputSize)];
                // Warm-up: each network's per-thread scratch (allocated once per thread), then the whole schedule twice
                // around a pause, so tiered compilation has promoted the hot methods before the count starts (its
                // call counting can allocate a few KB, once).
                for (int n = 0; n < nets.Length; n++)
                {
                    Run(t, n, isBatch: false, 0, y, count: false);
                    Run(t, n, isBatch: true, 0, y, count: false);
                }
                for (int round = 0; round < 2; round++)
                {
                    for (int c = 0; c < calls / 4; c++) Call(t, c, y, count: false);
                    Thread.Sleep(200);
                }
                start.SignalAndWait();
                // The counted calls run in windows. A per-call allocation shows in every window; a one-off allocation
                // by the runtime on this thread (a late tier-up or call-counting stub, seen once as 5.5 KB under
                // DOTNET_EnableHWIntrinsic=0) shows in one at most. So the quietest window must be exactly 0.
                int done = 0;
                for (int w = 0; w < Windows; w++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    for (int end = calls * (w + 1) / Windows; done < end; done++) Call(t, done, y, count: true);
                    windowAllocated[t][w] = GC.GetAllocatedBytesForCurrentThread() - before;
                }
                allocated[t] = windowAllocated[t].Min();
            }
            catch (Exception e)
            {
                errors[t] = e;
            }
        }) { IsBackground = true }).ToArray();

        foreach (Thread thread in threads) thread.Start();
        foreach (Thread thread in threads) Assert.True(thread.Join(Timeout), $"a thread did not finish within {Timeout.TotalSeconds} s");
        clock.Stop();

        output.WriteLine($"{threadCount} threads x {calls} calls = {threadCount * calls} concurrent calls on {nets.Length} shared networks ({string.Join(", ", Kinds)}), batch 1 and {Batch}, in {clock.Elapsed.TotalSeconds:F2} s; bytes allocated per thread in each of {Windows} windows after warm-up: {string.Join("; ", windowAllocated.Select(w => string.Join(" ", w)))}.");
        Assert.All(errors, e => Assert.Null(e));
        Assert.True(mismatches.Sum() == 0, $"{mismatches.Sum()} outputs differ from single-threaded ones; first: {firstMismatch.FirstOrDefault(m => m is not null)}");
        Assert.All(allocated, bytes => Assert.Equal(0, bytes)); // the quietest window of each thread
        for (int n = 0; n < nets.Length; n++)
        {
            Assert.True(ReliabilityNetworks.BitsEqual(nets[n].Parameters.Values, weightsBefore[n].Values), $"{Kinds[n]}: inference changed the parameters");
            Assert.True(ReliabilityNetworks.BitsEqual(nets[n].Parameters.Buffers, weightsBefore[n].Buffers), $"{Kinds[n]}: inference changed the buffers");
        }

        // One call: which network (the heavy CNN one call in 16), batch 1 or a batch, which samples.
        void Call(int thread, int c, float[] y, bool count)
        {
            int n = c % 16 == 15 ? 3 : c % 3;
            bool isBatch = (c / 3 + thread) % 2 == 1;
            int s = (c * 7 + thread * 5) % (isBatch ? Samples - Batch + 1 : Samples);
            Run(thread, n, isBatch, s, y, count, c);
        }

        void Run(int thread, int n, bool isBatch, int s, float[] y, bool count, int c = -1)
        {
            INetwork net = nets[n];
            int size = isBatch ? Batch : 1;
            Span<float> result = y.AsSpan(0, size * net.OutputSize);
            ReadOnlySpan<float> x = inputs[n].AsSpan(s * net.InputSize, size * net.InputSize);
            if (isBatch) net.Forward(x, result, Batch);
            else net.Forward(x, result);
            int[] expected = isBatch ? batched[n][s] : one[n][s];
            if (count && !ReliabilityNetworks.BitsEqual(result, expected))
            {
                if (mismatches[thread]++ == 0) firstMismatch[thread] = $"thread {thread}, call {c}: {Kinds[n]}, batch {size}, sample {s}";
            }
        }
    }

    private static float[] RandomInputs(int length, int seed)
    {
        var rng = new Rng(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
        return x;
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
