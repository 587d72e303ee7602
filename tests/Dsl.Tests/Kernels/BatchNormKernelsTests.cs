using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// BatchNormKernels against a double-precision reference written from the textbook formulas, finite differences
/// and PyTorch's running-statistics update. Tolerances: float results within 1e-5·(1 + |reference|) for forward
/// values, 1e-4·(1 + |reference|) for gradients (sums of up to a few hundred float products).
/// </summary>
public sealed class BatchNormKernelsTests
{
    public static TheoryData<int, int, int> Shapes() => new()
    {
        { 2, 3, 1 },
        { 5, 4, 1 },
        { 1, 3, 7 },
        { 4, 5, 7 },
        { 3, 2, 17 },
        { 2, 4, 49 },
        { 3, 2, 33 },
        { 2, 1, 100 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardTraining_MatchesReference(int batch, int channels, int spatial)
    {
        var rng = new Random(batch * 1000 + channels * 100 + spatial);
        float[] x = Random(rng, batch * channels * spatial, -2, 3, offset: 1.5f);
        float[] gamma = Random(rng, channels, 0.5f, 1.5f), beta = Random(rng, channels, -0.5f, 0.5f);
        float[] runningMean = Random(rng, channels, -1, 1), runningVar = Random(rng, channels, 0.5f, 2);
        float[] rm0 = (float[])runningMean.Clone(), rv0 = (float[])runningVar.Clone();
        var y = new float[x.Length];
        var mean = new float[channels];
        var inverseStd = new float[channels];
        const float Momentum = 0.1f, Eps = 1e-5f;

        BatchNormKernels.ForwardTraining(x, y, batch, channels, spatial, gamma, beta, runningMean, runningVar, Momentum, Eps, mean, inverseStd);

        (double[] expected, double[] mu, double[] variance) = ReferenceForward(x, batch, channels, spatial, gamma, beta, Eps);
        AssertClose(expected, y, 1e-5);
        int n = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            AssertClose(mu[c], mean[c], 1e-6);
            AssertClose(1 / Math.Sqrt(variance[c] + Eps), inverseStd[c], 1e-5);
            // PyTorch: running_mean = (1 - momentum) * running_mean + momentum * mean; running_var likewise with the unbiased variance.
            AssertClose((1 - Momentum) * rm0[c] + Momentum * mu[c], runningMean[c], 1e-6);
            AssertClose((1 - Momentum) * rv0[c] + Momentum * variance[c] * n / (n - 1), runningVar[c], 1e-6);
        }
    }

    [Fact]
    public void ForwardTraining_InPlace_MatchesOutOfPlace()
    {
        var rng = new Random(5);
        const int Batch = 3, Channels = 4, Spatial = 17;
        float[] x = Random(rng, Batch * Channels * Spatial, -1, 1);
        float[] gamma = Random(rng, Channels, 0.5f, 1.5f), beta = Random(rng, Channels, -0.5f, 0.5f);
        float[] outOfPlace = new float[x.Length], inPlace = (float[])x.Clone();
        float[] mean = new float[Channels], inverseStd = new float[Channels];

        BatchNormKernels.ForwardTraining(x, outOfPlace, Batch, Channels, Spatial, gamma, beta, new float[Channels], new float[Channels], 0.1f, 1e-5f, mean, inverseStd);
        BatchNormKernels.ForwardTraining(inPlace, inPlace, Batch, Channels, Spatial, gamma, beta, new float[Channels], new float[Channels], 0.1f, 1e-5f, mean, inverseStd);

        Assert.Equal(outOfPlace, inPlace);
    }

    [Fact]
    public void ForwardTraining_LargeMeanSmallSpread_StaysAccurate()
    {
        // Mean 1000, standard deviation ~0.03: a one-pass float sum of squares would lose the variance.
        const int Batch = 8, Channels = 2, Spatial = 49;
        var rng = new Random(3);
        float[] x = Random(rng, Batch * Channels * Spatial, -0.05f, 0.05f, offset: 1000f);
        float[] gamma = { 1f, 2f }, beta = { 0f, 1f };
        float[] y = new float[x.Length], mean = new float[Channels], inverseStd = new float[Channels];

        BatchNormKernels.ForwardTraining(x, y, Batch, Channels, Spatial, gamma, beta, new float[Channels], new float[Channels], 0.1f, 1e-5f, mean, inverseStd);

        (double[] expected, _, double[] variance) = ReferenceForward(x, Batch, Channels, Spatial, gamma, beta, 1e-5f);
        for (int c = 0; c < Channels; c++) AssertClose(1 / Math.Sqrt(variance[c] + 1e-5), inverseStd[c], 1e-5);
        // The float input itself is only known to ulp(1000) = 6e-5, i.e. ~2e-3 of a standard deviation.
        AssertClose(expected, y, 5e-3);
    }

    [Fact]
    public void ForwardTraining_SingleValuePerChannel_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(new float[3], new float[3], 1, 3, 1,
            new float[3], new float[3], new float[3], new float[3], 0.1f, 1e-5f, new float[3], new float[3]));
        Assert.Contains("more than one value", e.Message);
    }

    [Fact]
    public void ForwardTraining_WrongLengthsOrPartialOverlap_Throw()
    {
        var c3 = new float[3];
        Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(new float[12], new float[11], 2, 3, 2, c3, c3, c3, c3, 0.1f, 1e-5f, c3, c3));
        Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(new float[12], new float[12], 2, 3, 2, new float[2], c3, c3, c3, 0.1f, 1e-5f, c3, c3));
        var buffer = new float[20];
        Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(buffer.AsSpan(0, 12), buffer.AsSpan(4, 12), 2, 3, 2, c3, c3, c3, c3, 0.1f, 1e-5f, c3, c3));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_MatchesReferenceAndFiniteDifferences(int batch, int channels, int spatial)
    {
        var rng = new Random(batch * 7 + channels * 13 + spatial);
        int total = batch * channels * spatial;
        float[] x = Random(rng, total, -2, 2, offset: 0.5f);
        float[] dy = Random(rng, total, -1, 1);
        float[] gamma = Random(rng, channels, 0.5f, 1.5f), beta = Random(rng, channels, -0.5f, 0.5f);
        const float Eps = 1e-3f;
        float[] mean = new float[channels], inverseStd = new float[channels];
        BatchNormKernels.ForwardTraining(x, new float[total], batch, channels, spatial, gamma, beta, new float[channels], new float[channels], 0.1f, Eps, mean, inverseStd);
        float[] gammaGradient = Random(rng, channels, -1, 1), betaGradient = Random(rng, channels, -1, 1);
        float[] gammaBefore = (float[])gammaGradient.Clone(), betaBefore = (float[])betaGradient.Clone();
        var dx = new float[total];

        BatchNormKernels.Backward(x, dy, dx, batch, channels, spatial, gamma, mean, inverseStd, gammaGradient, betaGradient);

        // The textbook chain rule through μ and σ² (a different arrangement from the kernel's).
        (double[] refDx, double[] refDgamma, double[] refDbeta) = ReferenceBackward(x, dy, batch, channels, spatial, gamma, Eps);
        AssertClose(refDx, dx, 1e-4);
        for (int c = 0; c < channels; c++)
        {
            AssertClose(gammaBefore[c] + refDgamma[c], gammaGradient[c], 1e-4);
            AssertClose(betaBefore[c] + refDbeta[c], betaGradient[c], 1e-4);
        }

        // Central differences of L = Σ dy·BN(x) in double (h = 1e-4; truncation error ~h² is negligible).
        double Loss(double[] xd, double[] g, double[] b)
        {
            double[] y = ReferenceForward(xd, batch, channels, spatial, g, b, Eps).Y;
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += dy[i] * y[i];
            return sum;
        }
        double[] xs = ToDouble(x), gs = ToDouble(gamma), bs = ToDouble(beta);
        const double H = 1e-4;
        for (int i = 0; i < total; i += Math.Max(1, total / 40))
            AssertClose(Central(xs, i, H, () => Loss(xs, gs, bs)), dx[i], 1e-4);
        for (int c = 0; c < channels; c++)
        {
            AssertClose(Central(gs, c, H, () => Loss(xs, gs, bs)), gammaGradient[c] - gammaBefore[c], 1e-4);
            AssertClose(Central(bs, c, H, () => Loss(xs, gs, bs)), betaGradient[c] - betaBefore[c], 1e-4);
        }
    }

    [Fact]
    public void Backward_InPlace_MatchesOutOfPlace()
    {
        var rng = new Random(8);
        const int Batch = 4, Channels = 3, Spatial = 17;
        int total = Batch * Channels * Spatial;
        float[] x = Random(rng, total, -1, 1), dy = Random(rng, total, -1, 1);
        float[] gamma = Random(rng, Channels, 0.5f, 1.5f);
        float[] mean = new float[Channels], inverseStd = new float[Channels];
        BatchNormKernels.ForwardTraining(x, new float[total], Batch, Channels, Spatial, gamma, new float[Channels], new float[Channels], new float[Channels], 0.1f, 1e-5f, mean, inverseStd);
        var dx = new float[total];
        float[] inPlace = (float[])dy.Clone();

        BatchNormKernels.Backward(x, dy, dx, Batch, Channels, Spatial, gamma, mean, inverseStd, new float[Channels], new float[Channels]);
        BatchNormKernels.Backward(x, inPlace, inPlace, Batch, Channels, Spatial, gamma, mean, inverseStd, new float[Channels], new float[Channels]);

        Assert.Equal(dx, inPlace);
        Assert.Throws<ArgumentException>(() => BatchNormKernels.Backward(x, dy, x, Batch, Channels, Spatial, gamma, mean, inverseStd, new float[Channels], new float[Channels]));
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(5, 7)]
    [InlineData(2, 17)]
    [InlineData(4, 49)]
    public void Inference_MatchesReference(int channels, int spatial)
    {
        var rng = new Random(channels * 31 + spatial);
        float[] x = Random(rng, channels * spatial, -3, 3);
        float[] gamma = Random(rng, channels, 0.5f, 1.5f), beta = Random(rng, channels, -0.5f, 0.5f);
        float[] runningMean = Random(rng, channels, -1, 1), runningVar = Random(rng, channels, 0.2f, 3);
        var y = new float[x.Length];

        BatchNormKernels.Inference(x, y, channels, spatial, gamma, beta, runningMean, runningVar, 1e-5f);

        var expected = new double[x.Length];
        for (int c = 0; c < channels; c++)
            for (int s = 0; s < spatial; s++)
            {
                int i = c * spatial + s;
                expected[i] = gamma[c] * (x[i] - (double)runningMean[c]) / Math.Sqrt(runningVar[c] + 1e-5) + beta[c];
            }
        AssertClose(expected, y, 1e-5);

        BatchNormKernels.Inference(x, x, channels, spatial, gamma, beta, runningMean, runningVar, 1e-5f);
        Assert.Equal(y, x);
    }

    [Fact]
    public void Fold_IntoAnAffineLayer_MatchesAffineThenBatchNorm()
    {
        // A conv is an affine map per output channel: z[o] = Σ W[o, i]·x[i] + b[o]. Fold BN into W and b, compare.
        var rng = new Random(21);
        const int Outputs = 7, Inputs = 17;
        float[] w = Random(rng, Outputs * Inputs, -0.5f, 0.5f), b = Random(rng, Outputs, -0.5f, 0.5f);
        float[] gamma = Random(rng, Outputs, 0.5f, 1.5f), beta = Random(rng, Outputs, -0.5f, 0.5f);
        float[] runningMean = Random(rng, Outputs, -1, 1), runningVar = Random(rng, Outputs, 0.2f, 3);
        float[] scale = new float[Outputs], shift = new float[Outputs];

        BatchNormKernels.Fold(gamma, beta, runningMean, runningVar, 1e-5f, scale, shift);

        float[] x = Random(rng, Inputs, -1, 1);
        var z = new float[Outputs];
        var folded = new float[Outputs];
        for (int o = 0; o < Outputs; o++)
        {
            float sum = b[o], foldedSum = b[o] * scale[o] + shift[o];
            for (int i = 0; i < Inputs; i++)
            {
                sum += w[o * Inputs + i] * x[i];
                foldedSum += w[o * Inputs + i] * scale[o] * x[i];
            }
            z[o] = sum;
            folded[o] = foldedSum;
        }
        var normalised = new float[Outputs];
        BatchNormKernels.Inference(z, normalised, Outputs, 1, gamma, beta, runningMean, runningVar, 1e-5f);

        for (int o = 0; o < Outputs; o++) Assert.True(Math.Abs(normalised[o] - folded[o]) <= 1e-5 * (1 + Math.Abs(normalised[o])), $"channel {o}: {normalised[o]} vs {folded[o]}");
        for (int o = 0; o < Outputs; o++)
        {
            AssertClose(gamma[o] / Math.Sqrt(runningVar[o] + 1e-5), scale[o], 1e-6);
            AssertClose(beta[o] - runningMean[o] * gamma[o] / Math.Sqrt(runningVar[o] + 1e-5), shift[o], 1e-6);
        }
    }

    // ---------- reference ----------

    private static (double[] Y, double[] Mean, double[] Variance) ReferenceForward(float[] x, int batch, int channels, int spatial, float[] gamma, float[] beta, float eps) =>
        ReferenceForward(ToDouble(x), batch, channels, spatial, ToDouble(gamma), ToDouble(beta), eps);

    private static (double[] Y, double[] Mean, double[] Variance) ReferenceForward(double[] x, int batch, int channels, int spatial, double[] gamma, double[] beta, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[channels];
        var variance = new double[channels];
        int n = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int b = 0; b < batch; b++)
                for (int s = 0; s < spatial; s++) sum += x[(b * channels + c) * spatial + s];
            double mu = sum / n, squares = 0;
            for (int b = 0; b < batch; b++)
                for (int s = 0; s < spatial; s++) squares += Math.Pow(x[(b * channels + c) * spatial + s] - mu, 2);
            mean[c] = mu;
            variance[c] = squares / n;
            for (int b = 0; b < batch; b++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * channels + c) * spatial + s;
                    y[i] = gamma[c] * (x[i] - mu) / Math.Sqrt(variance[c] + eps) + beta[c];
                }
        }
        return (y, mean, variance);
    }

    private static (double[] Dx, double[] Dgamma, double[] Dbeta) ReferenceBackward(float[] xf, float[] dy, int batch, int channels, int spatial, float[] gamma, double eps)
    {
        double[] x = ToDouble(xf);
        (_, double[] mean, double[] variance) = ReferenceForward(x, batch, channels, spatial, new double[channels], new double[channels], eps);
        var dx = new double[x.Length];
        var dgamma = new double[channels];
        var dbeta = new double[channels];
        int n = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double inv = 1 / Math.Sqrt(variance[c] + eps);
            double dvar = 0, dmean = 0, centredSum = 0;
            for (int b = 0; b < batch; b++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * channels + c) * spatial + s;
                    double xhat = (x[i] - mean[c]) * inv;
                    dgamma[c] += dy[i] * xhat;
                    dbeta[c] += dy[i];
                    double dxhat = dy[i] * gamma[c];
                    dvar += dxhat * (x[i] - mean[c]) * -0.5 * Math.Pow(variance[c] + eps, -1.5);
                    dmean += -dxhat * inv;
                    centredSum += -2 * (x[i] - mean[c]);
                }
            dmean += dvar * centredSum / n;
            for (int b = 0; b < batch; b++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * channels + c) * spatial + s;
                    dx[i] = dy[i] * gamma[c] * inv + dvar * 2 * (x[i] - mean[c]) / n + dmean / n;
                }
        }
        return (dx, dgamma, dbeta);
    }

    private static double Central(double[] values, int index, double h, Func<double> loss)
    {
        double saved = values[index];
        values[index] = saved + h;
        double plus = loss();
        values[index] = saved - h;
        double minus = loss();
        values[index] = saved;
        return (plus - minus) / (2 * h);
    }

    internal static float[] Random(Random rng, int length, float low, float high, float offset = 0f)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = offset + low + (high - low) * (float)rng.NextDouble();
        return values;
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], actual[i], tolerance, i);
    }

    private static void AssertClose(double expected, double actual, double tolerance, int index = -1)
    {
        double error = Math.Abs(expected - actual);
        Assert.True(error <= tolerance * (1 + Math.Abs(expected)), $"element {index}: expected {expected}, got {actual} (error {error:E2}, tolerance {tolerance:E0}·(1 + |expected|))");
    }
}
