using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Dsl;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// The peers of one network's batch-1 forward pass, on the weights and input of the Dsl network: the
/// hand-written TensorPrimitives version and ONNX Runtime. <see cref="Verify"/> throws unless both agree with Dsl.
/// </summary>
public sealed class ForwardPeers : IDisposable
{
    private ForwardPeers(MlpLayer[] layers, float[] input)
    {
        Layers = layers;
        Input = input;
        TensorPrimitives = new TensorPrimitivesMlp(layers);
        TensorPrimitivesOutput = new float[layers[^1].Units];
        Onnx = new OnnxMlp(layers, batch: 1);
        input.CopyTo(Onnx.Input, 0);
    }

    /// <summary>The network's layers in PyTorch layout.</summary>
    public MlpLayer[] Layers { get; }

    /// <summary>The fixed-seed input sample, shared by every implementation.</summary>
    public float[] Input { get; }

    /// <summary>The hand-written peer.</summary>
    public TensorPrimitivesMlp TensorPrimitives { get; }

    /// <summary>Where the hand-written peer writes.</summary>
    public float[] TensorPrimitivesOutput { get; }

    /// <summary>The ONNX Runtime peer; its bound input holds a copy of <see cref="Input"/>.</summary>
    public OnnxMlp Onnx { get; }

    /// <summary>A copy of the Dsl network's whole parameter buffer, 64-byte aligned, for <see cref="ReadProbe"/>.</summary>
    public ReadProbe Probe { get; private init; } = null!;

    /// <summary>Initialises <paramref name="network"/> from <paramref name="seed"/> and builds its peers.</summary>
    public static ForwardPeers Create(INetwork network, IReadOnlyList<Dense> layers, int seed)
    {
        MlpWeights.Prepare(network, layers, seed);
        return new ForwardPeers(MlpWeights.Export(layers), MlpWeights.Inputs(network.InputSize, seed + 2000))
        {
            Probe = new ReadProbe(network.Parameters.Values),
        };
    }

    /// <summary>Runs both peers once and throws unless their outputs match <paramref name="dslOutput"/>; returns a one-line report.</summary>
    public string Verify(string name, ReadOnlySpan<float> dslOutput)
    {
        Array.Fill(TensorPrimitivesOutput, float.NaN);
        TensorPrimitives.Forward(Input, TensorPrimitivesOutput);
        float tp = Agreement.Check($"{name}: TensorPrimitives vs Dsl", dslOutput, TensorPrimitivesOutput);
        Array.Fill(Onnx.Output, float.NaN);
        Onnx.Run();
        float ort = Agreement.Check($"{name}: ONNX Runtime vs Dsl", dslOutput, Onnx.Output);
        return $"{name}: peers agree with Dsl (largest scaled error: TensorPrimitives {tp:E1}, ONNX Runtime {ort:E1})";
    }

    /// <inheritdoc/>
    public void Dispose() => Onnx.Dispose();
}

/// <summary>Base of the forward benchmarks: setup, the agreement check and the two peers; subclasses add the Dsl call.</summary>
public abstract class ForwardBenchmarkBase
{
    // Copied out of the peers so a benchmark call reads fields, as the Dsl benchmark does.
    private ForwardPeers? _peers;
    private TensorPrimitivesMlp? _tensorPrimitives;
    private float[] _input = [];
    private float[] _tensorPrimitivesOutput = [];
    private OnnxMlp? _onnx;
    private ReadProbe? _probe;

    /// <summary>What the last <see cref="Setup"/> checked.</summary>
    public string? VerificationReport { get; private set; }

    /// <summary>Creates the network and its peers, runs Dsl once and checks the peers against it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _peers = CreatePeers();
        _tensorPrimitives = _peers.TensorPrimitives;
        _input = _peers.Input;
        _tensorPrimitivesOutput = _peers.TensorPrimitivesOutput;
        _onnx = _peers.Onnx;
        _probe = _peers.Probe;
        float[] dslOutput = RunDsl();
        VerificationReport = _peers.Verify(GetType().Name, dslOutput);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _peers?.Dispose();
        _peers = null;
        _onnx = null;
        _tensorPrimitives = null;
        _probe = null;
    }

    /// <summary>Creates the Dsl network and returns its peers.</summary>
    protected abstract ForwardPeers CreatePeers();

    /// <summary>Runs the Dsl forward pass on the shared input (output cleared to NaN first) and returns the output buffer.</summary>
    protected abstract float[] RunDsl();

    /// <summary>Hand-written System.Numerics.Tensors forward, [out, in] weights, one Dot per output.</summary>
    [Benchmark]
    public void TensorPrimitivesForward() => _tensorPrimitives!.Forward(_input, _tensorPrimitivesOutput);

    /// <summary>ONNX Runtime, CPU, 1 thread, pre-bound buffers.</summary>
    [Benchmark]
    public void OnnxRuntimeForward() => _onnx!.Run();

    /// <summary>
    /// Not a peer: the time to merely read as many bytes as the Dsl network's parameter buffer, with Vector512
    /// loads, in this process. A batch-1 forward pass cannot beat it (it must read every weight once), so
    /// DslForward's ratio to it is its distance from the bandwidth bound, measured in the same run.
    /// </summary>
    [Benchmark]
    public float ReadWeightsProbe() => _probe!.Read();
}

