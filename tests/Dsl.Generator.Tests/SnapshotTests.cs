using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit.Sdk;

namespace Dsl.Generator.Tests;

/// <summary>
/// The generated source for a few small networks, checked against reviewed baselines in <c>Snapshots/</c>
/// (rerun with <c>DSL_ACCEPT_SNAPSHOTS=1</c> to accept a change), and compiled without errors or warnings.
/// </summary>
/// <remarks>
/// Three small networks keep full baselines. The others keep partial ones, so that an emitter change shows as a diff
/// a person can read rather than thousands of rewritten kernel lines: the plumbing verbatim, every kernel class's
/// constants, and one kernel class whole (<see cref="SnapshotText.ElideKernels"/>). Every network's full output is
/// still compiled and must be clean; the numeric tests check what the kernels compute.
/// </remarks>
public class SnapshotTests
{
    // The first line of a partial baseline, so that its reader knows the missing kernels are left out on purpose.
    private const string PartialMarker =
        "// Partial snapshot: kernel class bodies elided (in the inference file all but the first with code); constants kept (SnapshotText.ElideKernels, SnapshotTests).";

    /// <summary>How much of the generated files a test's baseline holds.</summary>
    private enum Baseline
    {
        /// <summary>Every line.</summary>
        Full,

        /// <summary>The generated files through <see cref="SnapshotText.ElideKernels"/>.</summary>
        Partial,
    }

    [Fact]
    public void TinyMlp()
    {
        const string source = """
            using Dsl;

            [Network(Input = 4)]
            public partial class TinyMlp
            {
                [Dense(8, Activation.Relu)] public partial Dense Hidden { get; }
                [Dense(3)] public partial Dense Out { get; }
            }
            """;
        VerifyGenerated(Baseline.Full, source, nameof(TinyMlp), "TinyMlp");
    }

    [Fact]
    public void BFloat16TinyMlp()
    {
        // TinyMlp with bfloat16 weights: inference reads _parameters.BFloat16Values through each kernel class's BFloat16
        // kernels (ref ushort W and b, widening loads); training keeps the fp32 ForwardRows.
        const string source = """
            using Dsl;

            [Network(Input = 4, WeightType = WeightType.BFloat16)]
            public partial class TinyMlp
            {
                [Dense(8, Activation.Relu)] public partial Dense Hidden { get; }
                [Dropout(0.1)] public partial Dropout Drop { get; }
                [Dense(3)] public partial Dense Out { get; }
            }
            """;
        VerifyGenerated(Baseline.Full, source, nameof(BFloat16TinyMlp), "TinyMlp");
    }

