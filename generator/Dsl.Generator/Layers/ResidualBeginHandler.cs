using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// The start of a residual connection, made by the flattener for a <c>[Residual]</c> member: x is kept for the
/// end's sum, and in the backward the shortcut's gradient joins the branch's here.
/// </summary>
internal sealed class ResidualBeginHandler : LayerHandler
{
    public ResidualBeginHandler() : base(LayerKind.ResidualBegin)
    {
    }

    public override string? AttributeName => null;

    public override bool OwnsWeightName => false;

    public override LayerSpec? Parse(LayerDeclaration d) => throw new InvalidOperationException("A residual connection's start is made by the flattener, not declared.");

    /// <summary>The begin step of the residual member at <paramref name="path"/>, on <paramref name="x"/>.</summary>
    public static LayerSpec Create(string id, string path, Shape x) =>
        new(id, "private", path, LayerKind.ResidualBegin, x, x, ActivationKind.None, HasBias: false, new ResidualBeginOptions(path));

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.None;

    public override bool IsView => true;

    public override bool InSummary => false;

    public override LayerOptions SharingKey(LayerOptions options) => new ResidualBeginOptions("");

    public override string Describe(LayerSpec layer) => $"{layer.WeightName}: residual connection begins on {layer.Input}: x is kept for the sum";

    public override string BackwardMaths(LayerSpec layer, bool first) => "dx = dF(x)/dx + the shortcut's gradient: the sum of both paths.";

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) => throw new InvalidOperationException("A residual connection has no view of its own.");

    public override string EmitInferenceStep(CallSite c, string x, bool last)
    {
        c.W.Line($"ref float {Names.Local(c.Layer)} = ref {x}; // x, read again where the residual ends");
        return x;
    }

    public override bool Decodes(LayerSpec layer) => layer.Input.IsTokens;

    public override int DecodeFloats(LayerSpec layer) => 0;

    public override string EmitDecodeStep(CallSite c, string x, bool last) => EmitInferenceStep(c, x, last);

    public override string ViewComment => "// x, read again where the residual ends";

    public override void EmitBackwardInPlace(CallSite c, string input, string gradient)
    {
        // The shortcut's gradient: kept by its path's start, or by the end (the identity's dy, or a projection's or gate's dx).
        if (c.Plan.ShortcutPath(c.Layer) is { } path)
        {
            c.W.Line($"{Kernels}SequenceKernels.AddInPlace({gradient}, {SlotRegion(c.Plan, path, Slot.SkipGradient)});");
            return;
        }
        LayerSpec end = c.Plan.End(c.Layer);
        Slot shortcut = end.Get<ResidualEndOptions>().HasShortcutWeights ? Slot.SkipGradient : Slot.OutputGradient;
        c.W.Line($"{Kernels}SequenceKernels.AddInPlace({gradient}, {SlotRegion(c.Plan, end, shortcut, c.Layer.Inputs)});");
    }
}

/// <summary>The start of a residual connection: <paramref name="Residual"/> is the residual member's weight path.</summary>
internal sealed record ResidualBeginOptions(string Residual) : LayerOptions;
