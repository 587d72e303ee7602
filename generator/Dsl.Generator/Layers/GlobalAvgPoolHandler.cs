using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary><c>[GlobalAvgPool]</c>: the mean over each channel's positions (channel-major input) or over the tokens.</summary>
internal sealed class GlobalAvgPoolHandler : LayerHandler
{
    public GlobalAvgPoolHandler() : base(LayerKind.GlobalAvgPool)
    {
    }

    public override LayerSpec? Parse(LayerDeclaration d) =>
        d.Finish(d.Spec with { HasBias = false }, s => s.Rank >= 2 ? Shape.Flat(s.Channels) : LayerDeclaration.Fail(d.Check.WrongRank(d.KindName, 0, s)));

    public override string Describe(LayerSpec layer) => layer.Input.IsTokens
        ? $"{layer.WeightName}: GlobalAvgPool {layer.Input} -> {layer.Output}. y = mean of the {layer.Input.Rows} tokens"
        : $"{layer.WeightName}: GlobalAvgPool {layer.Input} -> {layer.Output}. y_c = mean over the positions of channel c";

    public override string BackwardMaths(LayerSpec layer, bool first) => layer.Input.IsTokens
        ? $"Each token's gradient is dy / {layer.Input.Rows}{Maths.WhenAsked(first)}."
        : $"Each window's gradient is shared equally by its positions{Maths.WhenAsked(first)}.";

    public override long Flops(LayerSpec layer, Plan plan) => layer.Inputs;

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        Shape i = layer.Input;
        return i.Rank == 3
            ? $"new global::Dsl.GlobalAvgPool(\"{layer.WeightName}\", {i.Channels}, {i.Height}, {i.Width})"
            : $"new global::Dsl.GlobalAvgPool(\"{layer.WeightName}\", {i.Channels}, {i.Width})";
    }

    protected override void EmitInference(CallSite c, string x, string y)
    {
        LayerSpec layer = c.Layer;
        string input = $"MemoryMarshal.CreateReadOnlySpan(ref {x}, {layer.Inputs})", output = $"MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs})";
        c.W.Line(layer.Input.IsTokens
            ? $"{Kernels}SequenceKernels.MeanTokens({input}, {output}, {layer.Input.Rows}, {layer.Input.Features});"
            : LibraryCall(layer, "Forward", input, output));
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        string xs = $"{input}.Slice(s * {layer.Inputs}, {layer.Inputs})", ys = $"{output}.Slice(s * {layer.Outputs}, {layer.Outputs})";
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line(layer.Input.IsTokens
            ? $"    {Kernels}SequenceKernels.MeanTokens({xs}, {ys}, {layer.Input.Rows}, {layer.Input.Features});"
            : "    " + LibraryCall(layer, "Forward", xs, ys));
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        string dy = $"{b.Gradient}.Slice(s * {layer.Outputs}, {layer.Outputs})", dx = $"{b.Next}.Slice(s * {layer.Inputs}, {layer.Inputs})";
        if (!layer.Input.IsTokens)
        {
            PoolHandler.EmitPerSampleBackward(c, b, LibraryCall(layer, "Backward", dy, dx));
            return;
        }
        if (b.First) c.W.OpenBlock("if (!inputGradient.IsEmpty)");
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line($"    {Kernels}SequenceKernels.MeanTokensBackward({dy}, {dx}, {layer.Input.Rows}, {layer.Input.Features});");
        if (b.First) c.W.CloseBlock();
    }

    private static string LibraryCall(LayerSpec layer, string direction, string input, string output) =>
        $"{Kernels}PoolingKernels.GlobalAvgPool{direction}({input}, {output}, {layer.Input.Channels}, {layer.Input.Spatial});";
}
