using System;

namespace Dsl;

/// <summary>
/// Training scratch of one network for batches of up to <see cref="MaxBatch"/> samples: the activations a
/// forward pass keeps for backward, and the gradients flowing between layers. One per training thread.
/// </summary>
public sealed class Workspace
{
    private readonly float[] _buffer;

    /// <summary>Allocates <paramref name="floatsPerSample"/> × <paramref name="maxBatch"/> floats; generated networks call this.</summary>
    public Workspace(int floatsPerSample, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(floatsPerSample);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        FloatsPerSample = floatsPerSample;
        MaxBatch = maxBatch;
        _buffer = GC.AllocateArray<float>(checked(floatsPerSample * maxBatch), pinned: true);
    }

    /// <summary>Largest batch this workspace holds.</summary>
    public int MaxBatch { get; }

    /// <summary>Floats kept per sample.</summary>
    public int FloatsPerSample { get; }

    /// <summary>Batch size of the last <see cref="INetwork.ForwardTrain"/>, or 0 before any.</summary>
    public int Batch { get; internal set; }

    /// <summary>The region of <paramref name="perSampleOffset"/>..+<paramref name="perSampleLength"/> per sample, for <paramref name="batch"/> samples, laid out sample after sample.</summary>
    public Span<float> Region(int perSampleOffset, int perSampleLength, int batch) =>
        _buffer.AsSpan(perSampleOffset * MaxBatch, perSampleLength * batch);

    /// <summary>Checks <paramref name="batch"/> fits and records it; generated ForwardTrain calls this.</summary>
    public void BeginForward(int batch)
    {
        if (batch <= 0 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"Batch must be in 1..{MaxBatch} for this workspace.");
        Batch = batch;
    }

    /// <summary>Checks a backward pass matches the last forward; generated Backward calls this.</summary>
    public void BeginBackward(int batch)
    {
        if (Batch == 0)
            throw new InvalidOperationException("Backward called before ForwardTrain on this workspace.");
        if (batch != Batch)
            throw new ArgumentException($"Backward batch {batch} differs from the last ForwardTrain batch {Batch}.", nameof(batch));
    }
}
