using System;
using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>
/// Not cases of the performance issue, and no peers: the samples' networks at batch 1 (the README quotes them)
/// and a training pass of the case-E encoder block, as absolute times to track. The report lists them under
/// "Other benchmarks".
/// </summary>
public class Extra_SampleNetworks
{
    private const int Batch = 32;
    private readonly FashionMlp _fashionMlp = new();
    private readonly FashionCnn _fashionCnn = new();
    private readonly EncoderBlockE _block = new();
    private readonly float[] _image = Weights.Inputs(784, 7);
    private readonly float[] _logits = new float[10];
    private float[] _tokens = [];
    private float[] _tokensOut = [];
    private float[] _tokensGradient = [];
    private Workspace _workspace = null!;

    /// <summary>Fixed-seed weights, tokens and output gradient.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Weights.Prepare(_fashionMlp, 1);
        Weights.Prepare(_fashionCnn, 42);
        Weights.Prepare(_block, 11);
        _tokens = Weights.Inputs(Batch * EncoderBlockE.InputSize, 12);
        _tokensOut = new float[Batch * EncoderBlockE.OutputSize];
        _tokensGradient = Weights.Inputs(Batch * EncoderBlockE.OutputSize, 13);
        for (int i = 0; i < _tokensGradient.Length; i++) _tokensGradient[i] -= 0.5f;
        _workspace = _block.CreateWorkspace(Batch);
    }

    /// <summary>The Fashion-MNIST sample's MLP 784-256-128-10, one image.</summary>
    [Benchmark, MustNotAllocate]
    public float FashionMlpForward()
    {
        _fashionMlp.Forward(_image, _logits);
        return _logits[0];
    }

    /// <summary>The sample's CNN (conv 32/64 with folded batch norm and pooling, dense 128, dense 10), one image.</summary>
    [Benchmark, MustNotAllocate]
    public float FashionCnnForward()
    {
        _fashionCnn.Forward(_image, _logits);
        return _logits[0];
    }

    /// <summary>ForwardTrain and Backward of 32 sequences through the case-E block (gradients accumulate; no optimiser step).</summary>
    [Benchmark, MustNotAllocate]
    public float EncoderBlockTrainingPass()
    {
        _block.ForwardTrain(_tokens, _tokensOut, Batch, _workspace);
        _block.Backward(_tokensGradient, default, Batch, _workspace);
        return _tokensOut[0];
    }
}
