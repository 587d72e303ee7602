using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;
using Weights = System.Collections.Generic.IReadOnlyDictionary<string, double[]>;

namespace Dsl.Tests;

/// <summary>
/// Attention, norms, embeddings, blocks, repeats and residual connections as generated, against per-network
/// forwards written by hand from <see cref="RefOps"/> (double precision, PyTorch-layout weights read by tensor
/// name) through <see cref="FunctionReference"/>, whose central differences are the reference gradients; plus
/// float finite differences of the generated forward itself (<see cref="GradientCheck"/>).
/// </summary>
public class BlockNumericTests
{
    private static readonly string[] TensorInputNetworks =
    {
        nameof(AttentionNet), nameof(CausalAttentionNet), nameof(SingleTokenAttentionNet), nameof(LongAttentionNet),
        nameof(TokenNormNet), nameof(TokenHeadNet), nameof(FlatLayerNormNet),
        nameof(IdentityResidualNet), nameof(PreNormResidualNet), nameof(PostNormResidualNet), nameof(ProjectionResidualNet),
        nameof(GatedResidualNet), nameof(DeepResidualNet), nameof(NestedBlockNet), nameof(SequenceResidualNet),
        nameof(ActivatedResidualNet), nameof(ImageResidualNet), nameof(DownsampleResidualNet), nameof(GatedImageNet), nameof(IndexedStageNet), nameof(TinyVit), nameof(PostNormEncoderNet),
    };

    /// <summary>Every network of BlockNetworks.cs but <see cref="EmbeddingNet"/>, whose inputs are token ids (its own tests below).</summary>
    public static TheoryData<string> Networks => new(TensorInputNetworks);

    /// <summary>Every network of BlockNetworks.cs.</summary>
    public static TheoryData<string> AllNetworks => new(TensorInputNetworks.Append(nameof(EmbeddingNet)));

    /// <summary>Networks with residual connections split into stages at every connection, for the observation API.</summary>
    public static TheoryData<string> StagedNetworks => new() { nameof(TinyVit), nameof(PostNormEncoderNet), nameof(DeepResidualNet) };

    // ------------------------------------------------------------------ networks and their references

