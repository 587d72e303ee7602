using System.Linq;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Tests;

/// <summary>One test per diagnostic id: id, severity, message and where it points.</summary>
public class DiagnosticTests
{
    [Fact]
    public void ClassNotPartial_ReportsDSL0001OnTheClassName()
    {
        Diagnostic d = SingleDiagnostic("DSL0001", """
            using Dsl;

            [Network(Input = 4)]
            public class Net
            {
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Net' must be declared 'partial' so the generator can add its forward and backward code", GeneratorRun.Message(d));
        Assert.Equal("Net", run.SpanText(d));
    }

    [Fact]
    public void BFloat16WithAConvolution_ReportsDSL0015OnTheWeightType_PerLayer()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Channels = 1, Height = 8, Width = 8, WeightType = WeightType.BFloat16)]
            public partial class Net
            {
                [Conv2D(4, 3)] public partial Conv2D Conv { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(10)] public partial Dense Out { get; }
            }
            """);
        Diagnostic[] found = run.DslDiagnostics.ToArray();
        Assert.Equal(new[] { "DSL0015", "DSL0015" }, found.Select(d => d.Id));
        Assert.All(found, d => Assert.Equal(DiagnosticSeverity.Error, d.Severity));
        Assert.Equal("Network 'Net': layer 'Conv' (Conv2D) cannot read bfloat16 weights; WeightType.BFloat16 covers dense layers on a flat input (not pruned) and dropout today; declare the network without it", GeneratorRun.Message(found[0]));
        Assert.Equal("Network 'Net': layer 'Flat' (Flatten) cannot read bfloat16 weights; WeightType.BFloat16 covers dense layers on a flat input (not pruned) and dropout today; declare the network without it", GeneratorRun.Message(found[1]));
        Assert.All(found, d => Assert.Equal("WeightType = WeightType.BFloat16", run.SpanText(d)));
    }

