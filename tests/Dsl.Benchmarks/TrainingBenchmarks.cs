using System;
using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>
/// One SGD training step of <see cref="MlpA"/> on a batch of 32: zero gradients, ForwardTrain, softmax
/// cross-entropy, Backward (no input gradient), <see cref="Sgd.Step"/>; against the same step written by hand
/// with TensorPrimitives. Both start from the same weights; each benchmark keeps training its own copy.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class MlpATrainingStep
{
    /// <summary>Samples per step.</summary>
    public const int Batch = 32;

    /// <summary>SGD learning rate (no momentum, no weight decay).</summary>
    public const float LearningRate = 0.01f;

    private const int Seed = 4;

    private MlpA _net = null!;
    private Parameters _parameters = null!;
    private Workspace _workspace = null!;
    private Sgd _sgd = null!;
    private Dataset _data = null!;
    private int[] _indices = [];
    private int[] _labels = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _outputGradient = [];
    private TensorPrimitivesTrainer _tensorPrimitives = null!;

    /// <summary>What the last <see cref="Setup"/> checked.</summary>
    public string? VerificationReport { get; private set; }

    /// <summary>Builds both trainers from the same weights and data, after checking one step of each agrees.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _input = MlpWeights.Inputs(Batch * MlpA.InputSize, Seed + 2000);
        var rng = new Rng(Seed + 3000);
        _labels = new int[Batch];
        for (int s = 0; s < Batch; s++) _labels[s] = rng.NextInt(MlpA.OutputSize);
        _indices = new int[Batch];
        for (int s = 0; s < Batch; s++) _indices[s] = s;
        _data = new Dataset(_input, MlpA.InputSize, _labels, MlpA.OutputSize);
        _output = new float[Batch * MlpA.OutputSize];
        _outputGradient = new float[Batch * MlpA.OutputSize];

        VerificationReport = Verify();

        (_net, _tensorPrimitives) = CreatePair();
        _parameters = _net.Parameters;
        _workspace = _net.CreateWorkspace(Batch);
        _sgd = new Sgd(LearningRate);
    }

    /// <summary>The Dsl step, as <see cref="Trainer"/> runs it for one batch.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float DslTrainStep()
    {
        _parameters.ZeroGradients();
        _net.ForwardTrain(_input, _output, Batch, _workspace);
        float loss = Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);
        _net.Backward(_outputGradient, Span<float>.Empty, Batch, _workspace);
        _sgd.Step(_parameters);
        return loss;
    }

    /// <summary>The same step by hand with TensorPrimitives.</summary>
    [Benchmark]
    public float TensorPrimitivesTrainStep() => _tensorPrimitives.Step(_input, _labels);

    private static (MlpA Net, TensorPrimitivesTrainer Peer) CreatePair()
    {
        var net = new MlpA();
        Dense[] layers = [net.Fc1, net.Head];
        MlpWeights.Prepare(net, layers, Seed);
        var peer = new TensorPrimitivesTrainer(MlpWeights.Export(layers), Batch) { LearningRate = LearningRate };
        return (net, peer);
    }

    // One step of each on fresh copies: the losses, every gradient and the updated weights must agree.
    private string Verify()
    {
        (MlpA net, TensorPrimitivesTrainer peer) = CreatePair();
        Dense[] layers = [net.Fc1, net.Head];
        Workspace workspace = net.CreateWorkspace(Batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(_input, _output, Batch, workspace);
        float dslLoss = Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);
        net.Backward(_outputGradient, Span<float>.Empty, Batch, workspace);
        new Sgd(LearningRate).Step(net.Parameters);

        float peerLoss = peer.Step(_input, _labels);
        float worst = Agreement.Check("MlpA training: loss", [dslLoss], [peerLoss]);
        MlpLayer[] updated = MlpWeights.Export(layers);
        for (int l = 0; l < layers.Length; l++)
        {
            Dense d = layers[l];
            // Dsl keeps gradients input-major; bring them to [out, in] to compare.
            var weightGradient = new float[d.Units * d.Inputs];
            ReadOnlySpan<float> stored = d.WeightGradient;
            for (int o = 0; o < d.Units; o++)
                for (int i = 0; i < d.Inputs; i++)
                    weightGradient[o * d.Inputs + i] = stored[i * d.Units + o];
            worst = MathF.Max(worst, Agreement.CheckScaled($"MlpA training: {d.Name}.weight gradient", weightGradient, peer.WeightGradient(l)));
            worst = MathF.Max(worst, Agreement.CheckScaled($"MlpA training: {d.Name}.bias gradient", d.BiasGradient, peer.BiasGradient(l)));
            worst = MathF.Max(worst, Agreement.Check($"MlpA training: updated {d.Name}.weight", updated[l].Weight, peer.Weights(l)));
        }
        return $"{nameof(MlpATrainingStep)}: one step agrees with Dsl (loss {dslLoss:F4}; largest scaled error {worst:E1})";
    }
}

