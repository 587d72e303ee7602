using BenchmarkDotNet.Attributes;
using CharGpt;
using Dsl;
using Dsl.Benchmarks.Onnx;

namespace Dsl.Benchmarks;

/// <summary>
/// Issue #16's decode latency: the char-GPT sample's model (64 characters of context, 4 blocks of 128 features) at
/// batch 1, producing the logits of the last position of a full context. <c>CachedStep</c> is one
/// <see cref="IDecoder.DecodeStep"/> at position 63 with positions 0..62 cached (the step repeated: each call
/// recomputes position 63 from the same cache); <c>FullForward</c> (baseline) recomputes the whole 64-character
/// sequence, as a model without a cache must; <c>OnnxRuntime</c> runs the network's export on the full sequence
/// (labelled: ONNX Runtime gets no cache there), one thread.
/// </summary>
public class Decode_LastPosition
{
    private readonly CharModel _net = new(seed: 50);
    private readonly float[] _sequence = new float[CharModel.InputSize];
    private readonly float[] _all = new float[CharModel.OutputSize];
    private readonly float[] _logits = new float[Characters.Count];
    private DecodeCache _cache = null!;
    private OnnxPeer? _onnx;

    /// <summary>Fills the cache with 63 positions, and checks the three agree on the last position's logits.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(51);
        for (int i = 0; i < _sequence.Length; i++) _sequence[i] = rng.NextInt(Characters.Count);
        _cache = _net.CreateDecodeCache();
        for (int t = 0; t < CharModel.InputSize; t++) _net.DecodeStep((int)_sequence[t], t, _cache, _logits);
        FullForward();
        const int last = (CharModel.InputSize - 1) * Characters.Count;
        Agreement.Check($"{nameof(Decode_LastPosition)}: cached step vs full forward", _all[last..], _logits);
        _onnx = new OnnxPeer(_net, 1);
        _sequence.CopyTo(_onnx.Input, 0);
        _onnx.Run();
        Agreement.Check($"{nameof(Decode_LastPosition)}: ONNX Runtime vs full forward", _onnx.Output, _all);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
    }

    /// <summary>The whole sequence again, every position's logits.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float FullForward()
    {
        _net.Forward(_sequence, _all);
        return _all[^1];
    }

    /// <summary>Position 63 alone, from the cached keys and values of 0..62.</summary>
    [Benchmark, MustNotAllocate]
    public float CachedStep()
    {
        _net.DecodeStep((int)_sequence[^1], CharModel.InputSize - 1, _cache, _logits);
        return _logits[0];
    }

    /// <summary>ONNX Runtime on the export, the full sequence (no cache).</summary>
    [Benchmark]
    public void OnnxRuntime() => _onnx!.Run();
}
