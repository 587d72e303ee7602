using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl.Generator.Weights;
using Dsl.Tests.Reliability;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit.Abstractions;

namespace Dsl.Generator.Tests;

/// <summary>
/// The build-time path of compiled-in weights: the generator reads the build step's text of a safetensors file,
/// checks it against the declaration (DSL0013, DSL0014 on the Weights argument), writes Pretrained() and the data,
/// recompiles them only when the spec or the file changes, and agrees with the runtime loader on every file.
/// </summary>
public sealed class CompiledWeightsTests(ITestOutputHelper output)
{
    private const string MlpSource = """
        using Dsl;

        namespace Acme;

        [Network(Input = 4, Weights = "weights/tiny.safetensors")]
        public partial class TinyMlp
        {
            [Dense(8, Activation.Relu)] public partial Dense Hidden { get; }
            [Dense(3)] public partial Dense Out { get; }
        }
        """;

    private const string UnrelatedSource = "namespace Acme; public static class Helpers { public static int Twice(int x) => 2 * x; }";

    // The networks whose files the fuzzer mutates: dense (stored transposed), grouped convolution and batch norm
    // (buffers, an I64 count), token layers (embeddings, norms, attention), a pruned layer.
    private static readonly (string Name, string Source)[] s_networks =
    [
        ("mlp", MlpSource),
        ("cnn", """
            using Dsl;
            [Network(Channels = 2, Height = 6, Width = 6, Weights = "cnn.safetensors")]
            public partial class Cnn
            {
                [Conv2D(4, 3, Padding = 1, Groups = 2, Bias = false)] public partial Conv2D Conv { get; }
                [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }
                [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(3)] public partial Dense Head { get; }
            }
            """),
        ("gpt", """
            using Dsl;
            [Network(Input = 6, Weights = "gpt.safetensors")]
            public partial class Gpt
            {
                [Embedding(5, 8)] public partial Embedding Embed { get; }
                [PositionalEmbedding] public partial PositionalEmbedding Pos { get; }
                [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention Attn { get; }
                [LayerNorm] public partial LayerNorm Norm { get; }
                [Dense(5)] public partial Dense Head { get; }
            }
            """),
        ("pruned", """
            using Dsl;
            [Network(Input = 10, Weights = "pruned.safetensors")]
            public partial class Pruned
            {
                [Dense(16, Activation.Relu)][Pruned(0.5, Block = 4)] public partial Dense Hidden { get; }
                [Dense(2)] public partial Dense Out { get; }
            }
            """),
    ];

    /// <summary>The build step's text of a file (as src/Dsl/build/Dsl.targets writes it).</summary>
    internal static AdditionalText Encoded(string path, byte[] bytes) =>
        new InMemoryAdditionalText($"/obj/dsl-weights/{path.Replace('/', '_')}.dslweights", $"{WeightsFile.FormatLine}\n{path}\n{Convert.ToBase64String(bytes)}\n");

