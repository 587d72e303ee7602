using System;
using BenchmarkDotNet.Attributes;
using Dsl;
using Dsl.Benchmarks.Onnx;
using PruningSample;

namespace Dsl.Benchmarks;

/// <summary>Sets up a pruned network and its dense twin on the same zero-filled weights, and checks they agree.</summary>
internal static class PrunedPair
{
    /// <summary>
    /// Fixed-seed weights for <paramref name="pruned"/>, one-shot magnitude pruning of its prunable layers to
    /// <paramref name="sparsity"/> (0 leaves it dense), and the same values copied into <paramref name="dense"/>, a
    /// network with the same tensors and no [Pruned] layer.
    /// </summary>
    public static void Prepare(INetwork pruned, INetwork dense, float sparsity, int seed)
    {
        Weights.Prepare(pruned, seed);
        if (sparsity > 0) pruned.Parameters.Pruning!.Prune(sparsity);
        foreach (TensorInfo t in dense.Parameters.Tensors)
            pruned.Parameters.Value(pruned.Parameters.Find(t.Name)!).CopyTo(dense.Parameters.Value(t));
    }

    /// <summary>Runs both on <paramref name="input"/> and throws unless they agree to float rounding.</summary>
    public static void Check(string what, INetwork pruned, INetwork dense, float[] input, int batch)
    {
        var a = new float[batch * pruned.OutputSize];
        var b = new float[batch * dense.OutputSize];
        pruned.Forward(input, a, batch);
        dense.Forward(input, b, batch);
        Agreement.Check($"{what}: dense kernels vs pruned network", b, a);
    }
}

/// <summary>
/// Where the sparse kernel overtakes the dense one (issue #15), per block size: case B's MLP 784-512-512-10 with both
/// hidden layers pruned in blocks of 16, 8, 4 or 1 outputs, batch 1, the sparse kernel forced at every sparsity
/// (<c>Sparse</c>), against the dense kernels on the same zero-filled weights (<c>Dense</c>, baseline). The
/// thresholds of <see cref="Dsl.Pruning.SparseKernelPays"/> come from this table.
/// </summary>
public class Pruning_Crossover
{
    private INetwork _sparse = null!;
    private readonly MlpB _dense = new();
    private readonly float[] _input = Weights.Inputs(784, 31);
    private readonly float[] _output = new float[10];

    /// <summary>Consecutive outputs per pruned block.</summary>
    [Params(16, 8, 4, 1)]
    public int Block { get; set; } = 16; // the smoke run's (it sets no parameters)

    /// <summary>Fraction of the hidden layers' connections removed.</summary>
    [Params(0.3f, 0.5f, 0.7f, 0.8f, 0.9f, 0.95f)]
    public float Sparsity { get; set; } = 0.9f;

    /// <summary>Builds the pruned network with its compact forms whatever the sparsity, and its dense twin.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _sparse = Block switch
        {
            16 => new PrunedMlpB16(),
            8 => new PrunedMlpB8(),
            4 => new PrunedMlpB4(),
            _ => new PrunedMlpB1(),
        };
        PrunedPair.Prepare(_sparse, _dense, Sparsity, seed: 30);
        _sparse.Parameters.Pruning!.Compact(always: true);
        PrunedPair.Check(nameof(Pruning_Crossover), _sparse, _dense, _input, 1);
    }

    /// <summary>The dense kernels on the zero-filled weights.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Dense()
    {
        _dense.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>The sparse kernel of both hidden layers.</summary>
    [Benchmark, MustNotAllocate]
    public float Sparse()
    {
        _sparse.Forward(_input, _output);
        return _output[0];
    }
}

/// <summary>
/// The pruning table: the FashionMlp (784-256-128-10) and case B's MLP (784-512-512-10) with their hidden
/// layers pruned in blocks of 16 to 0, 50, 70, 90 and 95 % sparsity, and the FashionCnn with its second convolution
/// and first dense layer pruned the same way, at batch 1 and 64: the pruned network as
/// it runs (<c>Pruned</c>: the sparse kernel where it pays, the dense one elsewhere), the same network without
/// [Pruned] on the same zero-filled weights (<c>Dense</c>, baseline), and ONNX Runtime on the pruned network's
/// export (dense weights with zeros, as every peer runs them).
/// </summary>
public class Pruning_Forward
{
    private INetwork _pruned = null!;
    private INetwork _dense = null!;
    private OnnxPeer? _onnx;
    private float[] _input = [];
    private float[] _output = [];

