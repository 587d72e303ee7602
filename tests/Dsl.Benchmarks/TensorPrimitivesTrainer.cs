using System;
using System.Collections.Generic;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>
/// The hand-written peer of a training step: minibatch forward, fused softmax cross-entropy (mean over the
/// batch), backward and plain SGD, for an MLP with ReLU/tanh/identity layers, in System.Numerics.Tensors
/// with [out, in] weights. The same algebra as Dsl's step: no input gradient for the first layer.
/// </summary>
public sealed class TensorPrimitivesTrainer
{
    private readonly MlpLayer[] _layers;
    private readonly float[][] _weightGradients;
    private readonly float[][] _biasGradients;
    private readonly float[][] _outputs;   // per layer, batch × units, after the activation
    private readonly float[] _gradientA;
    private readonly float[] _gradientB;
    private readonly int _maxBatch;

    /// <summary>Trains <paramref name="layers"/> in place (weights not copied) on batches up to <paramref name="maxBatch"/>.</summary>
    public TensorPrimitivesTrainer(IReadOnlyList<MlpLayer> layers, int maxBatch)
    {
        _layers = [.. layers];
        _maxBatch = maxBatch;
        _weightGradients = new float[_layers.Length][];
        _biasGradients = new float[_layers.Length][];
        _outputs = new float[_layers.Length][];
        int widest = 0;
        for (int l = 0; l < _layers.Length; l++)
        {
            _weightGradients[l] = new float[_layers[l].Weight.Length];
            _biasGradients[l] = new float[_layers[l].Units];
            _outputs[l] = new float[maxBatch * _layers[l].Units];
            widest = Math.Max(widest, _layers[l].Units);
        }
        _gradientA = new float[maxBatch * widest];
        _gradientB = new float[maxBatch * widest];
    }

    /// <summary>Learning rate of the SGD update.</summary>
    public float LearningRate { get; set; } = 0.01f;

    /// <summary>The weight gradient of layer <paramref name="layer"/> from the last step, [out, in].</summary>
    public ReadOnlySpan<float> WeightGradient(int layer) => _weightGradients[layer];

    /// <summary>The bias gradient of layer <paramref name="layer"/> from the last step.</summary>
    public ReadOnlySpan<float> BiasGradient(int layer) => _biasGradients[layer];

    /// <summary>The weight of layer <paramref name="layer"/>, [out, in], as trained so far.</summary>
    public ReadOnlySpan<float> Weights(int layer) => _layers[layer].Weight;

    /// <summary>The logits of the last step, batch × classes.</summary>
    public ReadOnlySpan<float> Logits => _outputs[^1];

