using System;
using BenchmarkDotNet.Attributes;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// bfloat16 weights at batch 1: MLP 784-512-512-10 (ReLU), whose 2.68 MB of fp32 weights live in L3 and bound the
/// batch-1 forward by bandwidth; the bfloat16 network reads half the bytes. fp32 Dsl (baseline), bfloat16 Dsl (the same
/// weights rounded) and ONNX Runtime on fp32, each call on the next of 64 random inputs.
/// </summary>
public class BFloat16_Forward
{
    private const int Inputs = 64;
    private readonly MlpB _full = new();
    private readonly MlpBHalf _half = new();
    private readonly float[] _x = Weights.Inputs(Inputs * MlpB.InputSize, seed: 64);
    private readonly float[] _y = new float[MlpB.OutputSize];
    private int _next;
    private OnnxPeer? _onnx;

    /// <summary>What the setup checked, for the smoke run.</summary>
    public string? VerificationReport { get; private set; }

    /// <summary>Same weights in both networks; bfloat16 agrees with fp32 to bfloat16's precision, ONNX Runtime with fp32 to fp32's.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Weights.Prepare(_full, seed: 7);
        _full.Parameters.ReadOnlyValues.CopyTo(_half.Parameters.Values);
        var full = new float[MlpB.OutputSize];
        var half = new float[MlpB.OutputSize];
        float worst = 0;
        for (int s = 0; s < Inputs; s++)
        {
            ReadOnlySpan<float> x = _x.AsSpan(s * MlpB.InputSize, MlpB.InputSize);
            _full.Forward(x, full);
            _half.Forward(x, half);
            float scale = 0;
            foreach (float v in full) scale = Math.Max(scale, Math.Abs(v));
            for (int o = 0; o < full.Length; o++) worst = Math.Max(worst, Math.Abs(full[o] - half[o]) / Math.Max(1f, scale));
        }
        // Weights rounded to 8 significant bits (relative error up to 2^-9 each), errors averaging out over 784 and 512 terms.
        if (worst > 2e-2f) throw new InvalidOperationException($"bfloat16 forward differs from fp32 by {worst:E2} (scaled), more than 2e-2");
        _onnx = new OnnxPeer(_full, 1);
        _x.AsSpan(0, MlpB.InputSize).CopyTo(_onnx.Input);
        _onnx.Run();
        _full.Forward(_x.AsSpan(0, MlpB.InputSize), full);
        float ort = Agreement.CheckScaled("BFloat16_Forward: ONNX Runtime vs fp32 Dsl", full, _onnx.Output);
        VerificationReport = $"{nameof(BFloat16_Forward)}: bfloat16 vs fp32 largest scaled difference {worst:E1}, ONNX Runtime vs fp32 {ort:E1}";
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
    }

    private ReadOnlySpan<float> NextInput()
    {
        int s = _next;
        _next = (s + 1) % Inputs;
        return _x.AsSpan(s * MlpB.InputSize, MlpB.InputSize);
    }

    /// <summary>fp32 Dsl, batch 1.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Fp32()
    {
        _full.Forward(NextInput(), _y);
        return _y[0];
    }

    /// <summary>bfloat16 Dsl, batch 1.</summary>
    [Benchmark, MustNotAllocate]
    public float BFloat16()
    {
        _half.Forward(NextInput(), _y);
        return _y[0];
    }

    /// <summary>ONNX Runtime on the fp32 weights, batch 1 (input copied into its bound buffer).</summary>
    [Benchmark]
    public float OnnxRuntimeFp32()
    {
        NextInput().CopyTo(_onnx!.Input);
        _onnx.Run();
        return _onnx.Output[0];
    }
}
