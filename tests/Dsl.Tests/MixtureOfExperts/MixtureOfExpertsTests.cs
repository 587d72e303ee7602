using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;

namespace Dsl.Tests.MixtureOfExperts;

/// <summary>
/// Mixture-of-experts layers against a double-precision reference written from the definition (router logits, top-k by
/// logit with ties to the lower index, softmax, gates, the chosen experts' dense layers), on every SIMD path the run
/// has (the three switches); the gradients, balancing loss included, against finite differences.
/// </summary>
public sealed class MixtureOfExpertsNumericTests
{
    // Float kernels against a double reference through two or three products of <= 16 terms: 1e-4 is far above
    // their rounding (~1e-6) and far below any wrong routing or gate (O(0.1)).
    private const double Tolerance = 1e-4;

    /// <summary>One row through a mixture, in double: the output, the chosen experts in order, the probabilities.</summary>
    internal static double[] Mixture<T>(MixtureOfExperts<T> moe, Func<T, Dense[]> layers, double[] x, bool renormalize, out int[] chosen, out double[] probabilities)
        where T : class
    {
        int n = moe.Experts.Count;
        double[] logits = Linear(moe.Router, x);
        chosen = new int[moe.TopK];
        var taken = new bool[n];
        for (int j = 0; j < moe.TopK; j++)
        {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!taken[i] && (best < 0 || logits[i] > logits[best])) best = i;
            chosen[j] = best;
            taken[best] = true;
        }
        double max = logits.Max();
        double[] exp = logits.Select(l => Math.Exp(l - max)).ToArray();
        double sum = exp.Sum();
        double[] p = exp.Select(e => e / sum).ToArray();
        probabilities = p;
        double[] gates = chosen.Select(e => p[e]).ToArray();
        if (renormalize)
        {
            double total = gates.Sum();
            gates = gates.Select(g => g / total).ToArray();
        }
        double[]? y = null;
        for (int j = 0; j < chosen.Length; j++)
        {
            double[] h = x;
            foreach (Dense layer in layers(moe.Experts[chosen[j]]))
                h = Linear(layer, h).Select(z => Reference.Apply(layer.Activation, z)).ToArray();
            y ??= new double[h.Length];
            for (int i = 0; i < h.Length; i++) y[i] += gates[j] * h[i];
        }
        return y!;
    }

    internal static double[] Linear(Dense layer, double[] x)
    {
        var z = new double[layer.Units];
        for (int o = 0; o < layer.Units; o++)
        {
            double sum = layer.Bias.IsEmpty ? 0 : layer.Bias[o];
            for (int i = 0; i < layer.Inputs; i++) sum += (double)layer.GetWeight(o, i) * x[i];
            z[o] = sum;
        }
        return z;
    }

    /// <summary>Each network with its reference for one sample.</summary>
    internal static (INetwork Net, Func<double[], double[]> Forward) Create(string name, int seed)
    {
        static Dense[] E12(Expert12 e) => [e.fc1, e.fc2];
        switch (name)
        {
            case "flat":
            {
                var net = new FlatMixtureNet(seed);
                Randomize(net, seed);
                return (net, x => Linear(net.head, Mixture(net.moe, E12, x, false, out _, out _)));
            }
            case "renormalized":
            {
                var net = new RenormalizedMixtureNet(seed);
                Randomize(net, seed);
                return (net, x => Mixture(net.moe, e => [e.fc1, e.fc2, e.fc3], x, true, out _, out _));
            }
            case "switch":
            {
                var net = new SwitchMixtureNet(seed);
                Randomize(net, seed);
                return (net, x => Mixture(net.moe, e => [e.proj], x, false, out _, out _));
            }
            case "tokens":
            {
                var net = new TokenOnlyMixtureNet(seed);
                Randomize(net, seed);
                return (net, x =>
                {
                    var y = new List<double>();
                    for (int t = 0; t < 6; t++) y.AddRange(Mixture(net.moe, E12, x[(t * 12)..((t + 1) * 12)], false, out _, out _));
                    return y.ToArray();
                });
            }
            case "top1":
            {
                var net = new RenormalizedTop1Net(seed);
                Randomize(net, seed);
                return (net, x => Mixture(net.moe, E12, x, true, out _, out _));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(name));
        }
    }

    // Weights and biases in [-0.5, 0.5): the initialisation's zero biases would hide a misplaced bias.
    private static void Randomize(INetwork net, int seed) => Reliability.ReliabilityNetworks.Randomize(net.Parameters, seed);

    public static TheoryData<string> Names => new() { "flat", "renormalized", "switch", "tokens", "top1" };

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_BatchOne_Batched_AndTraining_MatchTheDoubleReference(string name)
    {
        (INetwork net, Func<double[], double[]> reference) = Create(name, seed: 3);
        const int batch = 7;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 4);
        var one = new float[net.OutputSize];
        var batched = new float[batch * net.OutputSize];
        var trained = new float[batch * net.OutputSize];
        net.Forward(input, batched, batch);
        net.ForwardTrain(input, trained, batch, net.CreateWorkspace(batch));
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<float> x = input.AsSpan(s * net.InputSize, net.InputSize);
            net.Forward(x, one);
            double[] expected = reference(x.ToArray().Select(v => (double)v).ToArray());
            for (int i = 0; i < net.OutputSize; i++)
            {
                double tolerance = Tolerance * (1 + Math.Abs(expected[i]));
                Assert.True(Math.Abs(one[i] - expected[i]) <= tolerance, $"{name} sample {s} [{i}] batch 1: {one[i]} vs {expected[i]}");
                Assert.True(Math.Abs(batched[s * net.OutputSize + i] - expected[i]) <= tolerance, $"{name} sample {s} [{i}] batched: {batched[s * net.OutputSize + i]} vs {expected[i]}");
                Assert.True(Math.Abs(trained[s * net.OutputSize + i] - expected[i]) <= tolerance, $"{name} sample {s} [{i}] training: {trained[s * net.OutputSize + i]} vs {expected[i]}");
            }
        }
    }

    [Theory]
    [InlineData("token-residual")]
    [InlineData("repeated")]
    [InlineData("repeated-member")]
    public void Inference_EqualsTheTrainingForward_ThroughResidualsAndLoopedCopies(string name)
    {
        INetwork net = name switch
        {
            "token-residual" => new TokenMixtureNet(15),
            "repeated" => new RepeatedMixtureNet(15),
            _ => new RepeatedMemberMixtureNet(15),
        };
        Randomize(net, 15);
        const int batch = 4;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 16);
        var trained = new float[batch * net.OutputSize];
        var one = new float[net.OutputSize];
        net.ForwardTrain(input, trained, batch, net.CreateWorkspace(batch));
        for (int s = 0; s < batch; s++)
        {
            net.Forward(input.AsSpan(s * net.InputSize, net.InputSize), one);
            for (int i = 0; i < net.OutputSize; i++)
            {
                float expected = trained[s * net.OutputSize + i];
                Assert.True(MathF.Abs(one[i] - expected) <= 1e-4f * (1 + MathF.Abs(expected)), $"{name} sample {s} [{i}]: inference {one[i]}, training {expected}");
            }
        }
    }

    [Fact]
    public void BatchOne_ReadsOnlyTheChosenExpertsWeights()
    {
        var net = new FlatMixtureNet(5);
        Randomize(net, 5);
        float[] x = DenseNumericTests.RandomInputs(12, seed: 6);
        var before = new float[3];
        net.Forward(x, before);
        Mixture(net.moe, e => [e.fc1, e.fc2], x.Select(v => (double)v).ToArray(), false, out int[] chosen, out _);
        // NaN in every expert the router did not choose: a kernel that read them would return NaN.
        for (int e = 0; e < 4; e++)
        {
            if (chosen.Contains(e)) continue;
            foreach (Dense layer in new[] { net.moe.Experts[e].fc1, net.moe.Experts[e].fc2 })
            {
                net.Parameters.Value(layer.WeightInfo).Fill(float.NaN);
                net.Parameters.Value(layer.BiasInfo!).Fill(float.NaN);
            }
        }
        var after = new float[3];
        net.Forward(x, after);
        Assert.Equal(before, after);
    }

    public static TheoryData<string> GradientNetworks => new() { "flat", "renormalized", "switch", "tokens", "token-residual", "repeated", "repeated-member", "capacity" };

    [Theory]
    [MemberData(nameof(GradientNetworks))]
    public void Gradients_IncludingTheBalancingLoss_MatchFiniteDifferences(string name)
    {
        INetwork net = name switch
        {
            "token-residual" => new TokenMixtureNet(7),
            "repeated" => new RepeatedMixtureNet(7),
            "repeated-member" => new RepeatedMemberMixtureNet(7),
            "capacity" => new CapacityMixtureNet(7),
            _ => Create(name, seed: 7).Net,
        };
        // The loss differentiated is sum(dy * y) plus the balancing losses (INetwork.AuxiliaryLoss). A step that moves a
        // router logit past the k-th largest changes the routing: top-k is not differentiable there, so the check skips a
        // step whose one-sided slopes, or whose central differences at h and h/2, disagree (a ReLU's kink likewise: the
        // deep networks' experts are SiLU, since hundreds of routed ReLU units put a kink within most steps of an early weight).
        GradientCheck.Run(net, name, batch: name == "repeated" ? 2 : 5, seed: 8, useTrainingForward: true, h: 3e-3f, halfStep: true);
    }

    [Fact]
    public void RouterGradient_ComesFromTheGates_ExceptRenormalizedTop1_WhichHasOnlyTheBalancingLoss()
    {
        foreach ((INetwork net, string router, bool expectZero) in new (INetwork, string, bool)[]
                 {
                     (Create("top1", 9).Net, "moe.router.weight", true),
                     (Create("switch", 9).Net, "moe.router.weight", false),
                 })
        {
            float[] x = DenseNumericTests.RandomInputs(4 * net.InputSize, seed: 10);
            float[] dy = DenseNumericTests.RandomInputs(4 * net.OutputSize, seed: 11);
            var y = new float[dy.Length];
            Workspace workspace = net.CreateWorkspace(4);
            net.Parameters.ZeroGradients();
            net.ForwardTrain(x, y, 4, workspace);
            net.Backward(dy, Span<float>.Empty, 4, workspace);
            float largest = net.Parameters.Gradient(net.Parameters.Find(router)!).ToArray().Max(MathF.Abs);
            if (expectZero) Assert.Equal(0f, largest);
            else Assert.True(largest > 1e-3f, $"the Switch router's gradient is {largest}");
        }
    }

    [Theory]
    [InlineData("flat", 1)]
    [InlineData("renormalized", 1)]
    [InlineData("tokens", 1)]
    [InlineData("capacity", 1)]
    public void Statistics_MatchTheReference(string name, int unused)
    {
        _ = unused;
        const int batch = 9;
        INetwork net;
        int experts, topK, rowsPerSample = 1;
        float weight;
        Func<double[], (int[] Chosen, double[] Probabilities)> route;
        int capacity;
        switch (name)
        {
            case "flat":
            {
                var n = new FlatMixtureNet(12);
                Randomize(n, 12);
                (net, experts, topK, weight, capacity) = (n, 4, 2, 0.01f, batch);
                route = x => { Mixture(n.moe, e => [e.fc1, e.fc2], x, false, out int[] c, out double[] p); return (c, p); };
                break;
            }
            case "renormalized":
            {
                var n = new RenormalizedMixtureNet(12);
                Randomize(n, 12);
                (net, experts, topK, weight, capacity) = (n, 6, 3, 0.5f, batch);
                route = x => { Mixture(n.moe, e => [e.fc1, e.fc2, e.fc3], x, true, out int[] c, out double[] p); return (c, p); };
                break;
            }
            case "tokens":
            {
                var n = new TokenOnlyMixtureNet(12);
                Randomize(n, 12);
                (net, experts, topK, weight, rowsPerSample) = (n, 5, 2, 0.01f, 6);
                capacity = batch * 6;
                route = x => { Mixture(n.moe, e => [e.fc1, e.fc2], x, false, out int[] c, out double[] p); return (c, p); };
                break;
            }
            default:
            {
                var n = new CapacityMixtureNet(12);
                Randomize(n, 12);
                // Capacity factor 1: ceil(1 · 9 · 2 / 4) = 5 assignments per expert.
                (net, experts, topK, weight, capacity) = (n, 4, 2, 0.01f, 5);
                route = x => { Mixture(n.moe, e => [e.fc1, e.fc2], x, false, out int[] c, out double[] p); return (c, p); };
                break;
            }
        }
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 13, scale: 2f);
        Workspace workspace = net.CreateWorkspace(batch);
        net.ForwardTrain(input, new float[batch * net.OutputSize], batch, workspace);

        int rows = batch * rowsPerSample, features = net.InputSize / rowsPerSample;
        var counts = new double[experts];
        var probabilitySums = new double[experts];
        var taken = new int[experts];
        double entropy = 0;
        int dropped = 0;
        for (int r = 0; r < rows; r++)
        {
            (int[] chosen, double[] p) = route(input.AsSpan(r * features, features).ToArray().Select(v => (double)v).ToArray());
            foreach (int e in chosen)
            {
                counts[e]++;
                if (taken[e]++ >= capacity) dropped++;
            }
            for (int e = 0; e < experts; e++)
            {
                probabilitySums[e] += p[e];
                entropy -= p[e] * Math.Log(p[e]);
            }
        }
        Assert.Equal(1, net.MixtureCount);
        MixtureStatistics statistics = net.Mixture(workspace, 0);
        Assert.Equal("moe", statistics.Name);
        Assert.Equal(rows, statistics.Inputs);
        Assert.Equal(dropped, statistics.Dropped);
        if (name == "capacity") Assert.True(dropped > 0, "the capacity test drops nothing");
        double balance = 0;
        for (int e = 0; e < experts; e++)
        {
            double load = counts[e] / (rows * topK), probability = probabilitySums[e] / rows;
            Assert.Equal(load, statistics.Load[e], 6);
            Assert.Equal(probability, statistics.MeanProbability[e], 5);
            balance += load * probability;
        }
        Assert.Equal(experts * balance, statistics.Balance, 4);
        Assert.Equal(weight * experts * balance, statistics.AuxiliaryLoss, 5);
        Assert.Equal(weight * experts * balance, net.AuxiliaryLoss(workspace), 5);
        Assert.Equal(entropy / rows, statistics.RouterEntropy, 4);
        Assert.Equal(1.0, statistics.Load.ToArray().Sum(), 5);
    }

    [Fact]
    public void SafeTensors_NamesTheRouterAndEachExpertsLayersPyTorchStyle_AndRoundTrips()
    {
        var net = new FlatMixtureNet(14);
        Randomize(net, 14);
        string[] names = net.Parameters.Tensors.Select(t => t.Name).ToArray();
        Assert.Contains("moe.router.weight", names);
        Assert.DoesNotContain("moe.router.bias", names);
        Assert.Contains("moe.experts.3.fc1.weight", names);
        Assert.Contains("moe.experts.0.fc2.bias", names);
        Assert.Equal(new[] { 16, 12 }, net.Parameters.Find("moe.experts.3.fc1.weight")!.Shape);
        Assert.Equal(new[] { 4, 12 }, net.Parameters.Find("moe.router.weight")!.Shape);
        Assert.Same(net.moe.Experts[3].fc1.WeightInfo, net.Parameters.Find("moe.experts.3.fc1.weight"));

        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dsl-moe-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(net.Parameters, path);
            var copy = new FlatMixtureNet(99);
            SafeTensors.Load(copy.Parameters, path);
            Assert.Equal(net.Parameters.Values.ToArray(), copy.Parameters.Values.ToArray());
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
