using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[MaxPool2D(k)]</c>, <c>[AvgPool2D(k)]</c> and <c>[MaxPool1D(k)]</c>: unpadded pools get generated window
/// loops with constant taps; padded ones call the runtime's <c>PoolingKernels</c>, which clip each window.
/// </summary>
internal sealed class PoolHandler : LayerHandler
{
    public PoolHandler(LayerKind kind, bool max, bool image) : base(kind)
    {
        Max = max;
        Image = image;
    }

    private bool Max { get; }

    /// <summary>A 2-D pool on [C, H, W]; otherwise 1-D on [C, L].</summary>
    private bool Image { get; }

    public override int RequiredArguments => 1;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        int kernel = d.Argument(0);
        int stride = d.NamedInt("Stride") ?? 0;
        var options = new PoolOptions(kernel, stride == 0 ? kernel : stride, d.NamedInt("Padding") ?? 0, Max, Image);
        LayerChecks check = d.Check;
        check.Positive("kernel", kernel);
        if (stride < 0) check.Positive("stride", stride);
        check.NotNegative("padding", options.Padding);
        if (kernel > 0 && options.Padding * 2 > kernel) check.Invalid($"padding {options.Padding} is more than half the kernel {kernel} (PyTorch rejects it too)");
        int rank = Image ? 3 : 2;
        return d.Finish(d.Spec with { Options = options, HasBias = false }, s =>
        {
            if (s.Rank != rank || s.IsTokens) return LayerDeclaration.Fail(check.WrongRank(d.KindName, rank, s));
            if (!check.PaddedFits(s, 2 * options.Padding, rank == 3 ? 2 * options.Padding : 0)) return null;
            int outWidth = check.Extent(s.Width, kernel, options.Stride, 2 * options.Padding, 1, rank == 3 ? "width" : "length");
            int outHeight = rank == 3 ? check.Extent(s.Height, kernel, options.Stride, 2 * options.Padding, 1, "height") : 1;
            if (outWidth < 1 || outHeight < 1) return null;
            return rank == 3 ? Shape.Image(s.Channels, outHeight, outWidth) : Shape.Sequence(s.Channels, outWidth);
        });
    }

    public override KernelStrategy Strategy(LayerSpec layer) =>
        layer.Get<PoolOptions>().Padding == 0 ? KernelStrategy.GeneratedPool : KernelStrategy.Library;

    public override string Describe(LayerSpec layer)
    {
        PoolOptions o = layer.Get<PoolOptions>();
        string window = Image ? $"{o.Kernel}x{o.Kernel}" : $"{o.Kernel}";
        string what = o.Max ? "max of each window" : "mean of each window (padding counts as zero)";
        return $"{layer.WeightName}: {layer.Kind} {layer.Input} -> {layer.Output}, {window}, stride {o.Stride}, pad {o.Padding}. y = {what}";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) => layer.Get<PoolOptions>().Max
        ? $"Each window's gradient goes to its (first) maximum{Maths.WhenAsked(first)}."
        : $"Each window's gradient is shared equally by its positions{Maths.WhenAsked(first)}.";

    public override long Flops(LayerSpec layer, Plan plan)
    {
        int kernel = layer.Get<PoolOptions>().Kernel;
        return Image ? (long)layer.Outputs * kernel * kernel : (long)layer.Outputs * kernel;
    }

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        PoolOptions o = layer.Get<PoolOptions>();
        if (o.Kernel != 1) options.Add($"Kernel = {o.Kernel}");
        if (o.Stride != 1) options.Add($"Stride = {o.Stride}");
        if (o.Padding != 0) options.Add($"Padding = {o.Padding}");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        PoolOptions o = layer.Get<PoolOptions>();
        Shape i = layer.Input;
        string options = $"kernel: {o.Kernel}, stride: {o.Stride}, padding: {o.Padding}";
        return Image
            ? $"new global::Dsl.{layer.Kind}(\"{layer.WeightName}\", {i.Channels}, {i.Height}, {i.Width}, {options})"
            : $"new global::Dsl.MaxPool1D(\"{layer.WeightName}\", {i.Channels}, {i.Width}, {options})";
    }

    public override bool HasKernelClass(StepPlan step) => step.Strategy == KernelStrategy.GeneratedPool;

    public override bool HasCode(StepPlan step) => step.Strategy == KernelStrategy.GeneratedPool;

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan) => PoolEmitter.EmitForward(w, step.Layer);

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan) => PoolEmitter.EmitBackward(w, step.Layer);

    protected override void EmitInference(CallSite c, string x, string y) =>
        c.W.Line(c.Step.Strategy == KernelStrategy.GeneratedPool
            ? $"{c.Code}.Forward(ref {x}, ref {y});"
            : LibraryCall(c.Layer, "Forward", $"MemoryMarshal.CreateReadOnlySpan(ref {x}, {c.Layer.Inputs})", $"MemoryMarshal.CreateSpan(ref {y}, {c.Layer.Outputs})"));

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line("    " + (c.Step.Strategy == KernelStrategy.GeneratedPool
            ? $"{c.Code}.Forward(ref MemoryMarshal.GetReference({input}.Slice(s * {layer.Inputs}, {layer.Inputs})), ref MemoryMarshal.GetReference({output}.Slice(s * {layer.Outputs}, {layer.Outputs})));"
            : LibraryCall(layer, "Forward", $"{input}.Slice(s * {layer.Inputs}, {layer.Inputs})", $"{output}.Slice(s * {layer.Outputs}, {layer.Outputs})")));
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        // Max pools find the window's maximum again in the stored input; average pools need only dy.
        string dy = $"{b.Gradient}.Slice(s * {layer.Outputs}, {layer.Outputs})", dx = $"{b.Next}.Slice(s * {layer.Inputs}, {layer.Inputs})";
        string xs = $"{b.Input}.Slice(s * {layer.Inputs}, {layer.Inputs})";
        string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
        bool max = layer.Get<PoolOptions>().Max;
        string call = c.Step.Strategy == KernelStrategy.GeneratedPool
            ? (max ? $"{c.Code}.Backward({Ref(xs)}, {Ref(dy)}, {Ref(dx)});" : $"{c.Code}.Backward({Ref(dy)}, {Ref(dx)});")
            : max ? LibraryCall(layer, "Backward", xs, dy, dx) : LibraryCall(layer, "Backward", dy, dx);
        EmitPerSampleBackward(c, b, call);
    }

    /// <summary>dx cleared, then a per-sample call that adds into it (only when the caller wants dx, for the first step).</summary>
    internal static void EmitPerSampleBackward(CallSite c, BackwardSite b, string call)
    {
        if (b.First) c.W.OpenBlock("if (!inputGradient.IsEmpty)");
        c.W.Line($"{b.Next}.Clear();");
        c.W.Line("for (int s = 0; s < batch; s++)");
        c.W.Line("    " + call);
        if (b.First) c.W.CloseBlock();
    }

    private static string LibraryCall(LayerSpec layer, string direction, params string[] spans)
    {
        PoolOptions o = layer.Get<PoolOptions>();
        Shape i = layer.Input, output = layer.Output;
        string arguments = string.Join(", ", spans);
        return o.Image
            ? $"{Kernels}PoolingKernels.{layer.Kind}{direction}({arguments}, {i.Channels}, {i.Height}, {i.Width}, {o.Kernel}, {o.Stride}, {o.Padding}, {output.Height}, {output.Width});"
            : $"{Kernels}PoolingKernels.MaxPool1D{direction}({arguments}, {i.Channels}, {i.Width}, {o.Kernel}, {o.Stride}, {o.Padding}, {output.Width});";
    }
}

/// <summary>A pooling window: max or average, over an image or (<paramref name="Image"/> false) a sequence.</summary>
internal sealed record PoolOptions(int Kernel, int Stride, int Padding, bool Max, bool Image) : LayerOptions;
