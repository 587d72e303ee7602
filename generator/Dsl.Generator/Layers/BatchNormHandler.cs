using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[BatchNorm2D]</c> and <c>[BatchNorm1D]</c>: statistics per channel over the batch (and positions) in
/// training, PyTorch's running statistics at inference, where one right after a convolution folds into it.
/// </summary>
internal sealed class BatchNormHandler : LayerHandler
{
    public BatchNormHandler(LayerKind kind, bool image) : base(kind) => Image = image;

    /// <summary>BatchNorm2D on [C, H, W]; otherwise BatchNorm1D on flat or [C, L] inputs.</summary>
    private bool Image { get; }

    public override bool TakesActivation => true;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        var options = new BatchNormOptions(d.NamedFloat("Momentum") ?? 0.1f, d.NamedFloat("Epsilon") ?? 1e-5f);
        if (!(options.Momentum >= 0f && options.Momentum <= 1f)) d.Check.Invalid($"momentum must lie in [0, 1], but is {options.Momentum.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        d.Check.Epsilon(options.Epsilon);
        return d.Finish(d.Spec with { Options = options }, s =>
            Image
                ? (s.Rank == 3 ? s : LayerDeclaration.Fail(d.Check.WrongRank(d.KindName, 3, s)))
                : (s.Rank <= 2 && !s.IsTokens ? s : LayerDeclaration.Fail(d.Check.WrongRank(d.KindName, -2, s))));
    }

    /// <summary>The batch norm kind of a channel-major shape: BatchNorm2D on an image, BatchNorm1D on a sequence.</summary>
    public static BatchNormHandler For(Shape x) => (BatchNormHandler)LayerHandlers.For(x.Rank == 3 ? LayerKind.BatchNorm2D : LayerKind.BatchNorm1D);

