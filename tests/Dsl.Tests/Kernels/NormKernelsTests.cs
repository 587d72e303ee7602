using System;
using Dsl.Kernels;

namespace Dsl.Tests.Kernels;

/// <summary>
/// NormKernels against double-precision references written from the textbook formulas, and their backward
/// passes against central differences of those references. Feature counts cover every vector tail (1, 3, 7,
/// 16, 17, 33, 64, 100). Tolerances: forward values within 1e-5·(1 + |reference|) (x̂ carries a few float
/// roundings of values up to about sqrt(features)); gradients within 1e-4·(1 + |reference|) (float row sums of
/// up to 100 products, differences of them, scaled by rstd).
/// </summary>
public sealed class NormKernelsTests
{
    private const float Eps = 1e-5f;

    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int features in new[] { 1, 3, 7, 16, 17, 33, 64, 100 })
            foreach (int rows in new[] { 1, 3, 17 })
                data.Add(rows, features);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LayerNormForward_MatchesReference(int rows, int features)
    {
        (float[] x, float[] gamma, float[] beta) = Inputs(rows, features, seed: 1);
        var y = new float[x.Length];
        float[] mean = new float[rows], rstd = new float[rows];

        NormKernels.LayerNormForward(x, y, rows, features, gamma, beta, Eps, mean, rstd);

        for (int r = 0; r < rows; r++)
        {
            double[] row = Row(x, r, features);
            (double mu, double s) = LayerNormStatistics(row);
            AssertClose(mu, mean[r], 1e-6, $"mean[{r}]");
            Assert.True(Math.Abs(s - rstd[r]) <= 1e-6 * s, $"rstd[{r}] = {rstd[r]}, expected {s}");
            double[] expected = LayerNormReference(row, gamma, beta);
            for (int j = 0; j < features; j++) AssertClose(expected[j], y[r * features + j], 1e-5, $"y[{r}, {j}]");
        }
    }

    [Theory]
    [InlineData(3, 17)]
    [InlineData(2, 100)]
    public void LayerNormForward_InPlaceAndInference_MatchOutOfPlace(int rows, int features)
    {
        (float[] x, float[] gamma, float[] beta) = Inputs(rows, features, seed: 2);
        float[] outOfPlace = new float[x.Length], inPlace = (float[])x.Clone(), inference = new float[x.Length];

        NormKernels.LayerNormForward(x, outOfPlace, rows, features, gamma, beta, Eps, new float[rows], new float[rows]);
        NormKernels.LayerNormForward(inPlace, inPlace, rows, features, gamma, beta, Eps, new float[rows], new float[rows]);
        NormKernels.LayerNormForward(x, inference, rows, features, gamma, beta, Eps, Span<float>.Empty, Span<float>.Empty);

        Assert.Equal(outOfPlace, inPlace);
        Assert.Equal(outOfPlace, inference);
    }

    [Theory]
    [InlineData(2, 33)]
    [InlineData(17, 64)] // 16 rows' statistics taken together with AVX-512
    public void LayerNormForward_LargeMeanSmallSpread_StaysAccurate(int rows, int features)
    {
        // Mean 1000, spread ~0.03: a one-pass float E[x²] − E[x]² would lose the variance entirely, and a plain float
        // mean would be off by several ulps of 1000 (the sum of 64 values near 1000 rounds at 0.004).
        var rng = new Random(3);
        float[] x = new float[rows * features];
        for (int i = 0; i < x.Length; i++) x[i] = 1000f + (float)(rng.NextDouble() * 0.1 - 0.05);
        float[] gamma = Filled(features, 1f), beta = new float[features], y = new float[x.Length];

        float[] mean = new float[rows];
        NormKernels.LayerNormForward(x, y, rows, features, gamma, beta, Eps, mean, new float[rows]);

        for (int r = 0; r < rows; r++)
        {
            // The corrected mean is the exact mean rounded to float: within half an ulp of 1000 (3.05e-5); a plain
            // float mean of these rows is not.
            AssertClose(LayerNormStatistics(Row(x, r, features)).Mean, mean[r], 3.06e-5 / 1001, $"mean[{r}]");
            double[] expected = LayerNormReference(Row(x, r, features), gamma, beta);
            // μ is rounded to float, by up to 3e-5 at 1000 (half an ulp), which shifts every x − μ by as much;
            // times rstd ≈ 35 that is 1e-3 in y. A one-pass float variance would be off by far more than y itself.
            for (int j = 0; j < features; j++) AssertClose(expected[j], y[r * features + j], 2e-3, $"y[{r}, {j}]");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LayerNormBackward_MatchesFormulaAndFiniteDifferences(int rows, int features)
    {
        (float[] x, float[] gamma, float[] beta) = Inputs(rows, features, seed: 4);
        float[] dy = Uniform(new Random(5), rows * features, -1, 1);
        float[] mean = new float[rows], rstd = new float[rows];
        NormKernels.LayerNormForward(x, new float[x.Length], rows, features, gamma, beta, Eps, mean, rstd);
        // Gradients accumulate: start them away from zero.
        float[] dgamma = Filled(features, 0.25f), dbeta = Filled(features, -0.5f);
        var dx = new float[x.Length];

        NormKernels.LayerNormBackward(x, dy, dx, rows, features, gamma, mean, rstd, dgamma, dbeta);

        var expectedDgamma = new double[features];
        var expectedDbeta = new double[features];
        for (int r = 0; r < rows; r++)
        {
            double[] row = Row(x, r, features), w = Row(dy, r, features);
            (double mu, double s) = LayerNormStatistics(row);
            // Textbook: g = dy γ, dx = rstd (g − mean(g) − x̂ mean(g x̂)).
            double meanG = 0, meanGXhat = 0;
            for (int j = 0; j < features; j++)
            {
                double xhat = (row[j] - mu) * s, g = w[j] * gamma[j];
                meanG += g / features;
                meanGXhat += g * xhat / features;
                expectedDgamma[j] += w[j] * xhat;
                expectedDbeta[j] += w[j];
            }
            double[] numeric = FiniteDifferences(row, v => Dot(w, LayerNormReference(v, gamma, beta)));
            for (int j = 0; j < features; j++)
            {
                double xhat = (row[j] - mu) * s;
                double formula = s * (w[j] * gamma[j] - meanG - xhat * meanGXhat);
                AssertClose(formula, dx[r * features + j], 1e-4, $"dx[{r}, {j}]");
                AssertClose(numeric[j], dx[r * features + j], 1e-4, $"dx[{r}, {j}] vs finite difference");
            }
        }
        double[] numericGamma = FiniteDifferences(ToDouble(gamma), g => LayerNormLoss(x, dy, rows, features, g, ToDouble(beta)));
        double[] numericBeta = FiniteDifferences(ToDouble(beta), b => LayerNormLoss(x, dy, rows, features, ToDouble(gamma), b));
        for (int j = 0; j < features; j++)
        {
            AssertClose(0.25 + expectedDgamma[j], dgamma[j], 1e-4, $"dgamma[{j}]");
            AssertClose(-0.5 + expectedDbeta[j], dbeta[j], 1e-4, $"dbeta[{j}]");
            AssertClose(0.25 + numericGamma[j], dgamma[j], 1e-4, $"dgamma[{j}] vs finite difference");
            AssertClose(-0.5 + numericBeta[j], dbeta[j], 1e-4, $"dbeta[{j}] vs finite difference");
        }
    }

    [Theory]
    [InlineData(3, 17)]
    [InlineData(2, 64)]
    [InlineData(1, 7)]
    public void LayerNormBackward_InPlace_MatchesOutOfPlace(int rows, int features)
    {
        (float[] x, float[] gamma, float[] beta) = Inputs(rows, features, seed: 6);
        float[] dy = Uniform(new Random(7), rows * features, -1, 1);
        float[] mean = new float[rows], rstd = new float[rows];
        NormKernels.LayerNormForward(x, new float[x.Length], rows, features, gamma, beta, Eps, mean, rstd);
        float[] dx = new float[x.Length], inPlace = (float[])dy.Clone();
        float[] dgamma1 = new float[features], dbeta1 = new float[features], dgamma2 = new float[features], dbeta2 = new float[features];

        NormKernels.LayerNormBackward(x, dy, dx, rows, features, gamma, mean, rstd, dgamma1, dbeta1);
        NormKernels.LayerNormBackward(x, inPlace, inPlace, rows, features, gamma, mean, rstd, dgamma2, dbeta2);

        Assert.Equal(dx, inPlace);
        Assert.Equal(dgamma1, dgamma2);
        Assert.Equal(dbeta1, dbeta2);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RMSNormForward_MatchesReference(int rows, int features)
    {
        (float[] x, float[] gamma, _) = Inputs(rows, features, seed: 8);
        var y = new float[x.Length];
        var rstd = new float[rows];

        NormKernels.RMSNormForward(x, y, rows, features, gamma, Eps, rstd);

        for (int r = 0; r < rows; r++)
        {
            double[] row = Row(x, r, features);
            double s = RmsScale(row);
            Assert.True(Math.Abs(s - rstd[r]) <= 1e-6 * s, $"rstd[{r}] = {rstd[r]}, expected {s}");
            double[] expected = RMSNormReference(row, gamma);
            for (int j = 0; j < features; j++) AssertClose(expected[j], y[r * features + j], 1e-5, $"y[{r}, {j}]");
        }
    }

    [Theory]
    [InlineData(3, 17)]
    [InlineData(2, 100)]
    public void RMSNormForward_InPlaceAndInference_MatchOutOfPlace(int rows, int features)
    {
        (float[] x, float[] gamma, _) = Inputs(rows, features, seed: 9);
        float[] outOfPlace = new float[x.Length], inPlace = (float[])x.Clone(), inference = new float[x.Length];

        NormKernels.RMSNormForward(x, outOfPlace, rows, features, gamma, Eps, new float[rows]);
        NormKernels.RMSNormForward(inPlace, inPlace, rows, features, gamma, Eps, new float[rows]);
        NormKernels.RMSNormForward(x, inference, rows, features, gamma, Eps, Span<float>.Empty);

        Assert.Equal(outOfPlace, inPlace);
        Assert.Equal(outOfPlace, inference);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RMSNormBackward_MatchesFormulaAndFiniteDifferences(int rows, int features)
    {
        (float[] x, float[] gamma, _) = Inputs(rows, features, seed: 10);
        float[] dy = Uniform(new Random(11), rows * features, -1, 1);
        var rstd = new float[rows];
        NormKernels.RMSNormForward(x, new float[x.Length], rows, features, gamma, Eps, rstd);
        float[] dgamma = Filled(features, 0.25f);
        var dx = new float[x.Length];

        NormKernels.RMSNormBackward(x, dy, dx, rows, features, gamma, rstd, dgamma);

        var expectedDgamma = new double[features];
        for (int r = 0; r < rows; r++)
        {
            double[] row = Row(x, r, features), w = Row(dy, r, features);
            double s = RmsScale(row);
            // Textbook: x̂ = x rstd, g = dy γ, dx = rstd (g − x̂ mean(g x̂)).
            double meanGXhat = 0;
            for (int j = 0; j < features; j++)
            {
                meanGXhat += w[j] * gamma[j] * row[j] * s / features;
                expectedDgamma[j] += w[j] * row[j] * s;
            }
            double[] numeric = FiniteDifferences(row, v => Dot(w, RMSNormReference(v, gamma)));
            for (int j = 0; j < features; j++)
            {
                double formula = s * (w[j] * gamma[j] - row[j] * s * meanGXhat);
                AssertClose(formula, dx[r * features + j], 1e-4, $"dx[{r}, {j}]");
                AssertClose(numeric[j], dx[r * features + j], 1e-4, $"dx[{r}, {j}] vs finite difference");
            }
        }
        double[] numericGamma = FiniteDifferences(ToDouble(gamma), g =>
        {
            double loss = 0;
            for (int r = 0; r < rows; r++) loss += Dot(Row(dy, r, features), RMSNormReference(Row(x, r, features), g));
            return loss;
        });
        for (int j = 0; j < features; j++)
        {
            AssertClose(0.25 + expectedDgamma[j], dgamma[j], 1e-4, $"dgamma[{j}]");
            AssertClose(0.25 + numericGamma[j], dgamma[j], 1e-4, $"dgamma[{j}] vs finite difference");
        }
    }

    [Theory]
    [InlineData(3, 17)]
    [InlineData(2, 64)]
    [InlineData(1, 7)]
    public void RMSNormBackward_InPlace_MatchesOutOfPlace(int rows, int features)
    {
        (float[] x, float[] gamma, _) = Inputs(rows, features, seed: 12);
        float[] dy = Uniform(new Random(13), rows * features, -1, 1);
        var rstd = new float[rows];
        NormKernels.RMSNormForward(x, new float[x.Length], rows, features, gamma, Eps, rstd);
        float[] dx = new float[x.Length], inPlace = (float[])dy.Clone();
        float[] dgamma1 = new float[features], dgamma2 = new float[features];

        NormKernels.RMSNormBackward(x, dy, dx, rows, features, gamma, rstd, dgamma1);
        NormKernels.RMSNormBackward(x, inPlace, inPlace, rows, features, gamma, rstd, dgamma2);

        Assert.Equal(dx, inPlace);
        Assert.Equal(dgamma1, dgamma2);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        float[] x = new float[12], y = new float[12], four = new float[4], three = new float[3];
        Assert.Throws<ArgumentException>("y", () => NormKernels.LayerNormForward(x, new float[11], 3, 4, four, four, Eps, three, three));
        Assert.Throws<ArgumentException>("gamma", () => NormKernels.LayerNormForward(x, y, 3, 4, three, four, Eps, three, three));
        Assert.Throws<ArgumentException>("mean", () => NormKernels.LayerNormForward(x, y, 3, 4, four, four, Eps, four, three));
        Assert.Throws<ArgumentOutOfRangeException>("features", () => NormKernels.LayerNormForward(x, y, 3, 0, four, four, Eps, three, three));
        float[] shared = new float[13]; // y shifted one float over x
        Assert.Throws<ArgumentException>("y", () => NormKernels.RMSNormForward(shared.AsSpan(0, 12), shared.AsSpan(1, 12), 3, 4, four, Eps, three));
        Assert.Throws<ArgumentException>("dx", () => NormKernels.LayerNormBackward(x, y, x, 3, 4, four, three, three, four, four));
        Assert.Throws<ArgumentException>("rstd", () => NormKernels.RMSNormBackward(x, y, y, 3, 4, four, Span<float>.Empty, four));
        Assert.Throws<ArgumentException>("dbeta", () => NormKernels.LayerNormBackward(x, y, y, 3, 4, four, three, three, four, three));
    }

    // ---- references, in double ----

    private static (double Mean, double Rstd) LayerNormStatistics(double[] row)
    {
        double mu = 0;
        foreach (double v in row) mu += v / row.Length;
        double variance = 0;
        foreach (double v in row) variance += (v - mu) * (v - mu) / row.Length;
        return (mu, 1 / Math.Sqrt(variance + Eps));
    }

    private static double[] LayerNormReference(double[] row, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta) =>
        LayerNormReference(row, ToDouble(gamma), ToDouble(beta));

    private static double[] LayerNormReference(double[] row, double[] gamma, double[] beta)
    {
        (double mu, double s) = LayerNormStatistics(row);
        var y = new double[row.Length];
        for (int j = 0; j < row.Length; j++) y[j] = gamma[j] * (row[j] - mu) * s + beta[j];
        return y;
    }

    private static double LayerNormLoss(float[] x, float[] dy, int rows, int features, double[] gamma, double[] beta)
    {
        double loss = 0;
        for (int r = 0; r < rows; r++) loss += Dot(Row(dy, r, features), LayerNormReference(Row(x, r, features), gamma, beta));
        return loss;
    }

    private static double RmsScale(double[] row)
    {
        double meanSquare = 0;
        foreach (double v in row) meanSquare += v * v / row.Length;
        return 1 / Math.Sqrt(meanSquare + Eps);
    }

    private static double[] RMSNormReference(double[] row, ReadOnlySpan<float> gamma) => RMSNormReference(row, ToDouble(gamma));

    private static double[] RMSNormReference(double[] row, double[] gamma)
    {
        double s = RmsScale(row);
        var y = new double[row.Length];
        for (int j = 0; j < row.Length; j++) y[j] = gamma[j] * row[j] * s;
        return y;
    }

    /// <summary>Central differences with h = 1e-5 in double: truncation ~h²·f''' and rounding ~1e-16/h, both far below the tolerances.</summary>
    internal static double[] FiniteDifferences(double[] at, Func<double[], double> f)
    {
        const double H = 1e-5;
        var gradient = new double[at.Length];
        for (int i = 0; i < at.Length; i++)
        {
            double keep = at[i];
            at[i] = keep + H;
            double plus = f(at);
            at[i] = keep - H;
            double minus = f(at);
            at[i] = keep;
            gradient[i] = (plus - minus) / (2 * H);
        }
        return gradient;
    }

    // ---- data ----

    private static (float[] X, float[] Gamma, float[] Beta) Inputs(int rows, int features, int seed)
    {
        var rng = new Random(seed * 1000 + rows * 100 + features);
        float[] x = Uniform(rng, rows * features, -2, 3);
        return (x, Uniform(rng, features, 0.5f, 1.5f), Uniform(rng, features, -0.5f, 0.5f));
    }

    internal static float[] Uniform(Random rng, int count, float low, float high)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = low + (high - low) * (float)rng.NextDouble();
        return values;
    }

    private static float[] Filled(int count, float value)
    {
        var values = new float[count];
        Array.Fill(values, value);
        return values;
    }

    private static double[] Row(float[] values, int row, int features) => ToDouble(values.AsSpan(row * features, features));

    internal static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }

    internal static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    internal static void AssertClose(double expected, float actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * (1 + Math.Abs(expected)), $"{what}: {actual:R}, expected {expected:R}");
}
