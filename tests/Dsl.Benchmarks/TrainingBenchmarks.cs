using System;
using BenchmarkDotNet.Attributes;
using Dsl;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// Case F: one SGD training step of <see cref="MlpA"/> on a batch of 32: ForwardTrain, softmax cross-entropy,
/// BackwardAndStep with plain <see cref="Sgd"/> (lr 0.01, fused into the backward pass); against the same step as a
/// hand-derived ONNX Runtime training graph (<see cref="OnnxTrainingStep"/>) and written by hand with
/// TensorPrimitives. All start from the same weights; each benchmark keeps training its own copy.
/// FLOPs: forward and weight-gradient products (2 x 2 x B x (784 x 128 + 128 x 10)) and the head's input
/// gradient (2 x B x 128 x 10); the loss, the ReLU mask and the update are not counted.
/// </summary>
[Case("F", "SGD step of MLP 784-128-10 (ReLU), batch 32",
    Flops = 32 * 2L * (2 * (784 * 128 + 128 * 10) + 128 * 10),
    WeightBytes = 4L * (784 * 128 + 128 + 128 * 10 + 10),
    WeightsIn = WeightLevel.L2, Target = TargetKind.FasterThanOnnxRuntime, TargetValue = 1.3)]
public class CaseF_MlpATrainingStep
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
    private float[] _oneHot = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _outputGradient = [];
    private TensorPrimitivesTrainer _tensorPrimitives = null!;
    private OnnxTrainingStep? _onnx;

    /// <summary>What the last <see cref="Setup"/> checked.</summary>
    public string? VerificationReport { get; private set; }

    /// <summary>Builds the three trainers from the same weights and data, after checking one step of each peer agrees with Dsl's.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _input = Weights.Inputs(Batch * MlpA.InputSize, Seed + 2000);
        var rng = new Rng(Seed + 3000);
        _labels = new int[Batch];
        for (int s = 0; s < Batch; s++) _labels[s] = rng.NextInt(MlpA.OutputSize);
        _oneHot = new float[Batch * MlpA.OutputSize];
        for (int s = 0; s < Batch; s++) _oneHot[s * MlpA.OutputSize + _labels[s]] = 1f;
        _indices = new int[Batch];
        for (int s = 0; s < Batch; s++) _indices[s] = s;
        _data = new Dataset(_input, MlpA.InputSize, _labels, MlpA.OutputSize);
        _output = new float[Batch * MlpA.OutputSize];
        _outputGradient = new float[Batch * MlpA.OutputSize];

        VerificationReport = Verify();

        (_net, MlpLayer[] start) = CreateNetwork();
        CaseCounts.Check(GetType(), _net, Batch, TrainingFlopsPerSample(_net));
        _tensorPrimitives = new TensorPrimitivesTrainer(Copy(start), Batch) { LearningRate = LearningRate };
        _onnx = new OnnxTrainingStep(start, Batch, LearningRate, _input, _oneHot);
        _parameters = _net.Parameters;
        _workspace = _net.CreateWorkspace(Batch);
        _sgd = new Sgd(LearningRate);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
    }

    /// <summary>
    /// The Dsl step, as <see cref="Trainer"/> runs a batch on one thread: the gradients stay zero between steps and
    /// <see cref="NetworkExtensions.BackwardAndStep"/> fuses the SGD update into the weight-gradient products.
    /// </summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Dsl()
    {
        _net.ForwardTrain(_input, _output, Batch, _workspace);
        float loss = Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);
        _net.BackwardAndStep(_outputGradient, Batch, _workspace, _sgd);
        return loss;
    }

    /// <summary>The same step as one ONNX Runtime run of the hand-derived training graph, 1 thread, pre-bound ping-pong weight buffers.</summary>
    [Benchmark]
    public float OnnxRuntime() => _onnx!.Step();

    /// <summary>The same step by hand with TensorPrimitives.</summary>
    [Benchmark]
    public float TensorPrimitives() => _tensorPrimitives.Step(_input, _labels);

    /// <summary>Per sample: forward and weight-gradient products of both layers, and the head's input gradient.</summary>
    public static long TrainingFlopsPerSample(MlpA net) => 2 * CaseCounts.MatrixFlops(net) + 2L * net.Head.Inputs * net.Head.Units;

    private static (MlpA Net, MlpLayer[] Start) CreateNetwork()
    {
        var net = new MlpA();
        Weights.Prepare(net, Seed);
        return (net, Weights.Export([net.Fc1, net.Head]));
    }

    private static MlpLayer[] Copy(MlpLayer[] layers) =>
        Array.ConvertAll(layers, l => l with { Weight = (float[])l.Weight.Clone(), Bias = (float[])l.Bias.Clone() });

    // One step of each on fresh copies from the same weights. TensorPrimitives: the loss, every gradient and the
    // updated weights must agree with Dsl's. ONNX Runtime (whose graph returns no gradients): the loss, the
    // updated weights and biases, and the updates themselves (start - updated, i.e. lr x gradient, scaled by
    // the largest update) must agree.
    private string Verify()
    {
        (MlpA net, MlpLayer[] start) = CreateNetwork();
        Dense[] layers = [net.Fc1, net.Head];
        var peer = new TensorPrimitivesTrainer(Copy(start), Batch) { LearningRate = LearningRate };
        using var onnx = new OnnxTrainingStep(start, Batch, LearningRate, _input, _oneHot);

        // The gradients from Backward and an unfused Step, to compare with TensorPrimitives'; the benchmark's fused
        // step (BackwardAndStep) runs on a second copy, whose updated weights must agree with both peers'.
        Workspace workspace = net.CreateWorkspace(Batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(_input, _output, Batch, workspace);
        float dslLoss = Loss.SoftmaxCrossEntropy.Compute(_output, _data, _indices, _outputGradient);
        net.Backward(_outputGradient, Span<float>.Empty, Batch, workspace);
        new Sgd(LearningRate).Step(net.Parameters);
        (MlpA fused, _) = CreateNetwork();
        Workspace fusedWorkspace = fused.CreateWorkspace(Batch);
        var fusedOutput = new float[_output.Length];
        var fusedGradient = new float[_outputGradient.Length];
        fused.ForwardTrain(_input, fusedOutput, Batch, fusedWorkspace);
        Loss.SoftmaxCrossEntropy.Compute(fusedOutput, _data, _indices, fusedGradient);
        fused.BackwardAndStep(fusedGradient, Batch, fusedWorkspace, new Sgd(LearningRate));
        MlpLayer[] fusedUpdated = Weights.Export([fused.Fc1, fused.Head]);

        float peerLoss = peer.Step(_input, _labels);
        float onnxLoss = onnx.Step();
        float tp = Agreement.Check("Case F: TensorPrimitives loss", [dslLoss], [peerLoss]);
        float ort = Agreement.Check("Case F: ONNX Runtime loss", [dslLoss], [onnxLoss]);
        MlpLayer[] updated = Weights.Export(layers);
        for (int l = 0; l < layers.Length; l++)
        {
            Dense d = layers[l];
            // Dsl keeps gradients input-major; bring them to [out, in] to compare.
            var weightGradient = new float[d.Units * d.Inputs];
            ReadOnlySpan<float> stored = d.WeightGradient;
            for (int o = 0; o < d.Units; o++)
                for (int i = 0; i < d.Inputs; i++)
                    weightGradient[o * d.Inputs + i] = stored[i * d.Units + o];
            tp = MathF.Max(tp, Agreement.CheckScaled($"Case F: TensorPrimitives {d.Name}.weight gradient", weightGradient, peer.WeightGradient(l)));
            tp = MathF.Max(tp, Agreement.CheckScaled($"Case F: TensorPrimitives {d.Name}.bias gradient", d.BiasGradient, peer.BiasGradient(l)));
            tp = MathF.Max(tp, Agreement.Check($"Case F: TensorPrimitives updated {d.Name}.weight", updated[l].Weight, peer.Weights(l)));

            tp = MathF.Max(tp, Agreement.Check($"Case F: TensorPrimitives updated {d.Name}.weight (fused step)", fusedUpdated[l].Weight, peer.Weights(l)));
            ort = MathF.Max(ort, Agreement.Check($"Case F: ONNX Runtime updated {d.Name}.weight (fused step)", fusedUpdated[l].Weight, onnx.Weight(l)));
            ort = MathF.Max(ort, Agreement.Check($"Case F: ONNX Runtime updated {d.Name}.bias (fused step)", fusedUpdated[l].Bias, onnx.Bias(l)));
            ort = MathF.Max(ort, Agreement.CheckScaled($"Case F: ONNX Runtime {d.Name}.weight update (fused step)",
                Difference(start[l].Weight, fusedUpdated[l].Weight), Difference(start[l].Weight, onnx.Weight(l))));
            ort = MathF.Max(ort, Agreement.Check($"Case F: ONNX Runtime updated {d.Name}.weight", updated[l].Weight, onnx.Weight(l)));
            ort = MathF.Max(ort, Agreement.Check($"Case F: ONNX Runtime updated {d.Name}.bias", updated[l].Bias, onnx.Bias(l)));
            ort = MathF.Max(ort, Agreement.CheckScaled($"Case F: ONNX Runtime {d.Name}.weight update",
                Difference(start[l].Weight, updated[l].Weight), Difference(start[l].Weight, onnx.Weight(l))));
            ort = MathF.Max(ort, Agreement.CheckScaled($"Case F: ONNX Runtime {d.Name}.bias update",
                Difference(start[l].Bias, updated[l].Bias), Difference(start[l].Bias, onnx.Bias(l))));
        }
        return $"{nameof(CaseF_MlpATrainingStep)}: one step of each peer agrees with Dsl (loss {dslLoss:F4}; largest scaled error: ONNX Runtime {ort:E1}, TensorPrimitives {tp:E1})";
    }

    private static float[] Difference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var d = new float[a.Length];
        for (int i = 0; i < d.Length; i++) d[i] = a[i] - b[i];
        return d;
    }
}

