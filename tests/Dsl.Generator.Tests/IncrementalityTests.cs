using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dsl.Generator.Tests;

/// <summary>
/// The pipeline caches: edits that leave a network's spec equal re-emit nothing, a real change does, and no
/// step output keeps a compilation, symbol or syntax node alive (which would defeat caching and leak memory).
/// </summary>
public class IncrementalityTests
{
    private const string NetworkSource = """
        using Dsl;

        namespace Acme;

        [Network(Input = 4)]
        public partial class TinyMlp
        {
            [Dense(8, Activation.Relu)] public partial Dense Hidden { get; }
            [Dense(3)] public partial Dense Out { get; }
        }
        """;

    private const string CnnSource = """
        using Dsl;

        namespace Acme;

        [Network(Channels = 1, Height = 8, Width = 8)]
        public partial class TinyCnn
        {
            [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }
            [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }
            [MaxPool2D(2)] public partial MaxPool2D Pool { get; }
            [Flatten] public partial Flatten Flat { get; }
            [Dense(3)] public partial Dense Head { get; }
        }
        """;

    private const string UnrelatedSource = """
        namespace Acme;

        public static class Helpers
        {
            public static int Twice(int x) => 2 * x;
        }
        """;

    private static readonly IncrementalStepRunReason[] s_reused = { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged };

    [Fact]
    public void AddingAnUnrelatedSyntaxTree_ReemitsNothing()
    {
        GeneratorRunResult result = RunTwice(c => c.AddSyntaxTrees(Parse("// new file\nnamespace Acme; class Unrelated { }", "Unrelated.cs")));
        AssertReused(result);
    }

