using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary><c>[Flatten]</c>: the same values seen as a flat vector; no data moves, forward or backward.</summary>
internal sealed class FlattenHandler : LayerHandler
{
    public FlattenHandler() : base(LayerKind.Flatten)
    {
    }

    public override LayerSpec? Parse(LayerDeclaration d) => d.Finish(d.Spec with { HasBias = false }, s => Shape.Flat(s.Size));

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.None;

    public override bool IsView => true;

    public override bool DeclaresOutputSlot => false;

    public override string Describe(LayerSpec layer) =>
        $"{layer.WeightName}: Flatten {layer.Input} -> {layer.Output}. The same values seen as a flat vector (channel-major, like torch.flatten)";

    public override string BackwardMaths(LayerSpec layer, bool first) => "The gradient is the same memory with the input's shape.";

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.Flatten(\"{layer.WeightName}\", {ShapeArray(layer.Input)})";
}
