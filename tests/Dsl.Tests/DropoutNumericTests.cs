using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Dsl.Kernels;
using Dsl.Tests.Networks;
using Weights = System.Collections.Generic.IReadOnlyDictionary<string, double[]>;

namespace Dsl.Tests;

/// <summary>
/// Generated dropout against a double-precision reference that applies the mask the contract defines
/// (<see cref="DropoutKernels.Keeps"/> keyed on the workspace's seed, the forward's step, the step's index and the
/// global sample), central differences of that reference, and float finite differences of the generated
/// training forward with the step pinned. Runs on every SIMD path with the rest of the project's tests.
/// </summary>
public class DropoutNumericTests
{
    public static TheoryData<string> Networks => new() { nameof(DropoutMlp), nameof(DropoutCnn), nameof(DropoutTokens) };

    /// <summary>A step in the network: its index in Steps and its probability (the reference needs both for the mask).</summary>
    private sealed record Drop(int Step, float P);

    private static (INetwork Net, Func<Weights, double[], Func<Drop, double[], double[]>, double[]> Forward) Create(string name, int seed)
    {
        INetwork net = name switch
        {
            nameof(DropoutMlp) => new DropoutMlp(seed),
            nameof(DropoutCnn) => new DropoutCnn(seed),
            nameof(DropoutTokens) => new DropoutTokens(seed),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        // Biases away from zero so every unit carries signal; weights as initialised.
        var rng = new Rng(seed + 500);
        foreach (TensorInfo t in net.Parameters.Tensors)
            if (t.Name.EndsWith("bias", StringComparison.Ordinal) && t.Name != "norm.bias")
                foreach (ref float v in net.Parameters.Value(t)) v = rng.NextSingle(-0.5f, 0.5f);
        return (net, Reference(name));
    }

    /// <summary>The network's forward for one sample; <c>drop</c> applies (or skips) a dropout step.</summary>
    private static Func<Weights, double[], Func<Drop, double[], double[]>, double[]> Reference(string name) => name switch
    {
        nameof(DropoutMlp) => (w, x, drop) =>
            Linear(w, "head", drop(new Drop(1, 0.3f), Linear(w, "hidden", x, 6, 8, Activation.Tanh)), 8, 4),
        nameof(DropoutCnn) => (w, x, drop) =>
        {
            double[] h = RefOps.Activate(Activation.Tanh, RefOps.Conv2D(x, w["conv.weight"], w["conv.bias"], 2, 4, 4, 3, 3, padding: 1));
            return Linear(w, "head", drop(new Drop(1, 0.25f), h), 48, 3);
        },
        nameof(DropoutTokens) => (w, x, drop) =>
        {
            double[] h = drop(new Drop(1, 0.5f), Linear(w, "fc", x, 6, 6, Activation.Tanh));
            h = RefOps.LayerNorm(h, 6, w["norm.weight"], w["norm.bias"]);
            return drop(new Drop(4, 0.2f), Linear(w, "head", h, 6, 2));
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static double[] Linear(Weights w, string name, double[] x, int inputs, int units, Activation activation = Activation.None) =>
        RefOps.Dense(x, w[name + ".weight"], w[name + ".bias"], inputs, units, activation);

    /// <summary>Inference: every dropout is the identity.</summary>
    private static Func<Weights, double[], double[]> Inference(Func<Weights, double[], Func<Drop, double[], double[]>, double[]> forward) =>
        (w, x) => forward(w, x, (_, h) => h);

    /// <summary>Training of global sample <paramref name="sample"/>: the mask of the contract, values kept scaled by 1/(1 − p).</summary>
    private static Func<Weights, double[], double[]> Training(Func<Weights, double[], Func<Drop, double[], double[]>, double[]> forward, ulong seed, long step, long sample) =>
        (w, x) => forward(w, x, (drop, h) =>
        {
            double scale = 1f / (1f - drop.P); // the kernels scale by this float
            return h.Select((v, i) => DropoutKernels.Keeps(drop.P, seed, step, drop.Step, sample, i) ? v * scale : 0).ToArray();
        });

    private static double[][] Rows(float[] flat, int width) =>
        Enumerable.Range(0, flat.Length / width).Select(s => flat.Skip(s * width).Take(width).Select(v => (double)v).ToArray()).ToArray();

    [Theory]
    [MemberData(nameof(Networks))]
    public void Steps_NameTheDropouts_WithTheirProbabilities(string name)
    {
        (INetwork net, _) = Create(name, seed: 0);
        NetworkStep[] drops = net.Steps.Where(s => s.Kind == StepKind.Dropout).ToArray();
        Assert.NotEmpty(drops);
        Assert.All(drops, s => Assert.Empty(s.Tensors));
        Assert.All(drops, s => Assert.Equal(s.InputShape, s.OutputShape));
        Assert.All(net.Steps.Where(s => s.Kind != StepKind.Dropout), s => Assert.Equal(0f, s.Probability));
        Assert.Contains(drops, s => s.Probability is 0.3f or 0.25f or 0.5f);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Inference_IsTheIdentity(string name)
    {
        (INetwork net, var forward) = Create(name, seed: 1);
        var reference = new FunctionReference(net, Inference(forward));
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 11);
        var output = new float[batch * net.OutputSize];
        net.Forward(input, output, batch);
        // Float dot products of at most 48 terms and a float LayerNorm: ~1e-6 of the output's scale; 1e-4 is far below a dropped unit.
        DenseNumericTests.AssertClose(reference.Forward(Rows(input, net.InputSize)).SelectMany(r => r).ToArray(), output, 1e-4, name);
        DenseNumericTests.AssertBatchedEqualsBatchOne(net, batch: 5, seed: 12);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void TrainingForwardAndBackward_MatchTheMaskedReference(string name)
    {
        (INetwork net, var forward) = Create(name, seed: 3);
        const int batch = 4;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 31);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 32);
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        workspace.Seed = 77;
        workspace.Step = 5;
        workspace.SampleOffset = 100;
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);
        Assert.Equal(5, workspace.ForwardStep);

        double[][] x = Rows(input, net.InputSize), dy = Rows(outputGradient, net.OutputSize);
        var expectedGradients = new Dictionary<string, Dictionary<int, double>>();
        for (int s = 0; s < batch; s++)
        {
            // Each sample has its own mask: one reference per sample, its gradients summed over the batch.
            var reference = new FunctionReference(net, Training(forward, 77, 5, 100 + s));
            DenseNumericTests.AssertClose(reference.Forward(new[] { x[s] })[0], output.AsSpan(s * net.OutputSize, net.OutputSize), 1e-4, $"{name} training forward, sample {s}");
            // Same reasoning as the block tests: the reference is exact to ~1e-8, float rounding ~1e-6; 1e-3 of the scale.
            DenseNumericTests.AssertClose(reference.InputGradients(new[] { x[s] }, new[] { dy[s] })[0], inputGradient.AsSpan(s * net.InputSize, net.InputSize), 1e-3, $"{name} dL/dx, sample {s}");
            foreach ((string tensor, Dictionary<int, double> values) in reference.ParameterGradients(new[] { x[s] }, new[] { dy[s] }, perTensor: 40, seed: 33))
            {
                Dictionary<int, double> sum = expectedGradients.TryGetValue(tensor, out var existing) ? existing : expectedGradients[tensor] = new();
                foreach ((int i, double v) in values) sum[i] = sum.GetValueOrDefault(i) + v;
            }
        }
        BlockNumericTests.AssertGradientsMatch(net, expectedGradients, name);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesFiniteDifferencesOfTheGeneratedTrainingForward(string name)
    {
        (INetwork net, _) = Create(name, seed: 4);
        // GradientCheck pins the workspace's step, so every evaluation of the loss sees the same masks.
        GradientCheck.Run(net, name, batch: 2, seed: 40, useTrainingForward: true);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Masks_AreReproducible_AdvanceWithTheStep_AndFollowTheGlobalSample(string name)
    {
        (INetwork net, _) = Create(name, seed: 5);
        const int batch = 6;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 51);
        float[] Train(Workspace workspace, int first, int count)
        {
            var output = new float[count * net.OutputSize];
            net.ForwardTrain(input.AsSpan(first * net.InputSize, count * net.InputSize), output, count, workspace);
            return output;
        }

        Workspace whole = net.CreateWorkspace(batch);
        float[] stepZero = Train(whole, 0, batch);
        float[] stepOne = Train(whole, 0, batch);
        Assert.Equal(2, whole.Step);
        Assert.NotEqual(stepZero, stepOne); // a new mask each step

        whole.Step = 0;
        Assert.Equal(stepZero, Train(whole, 0, batch)); // pinned: the same mask, bit for bit

        // The batch split across two workspaces (as two threads would run it): the same rows, bit for bit.
        Workspace left = net.CreateWorkspace(batch), right = net.CreateWorkspace(batch);
        right.SampleOffset = 2;
        float[] split = Train(left, 0, 2).Concat(Train(right, 2, batch - 2)).ToArray();
        Assert.Equal(stepZero, split);

        Workspace reseeded = net.CreateWorkspace(batch);
        reseeded.Seed = 1;
        Assert.NotEqual(stepZero, Train(reseeded, 0, batch));
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_And_Training_AllocateNothing(string name)
    {
        (INetwork net, _) = Create(name, seed: 6);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 60);
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 61), new float[batch * net.InputSize]));
    }

    [Fact]
    public void View_HasTheDeclaredProbabilityAndShape()
    {
        var net = new DropoutTokens();
        Assert.Equal(0.5f, net.drop.P);
        Assert.Equal(new[] { 5, 6 }, net.drop.InputShape);
        Assert.Equal(new[] { 5, 2 }, net.last.OutputShape);
        Assert.Equal("drop", net.drop.Name);
    }
}
