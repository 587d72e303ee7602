using System;
using System.Linq;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator.Tests;

/// <summary>The one kind → handler table: exhaustive, loud on an unknown kind, and a generator bug becomes DSL0011.</summary>
public class LayerHandlerTests
{
    [Fact]
    public void EveryLayerKind_HasAHandlerOfItsOwnKind()
    {
        foreach (LayerKind kind in Enum.GetValues<LayerKind>())
        {
            LayerHandler handler = LayerHandlers.For(kind);
            Assert.Equal(kind, handler.Kind);
        }
    }

    [Fact]
    public void AKindWithoutAHandler_Throws()
    {
        var unknown = (LayerKind)Enum.GetValues<LayerKind>().Cast<int>().Max() + 1;
        var e = Assert.Throws<UnknownLayerKindException>(() => LayerHandlers.For(unknown));
        Assert.Contains("has no handler", e.Message);
    }

    [Fact]
    public void EveryDeclaredKind_IsFoundByItsAttribute_AndTheFlattenersOwnKindsAreNot()
    {
        foreach (LayerKind kind in Enum.GetValues<LayerKind>())
        {
            string? attribute = LayerHandlers.For(kind).AttributeName;
            if (kind is LayerKind.ResidualBegin or LayerKind.ResidualEnd or LayerKind.ResidualShortcut)
            {
                Assert.Null(attribute);
                continue;
            }
            if (kind is LayerKind.MixtureOfExperts)
            {
                // Declared on a block member by an attribute of its own, which the flattener reads, not the layer table.
                Assert.Null(attribute);
                Assert.NotNull(typeof(Dsl.NetworkAttribute).Assembly.GetType(MixtureHandler.Attribute));
                continue;
            }
            Assert.Equal($"Dsl.{kind}Attribute", attribute);
            Assert.Equal(kind, LayerHandlers.ByAttribute[attribute!]);
            // The runtime declares the attribute the table names.
            Assert.NotNull(typeof(Dsl.NetworkAttribute).Assembly.GetType(attribute!));
        }
    }

    [Fact]
    public void AStepOfAnUnknownKind_IsReportedAsDSL0011_NotThrown()
    {
        var layer = new LayerSpec("Out", "public", "out", (LayerKind)999, Shape.Flat(4), Shape.Flat(3), ActivationKind.None, HasBias: true, NoOptions.Instance);
        var spec = new NetworkSpec(null, EquatableArray<string>.Empty, "Broken", Shape.Flat(4), new EquatableArray<LayerSpec>(new[] { layer }), EquatableArray<MemberView>.Empty);

        NetworkGenerator.GeneratedNetwork result = NetworkGenerator.Emit(spec);

        Assert.Null(result.Inference);
        Assert.NotNull(result.Failure);
        Assert.Equal("DSL0011", result.Failure!.Id);
        Assert.Equal("Broken", result.Failure.Arguments[0]);
        Assert.Contains("999", result.Failure.Arguments[1]);
    }

    [Fact]
    public void AStepAskedForAnotherKindsOptions_Throws()
    {
        var layer = new LayerSpec("Out", "public", "out", LayerKind.Dense, Shape.Flat(4), Shape.Flat(3), ActivationKind.None, HasBias: true, NoOptions.Instance);
        var e = Assert.Throws<InvalidOperationException>(() => layer.Get<DropoutOptions>());
        Assert.Contains("Dense step 'Out' has NoOptions, not DropoutOptions", e.Message);
    }
}