    [Fact]
    public void BFloat16DenseAndDropout_ReportNothing()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 8, WeightType = WeightType.BFloat16)]
            public partial class Net
            {
                [Dense(16, Activation.Relu)] public partial Dense Hidden { get; }
                [Dropout(0.5)] public partial Dropout Drop { get; }
                [Dense(3, Bias = false)] public partial Dense Out { get; }
            }
            """);
        run.AssertClean();
    }

    [Fact]
    public void NoLayers_ReportsDSL0002OnTheClassName()
    {
        Diagnostic d = SingleDiagnostic("DSL0002", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Empty
            {
                public Dense? NotALayer { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Empty' declares no layers: add members such as '[Dense(10)] public partial Dense Head { get; }'", GeneratorRun.Message(d));
        Assert.Equal("Empty", run.SpanText(d));
    }

    [Fact]
    public void LayerWithSetter_ReportsDSL0003OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0003", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3)] public partial Dense Out { get; set; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Out' must be an instance property declared 'partial' with only a getter, e.g. 'public partial Dense Out { get; }'", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Fact]
    public void LayerOfWrongType_ReportsDSL0004OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0004", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3)] public partial int Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Out' is marked [Dense] so its type must be 'Dsl.Dense', but it is 'int'", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Fact]
    public void DuplicateWeightName_ReportsDSL0005OnTheSecondLayersAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0005", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(8)] public partial Dense FcOut { get; }
                [Dense(3)] public partial Dense Fc_Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Fc_Out' has weight name 'fc_out', which layer 'FcOut' already uses", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Fact]
    public void TwoLayerAttributes_ReportsDSL0006OnTheSecondAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0006", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(8)] public partial Dense Hidden { get; }
                [Dense(3), Dense(4)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Member 'Out' has more than one layer attribute; a member declares exactly one layer", GeneratorRun.Message(d));
        Assert.Equal("Dense(4)", run.SpanText(d));
    }

    [Fact]
    public void GenericClass_ReportsDSL0007OnTheClassName()
    {
        Diagnostic d = SingleDiagnostic("DSL0007", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net<T>
            {
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Net' cannot be generated: generic classes are not supported", GeneratorRun.Message(d));
        Assert.Equal("Net", run.SpanText(d));
    }

    [Fact]
    public void NonPartialContainingType_ReportsDSL0007OnTheClassName()
    {
        Diagnostic d = SingleDiagnostic("DSL0007", """
            using Dsl;

            public class Outer
            {
                [Network(Input = 4)]
                public partial class Net
                {
                    [Dense(3)] public partial Dense Out { get; }
                }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Net' cannot be generated: its containing type 'Outer' must be a non-generic partial type", GeneratorRun.Message(d));
        Assert.Equal("Net", run.SpanText(d));
    }

    [Fact]
    public void NestedInGenericClass_ReportsDSL0007OnceNamingTheGenericType()
    {
        Diagnostic d = SingleDiagnostic("DSL0007", """
            using Dsl;

            public partial class Top<T>
            {
                public partial class Middle
                {
                    [Network(Input = 4)]
                    public partial class Net
                    {
                        [Dense(3)] public partial Dense Out { get; }
                    }
                }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Net' cannot be generated: its containing type 'Top' must be a non-generic partial type", GeneratorRun.Message(d));
        Assert.Equal("Net", run.SpanText(d));
    }

    [Fact]
    public void InputZero_ReportsDSL0101OnTheNetworkAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0101", """
            using Dsl;

            [Network(Input = 0)]
            public partial class Net
            {
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Network 'Net' needs a positive input size, e.g. [Network(Input = 784)], but found 0", GeneratorRun.Message(d));
        Assert.Equal("Network(Input = 0)", run.SpanText(d));
    }

    [Fact]
    public void LayerNamedLikeAGeneratedMember_ReportsDSL0008OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0008", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3)] public partial Dense Summary { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Summary' clashes with the generated member 'Summary'; rename the layer", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Fact]
    public void LayerWhoseKernelClassNameIsTaken_ReportsDSL0008()
    {
        Diagnostic d = SingleDiagnostic("DSL0008", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3)] public partial Dense Head { get; }
                private sealed class HeadKernels { }
            }
            """, out _);
        Assert.Contains("'HeadKernels'", GeneratorRun.Message(d));
    }

    [Fact]
    public void LayersWhoseDerivedLocalsCollide_ReportDSL0008()
    {
        // 'DHead' is the local of layer DHead and also the gradient local derived from layer Head.
        Diagnostic d = SingleDiagnostic("DSL0008", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3)] public partial Dense DHead { get; }
                [Dense(2)] public partial Dense Head { get; }
            }
            """, out _);
        Assert.Contains("dHead", GeneratorRun.Message(d));
    }

    [Fact]
    public void HugeDenseLayer_ReportsDSL0110InsteadOfRunningOutOfMemory()
    {
        Diagnostic d = SingleDiagnostic("DSL0110", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(int.MaxValue)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("'Out': the output has 2,147,483,647 values, more than the 67,108,864 the generator supports", GeneratorRun.Message(d));
        Assert.Equal("Dense(int.MaxValue)", run.SpanText(d));
    }

    [Fact]
    public void DilationNearIntMax_ReportsDSL0107RatherThanWrapping()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Channels = 1, Height = 6, Width = 6)]
            public partial class Net
            {
                [Conv2D(2, 3, Dilation = int.MaxValue)] public partial Conv2D Conv { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(2)] public partial Dense Out { get; }
            }
            """);
        // One per axis; the dilated span is computed without wrapping: 2 * (2^31 - 1) + 1.
        Assert.Equal(new[] { "DSL0107", "DSL0107" }, run.DslDiagnostics.Select(d => d.Id));
        Assert.All(run.DslDiagnostics, d => Assert.Contains("4,294,967,295", GeneratorRun.Message(d)));
    }

    [Fact]
    public void LayerUnitsZero_ReportsDSL0102OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0102", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(0)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Out': units must be positive, but is 0", GeneratorRun.Message(d));
        Assert.Equal("Dense(0)", run.SpanText(d));
    }

    [Fact]
    public void UndefinedActivation_ReportsDSL0103OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0103", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(3, (Activation)42)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Out': activation 42 is not supported here: it is not a member of Dsl.Activation", GeneratorRun.Message(d));
        Assert.Equal("Dense(3, (Activation)42)", run.SpanText(d));
    }

    [Fact]
    public void SoftmaxOverOneUnit_ReportsDSL0103OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0103", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(1, Activation.Softmax)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Out': activation Softmax is not supported here: softmax over a single unit is always 1; use Sigmoid for one output", GeneratorRun.Message(d));
        Assert.Equal("Dense(1, Activation.Softmax)", run.SpanText(d));
    }

    // ---- Convolution, pooling, flatten and batch norm (DSL0101-0109 on the new layers and input shapes) ----

    [Fact]
    public void LayerOfWrongConvType_ReportsDSL0004OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0004", Net("Channels = 1, Height = 6, Width = 6", "[Conv2D(8, 3)] public partial Dense Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv' is marked [Conv2D] so its type must be 'Dsl.Conv2D', but it is 'Dsl.Dense'", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(8, 3)", run.SpanText(d));
    }

    [Fact]
    public void HeightWithoutWidth_ReportsDSL0101OnTheNetworkAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0101", Net("Channels = 1, Height = 6", "[Flatten] public partial Flatten Flat { get; }"), out GeneratorRun run);
        Assert.Equal("Network 'Net' needs a positive input size, e.g. [Network(Input = 784)], but found Channels = 1, Height = 6, Width = 0", GeneratorRun.Message(d));
        Assert.Equal("Network(Channels = 1, Height = 6)", run.SpanText(d));
    }

    [Theory]
    [InlineData("[Conv2D(4, 3, Stride = 0)]", "stride must be positive, but is 0")]
    [InlineData("[Conv2D(4, 3, Padding = -1)]", "padding must be zero or positive, but is -1")]
    [InlineData("[Conv2D(4, 0)]", "kernel must be positive, but is 0")]
    [InlineData("[Conv2D(0, 3)]", "output channels must be positive, but is 0")]
    [InlineData("[Conv2D(4, 3, Dilation = 0)]", "dilation must be positive, but is 0")]
    [InlineData("[Conv2D(4, 3, Groups = 0)]", "groups must be positive, but is 0")]
    [InlineData("[MaxPool2D(0)]", "kernel must be positive, but is 0")]
    [InlineData("[MaxPool2D(2, Stride = -1)]", "stride must be positive, but is -1")]
    [InlineData("[AvgPool2D(2, Padding = -1)]", "padding must be zero or positive, but is -1")]
    public void ConvolutionOrPoolingOptionOutOfRange_ReportsDSL0102OnTheAttribute(string attribute, string problem)
    {
        string kind = attribute.Substring(1, attribute.IndexOf('(') - 1);
        Diagnostic d = SingleDiagnostic("DSL0102", Net("Channels = 1, Height = 6, Width = 6", $"{attribute} public partial {kind} Layer1 {{ get; }}"), out GeneratorRun run);
        Assert.Equal($"Layer 'Layer1': {problem}", GeneratorRun.Message(d));
        Assert.Equal(attribute.Substring(1, attribute.Length - 2), run.SpanText(d));
    }

    [Fact]
    public void SoftmaxOnAConvolution_ReportsDSL0103OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0103", Net("Channels = 1, Height = 6, Width = 6",
            "[Conv2D(4, 3, Activation = Activation.Softmax)] public partial Conv2D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': activation Softmax is not supported here: softmax runs over a flat vector: put it on a Dense layer", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(4, 3, Activation = Activation.Softmax)", run.SpanText(d));
    }

    [Fact]
    public void SoftmaxOnABatchNorm_ReportsDSL0103OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0103", Net("Channels = 2, Length = 8",
            "[BatchNorm1D(Activation = Activation.Softmax)] public partial BatchNorm1D Norm { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Norm': activation Softmax is not supported here: softmax runs over a flat vector: put it on a Dense layer", GeneratorRun.Message(d));
        Assert.Equal("BatchNorm1D(Activation = Activation.Softmax)", run.SpanText(d));
    }

    /// <summary>
    /// Pooling attributes have no Activation property, so "an activation on a pooling layer" cannot be written: the
    /// compiler rejects the named argument, and the generator must neither throw nor add a Dsl diagnostic of its own.
    /// </summary>
    [Fact]
    public void ActivationOnAPoolingLayer_IsACompilerError()
    {
        GeneratorRun run = GeneratorHarness.Run(Net("Channels = 1, Height = 6, Width = 6",
            "[MaxPool2D(2, Activation = Activation.Relu)] public partial MaxPool2D Pool { get; }"));
        run.AssertGeneratorDidNotThrow();
        Assert.Empty(run.DslDiagnostics);
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == "CS0246" || d.Id == "CS0117" || d.Id == "CS0617");
    }

    [Fact]
    public void DenseAfterAnImageWithoutFlatten_ReportsDSL0104OnTheDenseAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0104", Net("Channels = 1, Height = 6, Width = 5",
            "[Conv2D(4, 3)] public partial Conv2D Conv { get; }",
            "[Dense(3)] public partial Dense Head { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Head': Dense needs a flat input, but the previous output has shape 4x4x3; add a [Flatten] layer before it", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Fact]
    public void DenseOnASequenceInput_ReportsDSL0104()
    {
        Diagnostic d = SingleDiagnostic("DSL0104", Net("Channels = 2, Length = 7", "[Dense(3)] public partial Dense Head { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Head': Dense needs a flat input, but the previous output has shape 2x7; add a [Flatten] layer before it", GeneratorRun.Message(d));
        Assert.Equal("Dense(3)", run.SpanText(d));
    }

    [Theory]
    [InlineData("Input = 12", "[Conv2D(8, 3)] public partial Conv2D Conv { get; }", "Layer 'Conv': Conv2D expects a CxHxW input, but gets shape 12", "Conv2D(8, 3)")]
    [InlineData("Channels = 2, Length = 8", "[BatchNorm2D] public partial BatchNorm2D Norm { get; }", "Layer 'Norm': BatchNorm2D expects a CxHxW input, but gets shape 2x8", "BatchNorm2D")]
    [InlineData("Channels = 1, Height = 6, Width = 5", "[MaxPool1D(2)] public partial MaxPool1D Pool { get; }", "Layer 'Pool': MaxPool1D expects a CxL input, but gets shape 1x6x5", "MaxPool1D(2)")]
    [InlineData("Channels = 1, Height = 6, Width = 5", "[Conv1D(4, 3)] public partial Conv1D Conv { get; }", "Layer 'Conv': Conv1D expects a CxL input, but gets shape 1x6x5", "Conv1D(4, 3)")]
    [InlineData("Channels = 2, Length = 8", "[AvgPool2D(2)] public partial AvgPool2D Pool { get; }", "Layer 'Pool': AvgPool2D expects a CxHxW input, but gets shape 2x8", "AvgPool2D(2)")]
    [InlineData("Input = 12", "[GlobalAvgPool] public partial GlobalAvgPool Pool { get; }", "Layer 'Pool': GlobalAvgPool expects a CxL or CxHxW input, but gets shape 12", "GlobalAvgPool")]
    public void LayerOnInputOfWrongRank_ReportsDSL0105OnTheAttribute(string network, string member, string message, string span)
    {
        Diagnostic d = SingleDiagnostic("DSL0105", Net(network, member), out GeneratorRun run);
        Assert.Equal(message, GeneratorRun.Message(d));
        Assert.Equal(span, run.SpanText(d));
    }

    [Fact]
    public void BatchNorm1DOnAnImage_ReportsDSL0105()
    {
        // BatchNorm1D accepts flat [C] and CxL inputs.
        Diagnostic d = SingleDiagnostic("DSL0105", Net("Channels = 1, Height = 6, Width = 5", "[BatchNorm1D] public partial BatchNorm1D Norm { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Norm': BatchNorm1D expects a flat or CxL input, but gets shape 1x6x5", GeneratorRun.Message(d));
        Assert.Equal("BatchNorm1D", run.SpanText(d));
    }

    [Fact]
    public void RankErrorOnTheSecondLayer_IsReportedOnItsAttributeAndNotOnLaterLayers()
    {
        // The wrong-rank layer's output shape is unknown, so the Dense after it (which would need a Flatten) is not reported too.
        Diagnostic d = SingleDiagnostic("DSL0105", Net("Channels = 1, Height = 6, Width = 5",
            "[Conv2D(4, 3)] public partial Conv2D Conv { get; }",
            "[MaxPool1D(2)] public partial MaxPool1D Pool { get; }",
            "[Dense(3)] public partial Dense Head { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Pool': MaxPool1D expects a CxL input, but gets shape 4x4x3", GeneratorRun.Message(d));
        Assert.Equal("MaxPool1D(2)", run.SpanText(d));
    }

    [Fact]
    public void InputChannelsNotDivisibleByGroups_ReportsDSL0106OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0106", Net("Channels = 4, Height = 6, Width = 6", "[Conv2D(6, 3, Groups = 3)] public partial Conv2D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': 4 input channels are not divisible by groups = 3", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(6, 3, Groups = 3)", run.SpanText(d));
    }

    [Fact]
    public void OutputChannelsNotDivisibleByGroups_ReportsDSL0106OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0106", Net("Channels = 3, Height = 6, Width = 6", "[Conv2D(8, 3, Groups = 3)] public partial Conv2D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': 8 output channels are not divisible by groups = 3", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(8, 3, Groups = 3)", run.SpanText(d));
    }

    [Fact]
    public void Conv1DChannelsNotDivisibleByGroups_ReportsDSL0106()
    {
        Diagnostic d = SingleDiagnostic("DSL0106", Net("Channels = 6, Length = 10", "[Conv1D(4, 3, Groups = 3)] public partial Conv1D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': 4 output channels are not divisible by groups = 3", GeneratorRun.Message(d));
        Assert.Equal("Conv1D(4, 3, Groups = 3)", run.SpanText(d));
    }

    [Fact]
    public void KernelWiderThanThePaddedInput_ReportsDSL0107OnTheAttribute()
    {
        // 8 rows fit a 7x7 kernel; 4 columns padded by 1 on each side are 6, one short.
        Diagnostic d = SingleDiagnostic("DSL0107", Net("Channels = 1, Height = 8, Width = 4", "[Conv2D(2, 7, Padding = 1)] public partial Conv2D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': the kernel spans 7 along the width but the padded input is 6; output would be 0", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(2, 7, Padding = 1)", run.SpanText(d));
    }

    [Fact]
    public void DilationMakesTheKernelTooLarge_ReportsDSL0107()
    {
        // A 3x3 kernel fits 5 rows, but dilated by 3 it spans 3 * (3 - 1) + 1 = 7 of them.
        Diagnostic d = SingleDiagnostic("DSL0107", Net("Channels = 1, Height = 5, Width = 9", "[Conv2D(2, 3, Dilation = 3)] public partial Conv2D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': the kernel spans 7 along the height but the padded input is 5; output would be 0", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(2, 3, Dilation = 3)", run.SpanText(d));
    }

    [Fact]
    public void DilatedConv1DTooLarge_ReportsDSL0107()
    {
        Diagnostic d = SingleDiagnostic("DSL0107", Net("Channels = 2, Length = 6", "[Conv1D(4, 3, Dilation = 3)] public partial Conv1D Conv { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'Conv': the kernel spans 7 along the length but the padded input is 6; output would be 0", GeneratorRun.Message(d));
        Assert.Equal("Conv1D(4, 3, Dilation = 3)", run.SpanText(d));
    }

    [Fact]
    public void PoolLargerThanASquareInput_ReportsDSL0107ForEachAxis()
    {
        GeneratorRun run = GeneratorHarness.Run(Net("Channels = 2, Height = 3, Width = 3", "[MaxPool2D(4)] public partial MaxPool2D Pool { get; }"));
        run.AssertGeneratorDidNotThrow();
        Assert.Empty(run.NetworkSources);
        Assert.Collection(run.DslDiagnostics,
            d => Assert.Equal("Layer 'Pool': the kernel spans 4 along the width but the padded input is 3; output would be 0", GeneratorRun.Message(d)),
            d => Assert.Equal("Layer 'Pool': the kernel spans 4 along the height but the padded input is 3; output would be 0", GeneratorRun.Message(d)));
        Assert.All(run.DslDiagnostics, d =>
        {
            Assert.Equal("DSL0107", d.Id);
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            Assert.Equal("MaxPool2D(4)", run.SpanText(d));
        });
    }

    [Fact]
    public void KernelTooLargeDeepInTheNetwork_UsesTheInferredShape()
    {
        // 8x12 -> 3x3 conv -> 6x10 -> 2x2 pool -> 3x5: a 3x3 kernel dilated by 2 spans 5, which fits the width but not the height.
        Diagnostic d = SingleDiagnostic("DSL0107", Net("Channels = 1, Height = 8, Width = 12",
            "[Conv2D(4, 3)] public partial Conv2D C1 { get; }",
            "[MaxPool2D(2)] public partial MaxPool2D P1 { get; }",
            "[Conv2D(4, 3, Padding = 0, Stride = 1, Dilation = 2)] public partial Conv2D C2 { get; }"), out GeneratorRun run);
        Assert.Equal("Layer 'C2': the kernel spans 5 along the height but the padded input is 3; output would be 0", GeneratorRun.Message(d));
        Assert.Equal("Conv2D(4, 3, Padding = 0, Stride = 1, Dilation = 2)", run.SpanText(d));
    }

    [Theory]
    [InlineData("Channels = 2, Length = 8", "[Conv1D(4, 3, Causal = true, Padding = 1)] public partial Conv1D Conv { get; }",
        "Layer 'Conv': Causal pads (kernel - 1) * dilation on the left by itself; leave Padding at 0", "Conv1D(4, 3, Causal = true, Padding = 1)")]
    [InlineData("Channels = 2, Height = 6, Width = 6", "[MaxPool2D(3, Padding = 2)] public partial MaxPool2D Pool { get; }",
        "Layer 'Pool': padding 2 is more than half the kernel 3 (PyTorch rejects it too)", "MaxPool2D(3, Padding = 2)")]
    [InlineData("Channels = 2, Height = 6, Width = 6", "[AvgPool2D(2, Padding = 2)] public partial AvgPool2D Pool { get; }",
        "Layer 'Pool': padding 2 is more than half the kernel 2 (PyTorch rejects it too)", "AvgPool2D(2, Padding = 2)")]
    [InlineData("Channels = 2, Length = 8", "[MaxPool1D(1, Padding = 1)] public partial MaxPool1D Pool { get; }",
        "Layer 'Pool': padding 1 is more than half the kernel 1 (PyTorch rejects it too)", "MaxPool1D(1, Padding = 1)")]
    [InlineData("Channels = 2, Height = 4, Width = 4", "[BatchNorm2D(Momentum = 1.5f)] public partial BatchNorm2D Norm { get; }",
        "Layer 'Norm': momentum must lie in [0, 1], but is 1.5", "BatchNorm2D(Momentum = 1.5f)")]
    [InlineData("Channels = 2, Height = 4, Width = 4", "[BatchNorm2D(Momentum = -0.25f)] public partial BatchNorm2D Norm { get; }",
        "Layer 'Norm': momentum must lie in [0, 1], but is -0.25", "BatchNorm2D(Momentum = -0.25f)")]
    [InlineData("Channels = 2, Length = 8", "[BatchNorm1D(Momentum = float.NaN)] public partial BatchNorm1D Norm { get; }",
        "Layer 'Norm': momentum must lie in [0, 1], but is NaN", "BatchNorm1D(Momentum = float.NaN)")]
    [InlineData("Channels = 2, Height = 4, Width = 4", "[BatchNorm2D(Epsilon = 0f)] public partial BatchNorm2D Norm { get; }",
        "Layer 'Norm': epsilon must be positive and finite, but is 0", "BatchNorm2D(Epsilon = 0f)")]
    [InlineData("Channels = 2, Length = 8", "[BatchNorm1D(Epsilon = float.PositiveInfinity)] public partial BatchNorm1D Norm { get; }",
        "Layer 'Norm': epsilon must be positive and finite, but is Infinity", "BatchNorm1D(Epsilon = float.PositiveInfinity)")]
    [InlineData("Input = 6", "[BatchNorm1D(Epsilon = -1e-5f)] public partial BatchNorm1D Norm { get; }",
        "Layer 'Norm': epsilon must be positive and finite, but is -1E-05", "BatchNorm1D(Epsilon = -1e-5f)")]
    public void ContradictoryOrInvalidOption_ReportsDSL0108OnTheAttribute(string network, string member, string message, string span)
    {
        Diagnostic d = SingleDiagnostic("DSL0108", Net(network, member), out GeneratorRun run);
        Assert.Equal(message, GeneratorRun.Message(d));
        Assert.Equal(span, run.SpanText(d));
    }

    [Theory]
    [InlineData("Channels = 1, Height = 4, Width = 4, Length = 16", "Network 'Net': set Height and Width for an image or Length for a sequence, not both")]
    [InlineData("Height = 4, Length = 16", "Network 'Net': set Height and Width for an image or Length for a sequence, not both")]
    [InlineData("Channels = 3", "Network 'Net': Channels needs Height and Width (an image) or Length (a sequence); for flat features use Input")]
    [InlineData("Input = 12, Channels = 3", "Network 'Net': Channels needs Height and Width (an image) or Length (a sequence); for flat features use Input")]
    [InlineData("Input = 30, Channels = 1, Height = 6, Width = 6", "Network 'Net': Input = 30 differs from the 1x6x6 = 36 values of the declared shape")]
    [InlineData("Input = 15, Channels = 2, Length = 8", "Network 'Net': Input = 15 differs from the 2x8 = 16 values of the declared shape")]
    public void ConflictingInputShape_ReportsDSL0109OnTheNetworkAttribute(string network, string message)
    {
        Diagnostic d = SingleDiagnostic("DSL0109", Net(network, "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }"), out GeneratorRun run);
        Assert.Equal(message, GeneratorRun.Message(d));
        Assert.Equal($"Network({network})", run.SpanText(d));
    }

    [Fact]
    public void InputEqualToTheImageSize_IsAccepted()
    {
        GeneratorRun run = GeneratorHarness.Run(Net("Input = 36, Channels = 1, Height = 6, Width = 6", "[Flatten] public partial Flatten Flat { get; }", "[Dense(2)] public partial Dense Head { get; }"));
        run.AssertClean();
    }

    [Fact]
    public void AttentionModelDimOtherThanTheFeatures_ReportsDSL0117()
    {
        Diagnostic d = SingleDiagnostic("DSL0117", Net("Length = 4, Features = 32",
            "[MultiHeadSelfAttention(2, ModelDim = 30)] public partial MultiHeadSelfAttention Attn { get; }"), out GeneratorRun run);
        Assert.Equal("Attention model dimension differs from the input's features", d.Descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Layer 'Attn': ModelDim = 30, but the input has 32 features per token; attention keeps the width, so leave ModelDim out or make it 32", GeneratorRun.Message(d));
        Assert.Equal("MultiHeadSelfAttention(2, ModelDim = 30)", run.SpanText(d));
    }

    [Fact]
    public void EmbeddingAfterAnotherLayer_ReportsDSL0118()
    {
        Diagnostic d = SingleDiagnostic("DSL0118", Net("Input = 6",
            "[Dense(6)] public partial Dense Fc { get; }",
            "[Embedding(10, 4)] public partial Embedding Embed { get; }"), out GeneratorRun run);
        Assert.Equal("Layer must be the network's first", d.Descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Layer 'Embed': Embedding must be the first layer: it reads the network's input as token ids, which only the input holds", GeneratorRun.Message(d));
    }

    [Fact]
    public void EmbeddingOnADeclaredSequence_SaysToDeclareTheIdsAsInput()
    {
        Diagnostic d = SingleDiagnostic("DSL0105", Net("Channels = 1, Length = 32",
            "[Embedding(10, 4)] public partial Embedding Embed { get; }"), out _);
        Assert.Equal("Layer 'Embed': Embedding expects a flat input, but gets shape 1x32; declare [Network(Input = 32)]: an embedding reads 32 token ids", GeneratorRun.Message(d));
    }

    [Fact]
    public void ADeclarationWithDslErrors_GetsThrowingStubs_SoTheDslErrorIsTheOnlyError()
    {
        // Without the stubs every partial member of the class adds CS9248 ("partial property must have an implementation").
        GeneratorRun run = GeneratorHarness.Run(Net("Input = 6",
            "[Dense(0)] public partial Dense Fc { get; }",
            "[Dense(3)] internal partial Dense Head { get; }"));
        Assert.Equal("DSL0102", Assert.Single(run.DslDiagnostics).Id);
        Assert.Empty(run.NetworkSources);
        string stubs = Assert.Single(run.GeneratedSources).SourceText.ToString();
        Assert.Contains("public partial global::Dsl.Dense Fc => throw new global::System.InvalidOperationException(\"Net has DSL errors: fix them to generate the network.\");", stubs);
        Assert.Contains("internal partial global::Dsl.Dense Head => throw", stubs);
        Assert.Empty(run.OutputProblems);
    }

    // A mixture's expert blocks for the DSL0119 tests: a feed-forward one, one with a LayerNorm, one holding a block.
    private const string MixtureBlocks = """

        [Block] public partial class Ff { [Dense(16, Activation.Relu)] public partial Dense fc1 { get; } [Dense(8)] public partial Dense fc2 { get; } }
        [Block] public partial class Normed { [Dense(8)] public partial Dense fc { get; } [LayerNorm] public partial LayerNorm norm { get; } }
        [Block] public partial class Nested { public partial Ff inner { get; } }
        """;

    [Theory]
    [InlineData("[MixtureOfExperts(Experts = 1, TopK = 1)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': Experts = 1: a mixture needs at least 2 experts", "MixtureOfExperts(Experts = 1, TopK = 1)")]
    [InlineData("[MixtureOfExperts(TopK = 1)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': Experts = 0: a mixture needs at least 2 experts", "MixtureOfExperts(TopK = 1)")]
    [InlineData("[MixtureOfExperts(Experts = 4, TopK = 5)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': TopK = 5 is not in [1, 4]: each input runs between 1 and all of the experts", "MixtureOfExperts(Experts = 4, TopK = 5)")]
    [InlineData("[MixtureOfExperts(Experts = 4, TopK = 0)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': TopK = 0 is not in [1, 4]: each input runs between 1 and all of the experts", "MixtureOfExperts(Experts = 4, TopK = 0)")]
    [InlineData("[MixtureOfExperts(Experts = 300)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': Experts = 300 is more than the 256 the routing kernels take", "MixtureOfExperts(Experts = 300)")]
    [InlineData("[MixtureOfExperts(Experts = 4, BalanceWeight = -1f)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': BalanceWeight = -1 is not a finite weight of 0 or more", "MixtureOfExperts(Experts = 4, BalanceWeight = -1f)")]
    [InlineData("[MixtureOfExperts(Experts = 4, CapacityFactor = -0.5f)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': CapacityFactor = -0.5 is not finite and 0 (no limit) or more", "MixtureOfExperts(Experts = 4, CapacityFactor = -0.5f)")]
    [InlineData("[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Normed> Moe { get; }",
        "Mixture 'Moe': an expert is a chain of Dense layers declared in its block (a feed-forward block), and Normed's 'norm' is LayerNorm", "MixtureOfExperts(Experts = 4)")]
    [InlineData("[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Nested> Moe { get; }",
        "Mixture 'Moe': an expert is a chain of Dense layers declared in its block (a feed-forward block), and Nested's 'inner' is a block", "MixtureOfExperts(Experts = 4)")]
    [InlineData("[MixtureOfExperts(Experts = 4)] public partial Ff Moe { get; }",
        "Mixture 'Moe': its member's type must be MixtureOfExperts<TBlock>, TBlock a [Block] class of dense layers (the expert), not Ff", "MixtureOfExperts(Experts = 4)")]
    [InlineData("[MixtureOfExperts(Experts = 4), Dense(8)] public partial MixtureOfExperts<Ff> Moe { get; }",
        "Mixture 'Moe': a mixture's experts are a [Block] class of dense layers; it takes no [Dense] of its own", "MixtureOfExperts(Experts = 4)")]
    public void MixtureOfExpertsDeclarationProblems_ReportDSL0119OnTheAttribute(string member, string message, string span)
    {
        Diagnostic d = SingleDiagnostic("DSL0119", Net("Input = 8", member) + MixtureBlocks, out GeneratorRun run);
        Assert.Equal("Invalid mixture-of-experts declaration", d.Descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(message, GeneratorRun.Message(d));
        Assert.Equal(span, run.SpanText(d));
    }

    [Theory]
    [InlineData("Forward")]
    [InlineData("Mixture")]
    public void NetworkNamedLikeAGeneratedMember_ReportsDSL0007(string name)
    {
        Diagnostic d = SingleDiagnostic("DSL0007", Net("Input = 4", "[Dense(2)] public partial Dense Head { get; }").Replace("class Net", "class " + name), out _);
        Assert.Equal($"Network '{name}' cannot be generated: '{name}' is the name of a member the generator adds to every network; rename the class", GeneratorRun.Message(d));
    }

    [Fact]
    public void MixtureOfExpertsTooLargeAsAWhole_ReportsDSL0110OnTheAttribute()
    {
        // Each expert layer is within the per-weight limit (4096 x 8192 values), but 256 experts of them are not: the
        // kernels address every expert from the router's weight with int offsets.
        Diagnostic d = SingleDiagnostic("DSL0110", Net("Input = 4096",
            "[MixtureOfExperts(Experts = 256)] public partial MixtureOfExperts<Big> Moe { get; }") +
            "\n[Block] public partial class Big { [Dense(8192)] public partial Dense fc { get; } }\n", out GeneratorRun run);
        Assert.Equal("'Moe': the router's and experts' weights has 8,593,080,576 values, more than the 268,435,456 the generator supports", GeneratorRun.Message(d));
        Assert.Equal("MixtureOfExperts(Experts = 256)", run.SpanText(d));
    }

    [Fact]
    public void MixtureOfExpertsOnAnImage_SaysToFlattenFirst()
    {
        Diagnostic d = SingleDiagnostic("DSL0119", Net("Channels = 2, Height = 4, Width = 4",
            "[MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Ff> Moe { get; }") + MixtureBlocks, out _);
        Assert.StartsWith("Mixture 'Moe': routes flat vectors or tokens, and its input is 2x4x4", GeneratorRun.Message(d));
    }

    [Fact]
    public void MixtureOfExpertsWhoseExpertChangesTheWidth_InAnIdentityResidual_ReportsDSL0112()
    {
        Diagnostic d = SingleDiagnostic("DSL0112", Net("Input = 6",
            "[Residual(Shortcut = Shortcut.Identity), MixtureOfExperts(Experts = 4)] public partial MixtureOfExperts<Ff> Moe { get; }") + MixtureBlocks, out _);
        Assert.Equal("Residual 'Moe': the branch maps 6 to 8, but the shortcut is the identity; use Shortcut = Shortcut.Projection (or Auto)", GeneratorRun.Message(d));
    }

    private static string Net(string network, params string[] members) =>
        $"using Dsl;\n\n[Network({network})]\npublic partial class Net\n{{\n{string.Join("\n", members.Select(m => "    " + m))}\n}}\n";

    /// <summary>Runs the generator and returns its only Dsl diagnostic, after checking its id and severity and that nothing was generated.</summary>
    [Fact]
    public void BlockContainingItself_ReportsDSL0009OnTheMember()
    {
        Diagnostic d = SingleDiagnostic("DSL0009", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Residual] public partial Outer Body { get; }
            }

            [Block]
            public partial class Outer
            {
                [Dense(4)] public partial Dense Fc { get; }
                [Residual] public partial Inner Nested { get; }
            }

            [Block]
            public partial class Inner
            {
                [Residual] public partial Outer Back { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Member 'body.nested.back': block 'Outer' contains itself (Outer -> Inner -> Outer); a block cannot run inside itself", GeneratorRun.Message(d));
        Assert.Equal("Residual", run.SpanText(d));
    }

    [Fact]
    public void RepeatOnAPlainType_ReportsDSL0010OnTheAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0010", """
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Repeat(3)] [Dense(4)] public partial Dense Hidden { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Member 'Hidden': a [Repeat] member's type must be IReadOnlyList<T> of its layer or block type, not Dsl.Dense", GeneratorRun.Message(d));
        Assert.Equal("Dense(4)", run.SpanText(d));
    }

    [Fact]
    public void HeadsNotDividingTheModelDimension_ReportsDSL0111()
    {
        Diagnostic d = SingleDiagnostic("DSL0111", """
            using Dsl;

            [Network(Length = 5, Features = 10)]
            public partial class Net
            {
                [MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention Attn { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Attn': the model dimension 10 is not divisible by 4 heads", GeneratorRun.Message(d));
        Assert.Equal("MultiHeadSelfAttention(4)", run.SpanText(d));
    }

    [Fact]
    public void ResidualBranchChangingTheShapeWithIdentityShortcut_ReportsDSL0112OnTheResidualAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0112", """
            using Dsl;

            [Network(Input = 8)]
            public partial class Net
            {
                [Residual(Shortcut = Shortcut.Identity)] [Dense(12)] public partial Dense Wider { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Residual 'Wider': the branch maps 8 to 12, but the shortcut is the identity; use Shortcut = Shortcut.Projection (or Auto)", GeneratorRun.Message(d));
        Assert.Equal("Residual(Shortcut = Shortcut.Identity)", run.SpanText(d));
    }

    [Fact]
    public void ResidualSoftmaxAfterTheSum_ReportsDSL0103OnTheResidualAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0103", """
            using Dsl;

            [Network(Input = 8)]
            public partial class Net
            {
                [Residual(Activation = Activation.Softmax)] [Dense(8)] public partial Dense Fc { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Fc': activation Softmax is not supported here: softmax runs over a flat vector: put it on a Dense layer", GeneratorRun.Message(d));
        Assert.Equal("Residual(Activation = Activation.Softmax)", run.SpanText(d));
    }

    [Fact]
    public void ResidualActivationWithPostNorm_ReportsDSL0108OnTheResidualAttribute()
    {
        Diagnostic d = SingleDiagnostic("DSL0108", """
            using Dsl;

            [Network(Input = 8)]
            public partial class Net
            {
                [Residual(Norm = ResidualNorm.Post, Activation = Activation.Relu)] [Dense(8)] public partial Dense Fc { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Fc': an activation after the sum and a post-norm would leave their order to guess: put the activation in the branch, or use Norm = Pre", GeneratorRun.Message(d));
        Assert.Equal("Residual(Norm = ResidualNorm.Post, Activation = Activation.Relu)", run.SpanText(d));
    }

    [Fact]
    public void ImageProjectionWithoutOneStride_ReportsDSL0112OnTheResidualAttribute()
    {
        // The first block's 1x1 projection (2 -> 4 channels, stride 1) is fine; the second branch grows 4x4 to 6x6,
        // which no strided 1x1 convolution does.
        Diagnostic d = SingleDiagnostic("DSL0112", """
            using Dsl;

            [Network(Channels = 2, Height = 4, Width = 4)]
            public partial class Net
            {
                [Residual] [Conv2D(4, 1)] public partial Conv2D Same { get; }
                [Residual(Activation = Activation.Relu)] [Conv2D(4, 3, Padding = 2)] public partial Conv2D Grown { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Residual 'Grown': the branch maps 4x4x4 to 4x6x6, and no 1x1 convolution with one stride maps the one to the other: " +
                     "a projection shortcut on channel-major activations keeps the rank and scales every extent by the same stride", GeneratorRun.Message(d));
        Assert.Equal("Residual(Activation = Activation.Relu)", run.SpanText(d));
    }

    [Theory]
    [InlineData("[Network(Input = 8)]", "[Residual(ShortcutBatchNorm = true)] [Dense(12)] public partial Dense Fc { get; }",
        "ShortcutBatchNorm follows the 1x1 convolution of a projection shortcut on images or channel-major sequences; this residual has none")]
    [InlineData("[Network(Channels = 2, Height = 4, Width = 4)]", "[Residual(ShortcutBatchNorm = true)] [Conv2D(2, 3, Padding = 1)] public partial Conv2D Fc { get; }",
        "ShortcutBatchNorm follows the 1x1 convolution of a projection shortcut, and this branch keeps the shape: use Shortcut = Shortcut.Projection")]
    [InlineData("[Network(Channels = 2, Height = 4, Width = 4)]", "[Residual(Shortcut = Shortcut.Identity, ShortcutBatchNorm = true)] [Conv2D(4, 3, Padding = 1)] public partial Conv2D Fc { get; }",
        "ShortcutBatchNorm follows the 1x1 convolution of a projection shortcut on images or channel-major sequences; this residual has none")]
    public void ShortcutBatchNormWithoutAConvolutionShortcut_ReportsDSL0108OnTheResidualAttribute(string network, string member, string why)
    {
        Diagnostic d = SingleDiagnostic("DSL0108", $$"""
            using Dsl;

            {{network}}
            public partial class Net
            {
                {{member}}
            }
            """, out GeneratorRun run);
        Assert.Equal($"Layer 'Fc': {why}", GeneratorRun.Message(d));
        Assert.StartsWith("Residual(", run.SpanText(d));
    }

    [Fact]
    public void ResidualProjectionAcrossLayouts_ReportsDSL0112()
    {
        Diagnostic d = SingleDiagnostic("DSL0112", """
            using Dsl;

            [Network(Length = 4, Features = 8)]
            public partial class Net
            {
                [Residual] public partial Pool Pooled { get; }

                [Block]
                public partial class Pool
                {
                    [GlobalAvgPool] public partial GlobalAvgPool Mean { get; }
                }
            }
            """, out GeneratorRun run);
        Assert.Equal("Residual 'Pooled': the branch maps 4 tokens x 8 to 8, and a projection shortcut on flat or token activations maps features only: both ends must be flat, or token sequences of the same length", GeneratorRun.Message(d));
    }

    [Fact]
    public void CausalAttentionOnFlatInput_ReportsDSL0113()
    {
        Diagnostic d = SingleDiagnostic("DSL0113", """
            using Dsl;

            [Network(Input = 16)]
            public partial class Net
            {
                [MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention Attn { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Attn': a causal mask needs a token sequence (L tokens x D), but the input has shape 16", GeneratorRun.Message(d));
        Assert.Equal("MultiHeadSelfAttention(2, Causal = true)", run.SpanText(d));
    }

    [Fact]
    public void NormOverTheWrongFeatureCount_ReportsDSL0114()
    {
        Diagnostic d = SingleDiagnostic("DSL0114", """
            using Dsl;

            [Network(Length = 3, Features = 6)]
            public partial class Net
            {
                [LayerNorm(8)] public partial LayerNorm Norm { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Norm': declared over 8 features, but the input has 6 per token", GeneratorRun.Message(d));
        Assert.Equal("LayerNorm(8)", run.SpanText(d));
    }

    [Fact]
    public void NormOnAnImage_ReportsDSL0114()
    {
        Diagnostic d = SingleDiagnostic("DSL0114", """
            using Dsl;

            [Network(Channels = 2, Height = 3, Width = 3)]
            public partial class Net
            {
                [RMSNorm] public partial RMSNorm Norm { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Norm': RMSNorm normalises each token's features (or a flat vector), but the input has channel-major shape 2x3x3; add [Tokens] or [Flatten] first", GeneratorRun.Message(d));
    }

    [Theory]
    [InlineData("-0.1", "-0.1")]
    [InlineData("1.0", "1")]
    [InlineData("1.5", "1.5")]
    [InlineData("double.NaN", "NaN")]
    [InlineData("double.PositiveInfinity", "Infinity")]
    public void DropoutProbabilityOutOfRange_ReportsDSL0115OnTheAttribute(string p, string shown)
    {
        Diagnostic d = SingleDiagnostic("DSL0115", $$"""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dropout({{p}})] public partial Dropout Drop { get; }
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal($"Layer 'Drop': dropout probability {shown} is not in [0, 1): p is the chance of zeroing a value, and p = 1 would zero everything", GeneratorRun.Message(d));
        Assert.Equal($"Dropout({p})", run.SpanText(d));
    }

    [Theory]
    [InlineData("[Dense(16)][Pruned(1.0)]", "Pruned(1.0)", "sparsity 1 is not in [0, 1): it is the fraction of connections removed")]
    [InlineData("[Dense(16)][Pruned(-0.5)]", "Pruned(-0.5)", "sparsity -0.5 is not in [0, 1): it is the fraction of connections removed")]
    [InlineData("[Dense(16)][Pruned(double.NaN)]", "Pruned(double.NaN)", "sparsity NaN is not in [0, 1): it is the fraction of connections removed")]
    [InlineData("[Dense(16)][Pruned(0.9, Block = 3)]", "Pruned(0.9, Block = 3)", "Block = 3 is not 1 (single weights), 4, 8 or 16 (runs of outputs a vector holds)")]
    [InlineData("[Dense(12)][Pruned(0.9)]", "Pruned(0.9)", "Block = 16 does not divide the 12 outputs of the layer: a block is a run of consecutive outputs of one input")]
    [InlineData("[Dense(12)][Pruned(0.9, Block = 8)]", "Pruned(0.9, Block = 8)", "Block = 8 does not divide the 12 outputs of the layer: a block is a run of consecutive outputs of one input")]
    public void PruningDeclarationOutOfRange_ReportsDSL0116OnTheAttribute(string layer, string span, string problem)
    {
        Diagnostic d = SingleDiagnostic("DSL0116", $$"""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                {{layer}} public partial Dense Hidden { get; }
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal($"Layer 'Hidden': [Pruned] {problem}", GeneratorRun.Message(d));
        Assert.Equal(span, run.SpanText(d));
    }

    [Fact]
    public void PruningAGroupedConvolution_TheBlockMustDivideTheOutputsPerGroup()
    {
        Diagnostic d = SingleDiagnostic("DSL0116", """
            using Dsl;

            [Network(Channels = 4, Height = 6, Width = 6)]
            public partial class Net
            {
                [Conv2D(32, 3, Groups = 4)][Pruned(0.5)] public partial Conv2D Conv { get; }
                [Flatten] public partial Flatten Flat { get; }
                [Dense(3)] public partial Dense Out { get; }
            }
            """, out GeneratorRun run);
        Assert.Equal("Layer 'Conv': [Pruned] Block = 16 does not divide the 8 outputs per group: a block is a run of consecutive outputs of one input", GeneratorRun.Message(d));
    }

    [Theory]
    [InlineData("[BatchNorm2D][Pruned(0.5)] public partial BatchNorm2D Norm { get; }", "Pruned(0.5)", "goes on a Dense, Conv1D or Conv2D layer; BatchNorm2D has no weight to prune")]
    [InlineData("[Pruned(0.5)] public partial Conv2D Conv2 { get; }", "Pruned(0.5)", "goes beside the layer's attribute, [Dense], [Conv1D] or [Conv2D], and this member has none")]
    [InlineData("[Pruned(0.5)] public partial Inner Block { get; }", "Pruned(0.5)", "goes on a Dense, Conv1D or Conv2D layer, and 'Inner' is a block: put it on the block's layers to prune")]
    public void PruningWhatHasNoPrunableWeight_ReportsDSL0116(string member, string span, string problem)
    {
        GeneratorRun run = GeneratorHarness.Run($$"""
            using Dsl;

            [Network(Channels = 4, Height = 6, Width = 6)]
            public partial class Net
            {
                [Conv2D(16, 3)] public partial Conv2D Conv { get; }
                {{member}}
                [Flatten] public partial Flatten Flat { get; }
                [Dense(3)] public partial Dense Out { get; }
            }

            [Block]
            public partial class Inner
            {
                [Conv2D(16, 1)] public partial Conv2D Mix { get; }
            }
            """);
        run.AssertGeneratorDidNotThrow();
        Diagnostic d = Assert.Single(run.DslDiagnostics);
        Assert.Equal("DSL0116", d.Id);
        Assert.EndsWith($"[Pruned] {problem}", GeneratorRun.Message(d));
        Assert.Equal(span, run.SpanText(d));
    }

    private static Diagnostic SingleDiagnostic(string id, string source, out GeneratorRun run)
    {
        run = GeneratorHarness.Run(source);
        run.AssertGeneratorDidNotThrow();
        Diagnostic diagnostic = Assert.Single(run.DslDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.DefaultSeverity);
        Assert.True(diagnostic.Descriptor.IsEnabledByDefault);
        // A network with an error gets no code, only its members' stubs; [Block] classes still get their own plumbing.
        Assert.Empty(run.NetworkSources);
        return diagnostic;
    }
}
