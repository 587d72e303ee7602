using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// A reference for networks whose forward is written by hand from <see cref="RefOps"/>: the caller supplies a
/// per-sample function of the weights (by PyTorch tensor name, in PyTorch order, as doubles) and one input
/// sample. Like <see cref="LayerReference"/>, gradients of L = Σ dy·y come from central differences
/// (h = 1e-5 in double) of that forward, exact to ~1e-8, so they serve as the reference backward.
/// </summary>
internal sealed class FunctionReference
{
    private readonly Func<IReadOnlyDictionary<string, double[]>, double[], double[]> _forward;
    private readonly HashSet<string> _parameters;

    /// <summary>Tensors by name, in PyTorch (file) order, as doubles; the forward reads only these.</summary>
    public Dictionary<string, double[]> Values { get; } = new();

    /// <summary>Reads every tensor of <paramref name="net"/>'s parameters; gradients cover its trainable ones (not buffers).</summary>
    public FunctionReference(INetwork net, Func<IReadOnlyDictionary<string, double[]>, double[], double[]> forward)
    {
        ArgumentNullException.ThrowIfNull(net);
        _forward = forward ?? throw new ArgumentNullException(nameof(forward));
        _parameters = new HashSet<string>();
        foreach (TensorInfo t in net.Parameters.Tensors)
        {
            Values[t.Name] = LayerReference.FileValues(net.Parameters, t);
            if (t.Kind == TensorKind.Parameter) _parameters.Add(t.Name);
        }
    }

    /// <summary>Uses <paramref name="values"/> (copied) as the tensors, all of them trainable.</summary>
    public FunctionReference(IReadOnlyDictionary<string, double[]> values, Func<IReadOnlyDictionary<string, double[]>, double[], double[]> forward)
    {
        ArgumentNullException.ThrowIfNull(values);
        _forward = forward ?? throw new ArgumentNullException(nameof(forward));
        foreach ((string name, double[] v) in values) Values[name] = (double[])v.Clone();
        _parameters = new HashSet<string>(Values.Keys);
    }

    /// <summary>Outputs for <paramref name="inputs"/> (one row per sample).</summary>
    public double[][] Forward(double[][] inputs) => inputs.Select(Sample).ToArray();

    /// <summary>
    /// dL/dθ by central differences for L = Σ dy·y over the batch, at up to <paramref name="perTensor"/>
    /// deterministic positions (PyTorch-order indices, chosen as <see cref="LayerReference.Positions"/> does) of
    /// each trainable tensor.
    /// </summary>
    public Dictionary<string, Dictionary<int, double>> ParameterGradients(double[][] inputs, double[][] outputGradient, int perTensor, int seed)
    {
        CheckBatch(inputs, outputGradient);
        var result = new Dictionary<string, Dictionary<int, double>>();
        foreach ((string name, double[] values) in Values)
        {
            if (!_parameters.Contains(name)) continue;
            var chosen = new Dictionary<int, double>();
            foreach (int i in LayerReference.Positions(values.Length, perTensor, seed))
                chosen[i] = LayerReference.Derivative(values, i, () => Loss(inputs, outputGradient));
            result[name] = chosen;
        }
        return result;
    }

    /// <summary>dL/dx for every input of every sample, by central differences (each sample's loss depends only on its own input).</summary>
    public double[][] InputGradients(double[][] inputs, double[][] outputGradient)
    {
        CheckBatch(inputs, outputGradient);
        var result = new double[inputs.Length][];
        for (int s = 0; s < inputs.Length; s++)
        {
            double[] row = (double[])inputs[s].Clone();
            double[] dy = outputGradient[s];
            result[s] = Enumerable.Range(0, row.Length).Select(i => LayerReference.Derivative(row, i, () => Dot(dy, Sample(row)))).ToArray();
        }
        return result;
    }

    private double[] Sample(double[] input)
    {
        double[] output = _forward(Values, (double[])input.Clone());
        return output ?? throw new InvalidOperationException("The reference forward returned null.");
    }

    private double Loss(double[][] inputs, double[][] outputGradient)
    {
        double sum = 0;
        for (int s = 0; s < inputs.Length; s++) sum += Dot(outputGradient[s], Sample(inputs[s]));
        return sum;
    }

    private static double Dot(double[] dy, double[] y)
    {
        if (dy.Length != y.Length) throw new ArgumentException($"Output gradient of {dy.Length} values for an output of {y.Length}.");
        double sum = 0;
        for (int j = 0; j < y.Length; j++) sum += dy[j] * y[j];
        return sum;
    }

    private static void CheckBatch(double[][] inputs, double[][] outputGradient)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (inputs.Length != outputGradient.Length)
            throw new ArgumentException($"{inputs.Length} input rows but {outputGradient.Length} output-gradient rows.", nameof(outputGradient));
    }
}
