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

        // Convolution, pooling, flatten and batch norm.
        ["Conv2DWrongArgumentType"] = Net(Image, "[Conv2D(\"8\", 3)] public partial Conv2D Conv { get; }"),
        ["Conv2DWrongArgumentTypeBeforeFlattenDense"] = Net(Image,
            "[Conv2D(\"8\", 3)] public partial Conv2D Conv { get; }",
            "[Flatten] public partial Flatten Flat { get; }",
            "[Dense(3)] public partial Dense Head { get; }"),
        ["Conv2DMissingKernel"] = Net(Image, "[Conv2D(8)] public partial Conv2D Conv { get; }"),
        ["MaxPool2DNoKernel"] = Net(Image, "[MaxPool2D] public partial MaxPool2D Pool { get; }"),
        ["FlattenWithArgument"] = Net(Image, "[Flatten(3)] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }"),
        ["GlobalAvgPoolWithArgument"] = Net(Image, "[GlobalAvgPool(2)] public partial GlobalAvgPool Pool { get; }"),
        ["StrideOfWrongType"] = Net(Image, "[Conv2D(8, 3, Stride = 1.5)] public partial Conv2D Conv { get; }"),
        ["MomentumAsDouble"] = Net(Image, "[BatchNorm2D(Momentum = 0.1)] public partial BatchNorm2D Norm { get; }"),
        ["CausalAsInt"] = Net("[Network(Channels = 1, Length = 6)]", "[Conv1D(4, 3, Causal = 1)] public partial Conv1D Conv { get; }"),
        ["ActivationOnPool"] = Net(Image, "[MaxPool2D(2, Activation = Activation.Relu)] public partial MaxPool2D Pool { get; }"),
        ["UnknownNamedArgument"] = Net(Image, "[Conv2D(4, 3, Padd = 1)] public partial Conv2D Conv { get; }"),
        ["HeightOfWrongType"] = Net("[Network(Channels = 1, Height = \"6\", Width = 6)]", "[Flatten] public partial Flatten Flat { get; }"),
        ["NegativeChannels"] = Net("[Network(Channels = -1, Height = 4, Width = 4)]", "[Flatten] public partial Flatten Flat { get; }"),
        ["ImageAndSequence"] = Net("[Network(Channels = 1, Height = 4, Width = 4, Length = 16)]", "[Flatten] public partial Flatten Flat { get; }"),
        ["Conv2DOnField"] = Net(Image, "[Conv2D(4, 3)] public Conv2D Conv = null!;"),
        ["Conv2DTypedDense"] = Net(Image, "[Conv2D(4, 3)] public partial Dense Conv { get; }"),
        ["ConvAndBatchNormOnOneMember"] = Net(Image, "[Conv2D(4, 3)][BatchNorm2D] public partial Conv2D Conv { get; }"),
        ["ConvUndefinedActivation"] = Net(Image, "[Conv2D(4, 3, Activation = (Activation)42)] public partial Conv2D Conv { get; }"),
        ["KernelIntMaxValue"] = Net(Image, "[Conv2D(4, int.MaxValue)] public partial Conv2D Conv { get; }"),
        ["PoolPaddingOverflow"] = Net(Image, "[MaxPool2D(int.MaxValue, Padding = 1073741823)] public partial MaxPool2D Pool { get; }"),
        ["ConvPaddingOverflow"] = Net(Image, "[Conv2D(4, 3, Padding = 1073741823)] public partial Conv2D Conv { get; }"),
        ["EpsilonInfinite"] = Net(Image, "[BatchNorm2D(Epsilon = float.PositiveInfinity)] public partial BatchNorm2D Norm { get; }"),
        ["DenseOnImage"] = Net(Image, "[Dense(3)] public partial Dense Head { get; }"),
        ["ErrorsInTwoLayers"] = Net(Image,
            "[Conv2D(4, 3, Stride = 0)] public partial Conv2D Conv { get; }",
            "[BatchNorm2D(Momentum = 2f)] public partial BatchNorm2D Norm { get; }",
            "[Dense(3)] public partial Dense Head { get; }"),

        // Blocks, repeats, residuals and sequence layers.
        ["BlockContainsItself"] = "using Dsl;\n[Network(Input = 4)] public partial class Net { public partial Loop Body { get; } }\n" +
                                  "[Block] public partial class Loop { [Dense(4)] public partial Dense Fc { get; } public partial Loop Again { get; } }",
        ["RepeatZero"] = Net("[Network(Input = 4)]", "[Repeat(0)][Dense(3)] public partial System.Collections.Generic.IReadOnlyList<Dense> Hidden { get; }"),
        ["RepeatNegative"] = Net("[Network(Input = 4)]", "[Repeat(-2)][Dense(3)] public partial System.Collections.Generic.IReadOnlyList<Dense> Hidden { get; }"),
        ["RepeatNotAList"] = Net("[Network(Input = 4)]", "[Repeat(2)][Dense(3)] public partial Dense Hidden { get; }"),
        ["RepeatListOfWrongLayer"] = Net("[Network(Input = 4)]", "[Repeat(2)][Dense(3)] public partial System.Collections.Generic.IReadOnlyList<Conv2D> Hidden { get; }"),
        ["ResidualOnInt"] = Net("[Network(Input = 4)]", "[Residual] public partial int Skip { get; }"),
        ["ResidualOnField"] = Net("[Network(Input = 4)]", "[Residual][Dense(4)] public Dense Skip = null!;"),
        ["ResidualUndefinedNorm"] = Net("[Network(Input = 4)]", "[Residual(Norm = (ResidualNorm)7)][Dense(4)] public partial Dense Skip { get; }"),
        ["GatedWithProjection"] = Net("[Network(Input = 4)]", "[Residual(Gated = true, Shortcut = Shortcut.Projection)][Dense(4)] public partial Dense Skip { get; }"),
        ["GatedChangingShape"] = Net("[Network(Input = 4)]", "[Residual(Gated = true)][Dense(6)] public partial Dense Skip { get; }"),
        ["PreNormOnImage"] = Net(Image, "[Residual(Norm = ResidualNorm.Pre)][Conv2D(1, 3, Padding = 1)] public partial Conv2D Conv { get; }"),
        ["AttentionZeroHeads"] = Net("[Network(Length = 4, Features = 8)]", "[MultiHeadSelfAttention(0)] public partial MultiHeadSelfAttention Attn { get; }"),
        ["AttentionOnImage"] = Net(Image, "[MultiHeadSelfAttention(1)] public partial MultiHeadSelfAttention Attn { get; }"),
        ["AttentionWrongModelDim"] = Net("[Network(Length = 4, Features = 8)]", "[MultiHeadSelfAttention(2, ModelDim = 16)] public partial MultiHeadSelfAttention Attn { get; }"),
        ["EmbeddingNotFirst"] = Net("[Network(Input = 4)]", "[Dense(4)] public partial Dense Fc { get; }", "[Embedding(10, 4)] public partial Embedding Embed { get; }"),
        ["EmbeddingZeroVocabulary"] = Net("[Network(Input = 4)]", "[Embedding(0, 4)] public partial Embedding Embed { get; }"),
        ["NormNegativeEpsilon"] = Net("[Network(Input = 4)]", "[LayerNorm(Epsilon = -1f)] public partial LayerNorm Norm { get; }"),
        ["TokensTwice"] = Net(Image, "[Tokens] public partial Tokens A { get; }", "[Tokens] public partial Tokens B { get; }"),
        ["FeaturesWithChannels"] = Net("[Network(Channels = 2, Length = 4, Features = 8)]", "[Flatten] public partial Flatten Flat { get; }"),
        ["Conv1DOnTokens"] = Net("[Network(Length = 4, Features = 8)]", "[Conv1D(2, 3)] public partial Conv1D Conv { get; }"),
        ["MixtureOnInt"] = Net("[Network(Input = 4)]", "[MixtureOfExperts(Experts = 4)] public partial int Moe { get; }"),
        ["MixtureOnField"] = Net("[Network(Input = 4)]", "[MixtureOfExperts(Experts = 4)] public MixtureOfExperts<Ff> Moe = null!;") + MixtureExpert,
        ["MixtureOfUnknownType"] = Net("[Network(Input = 4)]", "[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Nope> Moe { get; }"),
        ["MixtureOfEmptyBlock"] = Net("[Network(Input = 4)]", "[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Empty> Moe { get; }") +
            "\n[Block] public partial class Empty { }\n",
        ["MixtureAfterBrokenLayer"] = Net("[Network(Input = 4)]", "[Dense(0)] public partial Dense Fc { get; }",
            "[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Ff> Moe { get; }") + MixtureExpert,
        ["MixtureRepeatedNotAList"] = Net("[Network(Input = 4)]", "[Repeat(2), MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Ff> Moe { get; }") + MixtureExpert,
        ["MixtureRepeated"] = Net("[Network(Input = 4)]",
            "[Repeat(2), Residual, MixtureOfExperts(Experts = 4)] public partial System.Collections.Generic.IReadOnlyList<MixtureOfExperts<Ff>> Moe { get; }") + MixtureExpert,
        ["MixtureExpertsAsDouble"] = Net("[Network(Input = 4)]", "[MixtureOfExperts(Experts = 4.5)] public partial MixtureOfExperts<Ff> Moe { get; }") + MixtureExpert,
    };

    private const string MixtureExpert = "\n[Block] public partial class Ff { [Dense(8, Activation.Relu)] public partial Dense fc1 { get; } [Dense(4)] public partial Dense fc2 { get; } }\n";

    private const string Image = "[Network(Channels = 1, Height = 6, Width = 6)]";

    public static IEnumerable<object[]> MalformedCases => s_malformed.Keys.Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void MalformedDeclaration_NeverThrowsAndGeneratesNothingOnError(string name)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        run.AssertGeneratorDidNotThrow();
        Assert.All(run.DslDiagnostics, d => Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, d.Severity));
        // A network with an error gets no code, only its members' stubs; [Block] classes still get their own plumbing.
        if (run.DslDiagnostics.Any())
            Assert.Empty(run.NetworkSources);
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
    [InlineData("Conv2DWrongArgumentType", "")]
    [InlineData("Conv2DWrongArgumentTypeBeforeFlattenDense", "")]
    [InlineData("Conv2DMissingKernel", "")]
    [InlineData("MaxPool2DNoKernel", "")]
    [InlineData("FlattenWithArgument", "")]
    [InlineData("GlobalAvgPoolWithArgument", "")]
    [InlineData("StrideOfWrongType", "")]
    [InlineData("MomentumAsDouble", "")]
    [InlineData("CausalAsInt", "")]
    [InlineData("ActivationOnPool", "")]
    [InlineData("UnknownNamedArgument", "")]
    [InlineData("HeightOfWrongType", "DSL0101")]
    [InlineData("NegativeChannels", "DSL0101")]
    [InlineData("ImageAndSequence", "DSL0109")]
    [InlineData("Conv2DOnField", "DSL0003")]
    [InlineData("Conv2DTypedDense", "DSL0004")]
    [InlineData("ConvAndBatchNormOnOneMember", "DSL0006")]
    [InlineData("ConvUndefinedActivation", "DSL0103")]
    [InlineData("KernelIntMaxValue", "DSL0107,DSL0107")]
    [InlineData("PoolPaddingOverflow", "DSL0110")]
    [InlineData("ConvPaddingOverflow", "DSL0110")]
    [InlineData("EpsilonInfinite", "DSL0108")]
    [InlineData("DenseOnImage", "DSL0104")]
    [InlineData("ErrorsInTwoLayers", "DSL0102,DSL0108")]
    [InlineData("BlockContainsItself", "DSL0009")]
    [InlineData("RepeatZero", "DSL0102")]
    [InlineData("RepeatNegative", "DSL0102")]
    [InlineData("RepeatNotAList", "DSL0010")]
    [InlineData("RepeatListOfWrongLayer", "DSL0004")]
    [InlineData("ResidualOnInt", "DSL0010")]
    [InlineData("ResidualOnField", "DSL0003")]
    [InlineData("ResidualUndefinedNorm", "DSL0010")]
    [InlineData("GatedWithProjection", "DSL0010")]
    [InlineData("GatedChangingShape", "DSL0112")]
    [InlineData("PreNormOnImage", "DSL0112")]
    [InlineData("AttentionZeroHeads", "DSL0102")]
    [InlineData("AttentionOnImage", "DSL0105")]
    [InlineData("AttentionWrongModelDim", "DSL0117")]
    [InlineData("EmbeddingNotFirst", "DSL0118")]
    [InlineData("EmbeddingZeroVocabulary", "DSL0102")]
    [InlineData("NormNegativeEpsilon", "DSL0108")]
    [InlineData("TokensTwice", "DSL0105")]
    [InlineData("FeaturesWithChannels", "DSL0109")]
    [InlineData("Conv1DOnTokens", "DSL0105")]
    [InlineData("MixtureOnInt", "DSL0119")]
    [InlineData("MixtureOnField", "DSL0003")]
    [InlineData("MixtureOfUnknownType", "DSL0119")]
    [InlineData("MixtureOfEmptyBlock", "DSL0010")]
    [InlineData("MixtureAfterBrokenLayer", "DSL0102")]
    [InlineData("MixtureRepeatedNotAList", "DSL0010")]
    [InlineData("MixtureRepeated", "")]
    [InlineData("MixtureExpertsAsDouble", "")]
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
    [InlineData("Conv2DWrongArgumentType", "CS1503")]
    [InlineData("Conv2DWrongArgumentTypeBeforeFlattenDense", "CS1503")]
    [InlineData("Conv2DMissingKernel", "CS7036")]
    [InlineData("MaxPool2DNoKernel", "CS7036")]
    public void UnboundLayerAttribute_GeneratesNothingAndLeavesTheErrorToTheCompiler(string name, string compilerError)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        run.AssertGeneratorDidNotThrow();
        Assert.Empty(run.DslDiagnostics);
        Assert.Empty(run.NetworkSources); // the members' stubs only
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == compilerError);
    }

    /// <summary>
    /// Attributes the compiler rejects but whose layer the generator can still read (an argument to a parameterless
    /// attribute, a named argument of the wrong type or name): the compiler's error is the one the user sees, and the
    /// generator, reporting nothing, generates the network with the option at its default. Documents current
    /// behaviour; the build fails on the compiler's error either way.
    /// </summary>
    [Theory]
    [InlineData("FlattenWithArgument", "CS1729")]
    [InlineData("GlobalAvgPoolWithArgument", "CS1729")]
    [InlineData("StrideOfWrongType", "CS0266")]
    [InlineData("MomentumAsDouble", "CS0664")]
    [InlineData("CausalAsInt", "CS0029")]
    [InlineData("ActivationOnPool", "CS0246")]
    [InlineData("UnknownNamedArgument", "CS0246")]
    public void RejectedAttributeOption_LeavesTheErrorToTheCompiler(string name, string compilerError)
    {
        GeneratorRun run = GeneratorHarness.Run(s_malformed[name]);
        run.AssertGeneratorDidNotThrow();
        Assert.Empty(run.DslDiagnostics);
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == compilerError);
        Assert.DoesNotContain(run.OutputProblems, d => d.Location.SourceTree?.FilePath.EndsWith(".g.cs", System.StringComparison.Ordinal) == true);
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
        // Convolution, pooling, flatten and batch norm.
        new object[] { "FlattenDenseOnImage", Net("[Network(Channels = 3, Height = 4, Width = 5)]", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "OnlyFlatten", Net("[Network(Channels = 2, Length = 3)]", "[Flatten] public partial Flatten Flat { get; }") },
        new object[] { "FlattenLast", Net("[Network(Channels = 1, Height = 6, Width = 5)]", "[Conv2D(2, 3, Activation = Activation.Tanh)] public partial Conv2D Conv { get; }", "[Flatten] public partial Flatten Flat { get; }") },
        new object[] { "TwoFlattens", Net("[Network(Channels = 2, Height = 3, Width = 3)]", "[Flatten] public partial Flatten F1 { get; }", "[Flatten] public partial Flatten F2 { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "GlobalAvgPoolOnSequence", Net("[Network(Channels = 3, Length = 7)]", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }", "[Dense(2, Activation.Softmax)] public partial Dense Head { get; }") },
        new object[] { "GlobalAvgPoolLast", Net("[Network(Channels = 1, Height = 5, Width = 5)]", "[Conv2D(3, 3)] public partial Conv2D Conv { get; }", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }") },
        new object[] { "BatchNorm1DFirstOnFlat", Net("[Network(Input = 6)]", "[BatchNorm1D(Activation = Activation.Relu)] public partial BatchNorm1D Norm { get; }", "[Dense(3)] public partial Dense Head { get; }") },
        new object[] { "OnlyBatchNorm2D", Net("[Network(Channels = 2, Height = 3, Width = 3)]", "[BatchNorm2D(Momentum = 0f, Epsilon = 1e-3f)] public partial BatchNorm2D Norm { get; }") },
        new object[] { "BatchNorm1DOnSequenceWithGelu", Net("[Network(Channels = 2, Length = 9)]", "[BatchNorm1D(Momentum = 1f, Activation = Activation.Gelu)] public partial BatchNorm1D Norm { get; }", "[MaxPool1D(3, Stride = 2, Padding = 1)] public partial MaxPool1D Pool { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "FoldedConvBatchNormLast", Net("[Network(Channels = 1, Height = 6, Width = 5)]", "[Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }", "[BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }") },
        new object[] { "FoldedConv1DBatchNorm1DLast", Net("[Network(Channels = 2, Length = 8)]", "[Conv1D(3, 3, Causal = true)] public partial Conv1D Conv { get; }", "[BatchNorm1D] public partial BatchNorm1D Norm { get; }") },
        new object[] { "FoldedWithBiasAndGroups", Net("[Network(Channels = 4, Height = 5, Width = 5)]", "[Conv2D(6, 3, Groups = 2, Padding = 1)] public partial Conv2D Conv { get; }", "[BatchNorm2D(Activation = Activation.Silu)] public partial BatchNorm2D Norm { get; }", "[AvgPool2D(2, Padding = 1)] public partial AvgPool2D Pool { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(3)] public partial Dense Head { get; }") },
        new object[] { "TwoFoldedPairs", Net("[Network(Channels = 1, Height = 8, Width = 8)]", "[Conv2D(4, 3, Bias = false)] public partial Conv2D C1 { get; }", "[BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D N1 { get; }", "[Conv2D(4, 3, Bias = false)] public partial Conv2D C2 { get; }", "[BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D N2 { get; }", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "BatchNormAfterActivatedConvIsNotFolded", Net("[Network(Channels = 1, Height = 6, Width = 6)]", "[Conv2D(4, 3, Activation = Activation.Relu)] public partial Conv2D Conv { get; }", "[BatchNorm2D] public partial BatchNorm2D Norm { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "Depthwise", Net("[Network(Channels = 4, Height = 5, Width = 5)]", "[Conv2D(4, 3, Groups = 4, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Depthwise { get; }", "[Conv2D(8, 1)] public partial Conv2D Pointwise { get; }", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "DepthwiseFirstLayerConv1D", Net("[Network(Channels = 3, Length = 10)]", "[Conv1D(6, 3, Groups = 3, Dilation = 2, Causal = true, Activation = Activation.Gelu)] public partial Conv1D Conv { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "OneByOneConv", Net("[Network(Channels = 3, Height = 4, Width = 4)]", "[Conv2D(5, 1, Activation = Activation.Sigmoid)] public partial Conv2D Mix { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "OneByOneConvWithStrideAndPadding", Net("[Network(Channels = 2, Height = 5, Width = 5)]", "[Conv2D(3, 1, Stride = 2, Padding = 1)] public partial Conv2D Mix { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "StrideLargerThanKernel", Net("[Network(Channels = 2, Height = 9, Width = 8)]", "[Conv2D(3, 2, Stride = 3)] public partial Conv2D Conv { get; }", "[MaxPool2D(2, Stride = 3)] public partial MaxPool2D Pool { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "Conv1DStrideLargerThanKernel", Net("[Network(Channels = 1, Length = 11)]", "[Conv1D(2, 2, Stride = 4, Padding = 1)] public partial Conv1D Conv { get; }", "[MaxPool1D(2, Stride = 3)] public partial MaxPool1D Pool { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "KernelAsLargeAsThePaddedInput", Net("[Network(Channels = 1, Height = 3, Width = 3)]", "[Conv2D(2, 5, Padding = 1)] public partial Conv2D Conv { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "TapsThatOnlyReadPadding", Net("[Network(Channels = 1, Height = 2, Width = 2)]", "[Conv2D(2, 5, Padding = 3, Stride = 3)] public partial Conv2D Conv { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "WideConvOnTheHeap", Net("[Network(Channels = 3, Height = 64, Width = 64)]", "[Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D Conv { get; }", "[BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Norm { get; }", "[MaxPool2D(4)] public partial MaxPool2D Pool { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(10, Activation.Softmax)] public partial Dense Head { get; }") },
        new object[] { "LayersNamedLikeConvLocals", Net("[Network(Channels = 1, Height = 6, Width = 6)]", "[Conv2D(4, 3)] public partial Conv2D Cols { get; }", "[BatchNorm2D] public partial BatchNorm2D Pixels { get; }", "[MaxPool2D(2)] public partial MaxPool2D Fold { get; }", "[Conv2D(2, 1)] public partial Conv2D ColumnGradient { get; }", "[BatchNorm2D] public partial BatchNorm2D Buffers { get; }", "[Flatten] public partial Flatten Xs { get; }", "[Dense(3)] public partial Dense Dys { get; }", "[Dense(3)] public partial Dense Dxs { get; }", "[Dense(3)] public partial Dense Ys { get; }") },
        new object[] { "LayersNamedLikeTrainingLocals", Net("[Network(Input = 4)]", "[Dense(5000, Activation.Gelu)] public partial Dense Scratch { get; }", "[Dense(8)] public partial Dense Batch { get; }", "[Dense(8)] public partial Dense Workspace { get; }", "[Dense(8)] public partial Dense Grads { get; }", "[Dense(8)] public partial Dense InputGradient { get; }", "[Dense(3, Activation.Softmax)] public partial Dense OutputGradient { get; }") },
        // Blocks, repeats, residuals and sequence layers.
        new object[] { "BlockMemberWithoutAttribute", "using Dsl;\n[Network(Input = 4)] public partial class Net { public partial Body Main { get; } [Dense(2)] public partial Dense Head { get; } }\n" +
                                                      "[Block] public partial class Body { [Dense(4, Activation.Relu)] public partial Dense Fc { get; } }" },
        new object[] { "ResidualFirstAndLast", Net("[Network(Input = 4)]", "[Residual][Dense(4, Activation.Tanh)] public partial Dense First { get; }", "[Residual(Norm = ResidualNorm.Post, NormKind = NormKind.RMSNorm)][Dense(4)] public partial Dense Last { get; }") },
        new object[] { "ResidualsBackToBack", "using Dsl;\n[Network(Input = 4)] public partial class Net { [Residual] public partial Outer A { get; } }\n" +
                                              "[Block] public partial class Outer { [Residual][Dense(4, Activation.Relu)] public partial Dense Inner { get; } [Residual(Gated = true)][Dense(4)] public partial Dense Gate { get; } }" },
        new object[] { "IdentityResidualOnConvolution", Net(Image, "[Residual][Conv2D(1, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D Conv { get; }", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }") },
        new object[] { "TokensWithEverything", Net("[Network(Channels = 3, Height = 2, Width = 3)]", "[Tokens] public partial Tokens Tok { get; }", "[PositionalEmbedding] public partial PositionalEmbedding Pos { get; }",
            "[Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(3, Causal = true, Bias = false)] public partial MultiHeadSelfAttention Attn { get; }", "[Residual][Dense(5, Activation.GeluTanh)] public partial Dense Widen { get; }",
            "[Residual(Gated = true)][Dense(5, Activation.Silu)] public partial Dense Gate { get; }", "[Dense(4, Activation.Softmax)] public partial Dense PerToken { get; }", "[Flatten] public partial Flatten Flat { get; }") },
        new object[] { "SingleTokenSingleHead", Net("[Network(Length = 1, Features = 3)]", "[MultiHeadSelfAttention(1)] public partial MultiHeadSelfAttention Attn { get; }") },
        new object[] { "EmbeddingThenPool", Net("[Network(Input = 5)]", "[Embedding(7, 6)] public partial Embedding Embed { get; }", "[LayerNorm(6)] public partial LayerNorm Norm { get; }", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }") },
        new object[] { "LayersNamedLikeAttentionLocals", Net("[Network(Length = 2, Features = 4)]", "[MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention Attention { get; }", "[Dense(4)] public partial Dense Q { get; }", "[Dense(4)] public partial Dense Head { get; }", "[Dense(4)] public partial Dense Transposed { get; }") },
        new object[] { "DeepRepeatedResidual", "using Dsl;\nusing System.Collections.Generic;\n[Network(Input = 8)] public partial class Net { [Repeat(64)][Residual][Dense(8, Activation.Tanh)] public partial IReadOnlyList<Dense> Hidden { get; } }" },
    };

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void ValidDeclaration_GeneratesCodeThatCompilesWithoutWarnings(string name, string source)
    {
        Assert.NotNull(name);
        GeneratorRun run = GeneratorHarness.Run(source);
        run.AssertClean();
        Assert.Equal(2, run.GeneratedSources.Count(s => !s.HintName.EndsWith(".Block.g.cs", System.StringComparison.Ordinal)));
    }

    private static string Net(string networkAttribute, params string[] members) =>
        $"using Dsl;\n\n{networkAttribute}\npublic partial class Net\n{{\n{string.Join("\n", members.Select(m => "    " + m))}\n}}\n";
}
