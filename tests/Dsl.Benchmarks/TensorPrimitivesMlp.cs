using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>
/// The hand-written peer: what a competent C# developer writes with System.Numerics.Tensors. Weights in
/// PyTorch's [out, in] layout, one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
/// per output row, a vectorised bias add and activation over the whole layer, buffers allocated once.
/// </summary>
public sealed class TensorPrimitivesMlp
{
    private readonly MlpLayer[] _layers;
    private readonly float[][] _activations;
    private readonly int _maxBatch;

    /// <summary>Wraps <paramref name="layers"/> (not copied), with activation buffers for up to <paramref name="maxBatch"/> samples.</summary>
    public TensorPrimitivesMlp(IReadOnlyList<MlpLayer> layers, int maxBatch = 1)
    {
        _layers = [.. layers];
        _maxBatch = maxBatch;
        _activations = new float[_layers.Length - 1][];
        for (int l = 0; l < _activations.Length; l++) _activations[l] = new float[maxBatch * _layers[l].Units];
    }

    /// <summary>Batch-1 forward; allocates nothing.</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> output) => Forward(input, output, 1);

    /// <summary>Forward of <paramref name="batch"/> samples stored row after row, layer by layer; allocates nothing.</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        if (batch < 1 || batch > _maxBatch) throw new ArgumentOutOfRangeException(nameof(batch));
        ReadOnlySpan<float> x = input;
        for (int l = 0; l < _layers.Length; l++)
        {
            MlpLayer layer = _layers[l];
            Span<float> y = l == _layers.Length - 1 ? output : _activations[l].AsSpan(0, batch * layer.Units);
            for (int s = 0; s < batch; s++)
                Dense(layer, x.Slice(s * layer.Inputs, layer.Inputs), y.Slice(s * layer.Units, layer.Units));
            x = y;
        }
    }

    /// <summary><c>y = act(W x + b)</c> for one sample.</summary>
    public static void Dense(MlpLayer layer, ReadOnlySpan<float> x, Span<float> y)
    {
        ReadOnlySpan<float> w = layer.Weight;
        int n = layer.Inputs;
        for (int o = 0; o < layer.Units; o++) y[o] = TensorPrimitives.Dot(w.Slice(o * n, n), x);
        TensorPrimitives.Add(y, layer.Bias, y);
        Activate(layer.Activation, y);
    }

    /// <summary>The activation in place.</summary>
    public static void Activate(Activation activation, Span<float> y)
    {
        switch (activation)
        {
            case Activation.None: break;
            case Activation.Relu: TensorPrimitives.Max(y, 0f, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(y, y); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(y, y); break;
            default: throw new NotSupportedException($"The TensorPrimitives peer has no {activation}.");
        }
    }
}
