using System;
using BenchmarkDotNet.Attributes;
using Dsl;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// Base of the forward cases: builds the network from a fixed seed, a fixed-seed input, and the ONNX Runtime
/// peer from the network's own export; <see cref="Setup"/> runs Dsl and every peer once and throws unless they
/// agree. Subclasses add the Dsl call (a <c>Dsl</c> benchmark on the concrete network type, so it is a direct call).
/// </summary>
public abstract class ForwardCase
{
    private OnnxPeer? _onnx;

    /// <summary>What the last <see cref="Setup"/> checked.</summary>
    public string? VerificationReport { get; private set; }

    /// <summary>The fixed-seed input, <see cref="Batch"/> samples, shared by every implementation.</summary>
    protected float[] Input { get; private set; } = [];

    /// <summary>The Dsl network.</summary>
    protected abstract INetwork Network { get; }

    /// <summary>Samples per call.</summary>
    protected abstract int Batch { get; }

    /// <summary>Seed of the weights and (plus 2000) of the input.</summary>
    protected abstract int Seed { get; }

    /// <summary>Where the Dsl call writes, <see cref="Batch"/> x output size.</summary>
    protected abstract float[] Output { get; }

    /// <summary>The Dsl call.</summary>
    protected abstract void RunDsl();

    /// <summary>Threads each implementation may use (ONNX Runtime's intra-op threads); 1 unless the case says otherwise.</summary>
    protected virtual int Threads => 1;

    /// <summary>Builds peers other than ONNX Runtime; the network's weights and <see cref="Input"/> are set.</summary>
    protected virtual void CreatePeers()
    {
    }

    /// <summary>Runs the other peers once, throws unless they match <paramref name="dsl"/>, and describes their agreement.</summary>
    protected virtual string VerifyPeers(ReadOnlySpan<float> dsl) => "";

    /// <summary>Creates the network and its peers, runs Dsl once and checks the peers against it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        INetwork network = Network;
        Weights.Prepare(network, Seed);
        Input = Weights.Inputs(Batch * network.InputSize, Seed + 2000);
        CaseCounts.Check(GetType(), network, Batch);
        CreatePeers();
        _onnx = new OnnxPeer(network, Batch, Threads);
        Input.CopyTo(_onnx.Input, 0);

        Array.Fill(Output, float.NaN);
        RunDsl();
        Array.Fill(_onnx.Output, float.NaN);
        _onnx.Run();
        float ort = Agreement.Check($"{GetType().Name}: ONNX Runtime vs Dsl", Output, _onnx.Output);
        VerificationReport = $"{GetType().Name}: peers agree with Dsl (largest scaled error: ONNX Runtime {ort:E1}{VerifyPeers(Output)})";
    }

    /// <summary>Releases the ONNX Runtime session and what <see cref="ReleasePeers"/> holds.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
        ReleasePeers();
    }

    /// <summary>Releases what a subclass holds (worker threads).</summary>
    protected virtual void ReleasePeers()
    {
    }

    /// <summary>ONNX Runtime on the network's own export: CPU, <see cref="Threads"/> intra-op threads, pre-bound buffers.</summary>
    [Benchmark]
    public void OnnxRuntime() => _onnx!.Run();
}

/// <summary>A forward case on an MLP: adds the hand-written TensorPrimitives peer.</summary>
public abstract class MlpForwardCase : ForwardCase
{
    private TensorPrimitivesMlp? _tensorPrimitives;
    private float[] _tensorPrimitivesOutput = [];
    private float[] _tensorPrimitivesInput = [];
    private int _batch;

    /// <summary>The network's dense layers, in order.</summary>
    protected abstract Dense[] Layers { get; }

    /// <inheritdoc/>
    protected override void CreatePeers()
    {
        _tensorPrimitives = new TensorPrimitivesMlp(Weights.Export(Layers), Batch);
        _tensorPrimitivesInput = Input;
        _tensorPrimitivesOutput = new float[Output.Length];
        _batch = Batch;
    }

    /// <inheritdoc/>
    protected override string VerifyPeers(ReadOnlySpan<float> dsl)
    {
        Array.Fill(_tensorPrimitivesOutput, float.NaN);
        TensorPrimitives();
        float tp = Agreement.Check($"{GetType().Name}: TensorPrimitives vs Dsl", dsl, _tensorPrimitivesOutput);
        return $", TensorPrimitives {tp:E1}";
    }

    /// <summary>Hand-written System.Numerics.Tensors forward, [out, in] weights, one Dot per output and sample.</summary>
    [Benchmark]
    public void TensorPrimitives() => _tensorPrimitives!.Forward(_tensorPrimitivesInput, _tensorPrimitivesOutput, _batch);
}

/// <summary>Case T: batch-1 forward of <see cref="TinyMlp"/> (16-64-64-4, tanh): call overhead.</summary>
[Case("T", "MLP 16-64-64-4 (tanh), batch 1",
    Flops = 2L * (16 * 64 + 64 * 64 + 64 * 4),
    WeightBytes = 4L * (16 * 64 + 64 + 64 * 64 + 64 + 64 * 4 + 4),
    WeightsIn = WeightLevel.L1, Target = TargetKind.OfPeak, TargetValue = 0.40)]
