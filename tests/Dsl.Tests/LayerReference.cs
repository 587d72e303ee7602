using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// A double-precision re-implementation of any declared network, written from the textbook definitions with
/// plain loops over PyTorch-layout weights (nothing shared with the generated kernels: no im2col, no stored
/// layouts). Forward runs a whole batch, so batch norm can use batch statistics (training) or running ones.
/// Gradients come from central differences of this double forward, which are exact to ~1e-8 and so serve as
/// the reference backward.
/// </summary>
internal sealed class LayerReference
{
    private readonly Layer[] _layers;

    /// <summary>Parameter tensors by name, in PyTorch order, as doubles; the reference reads only these.</summary>
    public Dictionary<string, double[]> Values { get; } = new();

    public LayerReference(INetwork net, IEnumerable<Layer> layers)
    {
        _layers = layers.ToArray();
        foreach (TensorInfo t in net.Parameters.Tensors) Values[t.Name] = FileValues(net.Parameters, t);
    }

    /// <summary>A tensor's values in PyTorch (file) order, as doubles.</summary>
    internal static double[] FileValues(Parameters parameters, TensorInfo tensor)
    {
        var file = new float[tensor.Length];
        tensor.StoredToFile(parameters.Value(tensor), file);
        return file.Select(v => (double)v).ToArray();
    }

    /// <summary>Outputs of the whole network for <paramref name="inputs"/> (one row per sample).</summary>
    public double[][] Forward(double[][] inputs, bool training)
    {
        double[][] a = inputs;
        foreach (Layer layer in _layers) a = Forward(layer, a, training);
        return a;
    }

