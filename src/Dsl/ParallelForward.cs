using System;

namespace Dsl;

/// <summary>
/// Batched inference on several threads: <see cref="Forward"/> splits the batch into one run of rows per thread,
/// each through the network's own <see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float}, int)"/>, on the
/// calling thread and on dedicated workers this object owns (which sleep between calls). Each row's output is
/// bit-identical to the same row's output from a single-threaded call. A call allocates nothing.
/// Dispose it to stop the workers. One call at a time: not thread-safe.
/// </summary>
/// <example>
/// <code>
/// using var parallel = new ParallelForward(network, threads: 2);
/// parallel.Forward(inputs, outputs, batch: 64);
/// </code>
/// </example>
public sealed class ParallelForward : IDisposable
{
    private readonly INetwork _network;
    private readonly WorkerCrew? _crew;
    private readonly Job _job;

    /// <summary>Binds <paramref name="network"/> and starts <paramref name="threads"/> − 1 workers.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is less than 1.</exception>
    public ParallelForward(INetwork network, int threads)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        _network = network;
        Threads = threads;
        _crew = threads > 1 ? new WorkerCrew(threads) : null;
        _job = new Job(network);
    }

    /// <summary>Binds <paramref name="network"/> with one thread per processor.</summary>
    public ParallelForward(INetwork network) : this(network, Environment.ProcessorCount)
    {
    }

    /// <summary>Threads a batch is split across (the caller and <c>Threads − 1</c> workers).</summary>
    public int Threads { get; }

    /// <summary>
    /// <see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float}, int)"/> of <paramref name="batch"/> samples,
    /// rows split evenly across the threads (a batch of fewer rows than threads uses as many threads as rows).
    /// </summary>
    /// <exception cref="ArgumentException">A span does not hold <paramref name="batch"/> samples.</exception>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    public unsafe void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Guard.BatchLength(input, _network.InputSize, batch, nameof(input));
        Guard.BatchLength(output, _network.OutputSize, batch, nameof(output));
        int active = Math.Min(Threads, batch);
        if (active == 1)
        {
            _network.Forward(input, output, batch);
            return;
        }
        // The spans are pinned for the call and reach the workers as pointers: a job holds no span.
        fixed (float* x = input, y = output)
        {
            _job.Set(x, y, batch, active);
            _crew!.Run(_job, active);
        }
    }

    private bool _disposed;

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _crew?.Dispose();
    }

    private sealed unsafe class Job(INetwork network) : WorkerCrew.IJob
    {
        private float* _input, _output;
        private int _batch, _active;

        public void Set(float* input, float* output, int batch, int active)
        {
            _input = input;
            _output = output;
            _batch = batch;
            _active = active;
        }

        public void Run(int thread)
        {
            (int start, int rows) = WorkerCrew.Share(_batch, _active, thread);
            int inputs = network.InputSize, outputs = network.OutputSize;
            network.Forward(new ReadOnlySpan<float>(_input + (long)start * inputs, rows * inputs),
                new Span<float>(_output + (long)start * outputs, rows * outputs), rows);
        }
    }
}
