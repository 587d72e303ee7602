using System;

namespace Dsl;

/// <summary>Saving and loading a network's weights as safetensors (see <see cref="SafeTensors"/>), and the training step that fuses the optimiser into Backward.</summary>
public static class NetworkExtensions
{
    /// <summary>
    /// Writes the network's parameters to <paramref name="path"/> as safetensors, atomically, with
    /// <paramref name="metadata"/> in the header when given (read back with <see cref="SafeTensors.ReadMetadata"/>).
    /// </summary>
    /// <exception cref="System.IO.IOException">The file could not be written; an existing file at <paramref name="path"/> is left as it was.</exception>
    public static void Save(this INetwork network, string path, System.Collections.Generic.IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        SafeTensors.Save(network.Parameters, path, metadata);
    }

    /// <summary>Reads the network's parameters from the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="SafeTensorsException">The file is malformed or does not match the network; the network is left unchanged.</exception>
    public static void Load(this INetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        SafeTensors.Load(network.Parameters, path);
    }

    /// <summary>
    /// Backward (without input gradient) and one <paramref name="optimizer"/> step for the batch last run through
    /// <see cref="INetwork.ForwardTrain"/> on <paramref name="workspace"/>. The gradients must be zero on entry
    /// (<see cref="Parameters.ZeroGradients"/>) and are zero again on return, so a training loop zeroes them once.
    /// With plain SGD (<see cref="Sgd"/> without momentum or weight decay) and <see cref="Workspace.CheckFinite"/> off,
    /// the step is fused: each matrix product's weight takes <c>W −= lr · dL/dW</c> inside the backward pass as its
    /// gradient is formed (<see cref="INetwork.BackwardUpdatingWeights"/>; what ONNX Runtime's training graphs do with a
    /// Gemm of beta 1), so its gradient is never written, read back or zeroed, and only the other parameters go
    /// through the gradient buffer. Otherwise it runs <see cref="INetwork.Backward"/>, <see cref="Optimizer.Step"/> and
    /// zeroes the gradients. Both give the same parameters up to float rounding (the fused update adds
    /// <c>Σ x·(−lr·dz)</c> to W instead of forming the gradient first).
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="workspace"/> is a thread's share of a data-parallel batch, or the optimiser belongs to another network's parameters.</exception>
    public static void BackwardAndStep(this INetwork network, ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        Parameters parameters = network.Parameters;
        // Both branches step the whole batch's gradient, which a data-parallel thread's share is not.
        Guard.WeightUpdate(workspace, optimizer.LearningRate);
        if (optimizer is Sgd { Momentum: 0f, WeightDecay: 0f } && !workspace.CheckFinite)
        {
            long step = optimizer.BeginStep(parameters);
            network.BackwardUpdatingWeights(outputGradient, batch, workspace, optimizer.LearningRate);
            int[] runs = parameters.NonProductRuns;
            Span<float> gradients = parameters.Gradients;
            for (int r = 0; r < runs.Length; r += 2)
            {
                optimizer.UpdateSlice(parameters, runs[r], runs[r + 1], step);
                gradients.Slice(runs[r], runs[r + 1]).Clear();
            }
            // The products' weights took their step inside the backward pass, removed connections too: zero those again.
            parameters.Pruning?.ClearRemoved(parameters.Values);
        }
        else
        {
            network.Backward(outputGradient, Span<float>.Empty, batch, workspace);
            optimizer.Step(parameters);
            parameters.ZeroGradients();
        }
    }
}
