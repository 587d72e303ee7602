using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Dsl.Benchmarks;

/// <summary>
/// <c>--smoke</c>: every benchmark class's [GlobalSetup] (which checks the peers against Dsl), then each
/// [Benchmark] method for about half a second directly, with a rough time per call and the bytes it allocates;
/// a method marked <see cref="MustNotAllocateAttribute"/> fails if it allocates. Seconds, not minutes: for CI.
/// </summary>
public static class Smoke
{
    // Warm up long enough for tiered compilation to reach optimised code (OSR and tier 1 come after ~100 ms).
    private const int WarmupCalls = 100;
    private static readonly TimeSpan WarmupTime = TimeSpan.FromMilliseconds(400);
    private const int MeasuredCalls = 300;

    /// <summary>Runs the checks; returns the process exit code.</summary>
    public static int Run(TextWriter log)
    {
        int passed = 0, failed = 0;
        Type[] classes = typeof(Smoke).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && Benchmarks(t).Any())
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

            foreach (MethodInfo method in Benchmarks(type))
            {
                string name = $"{type.Name}.{method.Name}";
                try
                {
                    Action call = Caller(instance, method);
                    long warmup = Stopwatch.GetTimestamp();
                    for (int i = 0; i < WarmupCalls || Stopwatch.GetElapsedTime(warmup) < WarmupTime; i++) call();
                    long bytes = GC.GetAllocatedBytesForCurrentThread();
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < MeasuredCalls; i++) call();
                    TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
                    double perCall = (double)(GC.GetAllocatedBytesForCurrentThread() - bytes) / MeasuredCalls;
                    bool mustNotAllocate = method.GetCustomAttribute<MustNotAllocateAttribute>() is not null;
                    bool ok = !mustNotAllocate || perCall == 0;
                    log.WriteLine($"{(ok ? "ok  " : "FAIL")}  {name}: ~{elapsed.TotalMicroseconds / MeasuredCalls:F2} us/call (rough), {perCall:F0} B/call allocated{(mustNotAllocate ? " (must be 0)" : "")}");
                    if (ok) passed++; else failed++;
                }
                catch (Exception e) when (e is TargetInvocationException or InvalidOperationException)
                {
                    log.WriteLine($"FAIL  {name}: {(e.InnerException ?? e).Message}");
                    failed++;
                }
            }

            foreach (MethodInfo cleanup in Marked<GlobalCleanupAttribute>(type)) cleanup.Invoke(instance, null);
        }
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
