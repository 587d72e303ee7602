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

    /// <summary>Runs the generator and returns its only Dsl diagnostic, after checking its id and severity and that nothing was generated.</summary>
    private static Diagnostic SingleDiagnostic(string id, string source, out GeneratorRun run)
    {
        run = GeneratorHarness.Run(source);
        run.AssertGeneratorDidNotThrow();
        Diagnostic diagnostic = Assert.Single(run.DslDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.DefaultSeverity);
        Assert.True(diagnostic.Descriptor.IsEnabledByDefault);
        Assert.Empty(run.GeneratedSources);
        return diagnostic;
    }
}