    /// <summary>The network's plan, from the generator's own spec step.</summary>
    private static Plan PlanOf(string source)
    {
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(source));
        var spec = (Model.NetworkSpec)driver.GetRunResult().Results.Single().TrackedSteps[NetworkGenerator.SpecStep].Single().Outputs.Single().Value;
        return new Plan(spec);
    }

    /// <summary>Runtime parameters with the plan's tensors, as the generated CreateTensors() declares them.</summary>
    private static Parameters RuntimeParameters(Plan plan) => new(plan.Tensors.Select(t => new TensorInfo(t.Name, t.Shape, TensorInit.Zeros,
        transposeGroups: t.TransposeGroups, kind: t.Buffer ? TensorKind.Buffer : TensorKind.Parameter, fileDType: t.Int64 ? TensorDType.I64 : TensorDType.F32,
        pruning: t.Pruning is { } p ? new PruningTarget(p.Sparsity, p.Block) : null)).ToArray());

    private static byte[] ValidFile(Plan plan, int seed)
    {
        Parameters parameters = RuntimeParameters(plan);
        var rng = new Rng(seed);
        foreach (TensorInfo t in parameters.Tensors)
        {
            Span<float> v = parameters.Value(t);
            for (int i = 0; i < v.Length; i++) v[i] = t.FileDType == TensorDType.I64 ? 7 + seed : rng.NextSingle(0.25f, 1.25f);
        }
        var stream = new MemoryStream();
        SafeTensors.Save(parameters, stream);
        return stream.ToArray();
    }

    private static GeneratorRun Run(string source, params AdditionalText[] files) =>
        GeneratorHarness.Run(GeneratorHarness.Compile(source, UnrelatedSource), additionalTexts: files);

    [Fact]
    public void ValidFile_GivesPretrained_AndTheDataInTheKernelsLayout_CompilingCleanly()
    {
        Plan plan = PlanOf(MlpSource);
        GeneratorRun run = Run(MlpSource, Encoded("weights/tiny.safetensors", ValidFile(plan, 1)));
        run.AssertClean();
        string weights = run.GeneratedSources.Single(s => s.HintName == "Acme.TinyMlp.Weights.g.cs").SourceText.ToString();
        Assert.Contains("public static TinyMlp Pretrained()", weights);
        Assert.Contains("// hidden.weight [8, 4], stored input-major: floats 0..31", weights);
        Assert.Contains("private static global::System.ReadOnlySpan<ulong> CompiledValues => new ulong[]", weights);
    }

    [Theory]
    [InlineData("tiny.safetensors")]
    [InlineData("./weights/tiny.safetensors")]
    [InlineData("weights\\tiny.safetensors")]
    public void TheWeightsArgument_MatchesThePathOrTheFileName(string written)
    {
        string source = MlpSource.Replace("\"weights/tiny.safetensors\"", "@\"" + written + "\"");
        Plan plan = PlanOf(MlpSource);
        Run(source, Encoded("weights/tiny.safetensors", ValidFile(plan, 1))).AssertClean();
    }

    [Fact]
    public void FileNotInTheBuild_IsDsl0013_OnTheWeightsArgument()
    {
        GeneratorRun run = Run(MlpSource, Encoded("weights/other.safetensors", [1, 2, 3]));
        Diagnostic d = Assert.Single(run.DslDiagnostics);
        Assert.Equal("DSL0013", d.Id);
        Assert.Equal("Weights = \"weights/tiny.safetensors\"", run.SpanText(d));
        Assert.Contains("<DslWeights Include=\"weights/tiny.safetensors\" />", GeneratorRun.Message(d));
        // The network itself is still generated; only Pretrained() is missing, and the DSL error fails the build.
        Assert.Contains(run.GeneratedSources, s => s.HintName == "Acme.TinyMlp.g.cs");
        Assert.DoesNotContain(run.GeneratedSources, s => s.HintName.EndsWith(".Weights.g.cs", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Mismatches => new()
    {
        { "shape", "has tensor 'hidden.weight' with shape [4, 8], expected [8, 4]." },
        { "dtype", "has tensor 'out.bias' with dtype F64, expected F32 (the only float dtype supported)." },
        { "missing", "does not match the model: missing tensors 'out.bias'; unexpected tensors 'out.bia2'." },
        { "truncated", "is truncated: expected" },
        { "trailing", "unexpected bytes after the tensor data" },
        { "not-json", "has a header that is not a JSON object." },
        { "encoding", "was encoded incompletely by the build step; rebuild" },
        { "format", "was not encoded by this version of the Dsl build step" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void FileThatDoesNotFit_IsDsl0014_NamingTheProblem(string mismatch, string expected)
    {
        Plan plan = PlanOf(MlpSource);
        byte[] valid = ValidFile(plan, 2);
        int headerLength = BitConverter.ToInt32(valid, 0);
        string header = System.Text.Encoding.UTF8.GetString(valid, 8, headerLength);
        byte[] WithHeader(string h)
        {
            h = h.PadRight(headerLength);
            Assert.Equal(headerLength, h.Length);
            byte[] copy = (byte[])valid.Clone();
            System.Text.Encoding.UTF8.GetBytes(h).CopyTo(copy, 8);
            return copy;
        }
        string R(string a, string b)
        {
            Assert.Contains(a, header);
            return header.Replace(a, b);
        }
        AdditionalText file = mismatch switch
        {
            "shape" => Encoded("weights/tiny.safetensors", WithHeader(R("\"shape\":[8,4]", "\"shape\":[4,8]"))),
            "dtype" => Encoded("weights/tiny.safetensors", WithHeader(R("\"out.bias\":{\"dtype\":\"F32\"", "\"out.bias\":{\"dtype\":\"F64\""))),
            "missing" => Encoded("weights/tiny.safetensors", WithHeader(R("\"out.bias\"", "\"out.bia2\""))),
            "truncated" => Encoded("weights/tiny.safetensors", valid[..^8]),
            "trailing" => Encoded("weights/tiny.safetensors", [.. valid, 0, 0, 0, 0]),
            "not-json" => Encoded("weights/tiny.safetensors", WithHeader(R("{", "["))),
            "encoding" => new InMemoryAdditionalText("/obj/x.dslweights", $"{WeightsFile.FormatLine}\nweights/tiny.safetensors\n@@not base64@@\n"),
            _ => new InMemoryAdditionalText("/obj/x.dslweights", $"dsl-weights 0\nweights/tiny.safetensors\n{Convert.ToBase64String(valid)}\n"),
        };
        GeneratorRun run = Run(MlpSource, file);
        run.AssertGeneratorDidNotThrow();
        Diagnostic d = Assert.Single(run.DslDiagnostics);
        Assert.Equal("DSL0014", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Equal("Weights = \"weights/tiny.safetensors\"", run.SpanText(d));
        Assert.StartsWith("Network 'TinyMlp': weights file 'weights/tiny.safetensors' ", GeneratorRun.Message(d));
        Assert.Contains(expected, GeneratorRun.Message(d));
    }

    [Fact]
    public void TwoFilesOfTheName_IsDsl0014_AskingForThePath()
    {
        string source = MlpSource.Replace("\"weights/tiny.safetensors\"", "\"tiny.safetensors\"");
        byte[] valid = ValidFile(PlanOf(MlpSource), 3);
        GeneratorRun run = Run(source, Encoded("a/tiny.safetensors", valid), Encoded("b/tiny.safetensors", valid));
        Diagnostic d = Assert.Single(run.DslDiagnostics);
        Assert.Equal("DSL0014", d.Id);
        Assert.Contains("names more than one DslWeights item (a/tiny.safetensors, b/tiny.safetensors)", GeneratorRun.Message(d));
    }

    // ------------------------------------------------------------------ incrementality

    private static readonly IncrementalStepRunReason[] s_reused = [IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged];

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs);

    private static GeneratorRunResult RunTwice(Func<Compilation, Compilation> editSource, Func<AdditionalText, AdditionalText?> editFile)
    {
        Plan plan = PlanOf(MlpSource);
        AdditionalText file = Encoded("weights/tiny.safetensors", ValidFile(plan, 4));
        Compilation compilation = GeneratorHarness.Compile(MlpSource, UnrelatedSource);
        GeneratorDriver driver = GeneratorHarness.CreateDriver(additionalTexts: [file]).RunGenerators(compilation);
        Assert.Equal(3, driver.GetRunResult().GeneratedTrees.Length);
        if (editFile(file) is { } replacement) driver = driver.ReplaceAdditionalText(file, replacement);
        GeneratorRunResult result = driver.RunGenerators(editSource(compilation)).GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return result;
    }

    private static Compilation Edit(Compilation compilation, string path, string oldText, string newText)
    {
        SyntaxTree tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        return compilation.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(tree.GetText().ToString().Replace(oldText, newText), GeneratorHarness.ParseOptions, path: path));
    }

    [Fact]
    public void UnrelatedEdits_RecompileNoWeights()
    {
        GeneratorRunResult result = RunTwice(c => Edit(Edit(c, "Source1.cs", "Twice", "Double"), "Source0.cs", "    [Dense(3)]", "    // the head\n    [Dense(3)]"), _ => null);
        var weights = Outputs(result, NetworkGenerator.WeightsStep).ToList();
        Assert.NotEmpty(weights);
        Assert.All(weights, o => Assert.Contains(o.Reason, s_reused));
    }

    [Fact]
    public void ChangingTheWeightsFile_RecompilesTheWeights_AndNotTheNetwork()
    {
        Plan plan = PlanOf(MlpSource);
        GeneratorRunResult result = RunTwice(c => c, _ => Encoded("weights/tiny.safetensors", ValidFile(plan, 5)));
        var weights = Assert.Single(Outputs(result, NetworkGenerator.WeightsStep));
        Assert.Equal(IncrementalStepRunReason.Modified, weights.Reason);
        Assert.All(Outputs(result, NetworkGenerator.SpecStep), o => Assert.Contains(o.Reason, s_reused));
    }

    // ------------------------------------------------------------------ the fuzzer's files, through the build-time reader

    private const int CasesPerNetwork = 2_500;

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("gpt")]
    [InlineData("pruned")]
    public void MutatedFiles_EndInAProblemOrInTheRuntimeLoadersWeights(string network)
    {
        Plan plan = PlanOf(s_networks.Single(n => n.Name == network).Source);
        int seed = 20_261_205 + Array.FindIndex(s_networks, n => n.Name == network);
        byte[] valid = ValidFile(plan, seed);
        var mutator = new SafeTensorsMutator(valid, seed);
        int accepted = 0, rejected = 0, stricter = 0;
        TimeSpan slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < CasesPerNetwork; i++)
        {
            (string kind, string detail, byte[] file) = mutator.Next(i);
            string where = $"{network} case {i} ({kind}: {detail}, {file.Length} bytes)";
            var caseClock = Stopwatch.StartNew();
            string? problem = null;
            float[] values = [], buffers = [];
            Exception? thrown = Record.Exception(() => problem = CompiledWeights.Build(file, plan.Tensors, plan.ValuesSize, plan.BuffersSize, out values, out buffers));
            slowest = caseClock.Elapsed > slowest ? caseClock.Elapsed : slowest;
            Assert.True(thrown is null, $"{where}: the build-time reader threw {thrown}");

            Parameters runtime = RuntimeParameters(plan);
            Exception? loadFailure = Record.Exception(() => SafeTensors.Load(runtime, new MemoryStream(file, writable: false)));
            Assert.True(loadFailure is null or SafeTensorsException, $"{where}: the runtime loader threw {loadFailure}");
            if (problem is null)
            {
                Assert.True(loadFailure is null, $"{where}: compiled in, but the runtime loader rejects it: {loadFailure?.Message}");
                Assert.True(MemoryMarshal.AsBytes(values.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(runtime.Values)), $"{where}: the compiled-in values differ from the loaded ones.");
                Assert.True(MemoryMarshal.AsBytes(buffers.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(runtime.Buffers)), $"{where}: the compiled-in buffers differ from the loaded ones.");
                accepted++;
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(problem), where);
                // The two readers must agree: a file the runtime loads is never refused at build time.
                if (loadFailure is null)
                {
                    stricter++;
                    if (stricter <= 5) output.WriteLine($"  stricter: {where}: {problem}");
                }
                rejected++;
            }
        }
        output.WriteLine($"{network}: {CasesPerNetwork} mutated files in {clock.Elapsed.TotalSeconds:F2} s: {accepted} compiled in (identical to the runtime loader's weights), {rejected} rejected with a problem ({stricter} of them loaded at run time); slowest {slowest.TotalMilliseconds:F1} ms.");
        Assert.True(accepted >= CasesPerNetwork / 20, $"only {accepted} files were accepted");
        Assert.True(rejected >= CasesPerNetwork / 2, $"only {rejected} files were rejected");
        Assert.True(stricter == 0, $"{stricter} files the runtime loads were refused at build time");
    }
}
