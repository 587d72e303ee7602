using System;

namespace Dsl.Tests.Training;

public class OptimizerTests
{
    private static Parameters SingleTensor(int length) =>
        new([new TensorInfo("w", [length], TensorInit.Zeros)]);

    // Rounded to float so the float optimiser and the double reference start from identical numbers.
    private static double[] RandomDoubles(int count, Rng rng, double scale)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = (float)(scale * rng.NextGaussian());
        return values;
    }

    [Fact]
    public void Sgd_WithMomentum_ConstantGradient_FollowsHandComputedSequence()
    {
        // p = 1, g = 1 each step, lr = 0.1, momentum = 0.9 (PyTorch: buf_1 = g, buf_t = 0.9 buf + g; p -= lr buf):
        // buf = 1, 1.9, 2.71  ->  p = 0.9, 0.71, 0.439.
        Parameters p = SingleTensor(1);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        p.Values[0] = 1f;
        float[] expected = [0.9f, 0.71f, 0.439f];
        for (int t = 0; t < 3; t++)
        {
            p.Gradients[0] = 1f;
            sgd.Step(p);
            Assert.Equal(expected[t], p.Values[0], 1e-6f);
        }
        Assert.Equal(3, sgd.StepCount);
    }

    [Theory]
    [InlineData(0f, 0f, false)]
    [InlineData(0.9f, 0f, false)]
    [InlineData(0.9f, 0.01f, false)]
    [InlineData(0.9f, 0.01f, true)]
    public void Sgd_ThreeSteps_MatchPyTorchUpdateRuleInDouble(float momentum, float weightDecay, bool nesterov)
    {
        const int n = 3;
        const float lr = 0.1f;
        var rng = new Rng(5);
        double[] p = RandomDoubles(n, rng, 1.0);
        double[][] grads = [RandomDoubles(n, rng, 1.0), RandomDoubles(n, rng, 1.0), RandomDoubles(n, rng, 1.0)];

        Parameters parameters = SingleTensor(n);
        for (int i = 0; i < n; i++) parameters.Values[i] = (float)p[i];
        var sgd = new Sgd(lr, momentum, weightDecay, nesterov);

        // PyTorch's SGD (dampening 0), written out in double: buf is created as g on the first step.
        double[]? buf = null;
        for (int t = 0; t < 3; t++)
        {
            for (int i = 0; i < n; i++) parameters.Gradients[i] = (float)grads[t][i];
            sgd.Step(parameters);

            var d = new double[n];
            for (int i = 0; i < n; i++) d[i] = grads[t][i] + (double)weightDecay * p[i];
            if (momentum != 0)
            {
                if (buf is null) buf = (double[])d.Clone();
                else for (int i = 0; i < n; i++) buf[i] = momentum * buf[i] + d[i];
                for (int i = 0; i < n; i++) d[i] = nesterov ? d[i] + momentum * buf[i] : buf[i];
            }
            for (int i = 0; i < n; i++) p[i] -= lr * d[i];

            // |p| < 4, where a float ulp is <= 4.8e-7; each step rounds ~4 times by <= 0.5 ulp, so after three steps
            // the float trajectory is within ~3e-6 of the double one (a wrong rule is off by ~1e-2).
            for (int i = 0; i < n; i++) Assert.Equal(p[i], parameters.Values[i], 3e-6);
        }
    }

    [Fact]
    public void AdamW_SeveralSteps_MatchDoubleReference_OnLengthThatIsNotAVectorMultiple()
    {
        const int n = 37;
        const float lr = 0.01f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weightDecay = 0.1f;
        var rng = new Rng(7);
        double[] p = RandomDoubles(n, rng, 1.0);

        Parameters parameters = SingleTensor(n);
        for (int i = 0; i < n; i++) parameters.Values[i] = (float)p[i];
        var adam = new AdamW(lr, beta1, beta2, eps, weightDecay);

        // Textbook AdamW (Loshchilov & Hutter, as torch.optim.AdamW): decay, moments, bias-corrected ratio.
        var m = new double[n];
        var v = new double[n];
        for (int t = 1; t <= 6; t++)
        {
            double[] g = RandomDoubles(n, rng, 0.5);
            for (int i = 0; i < n; i++) parameters.Gradients[i] = (float)g[i];
            adam.Step(parameters);

            for (int i = 0; i < n; i++)
            {
                p[i] -= (double)lr * weightDecay * p[i];
                m[i] = beta1 * m[i] + (1 - (double)beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - (double)beta2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.Pow(beta1, t));
                double vHat = v[i] / (1 - Math.Pow(beta2, t));
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }

            // Each step rounds p about twice (decay, update) by <= 0.5 ulp (<= 2.4e-7 for |p| < 4), and the update of
            // size ~lr carries a relative error ~1e-6: after six steps the float run is within ~2e-6 of the double one,
            // while a missing bias correction or coupled decay is off by ~1e-3.
            for (int i = 0; i < n; i++) Assert.Equal(p[i], parameters.Values[i], 2e-6);
        }
        // The alignment padding after the 37 values has zero gradient and zero value and must stay zero.
        Assert.All(parameters.Values[n..].ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void AdamW_FirstStepWithoutDecay_MovesEveryWeightByTheLearningRate()
    {
        // At t = 1 the bias-corrected ratio is g / |g| (up to eps), a well-known property independent of scale.
        Parameters parameters = SingleTensor(20);
        var rng = new Rng(3);
        // |g| >= 0.05 keeps eps / |g| (the deviation from exactly lr) below 1e-6 relative.
        for (int i = 0; i < 20; i++)
            parameters.Gradients[i] = (i % 2 == 0 ? 1 : -1) * (0.5f + MathF.Abs(rng.NextGaussian())) * MathF.Pow(10, i % 5 - 1);
        float[] grads = parameters.Gradients.ToArray();

        new AdamW(learningRate: 0.05f, weightDecay: 0f).Step(parameters);

        for (int i = 0; i < 20; i++) Assert.Equal(-0.05f * MathF.Sign(grads[i]), parameters.Values[i], 1e-6f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SgdKernel_EveryLengthUpTo40_MatchesScalarReference(bool nesterov)
    {
        // Parameters pads to multiples of 16, so only a direct call reaches the kernels' scalar tails. A wrong or
        // skipped tail element is off by ~0.1; 1e-5 covers float-vs-double rounding of values up to ~8.
        for (int n = 0; n <= 40; n++)
        {
            var rng = new Rng(n);
            float[] p = Array.ConvertAll(RandomDoubles(n, rng, 1.0), x => (float)x);
            float[] g = Array.ConvertAll(RandomDoubles(n, rng, 1.0), x => (float)x);
            float[] buf = Array.ConvertAll(RandomDoubles(n, rng, 1.0), x => (float)x);
            float[] expectedP = (float[])p.Clone();
            float[] expectedBuf = (float[])buf.Clone();
            for (int i = 0; i < n; i++)
            {
                double d = g[i] + 0.01 * expectedP[i];
                double b = 0.9 * expectedBuf[i] + d;
                expectedBuf[i] = (float)b;
                expectedP[i] = (float)(expectedP[i] - 0.1 * (nesterov ? d + 0.9 * b : b));
            }

            OptimizerKernels.Sgd(p, g, buf, 0.1f, 0.9f, 0.01f, nesterov);

            for (int i = 0; i < n; i++)
            {
                Assert.Equal(expectedP[i], p[i], 1e-5f);
                Assert.Equal(expectedBuf[i], buf[i], 1e-5f);
            }
        }
    }

    [Fact]
    public void AdamWKernel_EveryLengthUpTo40_MatchesScalarReference()
    {
        const float decay = 0.999f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, stepSize = 0.02f, bc2Sqrt = 0.05f;
        for (int n = 0; n <= 40; n++)
        {
            var rng = new Rng(100 + n);
            float[] p = Array.ConvertAll(RandomDoubles(n, rng, 1.0), x => (float)x);
            float[] g = Array.ConvertAll(RandomDoubles(n, rng, 1.0), x => (float)x);
            float[] m = Array.ConvertAll(RandomDoubles(n, rng, 0.1), x => (float)x);
            float[] v = Array.ConvertAll(RandomDoubles(n, rng, 0.1), x => (float)(x * x));
            var expected = new double[n];
            for (int i = 0; i < n; i++)
            {
                double mi = beta1 * (double)m[i] + (1 - (double)beta1) * g[i];
                double vi = beta2 * (double)v[i] + (1 - (double)beta2) * g[i] * g[i];
                expected[i] = p[i] * (double)decay - stepSize * mi / (Math.Sqrt(vi) / bc2Sqrt + eps);
            }

            OptimizerKernels.AdamW(p, g, m, v, decay, beta1, beta2, eps, stepSize, bc2Sqrt);

            // Same reasoning as the SGD kernel test.
            for (int i = 0; i < n; i++) Assert.Equal(expected[i], p[i], 1e-5);
        }
    }

    // Subnormal optimiser state costs an Intel core a microcode assist per operation (OptimizerKernels' comment): the
    // kernels keep it at zero instead, on the vector and the scalar path (every length up to 40), and keep a NaN.
    [Fact]
    public void AdamWKernel_DecayingStateGoesToZeroNotSubnormal_AndANaNGradientStillShows()
    {
        const float decay = 1f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, stepSize = 0.001f, bc2Sqrt = 1f;
        for (int n = 1; n <= 40; n++)
        {
            float[] p = new float[n], g = new float[n], m = new float[n], v = new float[n];
            for (int i = 0; i < n; i++) { p[i] = 0.5f; m[i] = 1e-4f; v[i] = 2e-38f; g[i] = i % 3 == 0 ? 1e-20f : 0f; }
            for (int step = 0; step < 2000; step++)
            {
                OptimizerKernels.AdamW(p, g, m, v, decay, beta1, beta2, eps, stepSize, bc2Sqrt);
                for (int i = 0; i < n; i++)
                {
                    Assert.True(m[i] == 0f || float.IsNormal(m[i]), $"n={n}, step {step}: m[{i}] = {m[i]:R}");
                    Assert.True(v[i] == 0f || float.IsNormal(v[i]), $"n={n}, step {step}: v[{i}] = {v[i]:R}");
                }
            }
            // 0.9^2000 of 1e-4 is far below the smallest normal: m is 0 where the gradient is, and those weights stopped
            // moving; a 1e-20 gradient is left out of v (its square term would be subnormal), so every v (2e-38, times
            // 0.999 a step) decayed to 0.
            for (int i = 0; i < n; i++)
                Assert.Equal(g[i] == 0f ? 0f : g[i], m[i], g[i] * 1e-3f);
            Assert.All(v, x => Assert.Equal(0f, x));
            float[] before = (float[])p.Clone();
            OptimizerKernels.AdamW(p, g, m, v, decay, beta1, beta2, eps, stepSize, bc2Sqrt);
            for (int i = 0; i < n; i += 3) if (g[i] == 0f) Assert.Equal(before[i], p[i]);
            for (int i = 1; i < n; i += 3) Assert.Equal(before[i], p[i]);

            g[n - 1] = float.NaN;
            OptimizerKernels.AdamW(p, g, m, v, decay, beta1, beta2, eps, stepSize, bc2Sqrt);
            Assert.True(float.IsNaN(m[n - 1]) && float.IsNaN(p[n - 1]), $"n={n}: a NaN gradient was flushed away");
        }
    }

    [Fact]
    public void SgdMomentumKernel_DecayingBufferGoesToZeroNotSubnormal()
    {
        for (int n = 1; n <= 40; n++)
        {
            float[] p = new float[n], g = new float[n], buffer = new float[n];
            Array.Fill(buffer, 1e-3f);
            for (int step = 0; step < 1000; step++)
            {
                OptimizerKernels.Sgd(p, g, buffer, 0.1f, 0.9f, 0f, nesterov: false);
                Assert.All(buffer, b => Assert.True(b == 0f || float.IsNormal(b), $"n={n}, step {step}: buffer {b:R}"));
            }
            Assert.All(buffer, b => Assert.Equal(0f, b));
        }
    }

    [Fact]
    public void LearningRate_ChangedBetweenSteps_AppliesToTheNextStep()
    {
        Parameters p = SingleTensor(1);
        var sgd = new Sgd(0.1f);
        p.Gradients[0] = 1f;
        sgd.Step(p);
        sgd.LearningRate = 0.01f;
        sgd.Step(p);
        Assert.Equal(-0.11f, p.Values[0], 1e-7f);
    }

    [Fact]
    public void Step_WithAnotherParametersInstance_Throws()
    {
        var adam = new AdamW();
        adam.Step(SingleTensor(4));
        Assert.Throws<InvalidOperationException>(() => adam.Step(SingleTensor(4)));
    }

    [Fact]
    public void Constructors_RejectInvalidHyperParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: -1f));
        Assert.Throws<ArgumentException>(() => new Sgd(0.1f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(beta2: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(weightDecay: float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW().LearningRate = float.NaN);
    }
}
