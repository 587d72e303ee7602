using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>The sample's CNN (issue 3): conv 32 + folded batch norm + pool, conv 64 + folded batch norm + pool, dense 128, dense 10.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class FashionCnn
{
    [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D Conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn2 { get; }
    [MaxPool2D(2)] public partial MaxPool2D Pool2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Case D of the performance issue: conv3x3(8, pad 1) + ReLU, conv3x3(16, pad 1) + ReLU, flatten, dense 10.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class SmallCnn
{
    [Conv2D(8, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv1 { get; }
    [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>
/// Batch-1 inference of the convolutional networks. No peer runs here yet: the benchmarks' ONNX schema subset
/// covers MLPs only (ONNX export of convolutions is a later issue), so these are absolute times to track.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class CnnForward
{
    private readonly FashionCnn _fashion = new(seed: 42);
    private readonly SmallCnn _small = new(seed: 42);
    private readonly float[] _input = new float[784];
    private readonly float[] _output = new float[10];

    /// <summary>A fixed-seed image in [0, 1).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(7);
        for (int i = 0; i < _input.Length; i++) _input[i] = rng.NextSingle();
    }

    /// <summary>FashionCnn, one image.</summary>
    [Benchmark, MustNotAllocate]
    public float FashionCnnForward()
    {
        _fashion.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>Case D, one image.</summary>
    [Benchmark, MustNotAllocate]
    public float SmallCnnForward()
    {
        _small.Forward(_input, _output);
        return _output[0];
    }
}
