using System.Collections.Generic;
using System.Linq;

namespace Dsl.Generator.Tests;

/// <summary>
/// Malformed declarations (most of which the compiler rejects too): the generator must never throw, and when it
/// reports a Dsl error it generates nothing. Valid oddities must generate code that compiles cleanly.
/// </summary>
public class RobustnessTests
{
    private static readonly Dictionary<string, string> s_malformed = new()
    {
        ["WrongArgumentType"] = Net("[Network(Input = 4)]", "[Dense(\"ten\")] public partial Dense Out { get; }"),
        ["WrongArgumentTypeBetweenLayers"] = Net("[Network(Input = 4)]",
            "[Dense(8)] public partial Dense A { get; }",
            "[Dense(\"ten\")] public partial Dense B { get; }",
            "[Dense(3)] public partial Dense C { get; }"),
        ["NoArguments"] = Net("[Network(Input = 4)]", "[Dense] public partial Dense Out { get; }"),
        ["MissingInput"] = Net("[Network]", "[Dense(3)] public partial Dense Out { get; }"),
        ["InputOfWrongType"] = Net("[Network(Input = \"x\")]", "[Dense(3)] public partial Dense Out { get; }"),
        ["NegativeInput"] = Net("[Network(Input = -3)]", "[Dense(3)] public partial Dense Out { get; }"),
        ["NegativeUnits"] = Net("[Network(Input = 4)]", "[Dense(-5)] public partial Dense Out { get; }"),
        ["UndefinedActivation"] = Net("[Network(Input = 4)]", "[Dense(3, (Activation)42)] public partial Dense Out { get; }"),
        ["NegativeActivation"] = Net("[Network(Input = 4)]", "[Dense(3, (Activation)(-1))] public partial Dense Out { get; }"),
        ["NonPartialProperty"] = Net("[Network(Input = 4)]", "[Dense(3)] public Dense Out { get; } = null!;"),
        ["Field"] = Net("[Network(Input = 4)]", "[Dense(3)] public Dense Out = null!;"),
        ["Method"] = Net("[Network(Input = 4)]", "[Dense(3)] public Dense Out() => null!;"),
        ["StaticProperty"] = Net("[Network(Input = 4)]", "[Dense(3)] public static partial Dense Out { get; }"),
        ["PropertyWithSetter"] = Net("[Network(Input = 4)]", "[Dense(3)] public partial Dense Out { get; set; }"),
        ["SetterOnly"] = Net("[Network(Input = 4)]", "[Dense(3)] public partial Dense Out { set; }"),
        ["Indexer"] = Net("[Network(Input = 4)]", "[Dense(3)] public partial Dense this[int i] { get; }"),
        ["PropertyOfTypeInt"] = Net("[Network(Input = 4)]", "[Dense(3)] public partial int Out { get; }"),
        ["PropertyOfUnknownType"] = Net("[Network(Input = 4)]", "[Dense(3)] public partial Nope Out { get; }"),
        ["TwoLayerAttributes"] = Net("[Network(Input = 4)]", "[Dense(3)][Dense(4)] public partial Dense Out { get; }"),
        ["DuplicateWeightNames"] = Net("[Network(Input = 4)]",
            "[Dense(8)] public partial Dense FcOut { get; }",
            "[Dense(3)] public partial Dense Fc_Out { get; }"),
        ["GenericClass"] = "using Dsl;\n[Network(Input = 4)] public partial class Net<T> { [Dense(3)] public partial Dense Out { get; } }",
        ["NonPartialClass"] = "using Dsl;\n[Network(Input = 4)] public class Net { [Dense(3)] public partial Dense Out { get; } }",
        ["PartialOnOnlyOnePart"] = "using Dsl;\n[Network(Input = 4)] public partial class Net { [Dense(3)] public partial Dense Out { get; } }\npublic class Net { }",
        ["AbstractClass"] = "using Dsl;\n[Network(Input = 4)] public abstract partial class Net { [Dense(3)] public partial Dense Out { get; } }",
        ["StaticClass"] = "using Dsl;\n[Network(Input = 4)] public static partial class Net { [Dense(3)] public static partial Dense Out { get; } }",
        ["InsideGenericClass"] = "using Dsl;\npublic partial class Outer<T> { [Network(Input = 4)] public partial class Net { [Dense(3)] public partial Dense Out { get; } } }",
        ["InsideClassInsideGenericClass"] = "using Dsl;\npublic partial class Top<T> { public partial class Middle { [Network(Input = 4)] public partial class Net { [Dense(3)] public partial Dense Out { get; } } } }",
        ["NoLayers"] = Net("[Network(Input = 4)]"),
        ["OnStruct"] = "using Dsl;\n[Network(Input = 4)] public partial struct Net { [Dense(3)] public partial Dense Out { get; } }",
        ["OnRecord"] = "using Dsl;\n[Network(Input = 4)] public partial record Net { [Dense(3)] public partial Dense Out { get; } }",
        ["UnfinishedAttribute"] = "using Dsl;\n[Network(Input = 4)] public partial class Net { [Dense(3, ] public partial Dense Out { get; } }",
        ["UnfinishedClass"] = "using Dsl;\n[Network(Input = 4)] public partial class Net { [Dense(3)] public partial Dense",
        ["AttributeOnLocalFunction"] = "using Dsl;\n[Network(Input = 4)] public partial class Net { [Dense(3)] public partial Dense Out { get; } void M() { [Dense(2)] static void Local() { } } }",
    };

