using System;
using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>Case B's hidden layer (512 → 512) after a ReLU: its batch-1 kernel skips zero inputs.</summary>
[Network(Input = 512)]
public partial class AfterRelu512
{
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary><see cref="AfterRelu512"/> without the ReLU before the dense layer: its kernel reads every row.</summary>
[Network(Input = 512)]
public partial class AfterLinear512
{
    [BatchNorm1D] public partial BatchNorm1D Norm { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary>The batch norm and ReLU of <see cref="AfterRelu512"/> alone: its time is subtracted from both to get the dense layer's.</summary>
[Network(Input = 512)]
public partial class Relu512
{
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }
}

/// <summary>The FashionMlp's second layer (256 → 128) after a ReLU.</summary>
[Network(Input = 256)]
public partial class AfterRelu256x128
{
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary>The batch norm and ReLU of <see cref="AfterRelu256x128"/> alone.</summary>
[Network(Input = 256)]
public partial class Relu256
{
    [BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }
}

/// <summary><see cref="AfterRelu256x128"/> without the ReLU.</summary>
[Network(Input = 256)]
public partial class AfterLinear256x128
{
    [BatchNorm1D] public partial BatchNorm1D Norm { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary>
/// Issue #15's question on activation sparsity: after a ReLU many of a hidden layer's inputs are exactly zero; does
/// skipping their weight rows pay in the input-major batch-1 kernel? The generator writes the skipping kernel for a
/// dense layer whose input comes from a ReLU (<c>SkipZeroInputs</c>: it lists the non-zero inputs without branches,
/// then streams only their rows) and the full one otherwise (<c>EveryRow</c>, baseline). Both networks put a batch
/// norm before the dense layer, with and without a ReLU, on inputs that are already ReLU outputs (so the ReLU
/// changes nothing and both layers see the same inputs). The norm costs the same in both and is not small (it
/// recomputes its scale per channel on every call): <c>NormOnly</c> times it alone, to subtract.
/// Inputs: ReLU of Gaussians, <see cref="ZeroFraction"/> of them zero, at random places (0: none, the skip's cost).
/// </summary>
public class Pruning_ActivationSparsity
{
    private INetwork _skips = null!;
    private INetwork _reads = null!;
    private INetwork _norm = null!;
    private float[] _input = [];
    private float[] _output = [];
    private float[] _normOutput = [];

    /// <summary>Which layer.</summary>
    [Params("512x512", "256x128")]
    public string Layer { get; set; } = "512x512"; // the smoke run's

    /// <summary>Fraction of the inputs that are zero.</summary>
    [Params(0f, 0.5f, 0.8f)]
    public float ZeroFraction { get; set; } = 0.5f;

    /// <summary>Both networks on the same weights and inputs, and a check that they agree.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_skips, _reads, _norm) = Layer == "512x512"
            ? ((INetwork)new AfterRelu512(), (INetwork)new AfterLinear512(), (INetwork)new Relu512())
            : (new AfterRelu256x128(), new AfterLinear256x128(), new Relu256());
        Weights.Prepare(_skips, 40);
        // The norm scales by 1/sqrt(1 + eps) and shifts nothing, so a zero input stays zero.
        _skips.Parameters.Value(_skips.Parameters.Find("norm.weight")!).Fill(1f);
        _skips.Parameters.Value(_skips.Parameters.Find("norm.bias")!).Clear();
        _skips.Parameters.Values.CopyTo(_reads.Parameters.Values);
        var rng = new Rng(41);
        _input = new float[_skips.InputSize];
        for (int i = 0; i < _input.Length; i++) _input[i] = rng.NextSingle() < ZeroFraction ? 0f : MathF.Abs(rng.NextGaussian());
        _output = new float[_skips.OutputSize];
        _normOutput = new float[_skips.InputSize];
        var skipped = new float[_output.Length];
        SkipZeroInputs();
        _output.CopyTo(skipped, 0);
        EveryRow();
        Agreement.Check(nameof(Pruning_ActivationSparsity), _output, skipped);
    }

    /// <summary>The kernel that reads every row of W.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float EveryRow()
    {
        _reads.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>The kernel that reads the rows of the non-zero inputs only.</summary>
    [Benchmark, MustNotAllocate]
    public float SkipZeroInputs()
    {
        _skips.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>The batch norm and ReLU alone.</summary>
    [Benchmark, MustNotAllocate]
    public float NormOnly()
    {
        _norm.Forward(_input, _normOutput);
        return _normOutput[0];
    }
}