    internal static (INetwork Net, Func<Weights, double[], double[]> Forward) Create(string name, int seed)
    {
        INetwork net = name switch
        {
            nameof(AttentionNet) => new AttentionNet(seed),
            nameof(CausalAttentionNet) => new CausalAttentionNet(seed),
            nameof(SingleTokenAttentionNet) => new SingleTokenAttentionNet(seed),
            nameof(LongAttentionNet) => new LongAttentionNet(seed),
            nameof(TokenNormNet) => new TokenNormNet(seed),
            nameof(TokenHeadNet) => new TokenHeadNet(seed),
            nameof(FlatLayerNormNet) => new FlatLayerNormNet(seed),
            nameof(EmbeddingNet) => new EmbeddingNet(seed),
            nameof(IdentityResidualNet) => new IdentityResidualNet(seed),
            nameof(PreNormResidualNet) => new PreNormResidualNet(seed),
            nameof(PostNormResidualNet) => new PostNormResidualNet(seed),
            nameof(ProjectionResidualNet) => new ProjectionResidualNet(seed),
            nameof(GatedResidualNet) => new GatedResidualNet(seed),
            nameof(DeepResidualNet) => new DeepResidualNet(seed),
            nameof(NestedBlockNet) => new NestedBlockNet(seed),
            nameof(SequenceResidualNet) => new SequenceResidualNet(seed),
            nameof(ActivatedResidualNet) => new ActivatedResidualNet(seed),
            nameof(ImageResidualNet) => new ImageResidualNet(seed),
            nameof(DownsampleResidualNet) => new DownsampleResidualNet(seed),
            nameof(GatedImageNet) => new GatedImageNet(seed),
            nameof(IndexedStageNet) => new IndexedStageNet(seed),
            nameof(TinyVit) => new TinyVit(seed),
            nameof(PostNormEncoderNet) => new PostNormEncoderNet(seed),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        Randomize(name, net, seed);
        return (net, ReferenceForward(name));
    }

    /// <summary>(inputs, outputs) per sample, from the declarations.</summary>
    private static (int Input, int Output) Sizes(string name) => name switch
    {
        nameof(AttentionNet) or nameof(CausalAttentionNet) => (5 * 12, 5 * 12),
        nameof(SingleTokenAttentionNet) => (8, 8),
        nameof(LongAttentionNet) => (17 * 20, 17 * 20),
        nameof(TokenNormNet) => (3 * 7, 3 * 5),
        nameof(TokenHeadNet) => (4 * 6, 3),
        nameof(FlatLayerNormNet) => (10, 4),
        nameof(EmbeddingNet) => (6, 3),
        nameof(IdentityResidualNet) or nameof(PreNormResidualNet) or nameof(PostNormResidualNet) or nameof(ProjectionResidualNet)
            or nameof(GatedResidualNet) or nameof(NestedBlockNet) or nameof(ActivatedResidualNet) or nameof(IndexedStageNet) => (8, 3),
        nameof(DeepResidualNet) => (8, 2),
        nameof(ImageResidualNet) => (2 * 5 * 4, 3),
        nameof(DownsampleResidualNet) => (2 * 6 * 5, 3),
        nameof(GatedImageNet) => (2 * 5 * 4, 3),
        nameof(SequenceResidualNet) => (3 * 6, 3 * 10),
        nameof(TinyVit) => (64, 10),
        nameof(PostNormEncoderNet) => (4 * 8, 4 * 8),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>The network's forward for one sample, from <see cref="RefOps"/> and the tensors by name.</summary>
    internal static Func<Weights, double[], double[]> ReferenceForward(string name) => name switch
    {
        nameof(AttentionNet) => (w, x) => Attn(w, "attn", x, 12, 3, causal: false),
        nameof(CausalAttentionNet) => (w, x) => Attn(w, "attn", x, 12, 3, causal: true),
        nameof(SingleTokenAttentionNet) => (w, x) => Attn(w, "attn", x, 8, 2, causal: false),
        nameof(LongAttentionNet) => (w, x) => Attn(w, "attn", x, 20, 4, causal: true),
        nameof(TokenNormNet) => (w, x) =>
        {
            double[] h = Ln(w, "norm1", x, 7);
            h = Linear(w, "fc1", h, 7, 9, Activation.Gelu);
            h = Rms(w, "norm2", h, 9);
            return Linear(w, "fc2", h, 9, 5, Activation.GeluTanh);
        },
        // Flatten of token-major [4, 5] is the identity on the stored order.
        nameof(TokenHeadNet) => (w, x) => Linear(w, "head", Linear(w, "probs", x, 6, 5, Activation.Softmax), 20, 3, Activation.Sigmoid),
        nameof(FlatLayerNormNet) => (w, x) => Linear(w, "fc", Ln(w, "norm", x, 10, epsilon: 1e-3f), 10, 4, Activation.Tanh),
        nameof(EmbeddingNet) => (w, x) =>
        {
            double[] h = RefOps.Embedding(x, w["embed.weight"], 11, 8);
            h = RefOps.PositionalEmbedding(h, w["pos.weight"]);
            h = Ln(w, "norm", h, 8);
            return Linear(w, "head", RefOps.MeanOverTokens(h, 8), 8, 3);
        },
        nameof(IdentityResidualNet) => (w, x) =>
            Linear(w, "head", Residual(w, "fc", null, x, 8, 8, v => Linear(w, "fc", v, 8, 8, Activation.Tanh)), 8, 3),
        nameof(PreNormResidualNet) => (w, x) =>
            Linear(w, "head", Residual(w, "fc", null, x, 8, 8, v => Linear(w, "fc", v, 8, 8, Activation.Silu), norm: ResidualNorm.Pre), 8, 3),
        nameof(PostNormResidualNet) => (w, x) =>
            Linear(w, "head", Residual(w, "fc", null, x, 8, 8, v => Linear(w, "fc", v, 8, 8, Activation.Tanh), norm: ResidualNorm.Post, kind: NormKind.RMSNorm), 8, 3),
        nameof(ProjectionResidualNet) => (w, x) =>
        {
            double[] h = Residual(w, "same", null, x, 8, 8, v => Linear(w, "same", v, 8, 8, Activation.Tanh), projection: true);
            for (int i = 0; i < 2; i++)
            {
                string copy = $"projected.{i}";
                h = Residual(w, "projected", i, h, 8, 8, v => Linear(w, copy, v, 8, 8, Activation.Tanh), norm: ResidualNorm.Pre, projection: true);
            }
            h = Residual(w, "widen", null, h, 8, 12, v => Linear(w, "widen", v, 8, 12, Activation.Tanh)); // inferred projection
            return Linear(w, "head", h, 12, 3);
        },
        nameof(GatedResidualNet) => (w, x) =>
        {
            double[] h = Residual(w, "fc", null, x, 8, 8, v => Linear(w, "fc", v, 8, 8, Activation.Tanh), gated: true);
            for (int i = 0; i < 2; i++)
            {
                string copy = $"highway.{i}";
                h = Residual(w, "highway", i, h, 8, 8, v => Linear(w, copy, v, 8, 8, Activation.Tanh), norm: ResidualNorm.Pre, gated: true);
            }
            return Linear(w, "head", h, 8, 3);
        },
        nameof(DeepResidualNet) => Staged(DeepResidualStages()),
        nameof(NestedBlockNet) => (w, x) =>
        {
            double[] Outer(string path, double[] v)
            {
                v = Residual(w, path + ".inner", null, v, 8, 8, u => Linear(w, path + ".inner.fc", u, 8, 8, Activation.Tanh));
                return Linear(w, path + ".proj", v, 8, 8, Activation.Silu);
            }
            double[] h = Outer("outer", x);
            for (int i = 0; i < 2; i++)
            {
                string copy = $"stack.{i}";
                h = Residual(w, "stack", i, h, 8, 8, v => Outer(copy, v), norm: ResidualNorm.Pre, kind: NormKind.RMSNorm);
            }
            return Linear(w, "head", h, 8, 3);
        },
        nameof(SequenceResidualNet) => (w, x) =>
        {
            // Per token: the projection shortcut and the gate are dense layers applied to each token.
            double[] h = Residual(w, "widen", null, x, 6, 10, v => Linear(w, "widen", v, 6, 10, Activation.Tanh));
            h = Residual(w, "mix", null, h, 10, 10, v => Linear(w, "mix", v, 10, 10, Activation.Silu), gated: true);
            return Residual(w, "attn", null, h, 10, 10, v => Attn(w, "attn", v, 10, 2, causal: false), norm: ResidualNorm.Pre, kind: NormKind.RMSNorm);
        },
        nameof(ActivatedResidualNet) => (w, x) =>
        {
            double[] h = RefOps.Activate(Activation.Relu, Residual(w, "fc", null, x, 8, 8, v => Linear(w, "fc", v, 8, 8, Activation.Tanh)));
            h = RefOps.Activate(Activation.Tanh, Residual(w, "widen", null, h, 8, 12, v => Linear(w, "widen", v, 8, 12, Activation.Relu)));
            h = RefOps.Activate(Activation.Gelu, Residual(w, "highway", null, h, 12, 12, v => Linear(w, "highway", v, 12, 12, Activation.Tanh), gated: true));
            for (int i = 0; i < 2; i++)
            {
                string copy = $"stack.{i}";
                h = RefOps.Activate(Activation.Silu, Residual(w, "stack", i, h, 12, 12, v => Linear(w, copy, v, 12, 12, Activation.Tanh), norm: ResidualNorm.Pre));
            }
            return Linear(w, "head", h, 12, 3);
        },
        nameof(ImageResidualNet) => (w, x) =>
        {
            double[] Conv(string name, double[] v) => RefOps.Conv2D(v, w[name + ".weight"], w[name + ".bias"], 2, 5, 4, 2, kernel: 3, padding: 1);
            double[] Block(string path, double[] v) => RefOps.Activate(Activation.Relu, RefOps.Add(v, Conv(path + ".conv2", RefOps.Activate(Activation.Relu, Conv(path + ".conv1", v)))));
            // Flatten of a channel-major image is the identity on the stored order.
            return Linear(w, "head", Block("more.0", Block("block", x)), 40, 3);
        },
        nameof(DownsampleResidualNet) => (w, x) =>
        {
            double[] Conv(string name, double[] v, int channels, int height, int width, int kernel, int stride) =>
                RefOps.Conv2D(v, w[name + ".weight"], kernel == 1 ? null : w[name + ".bias"], channels, height, width, 4, kernel, stride, padding: kernel / 2);
            double[] Pair(string path, double[] v, int channels, int height, int width, int stride) =>
                Conv(path + ".conv2", RefOps.Activate(Activation.Relu, Conv(path + ".conv1", v, channels, height, width, 3, stride)), 4, 3, 3, 3, 1);
            // relu(conv1x1 stride 2 (x) + F(x)): 2x6x5 -> 4x3x3, the shortcut's tensor named as torchvision's downsample.0.
            double[] h = RefOps.Activate(Activation.Relu, RefOps.Add(Conv("down.downsample.0", x, 2, 6, 5, 1, 2), Pair("down", x, 2, 6, 5, 2)));
            for (int i = 0; i < 2; i++)
                h = RefOps.Activate(Activation.Tanh, RefOps.Add(Conv($"more.{i}.downsample.0", h, 4, 3, 3, 1, 1), Pair($"more.{i}", h, 4, 3, 3, 1)));
            return Linear(w, "head", h, 36, 3);
        },
        nameof(GatedImageNet) => (w, x) =>
        {
            double[] Conv(string name, double[] v, int kernel) => RefOps.Conv2D(v, w[name + ".weight"], w[name + ".bias"], 2, 5, 4, 2, kernel, padding: kernel / 2);
            double[] Block(string path, string gate, double[] v)
            {
                double[] f = Conv(path + ".conv2", RefOps.Activate(Activation.Relu, Conv(path + ".conv1", v, 3)), 3);
                // T = sigmoid(W_T * x + b_T): a 1x1 convolution named as the flat form's gate.
                return RefOps.Highway(RefOps.Activate(Activation.Sigmoid, Conv(gate, v, 1)), f, v);
            }
            double[] h = Block("block", "block_gate", x);
            for (int i = 0; i < 2; i++) h = RefOps.Activate(Activation.Gelu, Block($"more.{i}", $"more_gate.{i}", h));
            return Linear(w, "head", h, 40, 3);
        },
        nameof(IndexedStageNet) => (w, x) =>
        {
            double[] Pair(string path, double[] v) => Linear(w, path + ".fc2", Linear(w, path + ".fc1", v, 8, 8, Activation.Tanh), 8, 8);
            double[] h = Linear(w, "stem", x, 8, 8, Activation.Tanh);
            h = RefOps.Activate(Activation.Relu, Residual(w, "layer1.0", null, h, 8, 8, v => Pair("layer1.0", v), projection: true));
            for (int i = 1; i <= 2; i++)
            {
                string path = $"layer1.{i}";
                h = RefOps.Activate(Activation.Relu, Residual(w, path, null, h, 8, 8, v => Pair(path, v)));
            }
            return Linear(w, "fc", h, 8, 3);
        },
        nameof(TinyVit) => Staged(TinyVitStages()),
        nameof(PostNormEncoderNet) => Staged(PostNormEncoderStages()),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>
    /// Initialisation leaves biases at 0, norms at the identity and positions near 0, and attention nearly
    /// uniform: random biases and scales, larger positions and larger Q/K/V weights (a peaked softmax) make every
    /// term of the maths matter.
    /// </summary>
    private static void Randomize(string name, INetwork net, int seed)
    {
        var rng = new Rng(seed + 1000);
        foreach (TensorInfo t in net.Parameters.Tensors)
        {
            Span<float> v = net.Parameters.Value(t);
            (float low, float high) = t.Name switch
            {
                _ when t.Name.EndsWith("bias", StringComparison.Ordinal) => (-0.5f, 0.5f), // .bias, in_proj_bias, gate biases
                "pos.weight" => (-0.5f, 0.5f),
                _ when t.Shape.Length == 1 => (0.5f, 1.5f), // norm scales
                _ when t.Name.EndsWith(".in_proj_weight", StringComparison.Ordinal) => (-2 / MathF.Sqrt(t.Shape[1]), 2 / MathF.Sqrt(t.Shape[1])),
                _ => (0f, 0f),
            };
            if (low == high) continue;
            for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(low, high);
        }
        // 32 stacked residual layers: halve the weights so the Jacobian product stays moderate.
        if (name == nameof(DeepResidualNet))
            foreach (TensorInfo t in net.Parameters.Tensors)
                if (t.Name.StartsWith("hidden.", StringComparison.Ordinal) && t.Name.EndsWith(".weight", StringComparison.Ordinal))
                {
                    Span<float> v = net.Parameters.Value(t);
                    for (int i = 0; i < v.Length; i++) v[i] *= 0.5f;
                }
    }

    /// <summary>
    /// A forward cut at its residual connections: stem, then per connection its name, its sum
    /// <c>h = skip + F</c> (what <c>ResidualOutput</c> exposes) and what follows the sum inside the connection
    /// (the post-norm, else the identity), then head.
    /// </summary>
    internal sealed record StagedForward(
        Func<Weights, double[], double[]> Stem,
        (string Name, Func<Weights, double[], double[]> Sum, Func<Weights, double[], double[]> After)[] Stages,
        Func<Weights, double[], double[]> Head)
    {
        /// <summary>The sum h of connection <paramref name="last"/> for input x (the stem's output for −1).</summary>
        public double[] UpTo(Weights w, double[] x, int last)
        {
            double[] h = Stem(w, x);
            for (int s = 0; s <= last; s++)
            {
                h = Stages[s].Sum(w, h);
                if (s < last) h = Stages[s].After(w, h);
            }
            return h;
        }

        /// <summary>The network's output from the sum <paramref name="h"/> of connection <paramref name="after"/> (from the stem's output for −1).</summary>
        public double[] From(Weights w, double[] h, int after)
        {
            if (after >= 0) h = Stages[after].After(w, h);
            for (int s = after + 1; s < Stages.Length; s++) h = Stages[s].After(w, Stages[s].Sum(w, h));
            return Head(w, h);
        }
    }

    private static Func<Weights, double[], double[]> Staged(StagedForward staged) => (w, x) => staged.From(w, staged.UpTo(w, x, -1), -1);

    private static double[] Identity(Weights w, double[] h) => h;

    private static StagedForward TinyVitStages()
    {
        var stages = new List<(string, Func<Weights, double[], double[]>, Func<Weights, double[], double[]>)>();
        for (int b = 0; b < 2; b++)
        {
            string block = $"blocks.{b}";
            stages.Add(($"{block}.attn", (w, h) =>
                Residual(w, $"{block}.attn", null, h, 16, 16, v => Attn(w, $"{block}.attn", v, 16, 4, causal: false), norm: ResidualNorm.Pre), Identity));
            stages.Add(($"{block}.mlp", (w, h) =>
                Residual(w, $"{block}.mlp", null, h, 16, 16, v => Linear(w, $"{block}.mlp.fc2", Linear(w, $"{block}.mlp.fc1", v, 16, 32, Activation.Gelu), 32, 16), norm: ResidualNorm.Pre), Identity));
        }
        return new StagedForward(
            (w, x) =>
            {
                // 1×8×8 → [16, 2, 2] patches → 4 tokens of 16 → plus positions.
                double[] patches = RefOps.Conv2D(x, w["patch.weight"], w["patch.bias"], inChannels: 1, height: 8, width: 8, outChannels: 16, kernel: 4, stride: 4);
                return RefOps.PositionalEmbedding(RefOps.Tokens(patches, 16), w["pos.weight"]);
            },
            stages.ToArray(),
            (w, h) => Linear(w, "head", RefOps.MeanOverTokens(Ln(w, "norm", h, 16), 16), 16, 10));
    }

    private static StagedForward PostNormEncoderStages() => new(
        Identity,
        new (string, Func<Weights, double[], double[]>, Func<Weights, double[], double[]>)[]
        {
            // The sum before the post-norm, then the norm: together Residual(..., norm: Post).
            ("attn", (w, h) => Residual(w, "attn", null, h, 8, 8, v => Attn(w, "attn", v, 8, 2, causal: false)), (w, h) => Ln(w, "attn_norm", h, 8)),
            ("ff", (w, h) => Residual(w, "ff", null, h, 8, 8, v => Linear(w, "ff.linear2", Linear(w, "ff.linear1", v, 8, 16, Activation.Relu), 16, 8)), (w, h) => Ln(w, "ff_norm", h, 8)),
        },
        Identity);

    private static StagedForward DeepResidualStages() => new(
        Identity,
        Enumerable.Range(0, 32).Select(i => ($"hidden.{i}",
            (Func<Weights, double[], double[]>)((w, h) => Residual(w, "hidden", i, h, 8, 8, v => Linear(w, $"hidden.{i}", v, 8, 8, Activation.Tanh))),
            (Func<Weights, double[], double[]>)Identity)).ToArray(),
        (w, h) => Linear(w, "head", h, 8, 2));

    private static double[] Linear(Weights w, string name, double[] x, int inputs, int units, Activation activation = Activation.None) =>
        RefOps.Dense(x, w[name + ".weight"], w.GetValueOrDefault(name + ".bias"), inputs, units, activation);

    private static double[] Attn(Weights w, string name, double[] x, int features, int heads, bool causal) =>
        RefOps.MultiHeadSelfAttention(x, features, heads, w[name + ".in_proj_weight"], w.GetValueOrDefault(name + ".in_proj_bias"),
            w[name + ".out_proj.weight"], w.GetValueOrDefault(name + ".out_proj.bias"), causal);

    private static double[] Ln(Weights w, string name, double[] x, int features, float epsilon = 1e-5f) =>
        RefOps.LayerNorm(x, features, w[name + ".weight"], w[name + ".bias"], epsilon);

    private static double[] Rms(Weights w, string name, double[] x, int features) => RefOps.RmsNorm(x, features, w[name + ".weight"]);

    /// <summary>
    /// A residual connection around <paramref name="branch"/> F, as the contract defines it (per token on
    /// sequences): pre-norm <c>x + F(Norm(x))</c>, post-norm <c>Norm(x + F(x))</c>, a projection shortcut
    /// <c>x W_s^T</c> (no bias) when forced or when F changes the feature count, the gated form
    /// <c>T ⊙ F + (1 − T) ⊙ skip</c> with <c>T = sigmoid(x W_T^T + b_T)</c>; shortcut and gate read the
    /// un-normalised x. Extra tensors are <c>{owner}_norm.*</c>, <c>{owner}_shortcut.weight</c>,
    /// <c>{owner}_gate.*</c>, with <c>.{index}</c> after the suffix for a repeated member's copy.
    /// </summary>
    private static double[] Residual(Weights w, string owner, int? index, double[] x, int inFeatures, int outFeatures, Func<double[], double[]> branch,
        ResidualNorm norm = ResidualNorm.None, NormKind kind = NormKind.LayerNorm, bool projection = false, bool gated = false)
    {
        string Extra(string what) => index is null ? $"{owner}_{what}" : $"{owner}_{what}.{index}";
        double[] Normalise(double[] v, int features) => kind == NormKind.LayerNorm ? Ln(w, Extra("norm"), v, features) : Rms(w, Extra("norm"), v, features);

        double[] f = branch(norm == ResidualNorm.Pre ? Normalise(x, inFeatures) : x);
        double[] skip = projection || inFeatures != outFeatures
            ? RefOps.Dense(x, w[Extra("shortcut") + ".weight"], null, inFeatures, outFeatures)
            : x;
        double[] y;
        if (gated)
        {
            double[] gate = RefOps.Dense(x, w[Extra("gate") + ".weight"], w[Extra("gate") + ".bias"], inFeatures, outFeatures, Activation.Sigmoid);
            y = RefOps.Highway(gate, f, skip);
        }
        else
        {
            y = RefOps.Add(skip, f);
        }
        return norm == ResidualNorm.Post ? Normalise(y, outFeatures) : y;
    }

    // ------------------------------------------------------------------ expected tensors

    private sealed class Shapes : Dictionary<string, int[]>
    {
        public Shapes Linear(string name, int units, int inputs, bool bias = true)
        {
            Add(name + ".weight", new[] { units, inputs });
            if (bias) Add(name + ".bias", new[] { units });
            return this;
        }

        public Shapes Norm(string name, int features, bool bias = true)
        {
            Add(name + ".weight", new[] { features });
            if (bias) Add(name + ".bias", new[] { features });
            return this;
        }

        public Shapes Attention(string name, int features, bool bias = true)
        {
            Add(name + ".in_proj_weight", new[] { 3 * features, features });
            if (bias) Add(name + ".in_proj_bias", new[] { 3 * features });
            return Linear(name + ".out_proj", features, features, bias);
        }

        public Shapes Tensor(string name, params int[] shape)
        {
            Add(name, shape);
            return this;
        }
    }

    private static Shapes ExpectedTensors(string name)
    {
        var s = new Shapes();
        switch (name)
        {
            case nameof(AttentionNet):
            case nameof(CausalAttentionNet):
                return s.Attention("attn", 12);
            case nameof(SingleTokenAttentionNet):
                return s.Attention("attn", 8);
            case nameof(LongAttentionNet):
                return s.Attention("attn", 20, bias: false);
            case nameof(TokenNormNet):
                return s.Norm("norm1", 7).Linear("fc1", 9, 7).Norm("norm2", 9, bias: false).Linear("fc2", 5, 9);
            case nameof(TokenHeadNet):
                return s.Linear("probs", 5, 6).Linear("head", 3, 20);
            case nameof(FlatLayerNormNet):
                return s.Norm("norm", 10).Linear("fc", 4, 10);
            case nameof(EmbeddingNet):
                return s.Tensor("embed.weight", 11, 8).Tensor("pos.weight", 6, 8).Norm("norm", 8).Linear("head", 3, 8);
            case nameof(IdentityResidualNet):
                return s.Linear("fc", 8, 8).Linear("head", 3, 8);
            case nameof(PreNormResidualNet):
                return s.Norm("fc_norm", 8).Linear("fc", 8, 8).Linear("head", 3, 8);
            case nameof(PostNormResidualNet):
                return s.Norm("fc_norm", 8, bias: false).Linear("fc", 8, 8).Linear("head", 3, 8);
            case nameof(ProjectionResidualNet):
                s.Linear("same", 8, 8).Linear("same_shortcut", 8, 8, bias: false);
                for (int i = 0; i < 2; i++)
                    s.Linear($"projected.{i}", 8, 8).Norm($"projected_norm.{i}", 8).Linear($"projected_shortcut.{i}", 8, 8, bias: false);
                return s.Linear("widen", 12, 8).Linear("widen_shortcut", 12, 8, bias: false).Linear("head", 3, 12);
            case nameof(GatedResidualNet):
                s.Linear("fc", 8, 8).Linear("fc_gate", 8, 8);
                for (int i = 0; i < 2; i++)
                    s.Linear($"highway.{i}", 8, 8).Linear($"highway_gate.{i}", 8, 8).Norm($"highway_norm.{i}", 8);
                return s.Linear("head", 3, 8);
            case nameof(DeepResidualNet):
                for (int i = 0; i < 32; i++) s.Linear($"hidden.{i}", 8, 8);
                return s.Linear("head", 2, 8);
            case nameof(NestedBlockNet):
                s.Linear("outer.inner.fc", 8, 8).Linear("outer.proj", 8, 8);
                for (int i = 0; i < 2; i++)
                    s.Linear($"stack.{i}.inner.fc", 8, 8).Linear($"stack.{i}.proj", 8, 8).Norm($"stack_norm.{i}", 8, bias: false);
                return s.Linear("head", 3, 8);
            case nameof(SequenceResidualNet):
                return s.Linear("widen", 10, 6).Linear("widen_shortcut", 10, 6, bias: false)
                    .Linear("mix", 10, 10).Linear("mix_gate", 10, 10)
                    .Norm("attn_norm", 10, bias: false).Attention("attn", 10);
            case nameof(ActivatedResidualNet):
                s.Linear("fc", 8, 8).Linear("widen", 12, 8).Linear("widen_shortcut", 12, 8, bias: false).Linear("highway", 12, 12).Linear("highway_gate", 12, 12);
                for (int i = 0; i < 2; i++)
                    s.Linear($"stack.{i}", 12, 12).Norm($"stack_norm.{i}", 12);
                return s.Linear("head", 3, 12);
            case nameof(ImageResidualNet):
                foreach (string block in new[] { "block", "more.0" })
                    s.Tensor(block + ".conv1.weight", 2, 2, 3, 3).Tensor(block + ".conv1.bias", 2).Tensor(block + ".conv2.weight", 2, 2, 3, 3).Tensor(block + ".conv2.bias", 2);
                return s.Linear("head", 3, 40);
            case nameof(DownsampleResidualNet):
                s.Tensor("down.conv1.weight", 4, 2, 3, 3).Tensor("down.conv1.bias", 4).Tensor("down.conv2.weight", 4, 4, 3, 3).Tensor("down.conv2.bias", 4)
                    .Tensor("down.downsample.0.weight", 4, 2, 1, 1);
                for (int i = 0; i < 2; i++)
                    s.Tensor($"more.{i}.conv1.weight", 4, 4, 3, 3).Tensor($"more.{i}.conv1.bias", 4).Tensor($"more.{i}.conv2.weight", 4, 4, 3, 3)
                        .Tensor($"more.{i}.conv2.bias", 4).Tensor($"more.{i}.downsample.0.weight", 4, 4, 1, 1);
                return s.Linear("head", 3, 36);
            case nameof(GatedImageNet):
                foreach ((string block, string gate) in new[] { ("block", "block_gate"), ("more.0", "more_gate.0"), ("more.1", "more_gate.1") })
                    s.Tensor(block + ".conv1.weight", 2, 2, 3, 3).Tensor(block + ".conv1.bias", 2).Tensor(block + ".conv2.weight", 2, 2, 3, 3).Tensor(block + ".conv2.bias", 2)
                        .Tensor(gate + ".weight", 2, 2, 1, 1).Tensor(gate + ".bias", 2);
                return s.Linear("head", 3, 40);
            case nameof(IndexedStageNet):
                s.Linear("stem", 8, 8).Linear("layer1.0_shortcut", 8, 8, bias: false).Linear("fc", 3, 8);
                for (int i = 0; i < 3; i++)
                    s.Linear($"layer1.{i}.fc1", 8, 8).Linear($"layer1.{i}.fc2", 8, 8);
                return s;
            case nameof(TinyVit):
                s.Tensor("patch.weight", 16, 1, 4, 4).Tensor("patch.bias", 16).Tensor("pos.weight", 4, 16);
                for (int b = 0; b < 2; b++)
                    s.Norm($"blocks.{b}.attn_norm", 16).Attention($"blocks.{b}.attn", 16)
                        .Norm($"blocks.{b}.mlp_norm", 16).Linear($"blocks.{b}.mlp.fc1", 32, 16).Linear($"blocks.{b}.mlp.fc2", 16, 32);
                return s.Norm("norm", 16).Linear("head", 10, 16);
            case nameof(PostNormEncoderNet):
                return s.Attention("attn", 8).Norm("attn_norm", 8).Linear("ff.linear1", 16, 8).Linear("ff.linear2", 8, 16).Norm("ff_norm", 8);
            default:
                throw new ArgumentOutOfRangeException(nameof(name));
        }
    }

    // ------------------------------------------------------------------ helpers

    private static double[][] Rows(float[] flat, int width) =>
        Enumerable.Range(0, flat.Length / width).Select(s => flat.Skip(s * width).Take(width).Select(v => (double)v).ToArray()).ToArray();

    /// <summary>
    /// Valid token ids for <see cref="EmbeddingNet"/>: integers in [0, 11) stored as floats, repeated ids and both
    /// ends of the vocabulary, while ids 1, 4, 6, 8 and 9 never occur (their table rows must get no gradient).
    /// </summary>
    private static float[] Ids(int count, int seed)
    {
        int[] palette = { 0, 10, 3, 7, 5, 2, 10, 0, 3 };
        return Enumerable.Range(0, count).Select(i => (float)palette[(i + seed) % palette.Length]).ToArray();
    }

    /// <summary>
    /// Generated parameter gradients against the reference's central differences. The reference is exact to
    /// ~1e-8; the generated gradient sums float products and uses float softmax/rsqrt/erf: 1e-3 of the tensor's
    /// gradient scale is far above that rounding and far below a missing or wrong term.
    /// </summary>
    private static void AssertParameterGradients(INetwork net, FunctionReference reference, double[][] x, double[][] dy, string name) =>
        AssertGradientsMatch(net, reference.ParameterGradients(x, dy, perTensor: 40, seed: 33), name);

    /// <summary>
    /// The generated parameter gradients (read in PyTorch layout) against reference values at chosen positions of
    /// every trainable tensor, within 1e-3 of each tensor's gradient scale (see <see cref="AssertParameterGradients"/>).
    /// </summary>
    internal static void AssertGradientsMatch(INetwork net, Dictionary<string, Dictionary<int, double>> reference, string name)
    {
        foreach ((string tensor, Dictionary<int, double> expected) in reference)
        {
            TensorInfo info = net.Parameters.Find(tensor) ?? throw new InvalidOperationException($"{name}: no tensor '{tensor}'");
            var actual = new float[info.Length];
            info.StoredToFile(net.Parameters.Gradient(info), actual);
            double scale = 1 + expected.Values.Max(Math.Abs);
            foreach ((int i, double value) in expected)
                Assert.True(Math.Abs(value - actual[i]) <= 1e-3 * scale, $"{name} {tensor}[{i}]: reference {value:G6}, backward {actual[i]:G6}");
        }
        Assert.Equal(net.Parameters.Tensors.Count(t => t.Kind == TensorKind.Parameter), reference.Count);
    }

    // ------------------------------------------------------------------ tests over every network

    [Theory]
    [MemberData(nameof(AllNetworks))]
    public void Tensors_HaveThePyTorchNamesAndShapes(string name)
    {
        (INetwork net, _) = Create(name, seed: 0);
        Assert.Equal(Sizes(name), (net.InputSize, net.OutputSize));
        Shapes expected = ExpectedTensors(name);
        Dictionary<string, int[]> actual = net.Parameters.Tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach ((string tensor, int[] shape) in expected)
            Assert.True(shape.SequenceEqual(actual[tensor]), $"{name} {tensor}: shape [{string.Join(", ", actual[tensor])}], expected [{string.Join(", ", shape)}]");
        Assert.All(net.Parameters.Tensors, t => Assert.Equal(TensorKind.Parameter, t.Kind));
        Assert.Equal(expected.Values.Sum(shape => shape.Aggregate(1, (a, b) => a * b)), net.Parameters.ParameterCount);
    }

    [Theory]
    [MemberData(nameof(AllNetworks))]
    public void Reference_ReadsTheDeclaredTensorsAndGivesTheDeclaredSize(string name)
    {
        // The oracle on its own, generated code aside: it runs on exactly the expected tensors (a missing name
        // would throw) and maps the declared input size to the declared output size.
        var rng = new Rng(99);
        Dictionary<string, double[]> weights = ExpectedTensors(name).ToDictionary(
            t => t.Key, t => Enumerable.Range(0, t.Value.Aggregate(1, (a, b) => a * b)).Select(_ => (double)rng.NextSingle(-0.5f, 0.5f)).ToArray());
        (int inputs, int outputs) = Sizes(name);
        double[] x = Enumerable.Range(0, inputs).Select(i => name == nameof(EmbeddingNet) ? i % 11 : (double)rng.NextSingle(-1, 1)).ToArray();
        double[] y = ReferenceForward(name)(weights, x);
        Assert.Equal(outputs, y.Length);
        Assert.All(y, v => Assert.True(double.IsFinite(v)));

        // Staged references: cutting at any residual connection and resuming gives the same output.
        if (name is nameof(TinyVit) or nameof(PostNormEncoderNet) or nameof(DeepResidualNet))
        {
            StagedForward staged = StagesOf(name);
            for (int stage = 0; stage < staged.Stages.Length; stage++)
                Assert.Equal(y, staged.From(weights, staged.UpTo(weights, x, stage), stage));
        }
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_MatchesReference(string name)
    {
        (INetwork net, Func<Weights, double[], double[]> forward) = Create(name, seed: 1);
        var reference = new FunctionReference(net, forward);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 11);
        var output = new float[batch * net.OutputSize];
        net.Forward(input, output, batch);
        double[] expected = reference.Forward(Rows(input, net.InputSize)).SelectMany(r => r).ToArray();
        // Float dot products of at most ~64 terms, float exp in the softmax, float rsqrt in the norms and the
        // ~1e-7 erf fit of GELU: observed error ~1e-6 of the output's scale; 1e-4 leaves a wide margin (32 stacked
        // residual layers included) and is far below any indexing or formula error.
        DenseNumericTests.AssertClose(expected, output, 1e-4, name);

        var single = new float[net.OutputSize];
        net.Forward(input.AsSpan(0, net.InputSize), single);
        DenseNumericTests.AssertClose(expected.Take(net.OutputSize).ToArray(), single, 1e-4, $"{name} batch 1");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void BatchedForward_IsBitIdenticalToBatchOne(string name)
    {
        (INetwork net, _) = Create(name, seed: 2);
        // 1..5 covers the four-sample kernels and a remainder.
        for (int batch = 1; batch <= 5; batch++) DenseNumericTests.AssertBatchedEqualsBatchOne(net, batch, seed: 20 + batch);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesReferenceGradients(string name)
    {
        (INetwork net, Func<Weights, double[], double[]> forward) = Create(name, seed: 3);
        var reference = new FunctionReference(net, forward);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 31);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 32);
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);

        double[][] x = Rows(input, net.InputSize), dy = Rows(outputGradient, net.OutputSize);
        DenseNumericTests.AssertClose(reference.Forward(x).SelectMany(r => r).ToArray(), output, 1e-4, $"{name} training forward");
        AssertParameterGradients(net, reference, x, dy, name);
        // Same reasoning as the parameter gradients: 1e-3 of the input gradient's scale.
        DenseNumericTests.AssertClose(reference.InputGradients(x, dy).SelectMany(r => r).ToArray(), inputGradient, 1e-3, $"{name} dL/dx");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_MatchesFiniteDifferencesOfTheGeneratedForward(string name)
    {
        (INetwork net, _) = Create(name, seed: 4);
        // ReLU kinks (the post-norm encoder's feed-forward, the image blocks' ReLU after the sum) need the small step;
        // the smooth networks keep 1e-2. 32 stacked layers curve enough that one-sided slopes at 1e-2 differ like a
        // kink: 1e-3 there as well.
        float h = name is nameof(PostNormEncoderNet) or nameof(DeepResidualNet) or nameof(ImageResidualNet) or nameof(DownsampleResidualNet) or nameof(GatedImageNet) ? 1e-3f : 1e-2f;
        GradientCheck.Run(net, name, batch: 2, seed: 40, useTrainingForward: true, h);
    }

    /// <summary>
    /// Projection shortcuts that end in a batch norm: its batch statistics make a sample's output depend on the
    /// batch, which the per-sample references cannot express; finite differences of the training forward check the
    /// backward through both paths, and PyTorch (ResNet-18) and ONNX Runtime check the forward (Dsl.Onnx.Tests).
    /// </summary>
    [Theory]
    [InlineData(nameof(DownsampleNormNet))]
    [InlineData(nameof(DownsampleNormSequenceNet))]
    public void ShortcutBatchNorm_BackwardMatchesFiniteDifferences_AndNothingAllocates(string name)
    {
        INetwork net = name == nameof(DownsampleNormNet) ? new DownsampleNormNet(seed: 5) : new DownsampleNormSequenceNet(seed: 5);
        Randomize(name, net, seed: 5);
        // ReLU kinks: the small step, as for the other image blocks.
        GradientCheck.Run(net, name, batch: 3, seed: 50, useTrainingForward: true, h: 1e-3f);
        DenseNumericTests.AssertBatchedEqualsBatchOne(net, batch: 3, seed: 51);
        const int batch = 3;
        AssertAllocatesNothing(net, DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 52), batch, new float[batch * net.InputSize]);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Forward_And_Training_AllocateNothing(string name)
    {
        (INetwork net, _) = Create(name, seed: 6);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 60);
        AssertAllocatesNothing(net, input, batch, new float[batch * net.InputSize]);
    }

    private static void AssertAllocatesNothing(INetwork net, float[] input, int batch, float[] inputGradient) =>
        Assert.Equal(0, Allocations.OfEveryEntryPoint(net, input, batch, DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 61), inputGradient));

    // ------------------------------------------------------------------ embedding (token-id inputs)

    [Fact]
    public void Embedding_ForwardMatchesReference_AndBatchedIsBitIdenticalToBatchOne()
    {
        (INetwork net, Func<Weights, double[], double[]> forward) = Create(nameof(EmbeddingNet), seed: 1);
        var reference = new FunctionReference(net, forward);
        const int batch = 5;
        float[] input = Ids(batch * net.InputSize, seed: 11);
        var output = new float[batch * net.OutputSize];
        net.Forward(input, output, batch);
        // Table rows are copied exactly; the error is the LayerNorm's and the head's float rounding.
        DenseNumericTests.AssertClose(reference.Forward(Rows(input, net.InputSize)).SelectMany(r => r).ToArray(), output, 1e-4, nameof(EmbeddingNet));
        var single = new float[net.OutputSize];
        for (int s = 0; s < batch; s++)
        {
            net.Forward(input.AsSpan(s * net.InputSize, net.InputSize), single);
            Assert.Equal(single, output.AsSpan(s * net.OutputSize, net.OutputSize).ToArray());
        }
    }

    [Fact]
    public void Embedding_BackwardMatchesReferenceParameterGradients()
    {
        (INetwork net, Func<Weights, double[], double[]> forward) = Create(nameof(EmbeddingNet), seed: 3);
        var reference = new FunctionReference(net, forward);
        const int batch = 3;
        float[] input = Ids(batch * net.InputSize, seed: 31);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 32);
        var output = new float[batch * net.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        // Ids have no gradient: an empty input gradient asks for none.
        net.Backward(outputGradient, Span<float>.Empty, batch, workspace);
        double[][] x = Rows(input, net.InputSize), dy = Rows(outputGradient, net.OutputSize);
        DenseNumericTests.AssertClose(reference.Forward(x).SelectMany(r => r).ToArray(), output, 1e-4, "EmbeddingNet training forward");
        AssertParameterGradients(net, reference, x, dy, nameof(EmbeddingNet));

        // Rows of ids absent from the batch get exactly zero.
        TensorInfo table = net.Parameters.Find("embed.weight")!;
        var gradient = new float[table.Length];
        table.StoredToFile(net.Parameters.Gradient(table), gradient);
        var used = new HashSet<int>(input.Select(v => (int)v));
        Assert.InRange(used.Count, 2, 10); // some rows used, some not
        for (int id = 0; id < 11; id++)
            if (!used.Contains(id))
                for (int j = 0; j < 8; j++) Assert.Equal(0f, gradient[id * 8 + j]);
    }

    [Fact]
    public void Embedding_BackwardMatchesFiniteDifferencesOfTheGeneratedForward()
    {
        // GradientCheck draws inputs in [-1, 1], which are not ids: the same float central differences here,
        // over every parameter, with id inputs and no input gradient.
        (INetwork net, _) = Create(nameof(EmbeddingNet), seed: 4);
        const int batch = 2;
        const float h = 1e-2f;
        float[] input = Ids(batch * net.InputSize, seed: 40);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 41);
        var output = new float[batch * net.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, Span<float>.Empty, batch, workspace);
        float[] gradients = net.Parameters.Gradients.ToArray();

        double Loss()
        {
            net.ForwardTrain(input, output, batch, workspace);
            double sum = 0;
            for (int i = 0; i < output.Length; i++) sum += (double)outputGradient[i] * output[i];
            return sum;
        }

        foreach (TensorInfo t in net.Parameters.Tensors)
            for (int k = 0; k < t.Length; k++)
            {
                int index = t.Offset + k;
                float saved = net.Parameters.Values[index];
                net.Parameters.Values[index] = saved + h;
                double plus = Loss();
                net.Parameters.Values[index] = saved - h;
                double minus = Loss();
                net.Parameters.Values[index] = saved;
                double numeric = (plus - minus) / (2 * h);
                // As GradientCheck: truncation O(h²) and float rounding ~1e-6 / h are below 2e-3 + 2 %.
                Assert.True(Math.Abs(numeric - gradients[index]) <= 2e-3 + 2e-2 * Math.Abs(gradients[index]),
                    $"EmbeddingNet {t.Name} stored index {k}: finite difference {numeric:G6}, backward {gradients[index]:G6}");
            }
    }

