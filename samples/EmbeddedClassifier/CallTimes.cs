using System;
using System.Diagnostics;

namespace EmbeddedClassifier;

/// <summary>
/// The first call against the steady state, as the Dsl app and its ONNX Runtime twin (which links this file) both
/// report it; scripts/measure-embedded.sh reads the lines.
/// </summary>
internal static class CallTimes
{
    public const int Calls = 10_000;

    public static double Micro(long from, long to) => (to - from) * 1e6 / Stopwatch.Frequency;

    /// <summary>
    /// After a first call that took <paramref name="first"/> us: 1,000 calls to warm up, then <see cref="Calls"/> single
    /// timed calls; prints the first call, their median and spread, the ratio, and the bytes each allocated.
    /// </summary>
    public static void Report(string call, double first, Action invoke, string allocation = "allocated per call")
    {
        var times = new double[Calls];
        for (int i = 0; i < 1000; i++) invoke();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            invoke();
            times[i] = Micro(t0, Stopwatch.GetTimestamp());
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Array.Sort(times);
        double median = times[times.Length / 2];
        Console.Out.Write($"first {call}: {first:F1} us\n");
        Console.Out.Write($"steady state: {median:F1} us (median of {Calls} calls; 10th-90th percentile {times[Calls / 10]:F1}-{times[Calls * 9 / 10]:F1} us)\n");
        Console.Out.Write($"first / steady: {first / median:F1}x\n");
        Console.Out.Write($"{allocation}: {(double)allocated / Calls:F0} B\n");
    }
}
