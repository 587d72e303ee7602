using System;
using System.Collections.Generic;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// A plain double-precision dense network written from the textbook formulas, reading weights PyTorch-style
/// through <see cref="Dense.GetWeight"/>: the independent oracle the generated kernels are checked against.
/// </summary>
internal sealed class Reference
{
    private readonly IReadOnlyList<Dense> _layers;

    public Reference(IReadOnlyList<Dense> layers) => _layers = layers;

    /// <summary>Activations per layer, [0] being the input.</summary>
    public double[][] Forward(ReadOnlySpan<float> input)
    {
        var a = new double[_layers.Count + 1][];
        a[0] = new double[input.Length];
        for (int i = 0; i < input.Length; i++) a[0][i] = input[i];
        for (int l = 0; l < _layers.Count; l++)
        {
            Dense layer = _layers[l];
            var z = new double[layer.Units];
            for (int o = 0; o < layer.Units; o++)
            {
                double sum = layer.Bias.IsEmpty ? 0 : layer.Bias[o];
                for (int i = 0; i < layer.Inputs; i++) sum += (double)layer.GetWeight(o, i) * a[l][i];
                z[o] = sum;
            }
            a[l + 1] = Activate(layer.Activation, z);
        }
        return a;
    }

    /// <summary>Gradients of L = sum(dy * y): returns dL/dx and adds dL/dW (PyTorch [out, in]) and dL/db per layer.</summary>
    public double[] Backward(double[][] activations, ReadOnlySpan<float> outputGradient, double[][] weightGradients, double[][] biasGradients)
    {
        var g = new double[outputGradient.Length];
        for (int j = 0; j < g.Length; j++) g[j] = outputGradient[j];
        for (int l = _layers.Count - 1; l >= 0; l--)
        {
            Dense layer = _layers[l];
            double[] y = activations[l + 1];
            double[] x = activations[l];
            double[] dz = ActivationBackward(layer, x, y, g);
            var dx = new double[layer.Inputs];
            for (int o = 0; o < layer.Units; o++)
            {
                biasGradients[l][o] += dz[o];
                for (int i = 0; i < layer.Inputs; i++)
                {
                    weightGradients[l][o * layer.Inputs + i] += dz[o] * x[i];
                    dx[i] += layer.GetWeight(o, i) * dz[o];
                }
            }
            g = dx;
        }
        return g;
    }

    private double[] ActivationBackward(Dense layer, double[] x, double[] y, double[] dy)
    {
        var dz = new double[dy.Length];
        switch (layer.Activation)
        {
            case Activation.Softmax:
                double dot = 0;
                for (int j = 0; j < y.Length; j++) dot += dy[j] * y[j];
                for (int j = 0; j < y.Length; j++) dz[j] = y[j] * (dy[j] - dot);
                return dz;
            default:
                // Recompute z to take the derivative where it is defined in terms of z.
                for (int o = 0; o < layer.Units; o++)
                {
                    double z = layer.Bias.IsEmpty ? 0 : layer.Bias[o];
                    for (int i = 0; i < layer.Inputs; i++) z += (double)layer.GetWeight(o, i) * x[i];
                    dz[o] = dy[o] * Derivative(layer.Activation, z);
                }
                return dz;
        }
    }

    private static double[] Activate(Activation activation, double[] z)
    {
        var y = new double[z.Length];
        if (activation == Activation.Softmax)
        {
            double max = double.NegativeInfinity;
            foreach (double v in z) max = Math.Max(max, v);
            double sum = 0;
            for (int j = 0; j < z.Length; j++) sum += y[j] = Math.Exp(z[j] - max);
            for (int j = 0; j < z.Length; j++) y[j] /= sum;
            return y;
        }
        for (int j = 0; j < z.Length; j++) y[j] = Apply(activation, z[j]);
        return y;
    }

    private const double GeluC = 0.7978845608028654; // sqrt(2/pi)

    public static double Apply(Activation activation, double z) => activation switch
    {
        Activation.None => z,
        Activation.Relu => Math.Max(0, z),
        Activation.Tanh => Math.Tanh(z),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-z)),
        Activation.Silu => z / (1 + Math.Exp(-z)),
        Activation.Gelu => z * NormalCdf(z),
        Activation.GeluTanh => 0.5 * z * (1 + Math.Tanh(GeluC * (z + 0.044715 * z * z * z))),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    public static double Derivative(Activation activation, double z)
    {
        switch (activation)
        {
            case Activation.None: return 1;
            case Activation.Relu: return z > 0 ? 1 : 0;
            case Activation.Tanh: { double t = Math.Tanh(z); return 1 - t * t; }
            case Activation.Sigmoid: { double s = 1 / (1 + Math.Exp(-z)); return s * (1 - s); }
            case Activation.Silu: { double s = 1 / (1 + Math.Exp(-z)); return s * (1 + z * (1 - s)); }
            case Activation.Gelu: return NormalCdf(z) + z * Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI);
            case Activation.GeluTanh:
            {
                double u = GeluC * (z + 0.044715 * z * z * z);
                double t = Math.Tanh(u);
                return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GeluC * (1 + 3 * 0.044715 * z * z);
            }
            default: throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    /// <summary>Φ(z) = erfc(−z/√2)/2, with the lower tail from erfc directly so it keeps its relative accuracy.</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>
    /// erfc to about 1e-15: for x &lt; 2.5 as 1 − erf with erf's all-positive series
    /// <c>erf x = 2/√π e^(−x²) Σ 2^n x^(2n+1) / (1·3·…·(2n+1))</c> (no cancellation); beyond, the continued fraction
    /// <c>erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))</c>, evaluated backwards from 200 terms.
    /// </summary>
    public static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x >= 2.5)
        {
            double f = x;
            for (int n = 200; n >= 1; n--) f = x + n / 2.0 / f;
            return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
        }
        double term = x, sum = x;
        for (int n = 1; term > 1e-17 * sum; n++)
        {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
        }
        return 1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }
}