/// <summary>Reads an aligned buffer as fast as the core can, summing it so the loads are not removed.</summary>
public sealed class ReadProbe
{
    private readonly float[] _array;
    private readonly int _start;
    private readonly int _length;

    /// <summary>Copies <paramref name="values"/> into a 64-byte aligned pinned buffer.</summary>
    public unsafe ReadProbe(ReadOnlySpan<float> values)
    {
        _array = GC.AllocateArray<float>(values.Length + 16, pinned: true);
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        _start = (int)((64 - address % 64) % 64 / sizeof(float));
        _length = values.Length;
        values.CopyTo(_array.AsSpan(_start, _length));
    }

    /// <summary>Bytes read per call.</summary>
    public long Bytes => 4L * _length;

    /// <summary>The sum of the buffer, eight independent Vector512 accumulators (TensorPrimitives.Sum without AVX-512).</summary>
    public float Read()
    {
        ReadOnlySpan<float> values = _array.AsSpan(_start, _length);
        if (!Vector512.IsHardwareAccelerated) return System.Numerics.Tensors.TensorPrimitives.Sum(values);
        ref float r = ref MemoryMarshal.GetReference(values);
        nuint n = (nuint)values.Length, i = 0;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (; i + 128 <= n; i += 128)
        {
            a0 += Vector512.LoadUnsafe(ref r, i);
            a1 += Vector512.LoadUnsafe(ref r, i + 16);
            a2 += Vector512.LoadUnsafe(ref r, i + 32);
            a3 += Vector512.LoadUnsafe(ref r, i + 48);
            a4 += Vector512.LoadUnsafe(ref r, i + 64);
            a5 += Vector512.LoadUnsafe(ref r, i + 80);
            a6 += Vector512.LoadUnsafe(ref r, i + 96);
            a7 += Vector512.LoadUnsafe(ref r, i + 112);
        }
        float sum = Vector512.Sum((a0 + a1) + (a2 + a3) + ((a4 + a5) + (a6 + a7)));
        for (; i < n; i++) sum += Unsafe.Add(ref r, i);
        return sum;
    }
}

/// <summary>Batch-1 forward of <see cref="FashionMlp"/> (784-256-128-10, ReLU).</summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class FashionMlpForward : ForwardBenchmarkBase
{
    private readonly FashionMlp _net = new();
    private readonly float[] _output = new float[FashionMlp.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override ForwardPeers CreatePeers()
    {
        ForwardPeers peers = ForwardPeers.Create(_net, [_net.Fc1, _net.Fc2, _net.Head], seed: 1);
        _input = peers.Input;
        return peers;
    }

    /// <inheritdoc/>
    protected override float[] RunDsl()
    {
        Array.Fill(_output, float.NaN);
        DslForward();
        return _output;
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void DslForward() => _net.Forward(_input, _output);
}

/// <summary>Batch-1 forward of <see cref="MlpA"/> (784-128-10, ReLU).</summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class MlpAForward : ForwardBenchmarkBase
{
    private readonly MlpA _net = new();
    private readonly float[] _output = new float[MlpA.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override ForwardPeers CreatePeers()
    {
        ForwardPeers peers = ForwardPeers.Create(_net, [_net.Fc1, _net.Head], seed: 2);
        _input = peers.Input;
        return peers;
    }

    /// <inheritdoc/>
    protected override float[] RunDsl()
    {
        Array.Fill(_output, float.NaN);
        DslForward();
        return _output;
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void DslForward() => _net.Forward(_input, _output);
}

/// <summary>Batch-1 forward of <see cref="TinyMlp"/> (16-64-64-4, tanh).</summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class TinyMlpForward : ForwardBenchmarkBase
{
    private readonly TinyMlp _net = new();
    private readonly float[] _output = new float[TinyMlp.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override ForwardPeers CreatePeers()
    {
        ForwardPeers peers = ForwardPeers.Create(_net, [_net.Fc1, _net.Fc2, _net.Out], seed: 3);
        _input = peers.Input;
        return peers;
    }

    /// <inheritdoc/>
    protected override float[] RunDsl()
    {
        Array.Fill(_output, float.NaN);
        DslForward();
        return _output;
    }

    /// <summary>The generated batch-1 forward.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void DslForward() => _net.Forward(_input, _output);
}

/// <summary>Marks a benchmark that must allocate nothing per call; <c>--smoke</c> fails if it does.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MustNotAllocateAttribute : Attribute;
