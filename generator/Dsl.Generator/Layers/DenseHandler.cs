using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[Dense(units, activation)]</c>: y = act(x W + b) on a flat vector or on every token, W stored input-major
/// [in, out] (PyTorch's <c>nn.Linear</c> weight transposed). One Gemm of its own.
/// </summary>
internal sealed class DenseHandler : LayerHandler
{
    public DenseHandler() : base(LayerKind.Dense)
    {
    }

    public override int RequiredArguments => 1;

    public override bool TakesActivation => true;

    public override bool AllowsSoftmax => true;

    // The activation is the constructor's second argument: [Dense(128, Activation.Relu)].
    public override int ActivationArgument(AttributeData attribute) =>
        attribute.ConstructorArguments.Length > 1 && attribute.ConstructorArguments[1].Value is int a ? a : 0;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        int units = d.Argument(0);
        d.Check.Positive("units", units);
        return d.Finish(d.Spec, s => s.IsRowMajor ? s.WithFeatures(units) : LayerDeclaration.Fail(d.Check.DenseNeedsFlatten(s)));
    }

    public override long WeightValues(LayerSpec layer, Shape input, Shape output) => (long)input.Features * output.Features;

    // Stored input-major [in, out]: a block is a run of outputs of one input.
    public override int? PrunableRun(LayerSpec layer) => layer.Output.Features;

    public override bool HasSparseKernel(LayerSpec layer) => true;

    // Flat input (the batch-1 and blocked kernels) and dense weights; tokens and the pruned sparse kernel read fp32 only.
    public override bool SupportsBFloat16(LayerSpec layer) => layer.Input.Rows == 1 && layer.Pruning is null;

    public override void CheckOutput(LayerSpec layer, Shape output, LayerChecks check)
    {
        if (layer.Activation == ActivationKind.Softmax && output.Features == 1)
            check.Activation("Softmax", "softmax over a single unit is always 1; use Sigmoid for one output");
    }

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Gemm;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        int inputs = layer.Input.Features, outputs = layer.Output.Features;
        add(new TensorRequest("weight", new[] { outputs, inputs }, Init.For(layer, next), inputs, outputs, TransposeGroups: 1, Pruning: layer.Pruning));
        if (layer.HasBias) add(new TensorRequest("bias", new[] { outputs }, "Zeros"));
    }

    public override void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared) =>
        shared.NeedTransposed(layer.Input.Features * layer.Output.Features);

    public override bool RunsInBlocks(LayerSpec layer) => layer.Input.Rank == 1;

    public override string Describe(LayerSpec layer)
    {
        string named = layer.Activation == ActivationKind.None ? "" : ", " + layer.Activation;
        string maths = Maths.Apply(layer.Activation, layer.HasBias ? "x W + b" : "x W");
        return layer.Input.IsTokens
            ? $"{layer.WeightName}: Dense {layer.Input.Features} -> {layer.Output.Features} on each of {layer.Input.Rows} tokens{named}. {maths}"
            : $"{layer.WeightName}: Dense {layer.Inputs} -> {layer.Outputs}{named}. {maths}";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        $"{Maths.ActivationGradient(layer.Activation)}; dW += x^T dz{(layer.HasBias ? "; db += sum over samples of dz" : "")}; dx = dz W^T{(first ? " when asked for" : "")}.";

    public override long Flops(LayerSpec layer, Plan plan) => 2L * layer.Input.Rows * layer.Input.Features * layer.Output.Features;

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        if (layer.HasBias) options.Add("Bias = true");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.Dense(_parameters, \"{layer.WeightName}\", {layer.Inputs}, {layer.Outputs}, global::Dsl.Activation.{layer.Activation}, {tensor("weight")}, {tensor("bias")})";

    public override bool HasKernelClass(StepPlan step) => true;

    public override bool HasCode(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
        LayerSpec layer = step.Layer;
        w.Line($"// W is stored input-major [{layer.Input.Features}, {layer.Output.Features}] so each kernel streams whole rows{(layer.Input.IsTokens ? "; it runs on each of the " + layer.Input.Rows + " tokens" : "")}.");
        w.Line($"public const int Inputs = {layer.Input.Features};");
        w.Line($"public const int Outputs = {layer.Output.Features};");
    }

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
        Gemm product = Product(step.Layer) with { ReluInputs = FollowsRelu(step, plan), Prepacks = PacksPanels(step.Layer, plan) };
        if (plan.Spec.BFloat16)
        {
            // Training reads the fp32 master weights (ForwardRows only); inference the bfloat16 image, through these.
            DenseEmitter.EmitForward(w, product with { BatchOne = false }, plan);
            w.Line();
            w.Line("/// <summary>The inference kernels over the bfloat16 image of W and b, widened to fp32 in registers.</summary>");
            w.OpenBlock("public static class BFloat16");
            DenseEmitter.EmitForward(w, product with { BFloat16 = true }, plan);
            w.CloseBlock();
            return;
        }
        DenseEmitter.EmitForward(w, product, plan);
        if (step.Layer.Pruning is null) return;
        w.Line();
        DenseEmitter.EmitForwardSparse(w);
    }

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan) =>
        DenseEmitter.EmitBackward(w, Product(step.Layer), plan, writeTransposed: !plan.InputGradientOnly(step));

    private static Gemm Product(LayerSpec layer) =>
        new(layer.Input.Features, layer.Output.Features, layer.HasBias, layer.HasBias, BatchOne: layer.Input.Rows == 1, Sparse: layer.Pruning is not null);

    /// <summary>
    /// Whether the layer's input is the output of a ReLU (through a flatten), as far as the declaration order shows: a
    /// hint for the batch-1 kernel to skip zero inputs, which computes the same sums whatever the input.
    /// </summary>
    private static bool FollowsRelu(StepPlan step, Plan plan)
    {
        for (int i = step.Index - 1; i >= 0; i--)
        {
            LayerSpec before = plan.Spec.Layers[i];
            if (before.Kind != LayerKind.Flatten) return before.Activation == ActivationKind.Relu;
        }
        return false;
    }

    /// <summary>
    /// A pruned layer's inference: its sparse kernel while the runtime holds a compact form of W pruned far enough to
    /// pay for this many rows (one, or a batch), the dense kernel otherwise. The form is read once per call, so a rebuild on another thread is seen whole or not at all.
    /// </summary>
    private static void EmitSparseOrDense(CallSite c, string x, string y, string rows, string dense)
    {
        LayerSpec layer = c.Layer;
        if (layer.Pruning is null)
        {
            c.W.Line(dense);
            return;
        }
        string local = Names.Local(layer.MemberName) + "Sparse";
        c.W.Line($"if (_parameters.Pruning!.{(rows == "1" ? "Sparse" : "SparseBatched")}({c.Plan.PrunableIndex(layer)}) is {{ }} {local})");
        c.W.Line($"    {c.Code}.ForwardSparse<{Kernels}{Fused(layer, false)}>(ref {x}, {local}, ref Unsafe.Add(ref p, {c.Code}.{(layer.HasBias ? "BiasOffset" : "WeightOffset")}), ref {y}, {rows});");
        c.W.Line("else");
        c.W.Line("    " + dense);
    }

    // The inference kernels' class: the layer's own, or its BFloat16 one in a bfloat16 network (p is then the bfloat16 image).
    private static string Inference(CallSite c) => c.Plan.Spec.BFloat16 ? c.Code + ".BFloat16" : c.Code;

    // Softmax runs after the product, over each row; every other activation is fused into the kernel.
    private static string Fused(LayerSpec layer, bool keepsZ) =>
        keepsZ || layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);

    protected override void EmitInference(CallSite c, string x, string y) =>
        EmitRows(c, x, y, c.Layer.Input.Rows, batchOne: c.Layer.Input.Rows == 1);

    public override bool Decodes(LayerSpec layer) => layer.Input.IsTokens;

    // The new token's row: one row of the product (the pruned form's single-row kernel where it pays).
    protected override void EmitDecode(CallSite c, string x, string y) => EmitRows(c, x, y, 1, batchOne: false);

    // The product of `rows` rows (Forward1 when it has a batch-1 kernel: flat activations), then a softmax per row.
    private static void EmitRows(CallSite c, string x, string y, int rows, bool batchOne)
    {
        LayerSpec layer = c.Layer;
        int width = layer.Output.Features;
        EmitSparseOrDense(c, x, y, SourceWriter.Int(rows), !batchOne
            ? $"{Inference(c)}.ForwardRows<{Kernels}{Fused(layer, false)}>(ref {x}, {WeightRefs(layer, "p")}, ref {y}, {rows});"
            : ReadsBlocks(c)
                ? $"{Inference(c)}.Forward1Blocked<{Kernels}{Fused(layer, false)}>(ref {x}, {WeightRefs(layer, "p")}, ref {y}, ref {BlocksField(layer)}.Get(_parameters, {c.Code}.BlockFloats(), {BlocksPacker(layer)}));"
                : $"{Inference(c)}.Forward1<{Kernels}{Fused(layer, false)}>(ref {x}, {WeightRefs(layer, "p")}, ref {y});");
        if (layer.Activation == ActivationKind.Softmax)
        {
            if (rows > 1) c.W.Line($"for (int t = 0; t < {rows}; t++)");
            c.W.Line($"{(rows > 1 ? "    " : "")}{Kernels}Softmax.Forward(MemoryMarshal.CreateSpan(ref {(rows > 1 ? $"Unsafe.Add(ref {y}, t * {width})" : y)}, {width}));");
        }
    }

    // Batch-1 inference reads a packed copy of W (DenseEmitter.BlocksBatchOne), kept by a field of the step's own; not in a
    // repeat, whose copies run one call site over their weights in turn.
    private static bool ReadsBlocks(CallSite c) =>
        !c.Plan.Spec.BFloat16 && !c.Plan.InRepeat(c.Index) && DenseEmitter.BlocksBatchOne(Product(c.Layer), c.Plan);

    private static string BlocksField(LayerSpec layer) => $"_{Names.Local(layer.MemberName)}Blocks";

    private static string BlocksPacker(LayerSpec layer) => $"Pack{layer.MemberName}Blocks";

    public override void EmitInferenceMembers(CallSite c)
    {
        if (!ReadsBlocks(c)) return;
        LayerSpec layer = c.Layer;
        c.W.Line($"// {layer.MemberName}'s batch-1 forward reads W packed per block of 16 inputs, packed once per change of the weights (ValuesVersion).");
        c.W.Line($"private readonly global::Dsl.Kernels.PackedPanels {BlocksField(layer)} = new();");
        c.W.Line();
        c.W.Line($"private static void {BlocksPacker(layer)}({NetworkGenerator.Emitter.ReadOnlySpan} values, {NetworkGenerator.Emitter.Span} blocks) =>");
        c.W.Line($"    {c.Code}.PackBlocks(ref Unsafe.Add(ref MemoryMarshal.GetReference(values), {c.Offsets}.WeightOffset), ref MemoryMarshal.GetReference(blocks));");
        c.W.Line();
    }

    // Flat fp32 dense layers of a network run in blocks, where their blocked kernels read panels.
    public override bool PacksPanels(LayerSpec layer, Plan plan) =>
        plan.Spec.RunsInBlocks && !plan.Spec.BFloat16 && layer.Pruning is null && DenseEmitter.ReadsPanels(Product(layer), plan);

    public override void EmitPackPanels(CallSite c, string offset) =>
        c.W.Line($"{c.Code}.PackPanels(ref Unsafe.Add(ref values, {c.Offsets}.WeightOffset), ref {(offset == "0" ? "panels" : $"Unsafe.Add(ref panels, {offset})")});");

    public override void EmitBlockInference(CallSite c, string x, string y)
    {
        LayerSpec layer = c.Layer;
        EmitSparseOrDense(c, x, y, "rows", PacksPanels(layer, c.Plan)
            ? $"{Inference(c)}.ForwardPacked<{Kernels}{Fused(layer, false)}>(ref {x}, {WeightRefs(layer, "p")}, ref {y}, rows, ref panels, {c.Plan.PanelOffset(c.Index)});"
            : $"{Inference(c)}.ForwardRows<{Kernels}{Fused(layer, false)}>(ref {x}, {WeightRefs(layer, "p")}, ref {y}, rows);");
        if (layer.Activation == ActivationKind.Softmax)
        {
            c.W.Line("for (int r = 0; r < rows; r++)");
            c.W.Line($"    {Kernels}Softmax.Forward(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref {y}, r * {layer.Outputs}), {layer.Outputs}));");
        }
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        c.W.Line($"{c.Code}.ForwardRows<{Kernels}{Fused(layer, pre is not null)}>(ref MemoryMarshal.GetReference({input}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({pre ?? output}), {RowCount(layer)});");
        if (layer.Activation == ActivationKind.Softmax)
        {
            c.W.Line($"for (int s = 0; s < {RowCount(layer)}; s++)");
            c.W.Line($"    {Kernels}Softmax.Forward({output}.Slice(s * {layer.Output.Features}, {layer.Output.Features}));");
        }
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        SourceWriter w = c.W;
        // dx before dW: a fused SGD step changes W, and scales dL/dz in place, as the weight gradient is formed.
        if (b.First) w.OpenBlock("if (!inputGradient.IsEmpty)");
        w.Line($"{c.Code}.TransposeWeights(ref Unsafe.Add(ref p, {c.Offsets}.WeightOffset), ref transposed);");
        w.Line($"{c.Code}.Transposed.ForwardRows<{Kernels}Identity>(ref MemoryMarshal.GetReference({b.Gradient}), ref transposed, ref transposed, ref MemoryMarshal.GetReference({b.Next}), {RowCount(layer)});");
        if (b.First) w.CloseBlock();
        w.Line($"{c.Code}.AccumulateGradients(ref MemoryMarshal.GetReference({b.Input}), ref MemoryMarshal.GetReference({b.Gradient}), {Native(RowCount(layer))}, {GradientRefs(layer, $"ref MemoryMarshal.GetReference({b.Gradient})")});");
    }
}
