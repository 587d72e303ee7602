using System;
using System.Collections.Generic;

namespace Dsl.Tests.Training;

/// <summary>
/// y = W x + b with plain loops, standing in for a generated network so the trainer is tested on its own.
/// W is stored PyTorch-style [out, in]. ForwardTrain keeps the batch's inputs in the workspace for Backward,
/// and records what it was given so tests can check batching and shuffling.
/// </summary>
internal sealed class LinearNetwork : INetwork
{
    private readonly TensorInfo _weight;
    private readonly TensorInfo _bias;

    public LinearNetwork(int inputSize, int outputSize, int seed)
    {
        InputSize = inputSize;
        OutputSize = outputSize;
        _weight = new TensorInfo("linear.weight", [outputSize, inputSize], TensorInit.KaimingUniform, fanIn: inputSize, fanOut: outputSize);
        _bias = new TensorInfo("linear.bias", [outputSize], TensorInit.Zeros);
        Parameters = new Parameters([_weight, _bias]);
        Parameters.Initialize(seed);
    }

    public int InputSize { get; }
    public int OutputSize { get; }
    public Parameters Parameters { get; }
    public string Summary => $"Linear {InputSize} -> {OutputSize}";

    public System.Collections.Generic.IReadOnlyList<NetworkStep> Steps => System.Array.Empty<NetworkStep>();

    public List<int> TrainBatchSizes { get; } = [];
    public List<float> TrainFirstFeatures { get; } = [];

    public void Forward(ReadOnlySpan<float> input, Span<float> output) => Forward(input, output, 1);

    public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        Guard.BatchLength(input, InputSize, batch, nameof(input));
        Guard.BatchLength(output, OutputSize, batch, nameof(output));
        ReadOnlySpan<float> w = Parameters.Value(_weight);
        ReadOnlySpan<float> bias = Parameters.Value(_bias);
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<float> x = input.Slice(s * InputSize, InputSize);
            for (int o = 0; o < OutputSize; o++)
            {
                float sum = bias[o];
                for (int i = 0; i < InputSize; i++) sum += w[o * InputSize + i] * x[i];
                output[s * OutputSize + o] = sum;
            }
        }
    }

    public Workspace CreateWorkspace(int maxBatch) => new(InputSize, maxBatch);

    public void ForwardTrain(ReadOnlySpan<float> input, Span<float> output, int batch, Workspace workspace)
    {
        workspace.BeginForward(batch);
        input.CopyTo(workspace.Region(0, InputSize, batch));
        lock (TrainBatchSizes) TrainBatchSizes.Add(batch);
        lock (TrainFirstFeatures)
            for (int s = 0; s < batch; s++) TrainFirstFeatures.Add(input[s * InputSize]);
        Forward(input, output, batch);
    }

    // No tensor is stored input-major, so no weight is a product's: a fused step's backward is the plain one.
    public void BackwardUpdatingWeights(ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, float learningRate) =>
        Backward(outputGradient, Span<float>.Empty, batch, workspace);

    public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Workspace workspace)
    {
        workspace.BeginBackward(batch);
        ReadOnlySpan<float> inputs = workspace.Region(0, InputSize, batch);
        ReadOnlySpan<float> w = Parameters.Value(_weight);
        Span<float> gradients = workspace.Gradients(Parameters);
        Span<float> dw = gradients.Slice(_weight.Offset, _weight.Length);
        Span<float> db = gradients.Slice(_bias.Offset, _bias.Length);
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<float> x = inputs.Slice(s * InputSize, InputSize);
            ReadOnlySpan<float> dy = outputGradient.Slice(s * OutputSize, OutputSize);
            for (int o = 0; o < OutputSize; o++)
            {
                db[o] += dy[o];
                for (int i = 0; i < InputSize; i++) dw[o * InputSize + i] += dy[o] * x[i];
            }
            if (!inputGradient.IsEmpty)
            {
                for (int i = 0; i < InputSize; i++)
                {
                    float sum = 0f;
                    for (int o = 0; o < OutputSize; o++) sum += w[o * InputSize + i] * dy[o];
                    inputGradient[s * InputSize + i] = sum;
                }
            }
        }
    }
}
