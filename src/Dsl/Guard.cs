using System;

namespace Dsl;

/// <summary>Argument checks shared by the public entry points of generated networks.</summary>
public static class Guard
{
    /// <summary>Throws unless <paramref name="span"/> holds exactly <paramref name="expected"/> floats.</summary>
    public static void Length(ReadOnlySpan<float> span, int expected, string name)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} must hold {expected} floats, but holds {span.Length}.", name);
    }

    /// <summary>Throws unless <paramref name="batch"/> is positive and <paramref name="span"/> holds <paramref name="batch"/> × <paramref name="perSample"/> floats.</summary>
    public static void BatchLength(ReadOnlySpan<float> span, int perSample, int batch, string name)
    {
        if (batch <= 0)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch must be positive.");
        if (span.Length != (long)perSample * batch)
            throw new ArgumentException($"{name} must hold {batch} × {perSample} = {(long)perSample * batch} floats, but holds {span.Length}.", name);
    }

    /// <summary>
    /// Throws unless <paramref name="workspace"/> may update the weights in a fused SGD step
    /// (<see cref="INetwork.BackwardUpdatingWeights"/>): it must not be a thread's share of a data-parallel batch,
    /// whose gradients are only complete once every thread has added its own; and the learning rate must be finite
    /// and not negative.
    /// </summary>
    public static void WeightUpdate(Workspace workspace, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (workspace.SplitGroup is not null)
            throw new InvalidOperationException("A fused SGD step cannot run on a data-parallel thread's workspace: the batch's gradient is complete only after every thread's share is added.");
        if (!(learningRate >= 0f) || float.IsPositiveInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "Must be finite and not negative.");
    }
}