/// <summary>
/// The phases of <see cref="MlpATrainingStep.DslTrainStep"/> one at a time, to see where a step's time goes.
/// Each repeats one phase on the state the previous phases left (gradients keep accumulating under Backward,
/// and SgdStep uses a tiny learning rate so repeated updates stay harmless); timing only, no peer.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class MlpATrainingPhases
{
    private const int Batch = MlpATrainingStep.Batch;

    private MlpA _net = null!;
    private Parameters _parameters = null!;
    private Workspace _workspace = null!;
    private Sgd _sgd = null!;
    private Dataset _data = null!;
    private int[] _indices = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _outputGradient = [];

    /// <summary>Runs one full step so every phase has its inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _net = new MlpA();
        MlpWeights.Prepare(_net, [_net.Fc1, _net.Head], seed: 4);
        _parameters = _net.Parameters;
        _workspace = _net.CreateWorkspace(Batch);
        _sgd = new Sgd(1e-6f);
        _input = MlpWeights.Inputs(Batch * MlpA.InputSize, 4 + 2000);
        var rng = new Rng(4 + 3000);
        int[] labels = new int[Batch];
        for (int s = 0; s < Batch; s++) labels[s] = rng.NextInt(MlpA.OutputSize);
        _indices = new int[Batch];
        for (int s = 0; s < Batch; s++) _indices[s] = s;
        _data = new Dataset(_input, MlpA.InputSize, labels, MlpA.OutputSize);
        _output = new float[Batch * MlpA.OutputSize];
        _outputGradient = new float[Batch * MlpA.OutputSize];

        _parameters.ZeroGradients();
        _net.ForwardTrain(_input, _output, Batch, _workspace);
        Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);
        _net.Backward(_outputGradient, Span<float>.Empty, Batch, _workspace);
        _sgd.Step(_parameters);
    }

    /// <summary><see cref="Parameters.ZeroGradients"/>: clears 398 KB.</summary>
    [Benchmark, MustNotAllocate]
    public void ZeroGradients() => _parameters.ZeroGradients();

    /// <summary><see cref="INetwork.ForwardTrain"/>, batch 32: 6.5 MFLOP.</summary>
    [Benchmark, MustNotAllocate]
    public void ForwardTrain() => _net.ForwardTrain(_input, _output, Batch, _workspace);

    /// <summary>Softmax cross-entropy and its gradient, 32 × 10 logits.</summary>
    [Benchmark, MustNotAllocate]
    public float LossCompute() => Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);

    /// <summary><see cref="INetwork.Backward"/> without input gradient, batch 32: 6.5 MFLOP.</summary>
    [Benchmark, MustNotAllocate]
    public void Backward() => _net.Backward(_outputGradient, Span<float>.Empty, Batch, _workspace);

    /// <summary><see cref="Sgd.Step"/> over 101,776 floats.</summary>
    [Benchmark, MustNotAllocate]
    public void SgdStep() => _sgd.Step(_parameters);
}