    /// <summary>
    /// dL/dθ by central differences (h = 1e-5 in double) for L = sum(dy * y) in training mode, at up to
    /// <paramref name="perTensor"/> deterministic positions of each parameter tensor (by PyTorch-order index).
    /// </summary>
    public Dictionary<string, Dictionary<int, double>> ParameterGradients(double[][] inputs, double[][] outputGradient, int perTensor, int seed)
    {
        var result = new Dictionary<string, Dictionary<int, double>>();
        foreach ((string name, double[] values) in Values)
        {
            if (name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith(".running_var", StringComparison.Ordinal) || name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
                continue;
            var chosen = new Dictionary<int, double>();
            foreach (int i in Positions(values.Length, perTensor, seed))
                chosen[i] = Derivative(values, i, () => Loss(inputs, outputGradient));
            result[name] = chosen;
        }
        return result;
    }

    /// <summary>dL/dx for every input of every sample, by central differences in double.</summary>
    public double[][] InputGradients(double[][] inputs, double[][] outputGradient) =>
        inputs.Select(row => Enumerable.Range(0, row.Length).Select(i => Derivative(row, i, () => Loss(inputs, outputGradient))).ToArray()).ToArray();

    private double Loss(double[][] inputs, double[][] outputGradient)
    {
        double[][] y = Forward(inputs, training: true);
        double sum = 0;
        for (int s = 0; s < y.Length; s++)
            for (int j = 0; j < y[s].Length; j++) sum += outputGradient[s][j] * y[s][j];
        return sum;
    }

    /// <summary>d(loss)/d(values[i]) by a central difference, h = 1e-5; values[i] is restored.</summary>
    internal static double Derivative(double[] values, int i, Func<double> loss)
    {
        const double h = 1e-5;
        double saved = values[i];
        values[i] = saved + h;
        double plus = loss();
        values[i] = saved - h;
        double minus = loss();
        values[i] = saved;
        return (plus - minus) / (2 * h);
    }

    internal static IEnumerable<int> Positions(int length, int count, int seed)
    {
        if (length <= count) return Enumerable.Range(0, length);
        int[] all = Enumerable.Range(0, length).ToArray();
        new Rng(seed).Shuffle(all);
        return all.Take(count).OrderBy(i => i);
    }

    private double[][] Forward(Layer layer, double[][] x, bool training)
    {
        switch (layer)
        {
            case Dense d:
            {
                double[] w = Values[d.Name + ".weight"];
                double[]? b = Values.GetValueOrDefault(d.Name + ".bias");
                return x.Select(row =>
                {
                    var z = new double[d.Units];
                    for (int o = 0; o < d.Units; o++)
                    {
                        double sum = b?[o] ?? 0;
                        for (int i = 0; i < d.Inputs; i++) sum += w[o * d.Inputs + i] * row[i];
                        z[o] = sum;
                    }
                    return Activate(d.Activation, z);
                }).ToArray();
            }
            case Conv2D c:
                return x.Select(row => Activate(c.Activation, Convolve(row, Values[c.Name + ".weight"], Values.GetValueOrDefault(c.Name + ".bias"),
                    c.InChannels, c.InputHeight, c.InputWidth, c.OutChannels, c.OutputHeight, c.OutputWidth, c.Kernel, c.Kernel,
                    c.Stride, c.Stride, c.Padding, c.Padding, c.Dilation, c.Dilation, c.Groups))).ToArray();
            case Conv1D c:
                return x.Select(row => Activate(c.Activation, Convolve(row, Values[c.Name + ".weight"], Values.GetValueOrDefault(c.Name + ".bias"),
                    c.InChannels, 1, c.InputLength, c.OutChannels, 1, c.OutputLength, 1, c.Kernel,
                    1, c.Stride, 0, c.LeftPadding, 1, c.Dilation, c.Groups))).ToArray();
            case BatchNorm n:
                return Normalize(n, x, training);
            case MaxPool2D p:
                return x.Select(row => Pool(row, p.Channels, p.InputHeight, p.InputWidth, p.OutputHeight, p.OutputWidth, p.Kernel, p.Kernel, p.Stride, p.Stride, p.Padding, p.Padding, max: true)).ToArray();
            case AvgPool2D p:
                return x.Select(row => Pool(row, p.Channels, p.InputHeight, p.InputWidth, p.OutputHeight, p.OutputWidth, p.Kernel, p.Kernel, p.Stride, p.Stride, p.Padding, p.Padding, max: false)).ToArray();
            case MaxPool1D p:
                return x.Select(row => Pool(row, p.Channels, 1, p.InputLength, 1, p.OutputLength, 1, p.Kernel, 1, p.Stride, 0, p.Padding, max: true)).ToArray();
            case GlobalAvgPool g:
            {
                int channels = g.InputShape[0], spatial = g.InputSize / channels;
                return x.Select(row => Enumerable.Range(0, channels).Select(c => row.Skip(c * spatial).Take(spatial).Average()).ToArray()).ToArray();
            }
            case Flatten:
                return x;
            default:
                throw new NotSupportedException(layer.GetType().Name);
        }
    }

    // y[oc, oh, ow] = b[oc] + sum over the group's input channels and taps of w[oc, icg, kh, kw] x[ic, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw].
    private static double[] Convolve(double[] x, double[] w, double[]? b, int inChannels, int height, int width, int outChannels, int outHeight, int outWidth,
        int kernelHeight, int kernelWidth, int strideHeight, int strideWidth, int padTop, int padLeft, int dilationHeight, int dilationWidth, int groups)
    {
        int groupIn = inChannels / groups, groupOut = outChannels / groups;
        var y = new double[outChannels * outHeight * outWidth];
        for (int oc = 0; oc < outChannels; oc++)
        {
            int g = oc / groupOut;
            for (int oh = 0; oh < outHeight; oh++)
            for (int ow = 0; ow < outWidth; ow++)
            {
                double sum = b?[oc] ?? 0;
                for (int icg = 0; icg < groupIn; icg++)
                for (int kh = 0; kh < kernelHeight; kh++)
                for (int kw = 0; kw < kernelWidth; kw++)
                {
                    int ih = oh * strideHeight + kh * dilationHeight - padTop;
                    int iw = ow * strideWidth + kw * dilationWidth - padLeft;
                    if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                    int ic = g * groupIn + icg;
                    sum += w[((oc * groupIn + icg) * kernelHeight + kh) * kernelWidth + kw] * x[(ic * height + ih) * width + iw];
                }
                y[(oc * outHeight + oh) * outWidth + ow] = sum;
            }
        }
        return y;
    }

    private static double[] Pool(double[] x, int channels, int height, int width, int outHeight, int outWidth,
        int kernelHeight, int kernelWidth, int strideHeight, int strideWidth, int padTop, int padLeft, bool max)
    {
        var y = new double[channels * outHeight * outWidth];
        for (int c = 0; c < channels; c++)
        for (int oh = 0; oh < outHeight; oh++)
        for (int ow = 0; ow < outWidth; ow++)
        {
            double best = double.NegativeInfinity, sum = 0;
            for (int kh = 0; kh < kernelHeight; kh++)
            for (int kw = 0; kw < kernelWidth; kw++)
            {
                int ih = oh * strideHeight + kh - padTop, iw = ow * strideWidth + kw - padLeft;
                bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
                double v = inside ? x[(c * height + ih) * width + iw] : 0; // padding is -inf for max, 0 for the average
                if (inside) best = Math.Max(best, v);
                sum += v;
            }
            y[(c * outHeight + oh) * outWidth + ow] = max ? best : sum / (kernelHeight * kernelWidth);
        }
        return y;
    }

    private double[][] Normalize(BatchNorm n, double[][] x, bool training)
    {
        int channels = n.Channels, spatial = n.Spatial;
        double[] gamma = Values[n.Name + ".weight"], beta = Values[n.Name + ".bias"];
        double[] mean = new double[channels], variance = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            if (training)
            {
                IEnumerable<double> values = x.SelectMany(row => row.Skip(c * spatial).Take(spatial)).ToArray();
                mean[c] = values.Average();
                variance[c] = values.Select(v => (v - mean[c]) * (v - mean[c])).Average(); // biased, as PyTorch normalises
            }
            else
            {
                mean[c] = Values[n.Name + ".running_mean"][c];
                variance[c] = Values[n.Name + ".running_var"][c];
            }
        }
        return x.Select(row =>
        {
            var z = new double[row.Length];
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < spatial; i++)
                    z[c * spatial + i] = gamma[c] * (row[c * spatial + i] - mean[c]) / Math.Sqrt(variance[c] + n.Epsilon) + beta[c];
            return Activate(n.Activation, z);
        }).ToArray();
    }

    private static double[] Activate(Activation activation, double[] z)
    {
        if (activation != Activation.Softmax) return z.Select(v => Reference.Apply(activation, v)).ToArray();
        double max = z.Max();
        double[] e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
