using System;
using BenchmarkDotNet.Attributes;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// Batch-1 forward of a mixture-of-experts feed-forward (d = 64, 8 experts of width 256, top-2) against dense
/// feed-forwards of the same active width (512: the baseline, the work a mixture does per input) and of the same total
/// width (2048: the capacity a mixture holds), and ONNX Runtime on the mixture's export (which computes every expert and
/// masks by the gates). Each call takes the next of 64 inputs, so the router picks different experts from call to call
/// and the mixture reads all its experts over a run, as in use. <see cref="Tokens"/> = 16 runs a sequence: there top-2 of 8
/// touches nearly every expert, so the mixture's win is capacity, not speed.
/// </summary>
public class MixtureOfExperts_Forward
{
    private const int Pool = 64;
    private INetwork _mixture = null!, _active = null!, _total = null!;
    private OnnxPeer? _onnx;
    private float[] _inputs = [];
    private float[] _output = [];
    private int _next;

    /// <summary>1: one input vector; 16: a sequence of 16 tokens.</summary>
    [Params(1, 16)]
    public int Tokens { get; set; } = 1;

    /// <summary>Builds the three networks (seeded), the ONNX Runtime session, and checks the export agrees.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_mixture, _active, _total) = Tokens == 1
            ? ((INetwork)new MixtureFfn(41), (INetwork)new DenseFfn512(42), (INetwork)new DenseFfn2048(43))
            : (new MixtureFfnTokens(41), new DenseFfn512Tokens(42), new DenseFfn2048Tokens(43));
        _inputs = Weights.Inputs(Pool * _mixture.InputSize, 44);
        _output = new float[_mixture.OutputSize];
        _onnx = new OnnxPeer(_mixture, 1);
        for (int i = 0; i < 4; i++)
        {
            Mixture();
            OnnxRuntime();
            Agreement.Check($"{nameof(MixtureOfExperts_Forward)}: ONNX Runtime vs mixture, input {_next}", _onnx.Output, _output);
        }
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
    }

    private ReadOnlySpan<float> Next()
    {
        _next = (_next + 1) % Pool;
        return _inputs.AsSpan(_next * _mixture.InputSize, _mixture.InputSize);
    }

    /// <summary>The dense feed-forward of the mixture's active width.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float DenseActiveWidth()
    {
        _active.Forward(Next(), _output);
        return _output[0];
    }

    /// <summary>The mixture: router, top-2, the two chosen experts.</summary>
    [Benchmark, MustNotAllocate]
    public float Mixture()
    {
        _mixture.Forward(Next(), _output);
        return _output[0];
    }

    /// <summary>The dense feed-forward of the mixture's total width.</summary>
    [Benchmark, MustNotAllocate]
    public float DenseTotalWidth()
    {
        _total.Forward(Next(), _output);
        return _output[0];
    }

    /// <summary>ONNX Runtime, one thread, on the mixture's export, the same input as the last call of <see cref="Mixture"/> when checking.</summary>
    [Benchmark]
    public void OnnxRuntime()
    {
        _inputs.AsSpan(_next * _mixture.InputSize, _mixture.InputSize).CopyTo(_onnx!.Input);
        _onnx.Run();
    }
}
