using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Dsl;

namespace Dsl.Tests.Interop;

/// <summary>
/// Files written the way PyTorch writes them (<see cref="TorchFile"/>: PyTorch's names, shapes, row-major order,
/// F32 with I64 <c>num_batches_tracked</c>), loaded into Dsl networks: every tensor must read back in PyTorch order,
/// the forward must match a double-precision reference computed straight from the PyTorch-layout arrays with
/// <see cref="RefOps"/>, and a file that does not match must be rejected with a message naming the tensor,
/// leaving the network as it was.
/// </summary>
public sealed class PyTorchInteropTests : IDisposable
{
    // The float forward against the double reference: float rounding of sums of at most 54 products, the
    // float erf/exp/tanh approximations (~1e-7 relative) and softmax; observed errors are ~1e-6 of the output's
    // scale, so 1e-4 of it (as BlockNumericTests) leaves a wide margin without hiding a wrong element order,
    // which moves outputs by O(1).
    private const double Tolerance = 1e-4;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "dsl-interop-" + Guid.NewGuid().ToString("N"));

    public PyTorchInteropTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // ------------------------------------------------------------------ the state_dicts, as PyTorch would hold them

    /// <summary>Uniform values in [-scale, scale) from a fixed seed, as a stand-in for trained weights.</summary>
    private static double[] Values(Random random, long count, double scale = 1, double offset = 0) =>
        Enumerable.Range(0, (int)count).Select(_ => offset + scale * (2 * random.NextDouble() - 1)).ToArray();

    private static void Add(TorchFile file, Random random, string name, long[] shape, double scale = 1, double offset = 0) =>
        file.AddF32(name, shape, Values(random, shape.Aggregate(1L, (a, b) => a * b), scale, offset));

    /// <summary>The state_dict of <see cref="TorchConvNet"/>'s PyTorch twin.</summary>
    private static TorchFile ConvNetStateDict(int seed)
    {
        var random = new Random(seed);
        var file = new TorchFile();
        Add(file, random, "conv1.weight", new long[] { 4, 2, 3, 3 }, 0.4);                 // [out, in, kh, kw]
        Add(file, random, "bn1.weight", new long[] { 4 }, 0.5, 1);
        Add(file, random, "bn1.bias", new long[] { 4 }, 0.3);
        Add(file, random, "bn1.running_mean", new long[] { 4 }, 0.5);
        Add(file, random, "bn1.running_var", new long[] { 4 }, 0.4, 1);                  // in (0.6, 1.4): a variance
        file.AddI64("bn1.num_batches_tracked", Array.Empty<long>(), new long[] { 937 });  // a 0-d int64 tensor
        Add(file, random, "conv2.weight", new long[] { 6, 2, 3, 3 }, 0.4);                 // [out, in/groups, kh, kw]
        Add(file, random, "conv2.bias", new long[] { 6 }, 0.2);
        Add(file, random, "fc.weight", new long[] { 5, 54 }, 0.2);                         // [out, in]
        Add(file, random, "fc.bias", new long[] { 5 }, 0.2);
        Add(file, random, "head.weight", new long[] { 3, 5 }, 0.8);
        Add(file, random, "head.bias", new long[] { 3 }, 0.2);
        return file;
    }

    /// <summary>The state_dict of <see cref="TorchTransformer"/>'s PyTorch twin.</summary>
    private static TorchFile TransformerStateDict(int seed)
    {
        var random = new Random(seed);
        var file = new TorchFile();
        Add(file, random, "embed.weight", new long[] { 11, 8 });                           // [vocabulary, dim]
        Add(file, random, "pos.weight", new long[] { 5, 8 }, 0.3);                         // [length, dim]
        for (int i = 0; i < 2; i++)
        {
            string b = $"blocks.{i}.";
            Add(file, random, b + "attn_norm.weight", new long[] { 8 }, 0.3, 1);            // LayerNorm
            Add(file, random, b + "attn_norm.bias", new long[] { 8 }, 0.2);
            Add(file, random, b + "attn.in_proj_weight", new long[] { 24, 8 }, 0.5);        // [3D, D]: Q, K, V rows
            Add(file, random, b + "attn.in_proj_bias", new long[] { 24 }, 0.2);
            Add(file, random, b + "attn.out_proj.weight", new long[] { 8, 8 }, 0.4);
            Add(file, random, b + "attn.out_proj.bias", new long[] { 8 }, 0.2);
            Add(file, random, b + "mlp_norm.weight", new long[] { 8 }, 0.3, 1);             // RMSNorm: weight only
            Add(file, random, b + "mlp.fc1.weight", new long[] { 16, 8 }, 0.4);
            Add(file, random, b + "mlp.fc1.bias", new long[] { 16 }, 0.2);
            Add(file, random, b + "mlp.fc2.weight", new long[] { 8, 16 }, 0.3);
            Add(file, random, b + "mlp.fc2.bias", new long[] { 8 }, 0.2);
        }
        Add(file, random, "norm.weight", new long[] { 8 }, 0.3, 1);
        Add(file, random, "norm.bias", new long[] { 8 }, 0.2);
        Add(file, random, "head.weight", new long[] { 3, 8 }, 0.6);
        Add(file, random, "head.bias", new long[] { 3 }, 0.2);
        return file;
    }

    // ------------------------------------------------------------------ the references, from the PyTorch arrays

    private static double[] ConvNetReference(TorchFile w, double[] x)
    {
        double[] h = RefOps.Conv2D(x, w["conv1.weight"], null, inChannels: 2, height: 6, width: 6, outChannels: 4, kernel: 3, stride: 1, padding: 1);
        h = BatchNormRelu(h, channels: 4, w["bn1.weight"], w["bn1.bias"], w["bn1.running_mean"], w["bn1.running_var"]);
        // Groups = 2: group g maps input channels 2g, 2g+1 to output channels 3g..3g+2 with weight rows 3g..3g+2.
        var conv2 = new List<double>();
        for (int g = 0; g < 2; g++)
        {
            double[] input = h.Skip(g * 2 * 36).Take(2 * 36).ToArray();
            double[] weight = w["conv2.weight"].Skip(g * 3 * 2 * 9).Take(3 * 2 * 9).ToArray();
            double[] bias = w["conv2.bias"].Skip(g * 3).Take(3).ToArray();
            conv2.AddRange(RefOps.Conv2D(input, weight, bias, inChannels: 2, height: 6, width: 6, outChannels: 3, kernel: 3, stride: 2, padding: 1));
        }
        h = RefOps.Activate(Activation.Tanh, conv2.ToArray());
        // Flatten keeps PyTorch's channel-major order: the 6×3×3 output is already the 54 features.
        h = RefOps.Dense(h, w["fc.weight"], w["fc.bias"], 54, 5, Activation.Sigmoid);
        return RefOps.Dense(h, w["head.weight"], w["head.bias"], 5, 3);
    }

    /// <summary>PyTorch's <c>BatchNorm2d</c> in eval mode, then ReLU: <c>γ (x − running_mean) / sqrt(running_var + ε) + β</c>.</summary>
    private static double[] BatchNormRelu(double[] x, int channels, double[] gamma, double[] beta, double[] mean, double[] variance)
    {
        const double Epsilon = (double)1e-5f;
        int positions = x.Length / channels;
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < positions; p++)
                y[c * positions + p] = Math.Max(0, gamma[c] * (x[c * positions + p] - mean[c]) / Math.Sqrt(variance[c] + Epsilon) + beta[c]);
        return y;
    }

    private static double[] TransformerReference(TorchFile w, double[] ids)
    {
        double[] h = RefOps.Embedding(ids, w["embed.weight"], 11, 8);
        h = RefOps.PositionalEmbedding(h, w["pos.weight"]);
        for (int i = 0; i < 2; i++)
        {
            string b = $"blocks.{i}.";
            double[] a = RefOps.LayerNorm(h, 8, w[b + "attn_norm.weight"], w[b + "attn_norm.bias"]);
            a = RefOps.MultiHeadSelfAttention(a, 8, 2, w[b + "attn.in_proj_weight"], w[b + "attn.in_proj_bias"], w[b + "attn.out_proj.weight"], w[b + "attn.out_proj.bias"], causal: false);
            h = RefOps.Add(h, a);
            double[] m = RefOps.RmsNorm(h, 8, w[b + "mlp_norm.weight"]);
            m = RefOps.Dense(m, w[b + "mlp.fc1.weight"], w[b + "mlp.fc1.bias"], 8, 16, Activation.Gelu);
            m = RefOps.Dense(m, w[b + "mlp.fc2.weight"], w[b + "mlp.fc2.bias"], 16, 8);
            h = RefOps.Add(h, m);
        }
        h = RefOps.LayerNorm(h, 8, w["norm.weight"], w["norm.bias"]);
        return RefOps.Dense(RefOps.MeanOverTokens(h, 8), w["head.weight"], w["head.bias"], 8, 3);
    }

    // ------------------------------------------------------------------ cases

    public static TheoryData<string> Networks => new() { nameof(TorchConvNet), nameof(TorchTransformer) };

    private static (INetwork Net, TorchFile File, Func<TorchFile, double[], double[]> Reference, Func<Random, double[]> Input) Create(string name) => name switch
    {
        nameof(TorchConvNet) => (new TorchConvNet(seed: 1), ConvNetStateDict(seed: 42), ConvNetReference, r => Values(r, 2 * 6 * 6)),
        nameof(TorchTransformer) => (new TorchTransformer(seed: 1), TransformerStateDict(seed: 43), TransformerReference,
            r => Enumerable.Range(0, 5).Select(_ => (double)r.Next(11)).ToArray()),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void PyTorchFile_HasExactlyTheNetworksTensors(string name)
    {
        (INetwork net, TorchFile file, _, _) = Create(name);
        var expected = file.Tensors.Select(t => $"{t.Name} {t.DType} [{string.Join(", ", t.Shape)}]").OrderBy(s => s, StringComparer.Ordinal);
        var actual = net.Parameters.Tensors.Select(t => $"{t.Name} {t.FileDType} [{string.Join(", ", t.Shape)}]").OrderBy(s => s, StringComparer.Ordinal);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void PyTorchFile_ReadsBackInPyTorchOrderExactly(string name)
    {
        (INetwork net, TorchFile file, _, _) = Create(name);
        string path = Path.Combine(_directory, name + ".safetensors");
        file.Write(path);

        net.Load(path);

        foreach (TorchFile.Tensor expected in file.Tensors)
        {
            TensorInfo t = net.Parameters.Find(expected.Name) ?? throw new Xunit.Sdk.XunitException($"{expected.Name} is not in the network.");
            var fileOrder = new float[t.Length];
            t.StoredToFile(net.Parameters.Value(t), fileOrder);
            for (int i = 0; i < t.Length; i++)
                Assert.True((float)expected.Values[i] == fileOrder[i], $"{expected.Name}[{i}]: file {expected.Values[i]:G9}, read back {fileOrder[i]:G9}");
        }
        // (The I64 counter is compared as its value above.) Weights that Dsl keeps transposed were really converted:
        Assert.Contains(net.Parameters.Tensors, t => t.StoredTransposed);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void PyTorchFile_ForwardMatchesTheReferenceOnThePyTorchArrays(string name)
    {
        (INetwork net, TorchFile file, Func<TorchFile, double[], double[]> reference, Func<Random, double[]> input) = Create(name);
        string path = Path.Combine(_directory, name + ".safetensors");
        file.Write(path);
        net.Load(path);

        const int Batch = 3;
        var random = new Random(7);
        double[][] samples = Enumerable.Range(0, Batch).Select(_ => input(random)).ToArray();
        float[] inputs = samples.SelectMany(s => s.Select(v => (float)v)).ToArray();
        double[] expected = samples.SelectMany(s => reference(file, s)).ToArray();

        var single = new float[net.OutputSize];
        for (int b = 0; b < Batch; b++)
        {
            net.Forward(inputs.AsSpan(b * net.InputSize, net.InputSize), single);
            DenseNumericTests.AssertClose(expected.Skip(b * net.OutputSize).Take(net.OutputSize).ToArray(), single, Tolerance, $"{name} sample {b}");
        }
        var batched = new float[Batch * net.OutputSize];
        net.Forward(inputs, batched, Batch);
        DenseNumericTests.AssertClose(expected, batched, Tolerance, $"{name} batch of {Batch}");
    }

    /// <summary>Files that do not match the network, and what the message must say.</summary>
    public static TheoryData<string, string, string> MismatchedFiles => new()
    {
        // A Linear weight saved the way Dsl stores it ([in, out]) rather than PyTorch's [out, in].
        { nameof(TorchConvNet), "fc.weight transposed", "has tensor 'fc.weight' with shape [54, 5], expected [5, 54]." },
        { nameof(TorchConvNet), "conv2.weight without groups", "has tensor 'conv2.weight' with shape [6, 4, 3, 3], expected [6, 2, 3, 3]." },
        { nameof(TorchConvNet), "bn1.num_batches_tracked as F32", "has tensor 'bn1.num_batches_tracked' with dtype F32, expected I64" },
        { nameof(TorchConvNet), "conv1.weight as F64", "has tensor 'conv1.weight' with dtype F64, expected F32" },
        { nameof(TorchConvNet), "bn1.running_var missing", "does not match the model: missing tensors 'bn1.running_var'." },
        { nameof(TorchTransformer), "blocks.1.attn.in_proj_weight transposed", "has tensor 'blocks.1.attn.in_proj_weight' with shape [8, 24], expected [24, 8]." },
        { nameof(TorchTransformer), "blocks.0.mlp.fc1.bias as F16", "has tensor 'blocks.0.mlp.fc1.bias' with dtype F16, expected F32" },
        { nameof(TorchTransformer), "blocks.0.mlp_norm.bias added", "does not match the model: unexpected tensors 'blocks.0.mlp_norm.bias'." },
        { nameof(TorchTransformer), "pos.weight missing", "does not match the model: missing tensors 'pos.weight'." },
    };

    [Theory]
    [MemberData(nameof(MismatchedFiles))]
    public void MismatchedFile_IsRejectedWithTheTensorNamed_AndLeavesTheNetworkUnchanged(string name, string change, string message)
    {
        (INetwork net, TorchFile file, _, _) = Create(name);
        TorchFile bad = change switch
        {
            "fc.weight transposed" => file.With("fc.weight", t => t with { Shape = new long[] { 54, 5 } }),
            "conv2.weight without groups" => file.With("conv2.weight", t => t with { Shape = new long[] { 6, 4, 3, 3 }, Values = t.Values.Concat(t.Values).ToArray() }),
            "bn1.num_batches_tracked as F32" => file.With("bn1.num_batches_tracked", t => t with { DType = "F32" }),
            "conv1.weight as F64" => file.With("conv1.weight", t => t with { DType = "F64" }),
            "bn1.running_var missing" => file.With("bn1.running_var", _ => null),
            "blocks.1.attn.in_proj_weight transposed" => file.With("blocks.1.attn.in_proj_weight", t => t with { Shape = new long[] { 8, 24 } }),
            "blocks.0.mlp.fc1.bias as F16" => file.With("blocks.0.mlp.fc1.bias", t => t with { DType = "F16" }),
            "blocks.0.mlp_norm.bias added" => Added(file, new TorchFile.Tensor("blocks.0.mlp_norm.bias", "F32", new long[] { 8 }, new double[8])),
            "pos.weight missing" => file.With("pos.weight", _ => null),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        string path = Path.Combine(_directory, "bad.safetensors");
        bad.Write(path);
        float[] values = net.Parameters.Values.ToArray(), buffers = net.Parameters.Buffers.ToArray();

        SafeTensorsException e = Assert.Throws<SafeTensorsException>(() => net.Load(path));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.True(values.AsSpan().SequenceEqual(net.Parameters.Values), "a failed load changed the parameters");
        Assert.True(buffers.AsSpan().SequenceEqual(net.Parameters.Buffers), "a failed load changed the buffers");
    }

    private static TorchFile Added(TorchFile file, TorchFile.Tensor extra)
    {
        TorchFile copy = file.With("", t => t);
        copy.Tensors.Add(extra);
        return copy;
    }

    // ------------------------------------------------------------------ the architectures of docs/pytorch.md

    /// <summary>
    /// The state_dict keys, shapes and dtypes of the PyTorch models in docs/pytorch.md (written out by hand from
    /// PyTorch's module conventions), against the samples' declarations copied member for member.
    /// </summary>
    [Fact]
    public void DocumentedArchitectures_HaveTheStateDictsOfThePyTorchModels()
    {
        var cnn = new List<string>
        {
            "conv1.weight F32 [32, 1, 3, 3]",
            "bn1.weight F32 [32]", "bn1.bias F32 [32]", "bn1.running_mean F32 [32]", "bn1.running_var F32 [32]", "bn1.num_batches_tracked I64 []",
            "conv2.weight F32 [64, 32, 3, 3]",
            "bn2.weight F32 [64]", "bn2.bias F32 [64]", "bn2.running_mean F32 [64]", "bn2.running_var F32 [64]", "bn2.num_batches_tracked I64 []",
            "fc1.weight F32 [128, 3136]", "fc1.bias F32 [128]", "head.weight F32 [10, 128]", "head.bias F32 [10]",
        };
        AssertStateDict(cnn, new DocFashionCnn());

        var vit = new List<string> { "patch_embed.weight F32 [64, 1, 7, 7]", "patch_embed.bias F32 [64]", "pos_embed.weight F32 [16, 64]" };
        for (int i = 0; i < 4; i++)
        {
            string b = $"blocks.{i}.";
            vit.AddRange(new[]
            {
                b + "attn_norm.weight F32 [64]", b + "attn_norm.bias F32 [64]",
                b + "attn.in_proj_weight F32 [192, 64]", b + "attn.in_proj_bias F32 [192]", b + "attn.out_proj.weight F32 [64, 64]", b + "attn.out_proj.bias F32 [64]",
                b + "mlp_norm.weight F32 [64]", b + "mlp_norm.bias F32 [64]",
                b + "mlp.fc1.weight F32 [128, 64]", b + "mlp.fc1.bias F32 [128]", b + "mlp.fc2.weight F32 [64, 128]", b + "mlp.fc2.bias F32 [64]",
            });
        }
        vit.AddRange(new[] { "norm.weight F32 [64]", "norm.bias F32 [64]", "head.weight F32 [10, 64]", "head.bias F32 [10]" });
        AssertStateDict(vit, new DocVisionTransformer());
    }

    private static void AssertStateDict(IEnumerable<string> expected, INetwork net) =>
        Assert.Equal(expected.OrderBy(s => s, StringComparer.Ordinal),
            net.Parameters.Tensors.Select(t => $"{t.Name} {t.FileDType} [{string.Join(", ", t.Shape)}]").OrderBy(s => s, StringComparer.Ordinal));
}