    [Fact]
    public void CommentInAnotherSyntaxTree_ReemitsNothing()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source1.cs", "public static class Helpers", "// helpers\npublic static class Helpers"));
        AssertReused(result);
    }

    [Fact]
    public void CommentInsideTheNetworkClass_ReemitsNothing()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", "    [Dense(3)]", "    // the head\n    [Dense(3)]"));
        // The network's tree changed, so its [Network] class was parsed again, to an equal result.
        Assert.All(Outputs(result, NetworkGenerator.ParseStep), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        AssertReused(result);
    }

    [Fact]
    public void UnrelatedMemberInsideTheNetworkClass_ReemitsNothing()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", "    [Dense(3)]", "    public override string ToString() => \"tiny\";\n    [Dense(3)]"));
        AssertReused(result);
    }

    [Fact]
    public void ChangingLayerUnits_ModifiesSpecAndReemits()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", "[Dense(8, ", "[Dense(9, "));
        var spec = Assert.Single(Outputs(result, NetworkGenerator.SpecStep));
        Assert.Equal(IncrementalStepRunReason.Modified, spec.Reason);
        Assert.Equal(9, ((Model.NetworkSpec)spec.Value).Layers[0].Outputs);
        Assert.Contains(SourceOutputs(result), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public const int Outputs = 9;", result.GeneratedSources.Single(s => s.HintName == "Acme.TinyMlp.g.cs").SourceText.ToString());
    }

    [Fact]
    public void Cnn_CommentInsideTheNetworkClass_ReemitsNothing()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", "    [MaxPool2D(2)]", "    // halve the resolution\n    [MaxPool2D(2)]"), CnnSource);
        Assert.All(Outputs(result, NetworkGenerator.ParseStep), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        AssertReused(result);
    }

    [Fact]
    public void Cnn_UnrelatedMemberAndReformattedAttribute_ReemitNothing()
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", "[Conv2D(4, 3, Padding = 1, Bias = false)]",
            "public int Epochs => 3;\n    [Conv2D(4, 3, Bias = false, Padding = 1)]"), CnnSource);
        AssertReused(result);
    }

    [Theory]
    [InlineData("Padding = 1, Bias = false", "Padding = 0, Bias = false")]
    [InlineData("[MaxPool2D(2)]", "[MaxPool2D(2, Stride = 1)]")]
    [InlineData("Activation = Activation.Relu", "Activation = Activation.Relu, Momentum = 0.2f")]
    [InlineData("Activation = Activation.Relu", "Activation = Activation.Relu, Epsilon = 1e-3f")]
    [InlineData("Channels = 1, Height = 8, Width = 8", "Channels = 1, Height = 8, Width = 10")]
    public void Cnn_ChangingAnOption_ModifiesSpecAndReemits(string oldText, string newText)
    {
        GeneratorRunResult result = RunTwice(c => Edit(c, "Source0.cs", oldText, newText), CnnSource);
        var spec = Assert.Single(Outputs(result, NetworkGenerator.SpecStep));
        Assert.Equal(IncrementalStepRunReason.Modified, spec.Reason);
        Assert.Contains(SourceOutputs(result), o => o.Reason == IncrementalStepRunReason.Modified);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrackedStepOutputs_HoldNoCompilationSymbolOrSyntax(bool cnn)
    {
        // Both a first run (everything New) and a rerun after an edit (Modified), so every step produced values.
        Compilation compilation = GeneratorHarness.Compile(cnn ? CnnSource : NetworkSource, UnrelatedSource);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        GeneratorRunResult first = driver.GetRunResult().Results.Single();
        GeneratorRunResult second = driver.RunGenerators(Edit(compilation, "Source0.cs", "[Dense(3)]", "[Dense(5)]")).GetRunResult().Results.Single();

        var walked = new HashSet<string>();
        foreach (GeneratorRunResult result in new[] { first, second })
        {
            // Every step but Roslyn's own (its input nodes and ForAttributeWithMetadataName's internals legitimately
            // hold compilations and syntax); any step the generator adds later is walked too.
            var steps = result.TrackedSteps.Where(s => !IsRoslynStep(s.Key)).Concat(result.TrackedOutputSteps);
            foreach (KeyValuePair<string, System.Collections.Immutable.ImmutableArray<IncrementalGeneratorRunStep>> step in steps)
            {
                walked.Add(step.Key);
                foreach (IncrementalGeneratorRunStep run in step.Value)
                    foreach ((object value, IncrementalStepRunReason _) in run.Outputs)
                        AssertHoldsNoRoslynObjects(value, step.Key, new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
        Assert.Contains(NetworkGenerator.ParseStep, walked);
        Assert.Contains(NetworkGenerator.SpecStep, walked);
        Assert.Contains(WellKnownGeneratorOutputs.SourceOutput, walked);
    }

    private static readonly HashSet<string> s_roslynInputSteps = new()
    {
        "Compilation", "CompilationOptions", "ParseOptions", "AdditionalTexts", "SyntaxTrees", "AnalyzerConfigOptions", "MetadataReferences",
    };

    private static bool IsRoslynStep(string name) =>
        s_roslynInputSteps.Contains(name) || name.Contains("_ForAttribute", StringComparison.Ordinal);

    private static GeneratorRunResult RunTwice(Func<Compilation, Compilation> edit, string networkSource = NetworkSource)
    {
        Compilation compilation = GeneratorHarness.Compile(networkSource, UnrelatedSource);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        Assert.Equal(2, driver.GetRunResult().GeneratedTrees.Length);
        Compilation edited = edit(compilation);
        Assert.NotSame(compilation, edited);
        GeneratorRunResult result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        Assert.Equal(2, result.GeneratedSources.Length);
        return result;
    }

    private static void AssertReused(GeneratorRunResult result)
    {
        var spec = Outputs(result, NetworkGenerator.SpecStep).ToList();
        Assert.NotEmpty(spec);
        Assert.All(spec, o => Assert.Contains(o.Reason, s_reused));
        var sources = SourceOutputs(result).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, o => Assert.Contains(o.Reason, s_reused));
    }

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs);

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> SourceOutputs(GeneratorRunResult result) =>
        result.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(s => s.Outputs);

    private static SyntaxTree Parse(string source, string path) => CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions, path: path);

    private static Compilation Edit(Compilation compilation, string path, string oldText, string newText)
    {
        SyntaxTree tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        string text = tree.GetText().ToString();
        Assert.Contains(oldText, text);
        return compilation.ReplaceSyntaxTree(tree, Parse(text.Replace(oldText, newText), path));
    }

    private static readonly Type[] s_banned = { typeof(Compilation), typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(SemanticModel), typeof(Location) };

    private static void AssertHoldsNoRoslynObjects(object? value, string path, HashSet<object> visited)
    {
        if (value is null) return;
        Type type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || value is string || value is decimal) return;
        foreach (Type banned in s_banned)
            Assert.False(banned.IsInstanceOfType(value), $"Step output {path} holds a {type} (a {banned.Name}), which defeats caching.");
        if (!type.IsValueType && !visited.Add(value)) return;

        if (value is Array array)
        {
            for (int i = 0; i < array.Length; i++) AssertHoldsNoRoslynObjects(array.GetValue(i), $"{path}[{i}]", visited);
            return;
        }
        for (Type? t = type; t is not null && t != typeof(object); t = t.BaseType)
            foreach (FieldInfo field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (!field.FieldType.IsPointer && !field.FieldType.IsByRefLike)
                    AssertHoldsNoRoslynObjects(field.GetValue(value), $"{path}.{field.Name}", visited);
    }
}
