using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Dsl;

/// <summary>
/// The threads that share one data-parallel batch, seen from the kernels: each thread's <see cref="Workspace"/>
/// points here with its <see cref="Workspace.GroupIndex"/>. Kernels whose result depends on the whole batch
/// (batch normalisation's statistics) add up their threads' partial sums with <see cref="Sum"/>, always in
/// thread order, so every thread gets the same totals and a run does not depend on timing.
/// </summary>
internal sealed class BatchGroup
{
    private readonly double[][][] _partials; // [parity][thread][value]: a reduction writes one parity while the last one may still be read
    private readonly double[][][] _totals;   // [parity][thread][value]: each thread's copy of the totals
    private int _parity;
    private int _remaining;
    private int _phase;
    private volatile bool _broken;

    public BatchGroup(int threads)
    {
        Threads = threads;
        _partials = [new double[threads][], new double[threads][]];
        _totals = [new double[threads][], new double[threads][]];
        for (int t = 0; t < threads; t++)
        {
            _partials[0][t] = _partials[1][t] = [];
            _totals[0][t] = _totals[1][t] = [];
        }
    }

    /// <summary>The most threads a batch can be split across.</summary>
    public int Threads { get; }

    /// <summary>The threads working on the current batch (1..<see cref="Threads"/>).</summary>
    public int Active { get; private set; }

    /// <summary>Rows of the whole current batch, over all active threads.</summary>
    public int TotalRows { get; private set; }

    /// <summary>Starts a batch of <paramref name="rows"/> rows on <paramref name="active"/> threads; call while no thread is in the group.</summary>
    public void Begin(int active, int rows)
    {
        if (active < 1 || active > Threads) throw new ArgumentOutOfRangeException(nameof(active));
        Active = active;
        TotalRows = rows;
        _remaining = active;
        _broken = false;
    }

    /// <summary>Releases every thread waiting in the group: a thread failed, and the batch is abandoned.</summary>
    public void Break() => _broken = true;

    /// <summary>This thread's buffer for the partial sums of the next <see cref="Sum"/>, <paramref name="length"/> values (allocated on first use).</summary>
    public Span<double> Partial(int thread, int length)
    {
        ref double[] mine = ref _partials[_parity][thread];
        if (mine.Length < length) mine = new double[length];
        return mine.AsSpan(0, length);
    }

    /// <summary>
    /// Adds up the active threads' <see cref="Partial"/> buffers (thread 0's first, then 1's, ...) and returns the
    /// totals, the same on every thread, valid until the next call but one. Every active thread must call it, the
    /// same number of times with the same length.
    /// </summary>
    public ReadOnlySpan<double> Sum(int thread, int length)
    {
        int parity = _parity;
        Wait(flipParity: true);
        ref double[] totals = ref _totals[parity][thread];
        if (totals.Length < length) totals = new double[length];
        Span<double> sum = totals.AsSpan(0, length);
        _partials[parity][0].AsSpan(0, length).CopyTo(sum);
        for (int t = 1; t < Active; t++)
        {
            ReadOnlySpan<double> other = _partials[parity][t].AsSpan(0, length);
            for (int i = 0; i < length; i++) sum[i] += other[i];
        }
        return sum;
    }

    /// <summary>Waits until every active thread has arrived. With <paramref name="flipParity"/> (every caller alike) the last to arrive
    /// switches <see cref="Sum"/>'s buffers: each thread read the parity before arriving.</summary>
    public void Wait(bool flipParity = false)
    {
        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            if (flipParity) _parity ^= 1;
            _remaining = Active;
            Volatile.Write(ref _phase, phase + 1);
            return;
        }
        // The other threads are mid-batch, so the wait is short: spin and yield, never sleep.
        SpinWait spin = default;
        while (Volatile.Read(ref _phase) == phase)
        {
            if (_broken) throw new OperationCanceledException("Another thread of the data-parallel batch failed.");
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}

/// <summary>
/// Dedicated worker threads for data-parallel work: <see cref="Run"/> hands one job to threads 1..n−1 and runs
/// share 0 on the caller, then spins until all are done. Workers sleep between jobs; a job allocates nothing.
/// </summary>
internal sealed class WorkerCrew : IDisposable
{
    /// <summary>One data-parallel job; <c>thread</c> is 0 for the caller, 1.. for the workers.</summary>
    public interface IJob
    {
        void Run(int thread);
    }

    private readonly Thread[] _workers;
    private readonly ManualResetEventSlim[] _start;
    private int _pending; // workers still running the current job
    private readonly Exception?[] _errors;
    private IJob? _job;
    private BatchGroup? _group;
    private volatile bool _stopping;

    public WorkerCrew(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        Threads = threads;
        _workers = new Thread[threads - 1];
        _start = new ManualResetEventSlim[threads - 1];
        _errors = new Exception?[threads];
        for (int w = 0; w < _workers.Length; w++)
        {
            // Spin a while before blocking: the next job usually follows within a batch's time.
            _start[w] = new ManualResetEventSlim(false, spinCount: 2000);
            int index = w + 1;
            _workers[w] = new Thread(() => Work(index)) { IsBackground = true, Name = $"Dsl worker {index}" };
            _workers[w].Start();
        }
    }

    public int Threads { get; }

    /// <summary>The first row and the row count of thread <paramref name="thread"/>'s share of <paramref name="batch"/> rows split across <paramref name="active"/> threads.</summary>
    public static (int Start, int Rows) Share(int batch, int active, int thread)
    {
        int start = (int)((long)batch * thread / active), end = (int)((long)batch * (thread + 1) / active);
        return (start, end - start);
    }

    /// <summary>
    /// Runs <paramref name="job"/> on threads 0..<paramref name="active"/>−1 (0 on the caller) and returns when all
    /// have finished. A thread that fails breaks <paramref name="group"/> at once, releasing the others waiting in it,
    /// and the first failure in thread order is rethrown, not the cancellations it caused.
    /// </summary>
    public void Run(IJob job, int active, BatchGroup? group = null)
    {
        if (active < 1 || active > Threads) throw new ArgumentOutOfRangeException(nameof(active));
        _job = job;
        _group = group;
        Array.Clear(_errors);
        Volatile.Write(ref _pending, active - 1);
        for (int w = 0; w < active - 1; w++) _start[w].Set();
        RunShare(0);
        // The workers finish about when the caller does: spin and yield (a blocking wait would allocate on the caller).
        SpinWait spin = default;
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        _group = null;
        Exception? first = Array.Find(_errors, e => e is not null and not OperationCanceledException)
                           ?? Array.Find(_errors, e => e is not null);
        if (first is not null) ExceptionDispatchInfo.Throw(first);
    }

    private void RunShare(int thread)
    {
        try
        {
            _job!.Run(thread);
        }
        catch (Exception e)
        {
            _errors[thread] = e;
            _group?.Break();
        }
    }

    private void Work(int thread)
    {
        ManualResetEventSlim start = _start[thread - 1];
        while (true)
        {
            start.Wait();
            start.Reset();
            if (_stopping) return;
            RunShare(thread);
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (ManualResetEventSlim start in _start) start.Set();
        foreach (Thread worker in _workers) worker.Join();
        foreach (ManualResetEventSlim e in _start) e.Dispose();
    }
}
