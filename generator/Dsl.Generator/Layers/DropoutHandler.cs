using System;
using System.Collections.Generic;
using System.Globalization;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[Dropout(p)]</c>, PyTorch's inverted <c>nn.Dropout</c>: in training each value is kept with probability
/// 1 − p and scaled by 1/(1 − p); the mask is a hash of (workspace seed, step, this step's index, global sample,
/// element), so Backward replays it without storing it. At inference it is the identity and emits no code.
/// </summary>
internal sealed class DropoutHandler : LayerHandler
{
    public DropoutHandler() : base(LayerKind.Dropout)
    {
    }

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        // [Dropout(0.1)]: a double; an argument of another type leaves the attribute in error, which the compiler reports.
        if (d.Attribute.ConstructorArguments.Length < 1 || d.Attribute.ConstructorArguments[0].Value is not double p) return null;
        if (!(p >= 0 && p < 1)) d.Check.Report(DiagnosticDescriptors.DropoutProbability, p.ToString("R", CultureInfo.InvariantCulture));
        return d.Finish(d.Spec with { HasBias = false, Options = new DropoutOptions((float)p) }, s => s);
    }

    private static float P(LayerSpec layer) => layer.Get<DropoutOptions>().P;

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Library;

    public override bool IsAliasInInference(LayerSpec layer) => true;

    // No tensors, and no code at inference.
    public override bool SupportsBFloat16(LayerSpec layer) => true;

    public override bool Decodes(LayerSpec layer) => true;

    protected override string InferenceAliasComment => "// the identity at inference: no data moves";

    public override string Describe(LayerSpec layer) =>
        $"{layer.WeightName}: Dropout on {layer.Input}, p = {SourceWriter.Float(P(layer)).TrimEnd('f')}. " +
        "Training: y = x m / (1 - p), m ~ Bernoulli(1 - p) per value; inference: y = x";

    public override string BackwardMaths(LayerSpec layer, bool first) => "dx = dy m / (1 - p) with the forward's mask m, in place.";

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options) =>
        options.Add($"Probability = {SourceWriter.Float(P(layer))}");

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.Dropout(\"{layer.WeightName}\", {ShapeArray(layer.Input)}, {SourceWriter.Float(P(layer))})";

    // The mask's keys: the workspace's seed, the step of the last ForwardTrain, this step's index, the batch's first global sample.
    private static string Keys(CallSite c) => $"{SourceWriter.Float(P(c.Layer))}, workspace.Seed, workspace.ForwardStep, {c.StepIndex}, workspace.SampleOffset";

    public override void EmitTrain(CallSite c, string input, string output, string? pre) =>
        c.W.Line($"{Kernels}DropoutKernels.Forward({input}, {output}, batch, {c.Layer.Outputs}, {Keys(c)});");

    public override bool BackwardInPlace => true;

    public override void EmitBackwardInPlace(CallSite c, string input, string gradient) =>
        c.W.Line($"{Kernels}DropoutKernels.Backward({gradient}, batch, {c.Layer.Outputs}, {Keys(c)});");
}

/// <summary>Inverted dropout: in training each value is zeroed with probability <paramref name="P"/>, the rest scaled by 1/(1 − p).</summary>
internal sealed record DropoutOptions(float P) : LayerOptions;
