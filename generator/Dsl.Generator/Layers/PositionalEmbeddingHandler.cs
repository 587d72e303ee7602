using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary><c>[PositionalEmbedding]</c>: a learned vector added to each token position; its backward is in place.</summary>
internal sealed class PositionalEmbeddingHandler : LayerHandler
{
    public PositionalEmbeddingHandler() : base(LayerKind.PositionalEmbedding)
    {
    }

    public override LayerSpec? Parse(LayerDeclaration d) =>
        d.Finish(d.Spec with { HasBias = false }, s => s.IsTokens ? s : LayerDeclaration.Fail(d.Check.WrongRank(d.KindName, 4, s)));

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add) =>
        add(new TensorRequest("weight", new[] { layer.Input.Width, layer.Input.Channels }, "NormalSmall"));

    public override string Describe(LayerSpec layer) => $"{layer.WeightName}: PositionalEmbedding on {layer.Input}. y[t] = x[t] + P[t]";

    public override string BackwardMaths(LayerSpec layer, bool first) => $"dP += sum over samples of dy; dx = dy{Maths.WhenAsked(first)}.";

    public override long Flops(LayerSpec layer, Plan plan) => layer.Outputs;

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.PositionalEmbedding(_parameters, \"{layer.WeightName}\", {layer.Input.Width}, {layer.Input.Channels}, {tensor("weight")})";

    public override bool HasKernelClass(StepPlan step) => true;

    private static string Table(CallSite c) => $"_parameters.ReadOnlyValues.Slice({c.Offsets}.WeightOffset, {c.Layer.Inputs})";

    protected override void EmitInference(CallSite c, string x, string y) =>
        c.W.Line($"{Kernels}SequenceKernels.Add(MemoryMarshal.CreateReadOnlySpan(ref {x}, {c.Layer.Inputs}), {Table(c)}, MemoryMarshal.CreateSpan(ref {y}, {c.Layer.Outputs}));");

    public override bool Decodes(LayerSpec layer) => true;

    // The row of the position being decoded.
    protected override void EmitDecode(CallSite c, string x, string y)
    {
        int d = c.Layer.Output.Features;
        c.W.Line($"{Kernels}SequenceKernels.Add(MemoryMarshal.CreateReadOnlySpan(ref {x}, {d}), _parameters.ReadOnlyValues.Slice({c.Offsets}.WeightOffset + position * {d}, {d}), MemoryMarshal.CreateSpan(ref {y}, {d}));");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line($"    {Kernels}SequenceKernels.Add({input}.Slice(s * {c.Layer.Inputs}, {c.Layer.Inputs}), {Table(c)}, {output}.Slice(s * {c.Layer.Outputs}, {c.Layer.Outputs}));");
    }

    public override bool BackwardInPlace => true;

    public override void EmitBackwardInPlace(CallSite c, string input, string gradient) =>
        c.W.Line($"{Kernels}SequenceKernels.SumSamples({gradient}, batch, gradients.Slice({c.Offsets}.WeightOffset, {c.Layer.Outputs}));");
}
