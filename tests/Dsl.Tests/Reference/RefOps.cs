using System;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// Double-precision building blocks for reference forwards, written from the textbook and PyTorch definitions
/// with plain loops. Weights are in PyTorch's state_dict layout (a dense weight is [out, in] row-major), token
/// sequences are token-major <c>[L, D]</c> (token t's features at <c>t·D</c> onward), images channel-major
/// <c>[C, H, W]</c>. Every op returns a new array and leaves its inputs alone. Nothing here shares code with
/// the generated kernels or the runtime: it is the independent oracle for them.
/// </summary>
internal static class RefOps
{
    private const double SqrtPi = 1.7724538509055160273;
    private const double Sqrt2 = 1.4142135623730950488;
    private const double SqrtTwoOverPi = 0.79788456080286535588; // sqrt(2/pi), GELU's tanh form

    /// <summary>The default <see cref="LayerNormAttribute.Epsilon"/> as the float the generated code uses.</summary>
    public const double LayerNormEpsilon = (double)1e-5f;

    /// <summary>The default <see cref="RMSNormAttribute.Epsilon"/> (float's machine epsilon) as the float the generated code uses.</summary>
    public const double RmsNormEpsilon = (double)1.1920929e-7f;

    // ---------------------------------------------------------------- activations

    /// <summary>
    /// erf to about 1e-15 absolute: for |x| &lt; 2 the Maclaurin series <c>2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))</c>
    /// (its largest term is below e^4/√π, so cancellation costs at most one digit); from 2 on,
    /// <c>1 − erfc x</c> with Laplace's continued fraction
    /// <c>erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))</c> evaluated backwards from 400 levels.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return -Erf(-x);
        if (x >= 2) return 1 - Erfc(x);
        // term_n = (−1)^n x^(2n+1) / n!; the series adds term_n / (2n+1).
        double power = x, sum = x;
        for (int n = 1; n < 200; n++)
        {
            power *= -x * x / n;
            double term = power / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) < 1e-18) break;
        }
        return 2 / SqrtPi * sum;
    }

    /// <summary>erfc x = 1 − erf x, accurate in relative terms for large x (the continued fraction of <see cref="Erf"/>).</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 2) return 1 - Erf(x);
        if (x > 27) return 0; // e^(−729) underflows
        double f = x;
        for (int n = 400; n >= 1; n--) f = x + n / 2.0 / f;
        return Math.Exp(-x * x) / SqrtPi / f;
    }

    /// <summary>The standard normal CDF Φ(z) = erfc(−z/√2)/2 (the lower tail straight from erfc, keeping its relative accuracy).</summary>
    public static double NormalCdf(double z) => z < 0 ? 0.5 * Erfc(-z / Sqrt2) : 0.5 * (1 + Erf(z / Sqrt2));

    /// <summary>GELU, exact form (PyTorch's <c>nn.GELU()</c>): z Φ(z).</summary>
    public static double Gelu(double z) => z * NormalCdf(z);

    /// <summary>GELU, tanh form (PyTorch's <c>nn.GELU(approximate="tanh")</c>).</summary>
    public static double GeluTanh(double z) => 0.5 * z * (1 + Math.Tanh(SqrtTwoOverPi * (z + 0.044715 * z * z * z)));

    /// <summary>1 / (1 + e^−z), without overflow for large |z|.</summary>
    public static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    /// <summary>An element-wise activation at one value (not <see cref="Activation.Softmax"/>, which needs a row).</summary>
    public static double Apply(Activation activation, double z) => activation switch
    {
        Activation.None => z,
        Activation.Relu => z > 0 ? z : 0,
        Activation.Tanh => Math.Tanh(z),
        Activation.Sigmoid => Sigmoid(z),
        Activation.Silu => z * Sigmoid(z),
        Activation.Gelu => Gelu(z),
        Activation.GeluTanh => GeluTanh(z),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Softmax applies to a row, not a value."),
    };

    /// <summary>Softmax of one row: e^(z_j − max) / Σ_k e^(z_k − max).</summary>
    public static double[] Softmax(double[] z)
    {
        double max = double.NegativeInfinity;
        foreach (double v in z) max = Math.Max(max, v);
        var y = new double[z.Length];
        double sum = 0;
        for (int j = 0; j < z.Length; j++) sum += y[j] = Math.Exp(z[j] - max);
        for (int j = 0; j < z.Length; j++) y[j] /= sum;
        return y;
    }

    /// <summary>
    /// The activation over consecutive groups of <paramref name="features"/> values (one group per token; pass
    /// the whole length for a flat vector). Softmax normalises within each group.
    /// </summary>
    public static double[] Activate(Activation activation, double[] z, int features)
    {
        CheckTokens(z, features, out int tokens);
        var y = new double[z.Length];
        for (int t = 0; t < tokens; t++)
        {
            if (activation == Activation.Softmax)
            {
                double[] row = Softmax(z.AsSpan(t * features, features).ToArray());
                row.CopyTo(y, t * features);
            }
            else
            {
                for (int j = 0; j < features; j++) y[t * features + j] = Apply(activation, z[t * features + j]);
            }
        }
        return y;
    }

    /// <summary>The activation on a flat vector (softmax over all of it).</summary>
    public static double[] Activate(Activation activation, double[] z) => Activate(activation, z, z.Length);

    // ---------------------------------------------------------------- dense

    /// <summary>
    /// <c>y = act(x W^T + b)</c> per token, PyTorch's <c>nn.Linear(inputs, units)</c> on the last dimension:
    /// <paramref name="x"/> holds L tokens of <paramref name="inputs"/> values, the result L tokens of
    /// <paramref name="units"/>; <paramref name="weight"/> is [units, inputs], <paramref name="bias"/> [units] or null.
    /// </summary>
    public static double[] Dense(double[] x, double[] weight, double[]? bias, int inputs, int units, Activation activation = Activation.None)
    {
        CheckTokens(x, inputs, out int tokens);
        CheckLength(weight, units * inputs, nameof(weight));
        if (bias is not null) CheckLength(bias, units, nameof(bias));
        var z = new double[tokens * units];
        for (int t = 0; t < tokens; t++)
            for (int o = 0; o < units; o++)
            {
                double sum = bias is null ? 0 : bias[o];
                for (int i = 0; i < inputs; i++) sum += weight[o * inputs + i] * x[t * inputs + i];
                z[t * units + o] = sum;
            }
        return Activate(activation, z, units);
    }

    // ---------------------------------------------------------------- convolution and layout

    /// <summary>
    /// PyTorch's <c>nn.Conv2d(inChannels, outChannels, kernel, stride, padding)</c> (groups 1, dilation 1) on one
    /// <c>[C, H, W]</c> image: <c>y[o, i, j] = b[o] + Σ_{c, kh, kw} W[o, c, kh, kw] x[c, i·s − p + kh, j·s − p + kw]</c>,
    /// x zero outside. Returns <c>[outChannels, OH, OW]</c> with <c>OH = (H + 2p − k) / s + 1</c>.
    /// </summary>
    public static double[] Conv2D(double[] x, double[] weight, double[]? bias, int inChannels, int height, int width,
        int outChannels, int kernel, int stride = 1, int padding = 0)
    {
        CheckLength(x, inChannels * height * width, nameof(x));
        CheckLength(weight, outChannels * inChannels * kernel * kernel, nameof(weight));
        int outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1;
        var y = new double[outChannels * outHeight * outWidth];
        for (int o = 0; o < outChannels; o++)
            for (int i = 0; i < outHeight; i++)
                for (int j = 0; j < outWidth; j++)
                {
                    double sum = bias is null ? 0 : bias[o];
                    for (int c = 0; c < inChannels; c++)
                        for (int kh = 0; kh < kernel; kh++)
                            for (int kw = 0; kw < kernel; kw++)
                            {
                                int row = i * stride - padding + kh, column = j * stride - padding + kw;
                                if (row < 0 || row >= height || column < 0 || column >= width) continue;
                                sum += weight[((o * inChannels + c) * kernel + kh) * kernel + kw] * x[(c * height + row) * width + column];
                            }
                    y[(o * outHeight + i) * outWidth + j] = sum;
                }
        return y;
    }

    /// <summary>
    /// <c>[C, positions]</c> (channel-major; an image's H·W positions row-major) to <c>[positions, C]</c>
    /// token-major, PyTorch's <c>x.flatten(2).transpose(1, 2)</c> for one sample.
    /// </summary>
    public static double[] Tokens(double[] x, int channels)
    {
        CheckTokens(x, channels, out int positions);
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < positions; p++) y[p * channels + c] = x[c * positions + p];
        return y;
    }

    // ---------------------------------------------------------------- normalisation

    /// <summary>
    /// PyTorch's <c>nn.LayerNorm(D, eps)</c> per token: <c>y = γ (x − μ) / sqrt(σ² + ε) + β</c> with μ and the
    /// biased variance σ² of the token's D values. <paramref name="beta"/> null means zeros.
    /// </summary>
    public static double[] LayerNorm(double[] x, int features, double[] gamma, double[]? beta, double epsilon = LayerNormEpsilon)
    {
        CheckTokens(x, features, out int tokens);
        CheckLength(gamma, features, nameof(gamma));
        if (beta is not null) CheckLength(beta, features, nameof(beta));
        var y = new double[x.Length];
        for (int t = 0; t < tokens; t++)
        {
            int start = t * features;
            double mean = 0;
            for (int j = 0; j < features; j++) mean += x[start + j];
            mean /= features;
            double variance = 0;
            for (int j = 0; j < features; j++) variance += (x[start + j] - mean) * (x[start + j] - mean);
            variance /= features; // biased, as PyTorch normalises
            double inverse = 1 / Math.Sqrt(variance + epsilon);
            for (int j = 0; j < features; j++)
                y[start + j] = gamma[j] * (x[start + j] - mean) * inverse + (beta is null ? 0 : beta[j]);
        }
        return y;
    }

    /// <summary>PyTorch's <c>nn.RMSNorm(D, eps)</c> per token: <c>y = γ x / sqrt(mean(x²) + ε)</c>.</summary>
    public static double[] RmsNorm(double[] x, int features, double[] gamma, double epsilon = RmsNormEpsilon)
    {
        CheckTokens(x, features, out int tokens);
        CheckLength(gamma, features, nameof(gamma));
        var y = new double[x.Length];
        for (int t = 0; t < tokens; t++)
        {
            int start = t * features;
            double meanSquare = 0;
            for (int j = 0; j < features; j++) meanSquare += x[start + j] * x[start + j];
            meanSquare /= features;
            double inverse = 1 / Math.Sqrt(meanSquare + epsilon);
            for (int j = 0; j < features; j++) y[start + j] = gamma[j] * x[start + j] * inverse;
        }
        return y;
    }

    // ---------------------------------------------------------------- attention

    /// <summary>
    /// PyTorch's <c>nn.MultiheadAttention(D, heads, batch_first=True)</c> called as <c>attn(x, x, x)</c> on one
    /// sample <paramref name="x"/> <c>[L, D]</c>, returning the attention output <c>[L, D]</c>:
    /// Q, K, V = x W_q^T + b_q, x W_k^T + b_k, x W_v^T + b_v with W_q, W_k, W_v rows 0..D−1, D..2D−1, 2D..3D−1
    /// of <paramref name="inProjWeight"/> [3D, D] (likewise the biases in <paramref name="inProjBias"/> [3D]);
    /// head h owns columns h·d .. h·d + d − 1 (d = D / heads) of each;
    /// <c>O_h = softmax_j(Q_h[i] · K_h[j] / sqrt(d), j ≤ i when causal) V_h</c>;
    /// <c>y = [O_1 … O_heads] W_out^T + b_out</c>. Null biases mean zeros (PyTorch's <c>bias=False</c>).
    /// </summary>
    public static double[] MultiHeadSelfAttention(double[] x, int features, int heads, double[] inProjWeight, double[]? inProjBias,
        double[] outProjWeight, double[]? outProjBias, bool causal)
    {
        CheckTokens(x, features, out int length);
        if (heads <= 0 || features % heads != 0) throw new ArgumentException($"{features} features do not split into {heads} heads.", nameof(heads));
        CheckLength(inProjWeight, 3 * features * features, nameof(inProjWeight));
        if (inProjBias is not null) CheckLength(inProjBias, 3 * features, nameof(inProjBias));
        CheckLength(outProjWeight, features * features, nameof(outProjWeight));
        int d = features / heads;

        // The three projections, each [L, D]: rows of the stacked in_proj weight and bias.
        double[] Project(int part)
        {
            var result = new double[length * features];
            for (int t = 0; t < length; t++)
                for (int o = 0; o < features; o++)
                {
                    int row = part * features + o;
                    double sum = inProjBias is null ? 0 : inProjBias[row];
                    for (int i = 0; i < features; i++) sum += inProjWeight[row * features + i] * x[t * features + i];
                    result[t * features + o] = sum;
                }
            return result;
        }
        double[] q = Project(0), k = Project(1), v = Project(2);

        var concatenated = new double[length * features];
        double scale = 1 / Math.Sqrt(d);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < length; i++)
            {
                int visible = causal ? i + 1 : length;
                var scores = new double[visible];
                for (int j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (int c = h * d; c < (h + 1) * d; c++) dot += q[i * features + c] * k[j * features + c];
                    scores[j] = dot * scale;
                }
                double[] p = Softmax(scores);
                for (int c = h * d; c < (h + 1) * d; c++)
                {
                    double sum = 0;
                    for (int j = 0; j < visible; j++) sum += p[j] * v[j * features + c];
                    concatenated[i * features + c] = sum;
                }
            }
        return Dense(concatenated, outProjWeight, outProjBias, features, features);
    }

    // ---------------------------------------------------------------- embeddings and pooling

    /// <summary>
    /// PyTorch's <c>nn.Embedding(vocabulary, dimension)</c>: each id (an integer held in a double) becomes row
    /// <c>id</c> of <paramref name="table"/> [vocabulary, dimension]; L ids give <c>[L, dimension]</c>. Throws
    /// <see cref="ArgumentOutOfRangeException"/> for an id that is not an integer in [0, vocabulary).
    /// </summary>
    public static double[] Embedding(double[] ids, double[] table, int vocabulary, int dimension)
    {
        CheckLength(table, vocabulary * dimension, nameof(table));
        var y = new double[ids.Length * dimension];
        for (int t = 0; t < ids.Length; t++)
        {
            double id = ids[t];
            if (!(id >= 0 && id < vocabulary && id == Math.Floor(id)))
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token {t}: id {id} is not an integer in [0, {vocabulary}).");
            Array.Copy(table, (int)id * dimension, y, t * dimension, dimension);
        }
        return y;
    }

    /// <summary>Learned positional embedding: <c>y[t, j] = x[t, j] + P[t, j]</c> with <paramref name="positions"/> P of shape [L, D].</summary>
    public static double[] PositionalEmbedding(double[] x, double[] positions) => Add(x, positions);

    /// <summary>Mean over the L tokens of <c>[L, D]</c>: a flat <c>[D]</c> (PyTorch's <c>x.mean(dim=1)</c> for one sample).</summary>
    public static double[] MeanOverTokens(double[] x, int features)
    {
        CheckTokens(x, features, out int tokens);
        var y = new double[features];
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < features; j++) y[j] += x[t * features + j];
        for (int j = 0; j < features; j++) y[j] /= tokens;
        return y;
    }

    // ---------------------------------------------------------------- residual arithmetic

    /// <summary>Element-wise a + b.</summary>
    public static double[] Add(double[] a, double[] b)
    {
        CheckLength(b, a.Length, nameof(b));
        var y = new double[a.Length];
        for (int i = 0; i < a.Length; i++) y[i] = a[i] + b[i];
        return y;
    }

    /// <summary>The highway mix <c>T ⊙ f + (1 − T) ⊙ x</c>, element-wise, with the gate T already in (0, 1).</summary>
    public static double[] Highway(double[] gate, double[] f, double[] x)
    {
        CheckLength(f, gate.Length, nameof(f));
        CheckLength(x, gate.Length, nameof(x));
        var y = new double[gate.Length];
        for (int i = 0; i < y.Length; i++) y[i] = gate[i] * f[i] + (1 - gate[i]) * x[i];
        return y;
    }

    private static void CheckTokens(double[] x, int features, out int tokens)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (features <= 0 || x.Length % features != 0)
            throw new ArgumentException($"{x.Length} values are not a whole number of {features}-value tokens.", nameof(x));
        tokens = x.Length / features;
    }

    private static void CheckLength(double[] values, int expected, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != expected) throw new ArgumentException($"{name}: {values.Length} values, expected {expected}.", name);
    }
}