public class CaseT_TinyMlpForward : MlpForwardCase
{
    private readonly TinyMlp _net = new();
    private readonly float[] _output = new float[TinyMlp.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override Dense[] Layers => [_net.Fc1, _net.Fc2, _net.Out];
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 3;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>Case T: batch-1 forward of <see cref="Dense64"/> (one dense layer 64-&gt;64, no activation): call overhead.</summary>
[Case("T", "Dense 64->64 (no activation), batch 1",
    Flops = 2L * 64 * 64,
    WeightBytes = 4L * (64 * 64 + 64),
    WeightsIn = WeightLevel.L1, Target = TargetKind.FasterThanOnnxRuntime, TargetValue = 20)]
public class CaseT_Dense64Forward : MlpForwardCase
{
    private readonly Dense64 _net = new();
    private readonly float[] _output = new float[Dense64.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override Dense[] Layers => [_net.Fc];
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 5;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>Case A: batch-1 forward of <see cref="MlpA"/> (784-128-10, ReLU): L2 bandwidth.</summary>
[Case("A", "MLP 784-128-10 (ReLU), batch 1",
    Flops = 2L * (784 * 128 + 128 * 10),
    WeightBytes = 4L * (784 * 128 + 128 + 128 * 10 + 10),
    WeightsIn = WeightLevel.L2, Target = TargetKind.OfRoofline, TargetValue = 0.90)]
public class CaseA_Mlp784x128x10Forward : MlpForwardCase
{
    private readonly MlpA _net = new();
    private readonly float[] _output = new float[MlpA.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override Dense[] Layers => [_net.Fc1, _net.Head];
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 2;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>Case B: batch-1 forward of <see cref="MlpB"/> (784-512-512-10, ReLU): L3 bandwidth.</summary>
[Case("B", "MLP 784-512-512-10 (ReLU), batch 1",
    Flops = 2L * (784 * 512 + 512 * 512 + 512 * 10),
    WeightBytes = 4L * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10),
    WeightsIn = WeightLevel.L3, Target = TargetKind.OfRoofline, TargetValue = 0.90)]
public class CaseB_Mlp784x512x512x10Forward : MlpForwardCase
{
    private readonly MlpB _net = new();
    private readonly float[] _output = new float[MlpB.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override Dense[] Layers => [_net.Fc1, _net.Fc2, _net.Head];
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 6;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>Case C: forward of <see cref="MlpB"/> (784-512-512-10, ReLU) on a batch of 64: compute.</summary>
[Case("C", "MLP 784-512-512-10 (ReLU), batch 64",
    Flops = 64 * 2L * (784 * 512 + 512 * 512 + 512 * 10),
    WeightBytes = 4L * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10),
    WeightsIn = WeightLevel.L3, Target = TargetKind.OfPeak, TargetValue = 0.88)]
public class CaseC_Mlp784x512x512x10Batch64 : MlpForwardCase
{
    /// <summary>Samples per call.</summary>
    public const int BatchSize = 64;

    private readonly MlpB _net = new();
    private readonly float[] _output = new float[BatchSize * MlpB.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override Dense[] Layers => [_net.Fc1, _net.Fc2, _net.Head];
    /// <inheritdoc/>
    protected override int Batch => BatchSize;
    /// <inheritdoc/>
    protected override int Seed => 7;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batched forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output, BatchSize);
}

/// <summary>
/// Case C on both cores: the batch of 64 split across 2 threads by <see cref="ParallelForward"/>, against ONNX
/// Runtime with 2 intra-op threads.
/// </summary>
[Case("C2", "MLP 784-512-512-10 (ReLU), batch 64, 2 threads",
    Flops = 64 * 2L * (784 * 512 + 512 * 512 + 512 * 10),
    WeightBytes = 4L * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10),
    WeightsIn = WeightLevel.L3, Target = TargetKind.FasterThanOnnxRuntime, TargetValue = 1.0)]
public class CaseC2_Mlp784x512x512x10Batch64TwoThreads : ForwardCase
{
    private const int BatchSize = 64;

    private readonly MlpB _net = new();
    private readonly float[] _output = new float[BatchSize * MlpB.OutputSize];
    private ParallelForward? _parallel;
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override int Batch => BatchSize;
    /// <inheritdoc/>
    protected override int Seed => 7;
    /// <inheritdoc/>
    protected override float[] Output => _output;
    /// <inheritdoc/>
    protected override int Threads => 2;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        _parallel ??= new ParallelForward(_net, Threads);
        Dsl();
    }

    /// <summary>The generated batched forward, rows split across 2 threads.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _parallel!.Forward(_input, _output, BatchSize);

    /// <inheritdoc/>
    protected override void ReleasePeers()
    {
        _parallel?.Dispose();
        _parallel = null;
    }
}

/// <summary>Marks a benchmark that must allocate nothing per call; <c>--smoke</c> fails if it does, and the report checks it.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MustNotAllocateAttribute : Attribute;
