using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[Conv2D(out, kernel)]</c> and <c>[Conv1D(out, kernel)]</c> (a 1-D convolution is a 2-D one of height 1):
/// im2col rows times the weight stored per group input-major [patch, out/groups] is one Gemm; a stride-1,
/// one-group convolution also gets a direct kernel for batch-1 inference. A batch norm right after it folds
/// into it for inference.
/// </summary>
internal sealed class ConvolutionHandler : LayerHandler
{
    public ConvolutionHandler(LayerKind kind, bool image) : base(kind) => Image = image;

    /// <summary>Conv2D on [C, H, W]; otherwise Conv1D on [C, L].</summary>
    private bool Image { get; }

    public override int RequiredArguments => 2;

    public override bool TakesActivation => true;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        var options = new ConvolutionOptions(
            Kernel: d.Argument(1),
            Stride: d.NamedInt("Stride") ?? 1,
            Padding: d.NamedInt("Padding") ?? 0,
            Dilation: d.NamedInt("Dilation") ?? 1,
            Groups: d.NamedInt("Groups") ?? 1,
            Causal: d.NamedBool("Causal") ?? false,
            Image: Image);
        LayerSpec spec = d.Spec with { Options = options };
        var geometry = new Convolution(spec);
        int outChannels = d.Argument(0);
        LayerChecks check = d.Check;
        check.Positive("output channels", outChannels);
        check.Positive("kernel", options.Kernel);
        check.Positive("stride", options.Stride);
        check.Positive("dilation", options.Dilation);
        check.Positive("groups", options.Groups);
        check.NotNegative("padding", options.Padding);
        if (options.Causal && options.Padding != 0) check.Invalid("Causal pads (kernel - 1) * dilation on the left by itself; leave Padding at 0");
        int rank = Image ? 3 : 2;
        return d.Finish(spec, s =>
        {
            if (s.Rank != rank || s.IsTokens) return LayerDeclaration.Fail(check.WrongRank(d.KindName, rank, s));
            if (s.Channels % options.Groups != 0) return LayerDeclaration.Fail(check.Groups("input", s.Channels, options.Groups));
            if (outChannels % options.Groups != 0) return LayerDeclaration.Fail(check.Groups("output", outChannels, options.Groups));
            int widthPadding = geometry.PadLeft + (options.Causal ? 0 : options.Padding);
            if (!check.PaddedFits(s, widthPadding, rank == 3 ? 2 * options.Padding : 0)) return null;
            int outWidth = check.Extent(s.Width, options.Kernel, options.Stride, widthPadding, options.Dilation, rank == 3 ? "width" : "length");
            int outHeight = rank == 3 ? check.Extent(s.Height, options.Kernel, options.Stride, 2 * options.Padding, options.Dilation, "height") : 1;
            if (outWidth < 1 || outHeight < 1) return null;
            return rank == 3 ? Shape.Image(outChannels, outHeight, outWidth) : Shape.Sequence(outChannels, outWidth);
        });
    }

    /// <summary>The convolution kind of a channel-major shape: Conv2D on an image, Conv1D on a sequence.</summary>
    public static ConvolutionHandler For(Shape x) => (ConvolutionHandler)LayerHandlers.For(x.Rank == 3 ? LayerKind.Conv2D : LayerKind.Conv1D);

    /// <summary>
    /// A residual's projection shortcut on channel-major activations (ResNet's option B): a 1×1 convolution without
    /// bias from <paramref name="x"/> to <paramref name="y"/> with <paramref name="stride"/>, made by the flattener.
    /// </summary>
    public LayerSpec Projection(string id, string weightName, Shape x, Shape y, int stride) =>
        new(id, "private", weightName, Kind, x, y, ActivationKind.None, HasBias: false,
            new ConvolutionOptions(Kernel: 1, Stride: stride, Padding: 0, Dilation: 1, Groups: 1, Causal: false, Image: Image));

    /// <summary>
    /// A highway residual's gate on channel-major activations: T = sigmoid(W_T * x + b_T), a 1×1 convolution keeping
    /// <paramref name="x"/>'s shape, its bias starting at −1 so the block first carries x through.
    /// </summary>
    public LayerSpec Gate(string id, string weightName, Shape x) =>
        new(id, "private", weightName, Kind, x, x, ActivationKind.Sigmoid, HasBias: true,
            new ConvolutionOptions(Kernel: 1, Stride: 1, Padding: 0, Dilation: 1, Groups: 1, Causal: false, Image: Image) { Gate = true });

    /// <summary>The stride of a 1×1 convolution mapping extent <paramref name="from"/> to <paramref name="to"/> without padding, or 0 when none does.</summary>
    public static int ProjectionStride(int from, int to)
    {
        for (int stride = 1; stride <= from; stride++)
            if ((from - 1) / stride + 1 == to) return stride;
        return 0;
    }

    public override long WeightValues(LayerSpec layer, Shape input, Shape output)
    {
        ConvolutionOptions o = layer.Get<ConvolutionOptions>();
        return (long)output.Channels * (input.Channels / o.Groups) * o.Kernel * (Image ? o.Kernel : 1);
    }

    // Stored per group input-major [patch, out/groups]: a block is a run of one group's output channels for one input tap.
    public override int? PrunableRun(LayerSpec layer) => layer.Output.Channels / layer.Get<ConvolutionOptions>().Groups;

    // One group: the compact form is built over the stored [patch, out] as a dense layer's is over [in, out].
    public override bool HasSparseKernel(LayerSpec layer) => layer.Get<ConvolutionOptions>().Groups == 1;

    private static bool RunsSparse(LayerSpec layer) => layer.Pruning is { SparseKernel: true };

    public override KernelStrategy Strategy(LayerSpec layer) =>
        ConvEmitter.IsDirect(new Convolution(layer)) ? KernelStrategy.DirectConvolution : KernelStrategy.Im2ColConvolution;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        var v = new Convolution(layer);
        int receptive = v.KernelHeight * v.Kernel;
        int[] shape = Image
            ? new[] { layer.Output.Channels, layer.Input.Channels / v.Groups, v.Kernel, v.Kernel }
            : new[] { layer.Output.Channels, layer.Input.Channels / v.Groups, v.Kernel };
        // PyTorch's fans for a convolution: in = (C_in / groups) * kernel area, out = C_out * kernel area.
        add(new TensorRequest("weight", shape, Init.For(layer, next), v.PatchSize, layer.Output.Channels * receptive, TransposeGroups: v.Groups, Pruning: layer.Pruning));
        if (layer.HasBias) add(new TensorRequest("bias", new[] { layer.Output.Channels }, layer.Get<ConvolutionOptions>().Gate ? "MinusOnes" : "Zeros"));
    }

    /// <summary>
    /// A direct convolution followed by a padded direct convolution writes its batch-1 output inside the zero border of
    /// the next one's input, which then skips its padding copy (8 channels of 28 x 28 took 0.8 us to copy, a twelfth of
    /// case D). Only with an activation applied in the accumulators (its second pass over the output would reach the
    /// border) and on the dense path (a pruned kernel writes through im2col).
    /// </summary>
    public override int? BorderedOutputFloats(LayerSpec layer, LayerSpec next, Plan plan)
    {
        if (next.Options is not ConvolutionOptions || RunsSparse(layer) || RunsSparse(next)) return null;
        if (layer.Activation is not (ActivationKind.None or ActivationKind.Relu)) return null;
        if (plan.Step(layer).Strategy != KernelStrategy.DirectConvolution || plan.Step(next).Strategy != KernelStrategy.DirectConvolution) return null;
        var n = new Convolution(next);
        return ConvEmitter.IsPadded(n) ? ConvEmitter.PaddedFloats(n) + ConvEmitter.RowSlack : null;
    }

    /// <summary>A batch norm right after a convolution with no activation folds into it: W' = W s, b' = b s + t.</summary>
    public override bool FoldsInto(LayerSpec layer, LayerSpec next) =>
        layer.Activation == ActivationKind.None && next.Options is BatchNormOptions;

    public override int FoldFloats(LayerSpec layer)
    {
        var v = new Convolution(layer);
        return 3 * layer.Output.Channels + v.Groups * v.PatchSize * v.GroupOutputs;
    }

    public override void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared)
    {
        var v = new Convolution(layer);
        int pixels = layer.Output.Spatial;
        // A vectorised Im2Col may touch a few floats past its rows and past the bordered input.
        shared.NeedColumns(pixels * v.PatchSize + ConvEmitter.RowSlack, pixels * v.GroupOutputs);
        if (plan.Step(layer).Strategy != KernelStrategy.DirectConvolution || RunsSparse(layer))
            shared.NeedInferenceColumns(pixels * v.PatchSize + ConvEmitter.RowSlack, pixels * v.GroupOutputs);
        int padded = ConvEmitter.PaddedFloats(v);
        shared.NeedPadded(padded == 0 ? 0 : padded + ConvEmitter.RowSlack);
        shared.NeedTransposed(v.Groups * v.PatchSize * v.GroupOutputs);
    }

    public override string Describe(LayerSpec layer)
    {
        ConvolutionOptions o = layer.Get<ConvolutionOptions>();
        string kernel = Image ? $"{o.Kernel}x{o.Kernel}" : $"kernel {o.Kernel}";
        string options = $", stride {o.Stride}, {(o.Causal ? $"causal pad {new Convolution(layer).PadLeft}" : $"pad {o.Padding}")}";
        if (o.Dilation != 1) options += $", dilation {o.Dilation}";
        if (o.Groups != 1) options += $", {o.Groups} groups";
        return $"{layer.WeightName}: {layer.Kind} {layer.Input} -> {layer.Output}, {kernel}{options}{Maths.Named(layer.Activation)}. {Maths.Apply(layer.Activation, layer.HasBias ? "W * x + b" : "W * x")}";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        $"{Maths.ActivationGradient(layer.Activation)}; per sample dW += im2col(x)^T dz{(layer.HasBias ? ", db += sum over pixels of dz" : "")}, dx = col2im(dz W^T){Maths.WhenAsked(first)}.";

    public override long Flops(LayerSpec layer, Plan plan) => 2L * layer.Outputs * new Convolution(layer).PatchSize;

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        ConvolutionOptions o = layer.Get<ConvolutionOptions>();
        if (layer.HasBias) options.Add("Bias = true");
        if (o.Kernel != 1) options.Add($"Kernel = {o.Kernel}");
        if (o.Stride != 1) options.Add($"Stride = {o.Stride}");
        if (o.Padding != 0) options.Add($"Padding = {o.Padding}");
        if (o.Dilation != 1) options.Add($"Dilation = {o.Dilation}");
        if (o.Groups != 1) options.Add($"Groups = {o.Groups}");
        if (o.Causal) options.Add("Causal = true");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        ConvolutionOptions o = layer.Get<ConvolutionOptions>();
        Shape i = layer.Input;
        string common = $"kernel: {o.Kernel}, stride: {o.Stride}, padding: {o.Padding}";
        string activation = $"global::Dsl.Activation.{layer.Activation}";
        return Image
            ? $"new global::Dsl.Conv2D(_parameters, \"{layer.WeightName}\", {i.Channels}, {i.Height}, {i.Width}, {layer.Output.Channels}, {common}, dilation: {o.Dilation}, groups: {o.Groups}, {activation}, {tensor("weight")}, {tensor("bias")})"
            : $"new global::Dsl.Conv1D(_parameters, \"{layer.WeightName}\", {i.Channels}, {i.Width}, {layer.Output.Channels}, {common}, dilation: {o.Dilation}, groups: {o.Groups}, causal: {(o.Causal ? "true" : "false")}, {activation}, {tensor("weight")}, {tensor("bias")})";
    }

    public override bool HasKernelClass(StepPlan step) => true;

    public override bool HasCode(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
        var v = new Convolution(step.Layer);
        w.Line($"// W is stored per group input-major [{v.Groups}, {v.PatchSize}, {v.GroupOutputs}]: im2col rows times W is the convolution,");
        w.Line($"// vectorised over the {v.GroupOutputs} output channels of a group by the same kernels as a dense layer.");
        ConvEmitter.EmitConstants(w, v);
    }

    // Inference kernels add a bias when the layer has one or a folded batch norm gives it one.
    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
        LayerSpec layer = step.Layer;
        var v = new Convolution(layer);
        bool folded = step.FoldsNext;
        DenseEmitter.EmitForward(w, new Gemm(v.PatchSize, v.GroupOutputs, layer.HasBias || folded, layer.HasBias, Sparse: RunsSparse(layer)), plan);
        if (RunsSparse(layer))
        {
            w.Line();
            DenseEmitter.EmitForwardSparse(w);
        }
        w.Line();
        ConvEmitter.EmitForwardHelpers(w, v, folded, zeroBias: folded && !layer.HasBias);
        if (step.Strategy == KernelStrategy.DirectConvolution)
        {
            w.Line();
            ConvEmitter.EmitDirect(w, v, bias: layer.HasBias || folded, plan.Ladder, step.ReadsBordered,
                step.BorderedNext is { } next ? new Convolution(next) : null, clearsBorder: !plan.InferenceScratchPersists);
        }
        else if (ConvEmitter.LanesOnNarrowRows(v, plan.Ladder))
        {
            w.Line();
            ConvEmitter.EmitDirectLanes(w, v, bias: layer.HasBias || folded);
        }
    }

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
        var v = new Convolution(step.Layer);
        DenseEmitter.EmitBackward(w, new Gemm(v.PatchSize, v.GroupOutputs, step.Layer.HasBias, step.Layer.HasBias, v.Groups), plan, writeTransposed: !plan.InputGradientOnly(step));
        w.Line();
        ConvEmitter.EmitBackwardHelpers(w, v);
    }

    /// <summary>
    /// A pruned convolution's inference: while the runtime holds a compact form of W that pays for the layer's pixels
    /// (<c>SparseBatched</c>: the pixels are the product's rows), im2col and the sparse product; a batch norm that the
    /// dense path folds into W runs after it instead, on the output (the compact form holds W unscaled). The form is
    /// read once per call, so a rebuild on another thread is seen whole or not at all.
    /// </summary>
    protected override void EmitInference(CallSite c, string x, string y)
    {
        if (!RunsSparse(c.Layer))
        {
            EmitDenseInference(c, x, y);
            return;
        }
        LayerSpec layer = c.Layer;
        SourceWriter w = c.W;
        string local = Names.Local(layer.MemberName) + "Sparse";
        w.OpenBlock($"if (_parameters.Pruning!.SparseBatched({c.Plan.PrunableIndex(layer)}) is {{ }} {local})");
        LayerSpec? norm = c.Step.FoldsNext ? c.Plan.Spec.Layers[c.Index + 1] : null;
        string bias = layer.HasBias ? $"ref Unsafe.Add(ref p, {c.Offsets}.BiasOffset)" : norm is not null ? $"ref {c.Code}.NoBias[0]" : $"ref Unsafe.Add(ref p, {c.Offsets}.WeightOffset)";
        w.Line($"{c.Code}.Im2Col(ref {x}, {(ConvEmitter.IsPadded(new Convolution(layer)) ? "ref padded, " : "")}ref cols);");
        w.Line($"{c.Code}.ForwardSparse<{Kernels}{OperatorName(norm is null ? layer.Activation : ActivationKind.None)}>(ref cols, {local}, {bias}, ref pixels, {c.Code}.Pixels);");
        w.Line($"{c.Code}.ToChannels(ref pixels, ref {y});");
        if (norm is not null) BatchNormHandler.EmitInference(w, norm, Names.KernelClass(norm), y, y);
        w.CloseBlock();
        w.OpenBlock("else");
        EmitDenseInference(c, x, y);
        w.CloseBlock();
    }

    private static void EmitDenseInference(CallSite c, string x, string y)
    {
        LayerSpec layer = c.Layer;
        var v = new Convolution(layer);
        SourceWriter w = c.W;
        ActivationKind activation = layer.Activation;
        string weight = $"ref Unsafe.Add(ref p, {c.Offsets}.WeightOffset)";
        string bias = layer.HasBias ? $"ref Unsafe.Add(ref p, {c.Offsets}.BiasOffset)" : weight;
        if (c.Step.FoldsNext)
        {
            LayerSpec norm = c.Plan.Spec.Layers[c.Index + 1];
            string normKernels = Names.KernelClass(norm);
            int channels = layer.Output.Channels;
            activation = norm.Activation;
            w.Line($"// {norm.WeightName} folded in: scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale; W' = W scale, b' = b scale + shift");
            string fold = Names.Local(layer) + "Folded";
            w.Line($"{Span} {fold} = scratch.Slice({c.Plan.FoldSlot}, {3 * channels + v.Groups * v.PatchSize * v.GroupOutputs});");
            w.Line($"{Kernels}BatchNormKernels.Fold(_parameters.ReadOnlyValues.Slice({normKernels}.WeightOffset, {channels}), _parameters.ReadOnlyValues.Slice({normKernels}.BiasOffset, {channels}), " +
                   $"_parameters.ReadOnlyBuffers.Slice({normKernels}.RunningMeanOffset, {channels}), _parameters.ReadOnlyBuffers.Slice({normKernels}.RunningVarOffset, {channels}), {SourceWriter.Float(norm.Get<BatchNormOptions>().Epsilon)}, " +
                   $"{fold}.Slice(0, {channels}), {fold}.Slice({channels}, {channels}));");
            w.Line($"{c.Code}.Fold({weight}, {bias}, ref {fold}[0], ref {fold}[{channels}], ref {fold}[{3 * channels}], ref {fold}[{2 * channels}]);");
            weight = $"ref {fold}[{3 * channels}]";
            bias = $"ref {fold}[{2 * channels}]";
        }
        if (c.Step.BorderedNext is { } next)
            w.Line($"// written inside {next.MemberName}'s zero border, so {next.MemberName} reads it without a padding copy");
        if (c.Step.Strategy == KernelStrategy.DirectConvolution)
            w.Line($"{c.Code}.Direct<{Kernels}{OperatorName(activation)}>(ref {x}, {(ConvEmitter.IsPadded(v) && !c.Step.ReadsBordered ? "ref padded, " : "")}{weight}, {bias}, ref {y});");
        else if (ConvEmitter.LanesOnNarrowRows(v, c.Plan.Ladder))
        {
            w.Line("// rows narrower than a vector: the output channels in the lanes with AVX-512, im2col otherwise");
            w.Line("if (Vector512.IsHardwareAccelerated)");
            w.Line($"    {c.Code}.DirectLanes<{Kernels}{OperatorName(activation)}>(ref {x}, {(ConvEmitter.IsPadded(v) ? "ref padded, " : "")}{weight}, {bias}, ref {y});");
            w.OpenBlock("else");
            EmitSample(c, v, x, y, weight, bias, OperatorName(activation));
            w.CloseBlock();
        }
        else
            EmitSample(c, v, x, y, weight, bias, OperatorName(activation));
    }

    // One sample: per group, im2col, the dense product over pixels (activation fused), then back to channel-major.
    private static void EmitSample(CallSite c, Convolution v, string x, string y, string weight, string bias, string fused)
    {
        SourceWriter w = c.W;
        string kernels = c.Code;
        string padded = ConvEmitter.IsPadded(v) ? "ref padded, " : "";
        if (v.Groups == 1)
        {
            w.Line($"{kernels}.Im2Col(ref {x}, {padded}ref cols);");
            w.Line($"{kernels}.ForwardRows<{Kernels}{fused}>(ref cols, {weight}, {bias}, ref pixels, {kernels}.Pixels);");
            w.Line($"{kernels}.ToChannels(ref pixels, ref {y});");
            return;
        }
        w.OpenBlock($"for (int g = 0; g < {kernels}.Groups; g++)");
        w.Line($"{kernels}.Im2Col(ref Unsafe.Add(ref {x}, g * {kernels}.GroupInputFloats), {padded}ref cols);");
        w.Line($"{kernels}.ForwardRows<{Kernels}{fused}>(ref cols, ref Unsafe.Add({weight}, g * {kernels}.GroupWeights), ref Unsafe.Add({bias}, g * {kernels}.Outputs), ref pixels, {kernels}.Pixels);");
        w.Line($"{kernels}.ToChannels(ref pixels, ref Unsafe.Add(ref {y}, g * {kernels}.GroupOutputFloats));");
        w.CloseBlock();
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        var v = new Convolution(layer);
        SourceWriter w = c.W;
        string weight = $"ref Unsafe.Add(ref p, {c.Offsets}.WeightOffset)";
        string bias = layer.HasBias ? $"ref Unsafe.Add(ref p, {c.Offsets}.BiasOffset)"
            : c.Step.FoldsNext ? $"ref {c.Code}.NoBias[0]" : weight;
        string target = pre ?? output;
        w.OpenBlock("for (int s = 0; s < batch; s++)");
        w.Line($"ref float xs = ref MemoryMarshal.GetReference({input}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
        w.Line($"ref float ys = ref MemoryMarshal.GetReference({target}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
        EmitSample(c, v, "xs", "ys", weight, bias, OperatorName(pre is not null ? ActivationKind.None : layer.Activation));
        w.CloseBlock();
    }

    // Per sample and group: dz to pixel-major, im2col again, dW += cols^T dz, db += sum dz, and dx = col2im(dz W^T).
    // dx before dW: a fused SGD step scales the pixels' dz in place, and changes W sample by sample (W^T is copied before).
    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        var v = new Convolution(layer);
        SourceWriter w = c.W;
        string kernels = c.Code, offsets = c.Offsets;
        bool first = b.First;
        bool grouped = v.Groups > 1;
        string padded = ConvEmitter.IsPadded(v) ? "ref padded, " : "";
        string Offset(string constant) => grouped ? $" + g * {kernels}.{constant}" : "";
        string Group(string reference, string constant) => grouped ? $"ref Unsafe.Add(ref {reference}, g * {kernels}.{constant})" : $"ref {reference}";
        string gradientBias = layer.HasBias ? $"ref Unsafe.Add(ref grads, {offsets}.BiasOffset{Offset("Outputs")})" : $"ref Unsafe.Add(ref grads, {offsets}.WeightOffset)";
        string wantDx = first ? "!inputGradient.IsEmpty" : "true";
        if (first) w.Line("if (!inputGradient.IsEmpty)");
        w.Line($"{(first ? "    " : "")}{kernels}.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.WeightOffset), ref transposed);");
        w.OpenBlock("for (int s = 0; s < batch; s++)");
        w.Line($"ref float xs = ref MemoryMarshal.GetReference({b.Input}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
        w.Line($"ref float dys = ref MemoryMarshal.GetReference({b.Gradient}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
        w.Line(first
            ? $"ref float dxs = ref inputGradient.IsEmpty ? ref xs : ref MemoryMarshal.GetReference({b.Next}.Slice(s * {layer.Inputs}, {layer.Inputs}));"
            : $"ref float dxs = ref MemoryMarshal.GetReference({b.Next}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
        if (grouped) w.OpenBlock($"for (int g = 0; g < {kernels}.Groups; g++)");
        w.Line($"{kernels}.ToPixels({Group("dys", "GroupOutputFloats")}, ref pixels);");
        w.Line($"{kernels}.Im2Col({Group("xs", "GroupInputFloats")}, {padded}ref cols);");
        if (first) w.OpenBlock($"if ({wantDx})");
        w.Line($"{kernels}.Transposed.ForwardRows<{Kernels}Identity>(ref pixels, {Group("transposed", "GroupWeights")}, ref transposed, ref columnGradient, {kernels}.Pixels);");
        w.Line($"{kernels}.Col2Im(ref columnGradient, {padded}{Group("dxs", "GroupInputFloats")});");
        if (first) w.CloseBlock();
        w.Line($"{kernels}.AccumulateGradients(ref cols, ref pixels, {kernels}.Pixels, ref Unsafe.Add(ref products, {offsets}.WeightOffset{Offset("GroupWeights")}), productScale, {gradientBias}, ref pixels);");
        if (grouped) w.CloseBlock();
        w.CloseBlock();
    }
}

/// <summary>A convolution step's geometry, as the convolution kernels read it; a Conv1D is a Conv2D of height 1.</summary>
internal sealed class Convolution
{
    public Convolution(LayerSpec layer)
    {
        ConvolutionOptions o = layer.Get<ConvolutionOptions>();
        Input = layer.Input;
        Output = layer.Output;
        HasBias = layer.HasBias;
        Kernel = o.Kernel;
        Stride = o.Stride;
        Padding = o.Padding;
        Dilation = o.Dilation;
        Groups = o.Groups;
        Causal = o.Causal;
        KernelHeight = o.Image ? o.Kernel : 1;
        PadTop = o.Image ? o.Padding : 0;
        PadLeft = o.Causal ? (o.Kernel - 1) * o.Dilation : o.Padding;
        StrideHeight = o.Image ? o.Stride : 1;
        DilationHeight = o.Image ? o.Dilation : 1;
    }

    public Shape Input { get; }

    public Shape Output { get; }

    public bool HasBias { get; }

    public int Outputs => Output.Size;

    public int Kernel { get; }

    public int Stride { get; }

    public int Padding { get; }

    public int Dilation { get; }

    public int Groups { get; }

    public bool Causal { get; }

    public int KernelHeight { get; }

    public int PadTop { get; }

    /// <summary>Causal padding is all on the left.</summary>
    public int PadLeft { get; }

    public int StrideHeight { get; }

    public int DilationHeight { get; }

    /// <summary>Input channels per group times the kernel area: the length of one im2col row.</summary>
    public int PatchSize => Input.Channels / Groups * KernelHeight * Kernel;

    /// <summary>Output channels per group.</summary>
    public int GroupOutputs => Output.Channels / Groups;
}

/// <summary>A 2-D (<paramref name="Image"/>) or 1-D convolution; a 1-D one is a 2-D one of height 1. Causal padding is all on the left.</summary>
internal sealed record ConvolutionOptions(int Kernel, int Stride, int Padding, int Dilation, int Groups, bool Causal, bool Image) : LayerOptions
{
    /// <summary>A highway residual's gate (made by the flattener): its bias starts at −1.</summary>
    public bool Gate { get; init; }
}
