using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary><c>[Tokens]</c>: a channel-major [C, positions] activation becomes a token sequence [positions, C].</summary>
internal sealed class TokensHandler : LayerHandler
{
    public TokensHandler() : base(LayerKind.Tokens)
    {
    }

    public override LayerSpec? Parse(LayerDeclaration d) =>
        d.Finish(d.Spec with { HasBias = false }, s => s.Rank >= 2 && !s.IsTokens ? Shape.Tokens(s.Spatial, s.Channels) : LayerDeclaration.Fail(d.Check.WrongRank(d.KindName, 0, s)));

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Generated;

    public override string Describe(LayerSpec layer) =>
        $"{layer.WeightName}: Tokens {layer.Input} -> {layer.Output}. y[t, c] = x[c, t]: each position becomes a token of its {layer.Input.Channels} channels";

    public override string BackwardMaths(LayerSpec layer, bool first) => $"dx[c, t] = dy[t, c]{Maths.WhenAsked(first)}.";

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.Tokens(\"{layer.WeightName}\", {ShapeArray(layer.Input)})";

    public override bool HasKernelClass(StepPlan step) => true;

    public override bool HasCode(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
        w.Line($"public const int Channels = {step.Layer.Input.Channels};");
        w.Line($"public const int Positions = {step.Layer.Input.Spatial};");
    }

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
        LayerSpec layer = step.Layer;
        w.Line($"/// <summary>y[t, c] = x[c, t]: [{layer.Input.Channels}, {layer.Input.Spatial}] channel-major to [{layer.Input.Spatial}, {layer.Input.Channels}] token-major.</summary>");
        w.OpenBlock("public static void Forward(ref float x, ref float y)");
        w.Line("for (nuint c = 0; c < Channels; c++)");
        w.Line("    for (nuint t = 0; t < Positions; t++)");
        w.Line("        Unsafe.Add(ref y, t * Channels + c) = Unsafe.Add(ref x, c * Positions + t);");
        w.CloseBlock();
    }

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
        w.Line("/// <summary>dx[c, t] = dy[t, c].</summary>");
        w.OpenBlock("public static void Backward(ref float dy, ref float dx)");
        w.Line("for (nuint t = 0; t < Positions; t++)");
        w.Line("    for (nuint c = 0; c < Channels; c++)");
        w.Line("        Unsafe.Add(ref dx, c * Positions + t) = Unsafe.Add(ref dy, t * Channels + c);");
        w.CloseBlock();
    }

    protected override void EmitInference(CallSite c, string x, string y) => c.W.Line($"{c.Code}.Forward(ref {x}, ref {y});");

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line($"    {c.Code}.Forward({Sample(input, c.Layer.Inputs)}, {Sample(output, c.Layer.Outputs)});");
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        if (b.First) c.W.OpenBlock("if (!inputGradient.IsEmpty)");
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line($"    {c.Code}.Backward({Sample(b.Gradient, c.Layer.Outputs)}, {Sample(b.Next, c.Layer.Inputs)});");
        if (b.First) c.W.CloseBlock();
    }
}