    /// <summary>A batch norm with PyTorch's defaults made by the flattener (after a residual's projection shortcut).</summary>
    public LayerSpec Create(string id, string weightName, Shape x) =>
        new(id, "private", weightName, Kind, x, x, ActivationKind.None, HasBias: true, new BatchNormOptions(Momentum: 0.1f, Epsilon: 1e-5f));

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        int channels = layer.Input.Channels;
        add(new TensorRequest("weight", new[] { channels }, "Ones"));
        add(new TensorRequest("bias", new[] { channels }, "Zeros"));
        add(new TensorRequest("running_mean", new[] { channels }, "Zeros", Buffer: true));
        add(new TensorRequest("running_var", new[] { channels }, "Ones", Buffer: true));
        add(new TensorRequest("num_batches_tracked", new int[0], "Zeros", Buffer: true, Int64: true));
    }

    // Batch mean, then 1/sqrt(var + eps), per channel.
    public override int StatisticsFloats(LayerSpec layer) => 2 * layer.Input.Channels;

    public override string StatisticsComment(LayerSpec layer) => $"batch mean, then 1/sqrt(var + eps), {layer.Input.Channels} each";

    public override LayerOptions SharingKey(LayerOptions options) => new BatchNormOptions(0f, 0f);

    public override string Describe(LayerSpec layer) =>
        $"{layer.WeightName}: {layer.Kind} {layer.Input}{Maths.Named(layer.Activation)}, statistics per channel over the batch{(layer.Input.Spatial > 1 ? " and positions" : "")}. {Maths.Apply(layer.Activation, "gamma (x - mean) / sqrt(var + eps) + beta")}";

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        $"{Maths.ActivationGradient(layer.Activation)}; dgamma += sum dz xhat, dbeta += sum dz, dx through the batch statistics.";

    public override long Flops(LayerSpec layer, Plan plan) => 2L * layer.Outputs;

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options) =>
        options.Add($"Epsilon = {SourceWriter.Float(layer.Get<BatchNormOptions>().Epsilon)}");

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        BatchNormOptions o = layer.Get<BatchNormOptions>();
        Shape i = layer.Input;
        string positions = Image ? $"{i.Height}, {i.Width}" : i.Rank == 2 ? $"{i.Width}" : "0";
        return $"new global::Dsl.{layer.Kind}(_parameters, \"{layer.WeightName}\", {i.Channels}, {positions}, " +
               $"momentum: {SourceWriter.Float(o.Momentum)}, epsilon: {SourceWriter.Float(o.Epsilon)}, global::Dsl.Activation.{layer.Activation}, " +
               $"{tensor("weight")}, {tensor("bias")}, {tensor("running_mean")}, {tensor("running_var")}, {tensor("num_batches_tracked")})";
    }

    public override bool HasKernelClass(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
        w.Line($"public const int Channels = {step.Layer.Input.Channels};");
        w.Line($"public const int Spatial = {step.Layer.Input.Spatial}; // positions per channel");
    }

    protected override void EmitInference(CallSite c, string x, string y) => EmitInference(c.W, c.Layer, c.Offsets, x, y);

    /// <summary>
    /// y = act(gamma (x - running_mean) / sqrt(running_var + eps) + beta) on one sample; also a pruned convolution's,
    /// whose sparse path runs the batch norm its dense path folds into W.
    /// </summary>
    public static void EmitInference(SourceWriter w, LayerSpec layer, string offsets, string x, string y)
    {
        int channels = layer.Input.Channels;
        w.Line($"{Kernels}BatchNormKernels.Inference(MemoryMarshal.CreateReadOnlySpan(ref {x}, {layer.Inputs}), MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}), {channels}, {layer.Input.Spatial}, " +
                 $"_parameters.ReadOnlyValues.Slice({offsets}.WeightOffset, {channels}), _parameters.ReadOnlyValues.Slice({offsets}.BiasOffset, {channels}), " +
                 $"_parameters.ReadOnlyBuffers.Slice({offsets}.RunningMeanOffset, {channels}), _parameters.ReadOnlyBuffers.Slice({offsets}.RunningVarOffset, {channels}), {SourceWriter.Float(layer.Get<BatchNormOptions>().Epsilon)});");
        if (layer.Activation != ActivationKind.None)
            w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>(MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}), MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}));");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        BatchNormOptions o = layer.Get<BatchNormOptions>();
        string offsets = c.Offsets, statistics = Names.Local(layer) + "Statistics";
        int channels = layer.Input.Channels;
        c.W.Line($"{Span} {statistics} = workspace.Shared({Names.StatisticsSlot(layer)}, {2 * channels});");
        c.W.Line($"{Kernels}BatchNormKernels.ForwardTraining({input}, {pre ?? output}, batch, {channels}, {layer.Input.Spatial}, " +
                 $"_parameters.Values.Slice({offsets}.WeightOffset, {channels}), _parameters.Values.Slice({offsets}.BiasOffset, {channels}), " +
                 $"_parameters.Buffers.Slice({offsets}.RunningMeanOffset, {channels}), _parameters.Buffers.Slice({offsets}.RunningVarOffset, {channels}), " +
                 $"{SourceWriter.Float(o.Momentum)}, {SourceWriter.Float(o.Epsilon)}, {statistics}.Slice(0, {channels}), {statistics}.Slice({channels}, {channels}), workspace);");
        // A batch split across threads counts once, on its first thread.
        c.W.Line($"if (workspace.IsPrimary) Unsafe.Add(ref buffers, {offsets}.NumBatchesTrackedOffset) += 1f;");
        if (pre is null && layer.Activation != ActivationKind.None)
            c.W.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({output}, {output});");
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        string offsets = c.Offsets;
        int channels = layer.Input.Channels;
        string statistics = $"workspace.Shared({Names.StatisticsSlot(layer)}, {2 * channels})";
        // dx is needed for the statistics' gradient even when the caller does not want it: DxTarget is then the free buffer.
        c.W.Line($"{Kernels}BatchNormKernels.Backward({b.Input}, {b.Gradient}, {b.DxTarget}, batch, {channels}, {layer.Input.Spatial}, _parameters.Values.Slice({offsets}.WeightOffset, {channels}), " +
                 $"{statistics}.Slice(0, {channels}), {statistics}.Slice({channels}, {channels}), gradients.Slice({offsets}.WeightOffset, {channels}), gradients.Slice({offsets}.BiasOffset, {channels}), workspace);");
    }
}

/// <summary>Batch norm: PyTorch's running-statistics momentum and the epsilon.</summary>
internal sealed record BatchNormOptions(float Momentum, float Epsilon) : LayerOptions;