    public static IEnumerable<object[]> MalformedCases => s_malformed.Keys.Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void MalformedDeclaration_NeverThrowsAndGeneratesNothingOnError(string name)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        run.AssertGeneratorDidNotThrow();
        Assert.All(run.DslDiagnostics, d => Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, d.Severity));
        if (run.DslDiagnostics.Any())
            Assert.Empty(run.GeneratedSources);
    }

    /// <summary>Which Dsl diagnostics each malformed case gets: documents current behaviour, so a change is noticed.</summary>
    [Theory]
    [InlineData("WrongArgumentType", "")]
    [InlineData("WrongArgumentTypeBetweenLayers", "")]
    [InlineData("NoArguments", "")]
    [InlineData("MissingInput", "DSL0101")]
    [InlineData("InputOfWrongType", "DSL0101")]
    [InlineData("NegativeInput", "DSL0101")]
    [InlineData("NegativeUnits", "DSL0102")]
    [InlineData("UndefinedActivation", "DSL0103")]
    [InlineData("NegativeActivation", "DSL0103")]
    [InlineData("NonPartialProperty", "DSL0003")]
    [InlineData("Field", "DSL0003")]
    [InlineData("Method", "DSL0003")]
    [InlineData("StaticProperty", "DSL0003")]
    [InlineData("PropertyWithSetter", "DSL0003")]
    [InlineData("SetterOnly", "DSL0003")]
    [InlineData("Indexer", "DSL0003")]
    [InlineData("PropertyOfTypeInt", "DSL0004")]
    [InlineData("PropertyOfUnknownType", "DSL0004")]
    [InlineData("TwoLayerAttributes", "DSL0006")]
    [InlineData("DuplicateWeightNames", "DSL0005")]
    [InlineData("GenericClass", "DSL0007")]
    [InlineData("NonPartialClass", "DSL0001")]
    [InlineData("PartialOnOnlyOnePart", "DSL0001")]
    [InlineData("AbstractClass", "DSL0007")]
    [InlineData("StaticClass", "DSL0007,DSL0003")]
    [InlineData("InsideGenericClass", "DSL0007")]
    [InlineData("InsideClassInsideGenericClass", "DSL0007")]
    [InlineData("NoLayers", "DSL0002")]
    [InlineData("OnStruct", "")]
    [InlineData("OnRecord", "")]
    public void MalformedDeclaration_ReportsExpectedIds(string name, string expectedIds)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        Assert.Equal(expectedIds, string.Join(",", run.DslDiagnostics.Select(d => d.Id)));
    }

    /// <summary>
    /// A layer attribute the compiler cannot bind has no known shape: the compiler reports it, and the generator adds
    /// no diagnostic of its own (not a misleading "no layers") and no network with that layer silently left out.
    /// </summary>
    [Theory]
    [InlineData("WrongArgumentType", "CS1503")]
    [InlineData("WrongArgumentTypeBetweenLayers", "CS1503")]
    [InlineData("NoArguments", "CS7036")]
    public void UnboundLayerAttribute_GeneratesNothingAndLeavesTheErrorToTheCompiler(string name, string compilerError)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        run.AssertGeneratorDidNotThrow();
        Assert.Empty(run.DslDiagnostics);
        Assert.Empty(run.GeneratedSources);
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == compilerError);
    }

    public static IEnumerable<object[]> ValidCases => new[]
    {
        new object[] { "SingleLayer", Net("[Network(Input = 1)]", "[Dense(1)] public partial Dense Out { get; }") },
        new object[] { "GlobalNamespace", Net("[Network(Input = 3)]", "[Dense(5, Activation.Sigmoid)] public partial Dense A { get; }", "[Dense(2, Activation.Silu)] public partial Dense B { get; }") },
        new object[] { "KeywordNamedLayers", Net("[Network(Input = 3)]", "[Dense(4)] public partial Dense Event { get; }", "[Dense(4)] public partial Dense Class { get; }", "[Dense(2)] public partial Dense Return { get; }") },
        new object[] { "MixedAccessibility", Net("[Network(Input = 3)]", "[Dense(4)] internal partial Dense A { get; }", "[Dense(4)] private partial Dense B { get; }", "[Dense(4)] protected internal partial Dense C { get; }", "[Dense(2)] private protected partial Dense D { get; }") },
        new object[] { "NoBiasEverywhere", Net("[Network(Input = 9)]", "[Dense(33, Activation.Relu, Bias = false)] public partial Dense A { get; }", "[Dense(7, Bias = false)] public partial Dense B { get; }") },
        new object[] { "ScratchOnHeap", Net("[Network(Input = 2)]", "[Dense(20000, Activation.Relu)] public partial Dense Wide { get; }", "[Dense(2)] public partial Dense Out { get; }") },
        new object[] { "InsideStructAndRecord", "using Dsl;\nnamespace N.M { public partial struct S { public partial record R { [Network(Input = 4)] public sealed partial class Net { [Dense(3, Activation.Softmax)] public partial Dense Out { get; } } } } }" },
        new object[] { "SplitAcrossParts", "using Dsl;\n[Network(Input = 4)] public partial class Net { [Dense(8)] public partial Dense A { get; } }\npublic partial class Net { [Dense(2)] public partial Dense B { get; } }" },
        new object[] { "LayersNamedInputAndOutput", Net("[Network(Input = 4)]", "[Dense(8)] public partial Dense Input { get; }", "[Dense(3)] public partial Dense Output { get; }") },
        new object[] { "LayersNamedLikeKernelLocals", Net("[Network(Input = 4)]", "[Dense(8)] public partial Dense X { get; }", "[Dense(8)] public partial Dense P { get; }", "[Dense(8, Activation.Softmax)] public partial Dense S { get; }", "[Dense(3)] public partial Dense Y { get; }") },
        new object[] { "LayersNamedLikeTrainingLocals", Net("[Network(Input = 4)]", "[Dense(5000, Activation.Gelu)] public partial Dense Scratch { get; }", "[Dense(8)] public partial Dense Batch { get; }", "[Dense(8)] public partial Dense Workspace { get; }", "[Dense(8)] public partial Dense Grads { get; }", "[Dense(8)] public partial Dense InputGradient { get; }", "[Dense(3, Activation.Softmax)] public partial Dense OutputGradient { get; }") },
    };

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void ValidDeclaration_GeneratesCodeThatCompilesWithoutWarnings(string name, string source)
    {
        Assert.NotNull(name);
        GeneratorRun run = GeneratorHarness.Run(source);
        run.AssertClean();
        Assert.Equal(2, run.GeneratedSources.Length);
    }

    private static string Net(string networkAttribute, params string[] members) =>
        $"using Dsl;\n\n{networkAttribute}\npublic partial class Net\n{{\n{string.Join("\n", members.Select(m => "    " + m))}\n}}\n";
}
