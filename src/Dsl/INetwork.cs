using System;

namespace Dsl;

/// <summary>
/// What every generated network implements. Inference entry points are thread-safe (they only read the
/// parameters and keep activations on the caller's stack); training entry points use a
/// <see cref="Workspace"/> owned by one thread and accumulate into <see cref="Parameters.Gradients"/>.
/// </summary>
public interface INetwork
{
    /// <summary>Input features per sample.</summary>
    int InputSize { get; }

    /// <summary>Output values per sample.</summary>
    int OutputSize { get; }

    /// <summary>Weights, gradients and their names.</summary>
    Parameters Parameters { get; }

    /// <summary>Per layer: kind, output shape, parameter count and FLOPs, as a table.</summary>
    string Summary { get; }

    /// <summary>The steps the network runs, in order, with their shapes, options and tensor names.</summary>
    System.Collections.Generic.IReadOnlyList<NetworkStep> Steps { get; }

    /// <summary>Batch-1 inference: <paramref name="input"/> of <see cref="InputSize"/> floats into <paramref name="output"/> of <see cref="OutputSize"/>. Allocates nothing.</summary>
    void Forward(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Batched inference over <paramref name="batch"/> samples stored row after row. Allocates nothing.</summary>
    void Forward(ReadOnlySpan<float> input, Span<float> output, int batch);

    /// <summary>Scratch memory for training on up to <paramref name="maxBatch"/> samples at a time.</summary>
    Workspace CreateWorkspace(int maxBatch);

    /// <summary>Forward pass that keeps in <paramref name="workspace"/> what <see cref="Backward"/> needs.</summary>
    void ForwardTrain(ReadOnlySpan<float> input, Span<float> output, int batch, Workspace workspace);

    /// <summary>
    /// Backward pass for the batch last run through <see cref="ForwardTrain"/>: adds dL/dW and dL/db to
    /// <c>workspace.Gradients(Parameters)</c> (<see cref="Workspace.Gradients"/>: <see cref="Parameters.Gradients"/>
    /// unless the workspace is a helper thread's in a data-parallel batch) and writes dL/dx to <paramref name="inputGradient"/>, unless that is
    /// empty (then the input gradient is not computed, which saves a pass over the first layer's weights).
    /// </summary>
    void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Workspace workspace);

    /// <summary>
    /// The backward half of a fused plain-SGD step; call <see cref="NetworkExtensions.BackwardAndStep"/>, which
    /// finishes it. Like <see cref="Backward"/> without an input gradient, except that each matrix product's weight
    /// (the tensors stored input-major, <see cref="TensorInfo.StoredTransposed"/>: dense, convolution, attention
    /// projection and residual shortcut weights) takes <c>W −= learningRate · dL/dW</c> as that gradient is formed,
    /// so its gradient is never written; every other gradient is added to <see cref="Parameters.Gradients"/> as in
    /// <see cref="Backward"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="workspace"/> is a thread's share of a data-parallel batch.</exception>
    void BackwardUpdatingWeights(ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, float learningRate);

    /// <summary>Mixture-of-experts layers in the network, in the order they run (0 for most networks).</summary>
    int MixtureCount => 0;

    /// <summary>
    /// How mixture layer <paramref name="index"/> routed the batch of the last <see cref="ForwardTrain"/> with
    /// <paramref name="workspace"/>: each expert's load, the balancing loss, the router's entropy.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 0..<see cref="MixtureCount"/> − 1.</exception>
    MixtureStatistics Mixture(Workspace workspace, int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, "This network has no mixture-of-experts layer.");

    /// <summary>
    /// The auxiliary losses of the last <see cref="ForwardTrain"/> with <paramref name="workspace"/>, weighted, summed:
    /// the mixture layers' balancing losses (0 without any). They belong to the loss being minimised, and
    /// <see cref="Backward"/> adds their gradients itself; <see cref="Trainer"/> reports them beside the task loss.
    /// </summary>
    float AuxiliaryLoss(Workspace workspace)
    {
        float sum = 0f;
        for (int i = 0; i < MixtureCount; i++) sum += Mixture(workspace, i).AuxiliaryLoss;
        return sum;
    }
}