/// <summary>
/// Not a case: the phases of <see cref="CaseF_MlpATrainingStep.Dsl"/> one at a time, to see where a step's time goes.
/// Each repeats one phase on the state the previous phases left (gradients keep accumulating under Backward,
/// and SgdStep uses a tiny learning rate so repeated updates stay harmless); timing only, no peer.
/// </summary>
public class Extra_TrainingStepPhases
{
    private const int Batch = CaseF_MlpATrainingStep.Batch;

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
        Weights.Prepare(_net, seed: 4);
        _parameters = _net.Parameters;
        _workspace = _net.CreateWorkspace(Batch);
        _sgd = new Sgd(1e-6f);
        _input = Weights.Inputs(Batch * MlpA.InputSize, 4 + 2000);
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

    /// <summary><see cref="NetworkExtensions.BackwardAndStep"/> with plain SGD: Backward with the update fused into the weight-gradient products, the case's step.</summary>
    [Benchmark, MustNotAllocate]
    public void BackwardAndStep() => _net.BackwardAndStep(_outputGradient, Batch, _workspace, _sgd);

    /// <summary><see cref="Sgd.Step"/> over 101,776 floats.</summary>
    [Benchmark, MustNotAllocate]
    public void SgdStep() => _sgd.Step(_parameters);
}