    [Theory]
    [InlineData(11f)]
    [InlineData(-1f)]
    [InlineData(2.5f)]
    [InlineData(float.NaN)]
    [InlineData(1e9f)]
    public void Embedding_RejectsIdsThatAreNotIntegersInTheVocabulary(float bad)
    {
        (INetwork net, _) = Create(nameof(EmbeddingNet), seed: 5);
        const int batch = 2;
        float[] input = Ids(batch * net.InputSize, seed: 50);
        input[net.InputSize + 3] = bad; // second sample, fourth token
        var output = new float[batch * net.OutputSize];
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(input.AsSpan(net.InputSize, net.InputSize), output.AsSpan(0, net.OutputSize)));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(input, output, batch));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.ForwardTrain(input, output, batch, net.CreateWorkspace(batch)));
    }

    [Fact]
    public void Embedding_Forward_And_Training_AllocateNothing()
    {
        (INetwork net, _) = Create(nameof(EmbeddingNet), seed: 6);
        const int batch = 3;
        AssertAllocatesNothing(net, Ids(batch * net.InputSize, seed: 60), batch, Array.Empty<float>());
    }

    // ------------------------------------------------------------------ residual observation

    private static (int Count, Func<int, string> Name, Func<Workspace, int, float[]> Output, Func<Workspace, int, float[]> Gradient) Residuals(INetwork net) => net switch
    {
        TinyVit n => (TinyVit.ResidualCount, TinyVit.ResidualName, (w, i) => n.ResidualOutput(w, i).ToArray(), (w, i) => n.ResidualOutputGradient(w, i).ToArray()),
        PostNormEncoderNet n => (PostNormEncoderNet.ResidualCount, PostNormEncoderNet.ResidualName, (w, i) => n.ResidualOutput(w, i).ToArray(), (w, i) => n.ResidualOutputGradient(w, i).ToArray()),
        DeepResidualNet n => (DeepResidualNet.ResidualCount, DeepResidualNet.ResidualName, (w, i) => n.ResidualOutput(w, i).ToArray(), (w, i) => n.ResidualOutputGradient(w, i).ToArray()),
        _ => throw new ArgumentOutOfRangeException(nameof(net)),
    };

    private static StagedForward StagesOf(string name) => name switch
    {
        nameof(TinyVit) => TinyVitStages(),
        nameof(PostNormEncoderNet) => PostNormEncoderStages(),
        nameof(DeepResidualNet) => DeepResidualStages(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(StagedNetworks))]
    public void ResidualOutputs_AndTheirGradients_MatchTheReference(string name)
    {
        (INetwork net, Func<Weights, double[], double[]> forward) = Create(name, seed: 7);
        var reference = new FunctionReference(net, forward);
        StagedForward staged = StagesOf(name);
        (int count, Func<int, string> residualName, Func<Workspace, int, float[]> residualOutput, Func<Workspace, int, float[]> residualGradient) = Residuals(net);
        Assert.Equal(staged.Stages.Length, count);
        string[] names = Enumerable.Range(0, count).Select(residualName).ToArray();
        Assert.Equal(staged.Stages.Select(s => s.Name).OrderBy(n => n, StringComparer.Ordinal), names.OrderBy(n => n, StringComparer.Ordinal));

        const int batch = 2;
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed: 70);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed: 71);
        var output = new float[batch * net.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        // Read the outputs before Backward, which may reuse activation memory.
        float[][] outputs = Enumerable.Range(0, count).Select(i => residualOutput(workspace, i)).ToArray();
        net.Backward(outputGradient, new float[batch * net.InputSize], batch, workspace);

        double[][] x = Rows(input, net.InputSize), dy = Rows(outputGradient, net.OutputSize);
        for (int index = 0; index < count; index++)
        {
            int stage = Array.FindIndex(staged.Stages, s => s.Name == names[index]);
            // The connection's sum h = skip + F(x), before any post-norm, per sample.
            double[][] expected = x.Select(row => staged.UpTo(reference.Values, row, stage)).ToArray();
            DenseNumericTests.AssertClose(expected.SelectMany(r => r).ToArray(), outputs[index], 1e-4, $"{name} {names[index]} output");

            // dL/dh: central differences of the rest of the network (the post-norm included) from there.
            var tail = new FunctionReference(reference.Values, (w, h) => staged.From(w, h, stage));
            double[] expectedGradient = tail.InputGradients(expected, dy).SelectMany(r => r).ToArray();
            float[] actualGradient = residualGradient(workspace, index);
            Assert.Contains(actualGradient, g => g != 0);
            DenseNumericTests.AssertClose(expectedGradient, actualGradient, 1e-3, $"{name} {names[index]} output gradient");
        }
    }

    private static string[] SortedNames(int count, Func<int, string> name) =>
        Enumerable.Range(0, count).Select(name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    private static string[] Sorted(params string[] names) => names.OrderBy(n => n, StringComparer.Ordinal).ToArray();

    [Fact]
    public void ResidualNames_AreTheMemberPaths()
    {
        Assert.Equal(Sorted("outer.inner", "stack.0", "stack.0.inner", "stack.1", "stack.1.inner"), SortedNames(NestedBlockNet.ResidualCount, NestedBlockNet.ResidualName));
        Assert.Equal(Sorted("same", "projected.0", "projected.1", "widen"), SortedNames(ProjectionResidualNet.ResidualCount, ProjectionResidualNet.ResidualName));
        Assert.Equal(Sorted("fc", "highway.0", "highway.1"), SortedNames(GatedResidualNet.ResidualCount, GatedResidualNet.ResidualName));
        Assert.Equal(Sorted("widen", "mix", "attn"), SortedNames(SequenceResidualNet.ResidualCount, SequenceResidualNet.ResidualName));
        Assert.Equal(Sorted(Enumerable.Range(0, 32).Select(i => $"hidden.{i}").ToArray()), SortedNames(DeepResidualNet.ResidualCount, DeepResidualNet.ResidualName));
        Assert.Equal(Sorted("blocks.0.attn", "blocks.0.mlp", "blocks.1.attn", "blocks.1.mlp"), SortedNames(TinyVit.ResidualCount, TinyVit.ResidualName));
    }

    [Fact]
    public void ResidualOutput_OfANestedBlock_IsTheInnerConnectionsOutput()
    {
        // outer.inner's output is x + tanh(x W^T + b) of the network input, before outer.proj.
        (INetwork created, Func<Weights, double[], double[]> forward) = Create(nameof(NestedBlockNet), seed: 8);
        var net = (NestedBlockNet)created;
        var reference = new FunctionReference(net, forward);
        const int batch = 2;
        float[] input = DenseNumericTests.RandomInputs(batch * NestedBlockNet.InputSize, seed: 80);
        var output = new float[batch * NestedBlockNet.OutputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        net.ForwardTrain(input, output, batch, workspace);
        int index = Enumerable.Range(0, NestedBlockNet.ResidualCount).Single(i => NestedBlockNet.ResidualName(i) == "outer.inner");
        double[] expected = Rows(input, NestedBlockNet.InputSize)
            .SelectMany(x => Residual(reference.Values, "outer.inner", null, x, 8, 8, v => Linear(reference.Values, "outer.inner.fc", v, 8, 8, Activation.Tanh)))
            .ToArray();
        DenseNumericTests.AssertClose(expected, net.ResidualOutput(workspace, index), 1e-4, "outer.inner output");
    }
}
