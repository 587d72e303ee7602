using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Dsl.Benchmarks;

/// <summary>
/// <c>--smoke</c>: every benchmark class's [GlobalSetup] (which checks the peers against Dsl), then each
/// [Benchmark] method of the class warmed up for 0.3 s, then each timed for about 0.1 s, directly, with a rough
/// time per call (the fastest of four rounds) and the bytes it allocates;
/// a method marked <see cref="MustNotAllocateAttribute"/> fails if it allocates. Ends with the case report
/// (<see cref="CaseReport"/>) built from these rough timings, so the report code runs in CI too. Seconds, not
/// minutes: for CI.
/// </summary>
public static class Smoke
{
    // Warm up long enough for tiered compilation to reach optimised code (OSR and tier 1 come after ~100 ms).
    private const int WarmupCalls = 100;
    private static readonly TimeSpan WarmupTime = TimeSpan.FromMilliseconds(300);
    // Timed in rounds; the fastest round counts, so a late tier-up (a big kernel on a loaded machine) or a burst
    // of load costs a round, not the figure.
    private const int Rounds = 4;
    private const int RoundCalls = 25;
    private static readonly TimeSpan RoundTime = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Runs the checks of every class whose name contains one of <paramref name="classFilters"/> (all classes
    /// when there are none); returns the process exit code.
    /// </summary>
    public static int Run(TextWriter log, params string[] classFilters)
    {
        int passed = 0, failed = 0;
        var measurements = new List<Measurement>();
        Type[] classes = typeof(Smoke).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && Benchmarks(t).Any())
            .Where(t => classFilters.Length == 0 || classFilters.Any(f => t.Name.Contains(f, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToArray();
        foreach (Type type in classes)
        {
            object instance = Activator.CreateInstance(type)!;
            try
            {
                foreach (MethodInfo setup in Marked<GlobalSetupAttribute>(type)) setup.Invoke(instance, null);
                string? report = type.GetProperty("VerificationReport")?.GetValue(instance) as string;
                log.WriteLine($"ok    {report ?? type.Name + ": set up"}");
                passed++;
            }
            catch (TargetInvocationException e)
            {
                log.WriteLine($"FAIL  {type.Name} setup: {e.InnerException?.Message ?? e.Message}");
                failed++;
                continue;
            }

            // Warm every method of the class up first, then time each: the first method timed (Dsl's) gets the
            // others' warm-up as extra time for its kernels to reach tier 1.
            var callers = new List<(MethodInfo Method, Action Call)>();
            foreach (MethodInfo method in Benchmarks(type))
            {
                try
                {
                    Action call = Caller(instance, method);
                    long warmup = Stopwatch.GetTimestamp();
                    for (int i = 0; i < WarmupCalls || Stopwatch.GetElapsedTime(warmup) < WarmupTime; i++) call();
                    callers.Add((method, call));
                }
                catch (Exception e) when (e is TargetInvocationException or InvalidOperationException)
                {
                    log.WriteLine($"FAIL  {type.Name}.{method.Name}: {(e.InnerException ?? e).Message}");
                    failed++;
                }
            }

            foreach ((MethodInfo method, Action call) in callers)
            {
                string name = $"{type.Name}.{method.Name}";
                try
                {
                    long bytes = GC.GetAllocatedBytesForCurrentThread();
                    long calls = 0;
                    double best = double.PositiveInfinity;
                    for (int round = 0; round < Rounds; round++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        int n = 0;
                        for (; n < RoundCalls || Stopwatch.GetElapsedTime(start) < RoundTime; n++) call();
                        best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / n);
                        calls += n;
                    }
                    double perCall = (double)(GC.GetAllocatedBytesForCurrentThread() - bytes) / calls;
                    bool mustNotAllocate = method.GetCustomAttribute<MustNotAllocateAttribute>() is not null;
                    bool ok = !mustNotAllocate || perCall == 0;
                    log.WriteLine($"{(ok ? "ok  " : "FAIL")}  {name}: ~{best / 1000:F2} us/call (rough), {perCall:F0} B/call allocated{(mustNotAllocate ? " (must be 0)" : "")}");
                    if (ok) passed++; else failed++;
                    measurements.Add(new Measurement(type, method.Name, best, perCall));
                }
                catch (Exception e) when (e is TargetInvocationException or InvalidOperationException)
                {
                    log.WriteLine($"FAIL  {name}: {(e.InnerException ?? e).Message}");
                    failed++;
                }
            }

            foreach (MethodInfo cleanup in Marked<GlobalCleanupAttribute>(type)) cleanup.Invoke(instance, null);
        }
        log.WriteLine();
        log.WriteLine(CaseReport.Build(measurements, $"--smoke: fastest of {Rounds} rounds of at least {RoundCalls} calls and {RoundTime.TotalMilliseconds} ms after warm-up, rough"));
        log.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 && passed > 0 ? 0 : 1;
    }

    private static MethodInfo[] Benchmarks(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();

    private static MethodInfo[] Marked<TAttribute>(Type type) where TAttribute : Attribute =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<TAttribute>() is not null).ToArray();

    // A delegate, not MethodInfo.Invoke (which allocates its argument array and boxes the result).
    private static Action Caller(object instance, MethodInfo method)
    {
        if (method.ReturnType == typeof(void)) return method.CreateDelegate<Action>(instance);
        if (method.ReturnType == typeof(float))
        {
            Func<float> f = method.CreateDelegate<Func<float>>(instance);
            return () =>
            {
                if (!float.IsFinite(f())) throw new InvalidOperationException($"{method.Name} returned a non-finite value.");
            };
        }
        throw new InvalidOperationException($"{method.Name}: the smoke runner calls only void or float benchmarks.");
    }
}
