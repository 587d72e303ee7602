using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// Where a residual connection's shortcut path starts, made by the flattener for a projection or a gate on channel-major
/// activations: after the branch, F(x) is kept for the end's sum, and the steps that follow (a 1×1 convolution
/// with the branch's stride, maybe a batch norm; or a highway's gate, a 1×1 convolution with a sigmoid: ordinary
/// steps of their kinds) read x again. In the backward the path's dL/dx is kept for the begin, and the branch
/// takes dL/dF, which the end kept (dL/dy, or T dL/dy behind a gate).
/// </summary>
internal sealed class ResidualShortcutHandler : LayerHandler
{
    public ResidualShortcutHandler() : base(LayerKind.ResidualShortcut)
    {
    }

    public override string? AttributeName => null;

    public override bool OwnsWeightName => false;

    public override LayerSpec? Parse(LayerDeclaration d) => throw new InvalidOperationException("A residual connection's shortcut path is made by the flattener, not declared.");

    /// <summary>The shortcut path of the residual member at <paramref name="path"/>: after a branch ending in <paramref name="f"/>, x again.</summary>
    public static LayerSpec Create(string id, string path, string begin, Shape f, Shape x) =>
        new(id, "private", path, LayerKind.ResidualShortcut, f, x, ActivationKind.None, HasBias: false, new ResidualShortcutOptions(begin));

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.None;

    public override bool IsView => true;

    public override bool DeclaresOutputSlot => false;

    public override LayerSpec? PassesInputOf(LayerSpec layer, Plan plan) => plan.Begin(layer);

    public override bool InSummary => false;

    // dL/dx through the shortcut path (and a gate's carry), kept for the begin step to add.
    public override void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot) => slot(Slot.SkipGradient, layer.Outputs);

    public override LayerOptions SharingKey(LayerOptions options) => new ResidualShortcutOptions("");

    public override string Describe(LayerSpec layer) => $"{layer.WeightName}: the shortcut path starts: F(x) {layer.Input} is kept for the sum, the next steps read x {layer.Output}";

    public override string BackwardMaths(LayerSpec layer, bool first) => "the path's dx is kept for the begin; the branch takes dF, kept by the end.";

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options) =>
        options.Add($"Skip = {plan.Step(plan.Begin(layer)).Index}");

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) => throw new InvalidOperationException("A residual connection has no view of its own.");

    public override string EmitInferenceStep(CallSite c, string x, bool last)
    {
        c.W.Line($"ref float {Names.Local(c.Layer)} = ref {x}; // F(x), read again where the residual ends");
        return Names.Local(c.Plan.Begin(c.Layer));
    }

    public override string EmitTrainView(CallSite c, string input)
    {
        c.W.Line($"{Span} {Names.Local(c.Layer)} = {input}; // F(x), read again where the residual ends");
        return Names.Local(c.Plan.Begin(c.Layer));
    }

    public override bool BackwardInPlace => false;

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec end = c.Plan.End(c.Plan.Begin(c.Layer));
        string kept = SlotRegion(c.Plan, c.Layer, Slot.SkipGradient);
        if (end.Get<ResidualEndOptions>().PathGate)
        {
            c.W.Line($"{Kernels}SequenceKernels.Add({b.Gradient}, {SlotRegion(c.Plan, end, Slot.SkipGradient)}, {kept}); // the gate's dx and the carry's (1 - T) dy, added where the residual begins");
            c.W.Line($"{SlotRegion(c.Plan, end, Slot.GateGradient)}.CopyTo({b.Next}); // dF = T dy");
            return;
        }
        c.W.Line($"{b.Gradient}.CopyTo({kept}); // the shortcut's dx, added where the residual begins");
        c.W.Line($"{SlotRegion(c.Plan, end, Slot.OutputGradient)}.CopyTo({b.Next}); // dF = dy");
    }
}

/// <summary>The start of a residual connection's shortcut path: <paramref name="Skip"/> is the member name of its begin step.</summary>
internal sealed record ResidualShortcutOptions(string Skip) : LayerOptions, IResidualPart;

/// <summary>A step of a residual connection after its begin (its shortcut path's start, its end): <see cref="Skip"/> names the begin step.</summary>
internal interface IResidualPart
{
    string Skip { get; }
}