    /// <summary>Which network.</summary>
    [Params("FashionMlp", "MlpB", "FashionCnn")]
    public string Network { get; set; } = "FashionMlp"; // the smoke run's (it sets no parameters)

    /// <summary>Fraction of the hidden layers' connections removed.</summary>
    [Params(0f, 0.5f, 0.7f, 0.9f, 0.95f)]
    public float Sparsity { get; set; } = 0.9f;

    /// <summary>Samples per call.</summary>
    [Params(1, 64)]
    public int Batch { get; set; } = 1;

    /// <summary>Builds both networks and the ONNX Runtime session, and checks all three agree.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_pruned, _dense) = Network switch
        {
            "MlpB" => ((INetwork)new PrunedMlpB16(), (INetwork)new MlpB()),
            "FashionCnn" => (new PrunedFashionCnn(), new FashionCnn()),
            _ => (new PrunedFashionMlp(), new FashionMlp()),
        };
        PrunedPair.Prepare(_pruned, _dense, Sparsity, seed: 32);
        _input = Weights.Inputs(Batch * 784, 33);
        _output = new float[Batch * 10];
        PrunedPair.Check(nameof(Pruning_Forward), _pruned, _dense, _input, Batch);
        _onnx = new OnnxPeer(_pruned, Batch);
        _input.CopyTo(_onnx.Input, 0);
        _onnx.Run();
        Pruned();
        Agreement.Check($"{nameof(Pruning_Forward)}: ONNX Runtime vs pruned network", _onnx.Output, _output);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx?.Dispose();
        _onnx = null;
    }

    /// <summary>The network without [Pruned]: the dense kernels on the zero-filled weights.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Dense()
    {
        _dense.Forward(_input, _output, Batch);
        return _output[0];
    }

    /// <summary>The pruned network: the sparse kernel where it pays.</summary>
    [Benchmark, MustNotAllocate]
    public float Pruned()
    {
        _pruned.Forward(_input, _output, Batch);
        return _output[0];
    }

    /// <summary>ONNX Runtime, one thread, on the export with its zeros.</summary>
    [Benchmark]
    public void OnnxRuntime() => _onnx!.Run();
}

/// <summary>
/// Where the sparse kernel of a pruned convolution overtakes the dense one: the FashionCnn's second convolution
/// (32×14×14 → 64, 3×3, pad 1, a batch norm and ReLU after it) pruned in blocks of 16 output channels, one image, the
/// compact form built at every sparsity (<c>Sparse</c>: im2col, the kept blocks over 196 pixel rows, then the batch
/// norm) against the dense kernels on the same zero-filled weights (<c>Dense</c>, baseline: im2col, the blocked
/// product with the batch norm folded into W). The generated call takes the compact form where
/// <see cref="Dsl.Pruning.SparseKernelPaysBatched"/> says it pays (density 0.4 or less for blocks of 16: the pixels
/// are the product's rows), so the rows above that run dense; with the threshold raised to measure them, the sparse
/// kernel was 1.27x slower than dense at density 0.7 and level with it at 0.5 (docs/pruning.md).
/// </summary>
public class Pruning_Convolution
{
    private readonly PrunedConvLayer _sparse = new();
    private readonly DenseConvLayer _dense = new();
    private readonly float[] _input = Weights.Inputs(32 * 14 * 14, 32);
    private readonly float[] _output = new float[64 * 14 * 14];

    /// <summary>Fraction of the convolution's connections removed.</summary>
    [Params(0.3f, 0.5f, 0.7f, 0.8f, 0.9f)]
    public float Sparsity { get; set; } = 0.8f; // the smoke run's

    /// <summary>Builds the pruned layer with its compact form whatever the sparsity, and its dense twin.</summary>
    [GlobalSetup]
    public void Setup()
    {
        PrunedPair.Prepare(_sparse, _dense, Sparsity, seed: 33);
        _sparse.Parameters.Pruning!.Compact(always: true);
        PrunedPair.Check(nameof(Pruning_Convolution), _sparse, _dense, _input, 1);
    }

    /// <summary>The dense kernels on the zero-filled weights.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Dense()
    {
        _dense.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>The sparse kernel.</summary>
    [Benchmark, MustNotAllocate]
    public float Sparse()
    {
        _sparse.Forward(_input, _output);
        return _output[0];
    }
}