    [Fact]
    public void BFloat16Mlp()
    {
        // Every bfloat16 kernel form: 256 -> 256 packs its panels (the runtime's PackedTiles, widening as they pack),
        // 256 -> 10 the interleaved batch-1 kernel, 10 -> 3 the scalar rung; Softmax after the product.
        const string source = """
            using Dsl;

            [Network(Input = 256, WeightType = WeightType.BFloat16)]
            public partial class HalfMlp
            {
                [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
                [Dense(10, Activation.Gelu)] public partial Dense Fc2 { get; }
                [Dense(3, Activation.Softmax)] public partial Dense Head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(BFloat16Mlp), "HalfMlp");
    }

    [Fact]
    public void SoftmaxGeluNoBias()
    {
        // Odd widths: 17 ends in an overlapping tail vector on every rung, 6 narrows AVX-512 and AVX2 to Vector128.
        const string source = """
            using Dsl;

            [Network(Input = 5)]
            public partial class Classifier
            {
                [Dense(17, Activation.Gelu)] public partial Dense Features { get; }
                [Dense(6, Activation.Softmax, Bias = false)] public partial Dense Classes { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(SoftmaxGeluNoBias), "Classifier");
    }

    [Fact]
    public void BlockedDense()
    {
        // Widths of three or more AVX-512 vectors get the register-blocked batched kernel: 160 is two 64-wide panels
        // in a loop plus two vectors written out, 40 is two vectors and an overlapping tail in one tile.
        const string source = """
            using Dsl;

            [Network(Input = 6)]
            public partial class Wide
            {
                [Dense(160, Activation.Relu)] public partial Dense Hidden { get; }
                [Dense(40, Activation.Tanh)] public partial Dense Out { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(BlockedDense), "Wide");
    }

    [Fact]
    public void DownsamplingBlock()
    {
        // ResNet's downsampling block: the shortcut path (a strided 1x1 convolution and its batch norm, folded at
        // inference) runs after the branch, reads x again and is added to the F(x) it kept; backward in reverse.
        const string source = """
            using Dsl;

            [Network(Channels = 2, Height = 4, Width = 4)]
            public partial class Down
            {
                [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Branch layer1 { get; }
                [GlobalAvgPool] public partial GlobalAvgPool pool { get; }

                [Block]
                public partial class Branch
                {
                    [Conv2D(4, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
                    [BatchNorm2D] public partial BatchNorm2D bn1 { get; }
                }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(DownsamplingBlock), "Down", "Down.Branch.Block.g.cs");
    }

    [Fact]
    public void PrunedLayers()
    {
        // A pruned dense layer's inference asks the runtime for the compact form of its weight and runs the sparse kernel
        // when there is one, the dense kernel otherwise; its training is the dense kernels'. A pruned convolution only
        // declares its mask (no sparse kernel yet).
        const string source = """
            using Dsl;

            [Network(Channels = 1, Height = 4, Width = 4)]
            public partial class Sparse
            {
                [Conv2D(8, 3, Padding = 1, Activation = Activation.Relu)][Pruned(0.5, Block = 8)] public partial Conv2D conv { get; }
                [Flatten] public partial Flatten flat { get; }
                [Dense(16, Activation.Relu)][Pruned(0.9)] public partial Dense fc { get; }
                [Dense(2)] public partial Dense head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(PrunedLayers), "Sparse");
    }

    [Fact]
    public void NestedInNamespace()
    {
        const string source = """
            using Dsl;

            namespace Acme.Models;

            public static partial class Zoo
            {
                [Network(Input = 3)]
                internal partial class Probe
                {
                    [Dense(2, Activation.Tanh)] internal partial Dense Score { get; }
                }
            }
            """;
        VerifyGenerated(Baseline.Full, source, nameof(NestedInNamespace), "Acme.Models.Zoo.Probe");
    }

    [Fact]
    public void SmallCnn()
    {
        // Conv -> BN -> ReLU (the batch norm folds into the convolution for inference), a pool, then Flatten -> Dense.
        // 6x5 with padding 1 exercises the border rectangles on both axes; 4 output channels narrow every rung to Vector128.
        const string source = """
            using Dsl;

            [Network(Channels = 1, Height = 6, Width = 5)]
            public partial class SmallCnn
            {
                [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }
                [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }
                [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(3)] public partial Dense Head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(SmallCnn), "SmallCnn");
    }

    [Fact]
    public void BorderedConvolutions()
    {
        // Two padded convolutions in a row: at batch 1 the first writes its output inside the second's zero border
        // (ForwardOne's scratch holds it bordered; Conv1Kernels.Direct clears the border, Conv2Kernels.Direct takes no
        // padded buffer and skips the copy).
        const string source = """
            using Dsl;

            [Network(Channels = 1, Height = 6, Width = 20)]
            public partial class TwoConvs
            {
                [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv1 { get; }
                [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(2)] public partial Dense Head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(BorderedConvolutions), "TwoConvs");
    }

    [Theory]
    [InlineData(6, 20, true)] // 4x8x22 bordered + 4x6x20 floats: on the stack, which holds garbage: the border is cleared per call
    [InlineData(30, 70, false)] // 4x32x72 + 4x30x70 floats, past 16 Ki: a per-thread array, zeroed once, whose border stays zero
    public void BorderedConvolutions_ClearTheBorder_OnlyWhenTheScratchIsOnTheStack(int height, int width, bool clears)
    {
        string source = $$"""
            using Dsl;

            [Network(Channels = 1, Height = {{height}}, Width = {{width}})]
            public partial class WideTwoConvs
            {
                [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv1 { get; }
                [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(2)] public partial Dense Head { get; }
            }
            """;
        string generated = string.Concat(GeneratorHarness.Run(source).NetworkSources.Select(s => s.SourceText.ToString()));
        Assert.Equal(clears, generated.Contains("PatchKernels.ClearBorder(ref y,", System.StringComparison.Ordinal));
        Assert.Equal(!clears, generated.Contains("The border stays zero", System.StringComparison.Ordinal));
        Assert.Equal(!clears, generated.Contains("[global::System.ThreadStatic] private static global::Dsl.Kernels.AlignedScratch? t_forwardOneScratch;", System.StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, 1, true)] // every rung: with AVX-512 the head reads its packed copy
    [InlineData("avx2", 1, false)] // no AVX-512 rung: the interleaved 256-bit kernel reads W itself
    [InlineData(null, 2, false)] // the head repeated: copies that share one call site read W itself
    public void FlattenedHead_ReadsAPackedCopy_AtBatchOne_WithAvx512(string? instructionSets, int copies, bool blocked)
    {
        string head = copies == 1 ? "[Dense(10)] public partial Dense Head" : $"[Repeat({copies})] [Dense(10)] public partial IReadOnlyList<Dense> Head";
        string source = $$"""
            using System.Collections.Generic;
            using Dsl;

            [Network(Channels = 1, Height = 16, Width = 16)]
            public partial class HeadNet
            {
                [Conv2D(4, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv { get; }
                [Flatten] public partial Flatten Flat { get; }
                {{head}} { get; }
            }
            """;
        var properties = instructionSets is null ? null : new Dictionary<string, string> { ["DslInstructionSets"] = instructionSets };
        GeneratorRun run = GeneratorHarness.Run(GeneratorHarness.Compile(source), properties);
        Assert.Empty(run.DslDiagnostics);
        string generated = string.Concat(run.NetworkSources.Select(s => s.SourceText.ToString()));
        Assert.Equal(blocked, generated.Contains("Forward1Blocked<global::Dsl.Kernels.Identity>(", System.StringComparison.Ordinal));
        Assert.Equal(blocked, generated.Contains("private readonly global::Dsl.Kernels.PackedPanels _headBlocks = new();", System.StringComparison.Ordinal));
    }

    [Fact]
    public void ChannelLanesConvolution()
    {
        // 16 output channels on rows of 20: with AVX-512 a row of vectors would fill 20 of 32 lanes, so Direct_512 puts
        // the channels in the lanes, tiles of 10 positions transposed into the channel planes; AVX2 keeps the row kernel.
        // Then 32 channels on rows of 10, narrower than a vector: im2col, except with AVX-512 (DirectLanes at the call site).
        const string source = """
            using Dsl;

            [Network(Channels = 4, Height = 4, Width = 20)]
            public partial class LaneConv
            {
                [Conv2D(16, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv { get; }
                [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
                [Conv2D(32, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv2 { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(2)] public partial Dense Head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(ChannelLanesConvolution), "LaneConv");
    }

    [Fact]
    public void CausalConv1D()
    {
        // Causal with dilation 2: left padding (2 - 1) * 2 = 2, output as long as the input; then global average pooling.
        const string source = """
            using Dsl;

            [Network(Channels = 2, Length = 6)]
            public partial class Causal
            {
                [Conv1D(3, 2, Dilation = 2, Causal = true, Activation = Activation.Relu)] public partial Conv1D Conv { get; }
                [GlobalAvgPool] public partial GlobalAvgPool Pool { get; }
                [Dense(2)] public partial Dense Head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(CausalConv1D), "Causal");
    }

    [Fact]
    public void TransformerBlock()
    {
        // Two pre-norm encoder blocks (causal 2-head attention with head dimension 4, then a GELU feed-forward
        // block) over 4 tokens of 8: the copies share kernel classes; the residual stream accessors appear.
        const string source = """
            using System.Collections.Generic;
            using Dsl;

            [Network(Length = 4, Features = 8)]
            public partial class Encoder
            {
                [Repeat(2)] public partial IReadOnlyList<EncoderBlock> blocks { get; }
                [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
                [Dense(3)] public partial Dense head { get; }

                [Block]
                public partial class EncoderBlock
                {
                    [Residual(Norm = ResidualNorm.Pre)] [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
                    [Residual(Norm = ResidualNorm.Pre)] public partial FeedForward mlp { get; }
                }

                [Block]
                public partial class FeedForward
                {
                    [Dense(16, Activation.Gelu)] public partial Dense fc1 { get; }
                    [Dense(8)] public partial Dense fc2 { get; }
                }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(TransformerBlock), "Encoder", "Encoder.EncoderBlock.Block.g.cs", "Encoder.FeedForward.Block.g.cs");
    }

    [Fact]
    public void MixtureOfExperts()
    {
        // A flat mixture of 4 feed-forward experts, top-2 (Switch gates), around an identity residual, then a head: the
        // router's and the two expert layers' products, batch 1 reading only the chosen experts, the grouped training
        // forward and backward, and the mixture statistics accessor.
        const string source = """
            using Dsl;

            [Network(Input = 8)]
            public partial class Routed
            {
                [Residual, MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<FeedForward> moe { get; }
                [Dense(3)] public partial Dense head { get; }

                [Block]
                public partial class FeedForward
                {
                    [Dense(16, Activation.Relu)] public partial Dense fc1 { get; }
                    [Dense(8)] public partial Dense fc2 { get; }
                }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(MixtureOfExperts), "Routed", "Routed.FeedForward.Block.g.cs");
    }

    [Fact]
    public void CharacterLanguageModel()
    {
        // A causal language model: embedding and learned positions, one pre-norm block, a per-token head over the
        // vocabulary. It implements IDecoder: DecodeStep runs one token through every step, attention reading and
        // appending its cached keys and values.
        const string source = """
            using Dsl;

            [Network(Input = 6)]
            public partial class CharModel
            {
                [Embedding(5, 8)] public partial Embedding embed { get; }
                [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
                [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)] [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
                [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)] [Dense(8, Activation.Gelu)] public partial Dense ff { get; }
                [Dense(5)] public partial Dense head { get; }
            }
            """;
        VerifyGenerated(Baseline.Partial, source, nameof(CharacterLanguageModel), "CharModel");
    }

    [Fact]
    public void Dropout()
    {
        // Dropout on channel-major, flat and token activations: identity at inference (no code), a masked copy in
        // ForwardTrain, the same mask in place in Backward; the last one is the network's output.
        const string source = """
            using Dsl;

            [Network(Channels = 2, Length = 4)]
            public partial class Dropped
            {
                [Dropout(0.1)] public partial Dropout OnChannels { get; }
                [Tokens] public partial Tokens Seq { get; }
                [Dropout(0.2)] public partial Dropout OnTokens { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(3)] public partial Dense Out { get; }
                [Dropout(0.5)] public partial Dropout Last { get; }
            }
            """;
        VerifyGenerated(Baseline.Full, source, nameof(Dropout), "Dropped");
    }

    private static void VerifyGenerated(Baseline baseline, string source, string testName, string hintName, params string[] blockFiles)
    {
        // The whole output is compiled whatever the baseline holds, so eliding kernels loses no compile check.
        GeneratorRun run = GeneratorHarness.Run(source);
        run.AssertClean();
        Assert.Equal(
            new[] { hintName + ".g.cs", hintName + ".Backward.g.cs" }.Concat(blockFiles).OrderBy(n => n, System.StringComparer.Ordinal),
            run.GeneratedSources.Select(s => s.HintName).OrderBy(n => n, System.StringComparer.Ordinal));
        // Check every file before failing, so one run writes all the received files there are to review.
        var failures = new List<string>();
        foreach (GeneratedSourceResult generated in run.GeneratedSources)
        {
            string fileName = generated.HintName.Substring(0, generated.HintName.Length - ".cs".Length);
            try
            {
                // One kernel per network is enough to review: the inference file's first; the training file's are elided.
                bool keepOneKernel = !fileName.EndsWith(".Backward.g", System.StringComparison.Ordinal);
                Snapshot.Verify(BaselineText(baseline, generated.SourceText.ToString(), keepOneKernel), $"{nameof(SnapshotTests)}.{testName}#{fileName}");
            }
            catch (XunitException e)
            {
                failures.Add(e.Message);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private static string BaselineText(Baseline baseline, string generated, bool keepOneKernel)
    {
        switch (baseline)
        {
            case Baseline.Full:
                return generated;
            case Baseline.Partial:
                string elided = SnapshotText.ElideKernels(generated, keepOneKernel);
                // A file without kernel classes (a [Block] class's) is whole, and says nothing.
                return elided == generated ? generated : PartialMarker + "\n" + elided;
            default:
                throw new System.ArgumentOutOfRangeException(nameof(baseline), baseline, "Unknown baseline kind.");
        }
    }
}
