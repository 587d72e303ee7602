using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>A hidden layer after a ReLU, case B's: 512 → 512.</summary>
[Network(Input = 512)]
public partial class Hidden512
{
    [Dense(512, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary>The FashionMlp's second layer: 256 → 128.</summary>
[Network(Input = 256)]
public partial class Hidden256x128
{
    [Dense(128, Activation.Relu)] public partial Dense Fc { get; }
}

/// <summary>
/// Issue #15's question on activation sparsity: after a ReLU about half of a hidden layer's inputs are exactly zero;
/// does skipping their weight rows pay in the input-major batch-1 kernel? <c>Dense</c> is the generated kernel
/// (every row); <c>SkipZeroInputs</c> first lists the non-zero inputs without branches, then streams only their
/// rows, with the generated kernel's register tiling (four vectors of outputs, two interleaved partial sums).
/// Inputs: ReLU of Gaussians, so <see cref="ZeroFraction"/> of them are zero, at random places.
/// </summary>
public class Pruning_ActivationSparsity
{
    private INetwork _net = null!;
    private float[] _input = [];
    private float[] _output = [];
    private float[] _weights = [];
    private float[] _bias = [];

    /// <summary>Which layer.</summary>
    [Params("512x512", "256x128")]
    public string Layer { get; set; } = "512x512"; // the smoke run's

    /// <summary>Fraction of the inputs that are zero.</summary>
    [Params(0.5f, 0.8f)]
    public float ZeroFraction { get; set; } = 0.5f;

    /// <summary>Weights, inputs, and a check that both kernels agree.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _net = Layer == "512x512" ? new Hidden512() : new Hidden256x128();
        Weights.Prepare(_net, 40);
        TensorInfo w = _net.Parameters.Find("fc.weight")!, b = _net.Parameters.Find("fc.bias")!;
        _weights = _net.Parameters.Value(w).ToArray(); // stored input-major [in, out], as the kernels read it
        _bias = _net.Parameters.Value(b).ToArray();
        var rng = new Rng(41);
        _input = new float[_net.InputSize];
        for (int i = 0; i < _input.Length; i++) _input[i] = rng.NextSingle() < ZeroFraction ? 0f : MathF.Abs(rng.NextGaussian());
        _output = new float[_net.OutputSize];
        var skipped = new float[_output.Length];
        Dense();
        Skip(_input, _weights, _bias, skipped);
        Agreement.Check(nameof(Pruning_ActivationSparsity), _output, skipped);
    }

    /// <summary>The generated batch-1 kernel.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public float Dense()
    {
        _net.Forward(_input, _output);
        return _output[0];
    }

    /// <summary>The rows of the non-zero inputs only.</summary>
    [Benchmark, MustNotAllocate]
    public float SkipZeroInputs()
    {
        Skip(_input, _weights, _bias, _output);
        return _output[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Skip(float[] xs, float[] ws, float[] bs, float[] ys)
    {
        int inputs = xs.Length, outputs = ys.Length;
        ref float x = ref MemoryMarshal.GetArrayDataReference(xs);
        ref float w = ref MemoryMarshal.GetArrayDataReference(ws);
        ref float b = ref MemoryMarshal.GetArrayDataReference(bs);
        ref float y = ref MemoryMarshal.GetArrayDataReference(ys);
        Span<int> kept = stackalloc int[inputs];
        int n = 0;
        for (int i = 0; i < inputs; i++)
        {
            kept[n] = i;
            n += Unsafe.Add(ref x, i) != 0f ? 1 : 0;
        }
        for (int o = 0; o < outputs; o += 64)
        {
            Vector512<float> a0 = Vector512.LoadUnsafe(ref b, (nuint)o), a1 = Vector512.LoadUnsafe(ref b, (nuint)o + 16);
            Vector512<float> a2 = Vector512.LoadUnsafe(ref b, (nuint)o + 32), a3 = Vector512.LoadUnsafe(ref b, (nuint)o + 48);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
            int k = 0;
            for (; k + 2 <= n; k += 2)
            {
                int i0 = kept[k], i1 = kept[k + 1];
                ref float r0 = ref Unsafe.Add(ref w, i0 * outputs + o);
                ref float r1 = ref Unsafe.Add(ref w, i1 * outputs + o);
                var x0 = Vector512.Create(Unsafe.Add(ref x, i0));
                var x1 = Vector512.Create(Unsafe.Add(ref x, i1));
                a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0), x0, a0);
                a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 16), x0, a1);
                a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 32), x0, a2);
                a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 48), x0, a3);
                c0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r1), x1, c0);
                c1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r1, 16), x1, c1);
                c2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r1, 32), x1, c2);
                c3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r1, 48), x1, c3);
            }
            for (; k < n; k++)
            {
                int i0 = kept[k];
                ref float r0 = ref Unsafe.Add(ref w, i0 * outputs + o);
                var x0 = Vector512.Create(Unsafe.Add(ref x, i0));
                a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0), x0, a0);
                a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 16), x0, a1);
                a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 32), x0, a2);
                a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref r0, 48), x0, a3);
            }
            Vector512.Max(a0 + c0, Vector512<float>.Zero).StoreUnsafe(ref y, (nuint)o);
            Vector512.Max(a1 + c1, Vector512<float>.Zero).StoreUnsafe(ref y, (nuint)o + 16);
            Vector512.Max(a2 + c2, Vector512<float>.Zero).StoreUnsafe(ref y, (nuint)o + 32);
            Vector512.Max(a3 + c3, Vector512<float>.Zero).StoreUnsafe(ref y, (nuint)o + 48);
        }
    }
}