    /// <summary>One SGD step on <paramref name="batch"/> samples of <paramref name="input"/> with class <paramref name="labels"/>; returns the mean loss.</summary>
    public float Step(ReadOnlySpan<float> input, ReadOnlySpan<int> labels)
    {
        int batch = labels.Length;
        if (batch == 0 || batch > _maxBatch) throw new ArgumentOutOfRangeException(nameof(labels));

        for (int l = 0; l < _layers.Length; l++)
        {
            _weightGradients[l].AsSpan().Clear();
            _biasGradients[l].AsSpan().Clear();
        }

        // Forward, keeping every layer's output.
        ReadOnlySpan<float> x = input;
        for (int l = 0; l < _layers.Length; l++)
        {
            MlpLayer layer = _layers[l];
            Span<float> y = _outputs[l].AsSpan(0, batch * layer.Units);
            for (int s = 0; s < batch; s++)
            {
                ReadOnlySpan<float> xs = x.Slice(s * layer.Inputs, layer.Inputs);
                Span<float> ys = y.Slice(s * layer.Units, layer.Units);
                for (int o = 0; o < layer.Units; o++) ys[o] = TensorPrimitives.Dot(layer.Weight.AsSpan(o * layer.Inputs, layer.Inputs), xs);
                TensorPrimitives.Add(ys, layer.Bias, ys);
            }
            TensorPrimitivesMlp.Activate(layer.Activation, y);
            x = y;
        }

        // Softmax cross-entropy, mean over the batch: dL/dz = (softmax(z) - onehot) / batch.
        int classes = _layers[^1].Units;
        Span<float> g = _gradientA.AsSpan(0, batch * classes);
        float invBatch = 1f / batch;
        double total = 0;
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<float> z = x.Slice(s * classes, classes);
            Span<float> gs = g.Slice(s * classes, classes);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, gs);
            TensorPrimitives.Exp(gs, gs);
            float sum = TensorPrimitives.Sum(gs);
            TensorPrimitives.Multiply(gs, invBatch / sum, gs);
            gs[labels[s]] -= invBatch;
            total += (max - z[labels[s]]) + MathF.Log(sum);
        }

        // Backward: g holds dL/dz of layer l, in one of the two gradient buffers; dL/dx goes to the other.
        bool inA = true;
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            MlpLayer layer = _layers[l];
            ReadOnlySpan<float> a = l == 0 ? input : _outputs[l - 1].AsSpan(0, batch * layer.Inputs);
            Span<float> gw = _weightGradients[l];
            Span<float> gb = _biasGradients[l];
            for (int s = 0; s < batch; s++)
            {
                ReadOnlySpan<float> gs = g.Slice(s * layer.Units, layer.Units);
                ReadOnlySpan<float> xs = a.Slice(s * layer.Inputs, layer.Inputs);
                TensorPrimitives.Add(gb, gs, gb);
                for (int o = 0; o < layer.Units; o++)
                {
                    Span<float> row = gw.Slice(o * layer.Inputs, layer.Inputs);
                    TensorPrimitives.MultiplyAdd(xs, gs[o], row, row);
                }
            }
            if (l == 0) break;

            // dL/da of the layer below = g W, then through that layer's activation.
            Span<float> dx = (inA ? _gradientB : _gradientA).AsSpan(0, batch * layer.Inputs);
            dx.Clear();
            for (int s = 0; s < batch; s++)
            {
                ReadOnlySpan<float> gs = g.Slice(s * layer.Units, layer.Units);
                Span<float> dxs = dx.Slice(s * layer.Inputs, layer.Inputs);
                for (int o = 0; o < layer.Units; o++)
                    TensorPrimitives.MultiplyAdd(layer.Weight.AsSpan(o * layer.Inputs, layer.Inputs), gs[o], dxs, dxs);
            }
            ActivationBackward(_layers[l - 1].Activation, a, dx);
            g = dx;
            inA = !inA;
        }

        // Plain SGD: p -= lr * g.
        for (int l = 0; l < _layers.Length; l++)
        {
            TensorPrimitives.MultiplyAdd(_weightGradients[l], -LearningRate, _layers[l].Weight, _layers[l].Weight);
            TensorPrimitives.MultiplyAdd(_biasGradients[l], -LearningRate, _layers[l].Bias, _layers[l].Bias);
        }
        return (float)(total / batch);
    }

    // dz = f'(.) dy from the layer's output y.
    private static void ActivationBackward(Activation activation, ReadOnlySpan<float> y, Span<float> dy)
    {
        switch (activation)
        {
            case Activation.None:
                break;
            case Activation.Relu:
            {
                // No TensorPrimitives op selects on a comparison; a Vector<float> loop does it.
                ReadOnlySpan<Vector<float>> yv = MemoryMarshal.Cast<float, Vector<float>>(y);
                Span<Vector<float>> gv = MemoryMarshal.Cast<float, Vector<float>>(dy);
                for (int k = 0; k < yv.Length; k++) gv[k] = Vector.ConditionalSelect(Vector.GreaterThan(yv[k], Vector<float>.Zero), gv[k], Vector<float>.Zero);
                for (int i = yv.Length * Vector<float>.Count; i < y.Length; i++) dy[i] = y[i] > 0f ? dy[i] : 0f;
                break;
            }
            case Activation.Tanh:
                for (int i = 0; i < y.Length; i++) dy[i] *= 1f - y[i] * y[i];
                break;
            default:
                throw new NotSupportedException($"The TensorPrimitives trainer has no {activation}.");
        }
    }
}
