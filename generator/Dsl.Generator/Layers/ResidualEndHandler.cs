using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// The end of a residual connection: y = x + F(x), with a projection shortcut y = x W_s + F(x), or the highway
/// mix y = T F(x) + (1 − T) x with T = sigmoid(x W_T + b_T), then its activation if it has one. Projection and
/// gate are a Gemm on the rows of x; a projection on channel-major activations is a shortcut path of steps of
/// their own (<see cref="ResidualShortcutHandler"/>), whose output the end adds to the F(x) it kept. Its backward
/// keeps dL/d(sum) (the identity shortcut's gradient, F's under a shortcut path, and the residual stream's observation).
/// </summary>
internal sealed class ResidualEndHandler : LayerHandler
{
    public ResidualEndHandler() : base(LayerKind.ResidualEnd)
    {
    }

    public override string? AttributeName => null;

    public override bool OwnsWeightName => false;

    public override string ExtraWeightName(LayerSpec layer) => layer.Get<ResidualEndOptions>().ShortcutName;

    public override LayerSpec? Parse(LayerDeclaration d) => throw new InvalidOperationException("A residual connection's end is made by the flattener, not declared.");

    /// <summary>The end step of the residual member at <paramref name="path"/>, whose branch maps x to <paramref name="y"/>.</summary>
    public static LayerSpec Create(string id, string path, Shape y, ActivationKind activation, ResidualEndOptions options) =>
        new(id, "private", path, LayerKind.ResidualEnd, y, y, activation, HasBias: options.RowGate, options);

    public override bool TakesActivation => true;

    public override KernelStrategy Strategy(LayerSpec layer) =>
        layer.Get<ResidualEndOptions>().HasShortcutWeights ? KernelStrategy.Gemm : KernelStrategy.Library;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        int inputs = plan.Begin(layer).Input.Features, outputs = layer.Output.Features;
        if (o.Projection)
            add(new TensorRequest("weight", new[] { outputs, inputs }, "XavierUniform", inputs, outputs, TransposeGroups: 1, Prefix: o.ShortcutName));
        if (o.RowGate)
        {
            add(new TensorRequest("weight", new[] { outputs, inputs }, "XavierUniform", inputs, outputs, TransposeGroups: 1, Prefix: o.ShortcutName));
            // A negative gate bias starts the block close to carrying x through, as highway networks do.
            add(new TensorRequest("bias", new[] { outputs }, "MinusOnes", Prefix: o.ShortcutName));
        }
    }

    public override void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        // dL/d(x + F(x)), kept after Backward: the identity shortcut's gradient, and what ResidualOutputGradient shows.
        slot(Slot.OutputGradient, layer.Outputs);
        if (o.HasShortcutWeights) slot(Slot.SkipGradient, plan.Begin(layer).Inputs);
        if (o.Projection) slot(Slot.ScaledGradient, layer.Outputs); // -lr dL/dy for a fused SGD step: the branch reads dL/dy after
        if (o.RowGate)
        {
            slot(Slot.Gate, layer.Outputs);
            slot(Slot.GateGradient, layer.Outputs);
        }
        if (o.PathGate)
        {
            slot(Slot.SkipGradient, layer.Outputs); // the carry's (1 - T) dy, for the begin
            slot(Slot.GateGradient, layer.Outputs); // dF = T dy, for the branch
        }
    }

    public override void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared)
    {
        if (layer.Get<ResidualEndOptions>().HasShortcutWeights)
            shared.NeedTransposed(plan.Begin(layer).Input.Features * layer.Output.Features);
    }

    public override void AddInferenceScratch(LayerSpec layer, Action<ScratchRole, int> scratch)
    {
        if (layer.Get<ResidualEndOptions>().RowGate) scratch(ScratchRole.Gate, layer.Outputs);
    }

    // The kernels depend on x's width as well as y's (X stays in the key): only ends alike in both share them.
    public override LayerOptions SharingKey(LayerOptions options) =>
        (ResidualEndOptions)options with { Skip = "", ShortcutName = "", Residual = "" };

    public override string Describe(LayerSpec layer)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        string sum = o.Gated ? "T F(x) + (1 - T) x" : o.Projection ? "x W_s + F(x)" : o.ShortcutPath ? "S(x) + F(x)" : "x + F(x)";
        return $"{layer.WeightName}: residual connection ends, {layer.Output}. " + Maths.Apply(layer.Activation, sum) +
            (o.PathGate ? ", T = sigmoid(W_T * x + b_T) the gate path's output" : o.Gated ? ", T = sigmoid(x W_T + b_T)" : o.ShortcutPath ? ", S(x) the shortcut path's output" : "");
    }

    public override string BackwardMaths(LayerSpec layer, bool first)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        string maths = o.PathGate
            ? "dF = T dy and the carry's (1 - T) dy are kept; dT = dy (F - x) goes to the gate path."
            : o.Gated
            ? "dF = T dy; dT = dy (F - x), dA = dT T (1 - T); dW_T += x^T dA; the shortcut's gradient is (1 - T) dy + dA W_T^T."
            : o.Projection ? "dF = dy; dW_s += x^T dy; the shortcut's gradient is dy W_s^T."
            : o.ShortcutPath ? "dS = dy, and dF = dy too (kept for the branch)." : "dF = dy, and the shortcut's gradient is dy too (kept).";
        return layer.Activation == ActivationKind.None ? maths : $"{Maths.ActivationGradient(layer.Activation)} first (z the sum); then, dz for dy, {maths}";
    }

    public override long Flops(LayerSpec layer, Plan plan) =>
        layer.Outputs + (layer.Get<ResidualEndOptions>().HasShortcutWeights ? 2L * layer.Output.Rows * plan.Begin(layer).Input.Features * layer.Output.Features : 0);

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        options.Add($"Skip = {plan.Step(plan.Begin(layer)).Index}");
        if (o.Projection) options.Add("Projection = true");
        if (o.Gated) options.Add("Gated = true");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) => throw new InvalidOperationException("A residual connection has no view of its own.");

    public override string SummaryName(LayerSpec layer)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        return o.ShortcutName.Length > 0 ? o.ShortcutName : o.Residual;
    }

    public override string SummaryKind(LayerSpec layer)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        return (o.Gated ? "+ highway" : o.Projection || o.ShortcutPath ? "+ projection" : "+ x") + Maths.Named(layer.Activation);
    }

    public override bool HasKernelClass(StepPlan step) => step.Layer.Get<ResidualEndOptions>().HasShortcutWeights;

    // An identity residual has no code: its sums are library calls.
    public override bool HasCode(StepPlan step) => HasKernelClass(step);

    /// <summary>A residual's projection (no bias) or gate (bias, sigmoid) is a dense layer on the rows of x.</summary>
    private static Gemm Shortcut(Plan plan, LayerSpec end)
    {
        ResidualEndOptions o = end.Get<ResidualEndOptions>();
        return new Gemm(o.X.Features, end.Output.Features, o.RowGate, o.RowGate, BatchOne: end.Output.Rows == 1);
    }

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
        Gemm gemm = Shortcut(plan, step.Layer);
        w.Line(step.Layer.Get<ResidualEndOptions>().RowGate
            ? $"// The gate T = sigmoid(x W_T + b_T), W_T stored input-major [{gemm.Inputs}, {gemm.Outputs}]."
            : $"// The projection shortcut x W_s, W_s stored input-major [{gemm.Inputs}, {gemm.Outputs}].");
        w.Line($"public const int Inputs = {gemm.Inputs};");
        w.Line($"public const int Outputs = {gemm.Outputs};");
    }

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan) => DenseEmitter.EmitForward(w, Shortcut(plan, step.Layer), plan);

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan) => DenseEmitter.EmitBackward(w, Shortcut(plan, step.Layer), plan);

    protected override void EmitInference(CallSite c, string x, string y) =>
        EmitSum(c, x, y, c.Layer.Outputs, c.Layer.Output.Rows, batchOne: c.Layer.Output.Rows == 1);

    // The sum over `rows` rows, n values in all, from the branch's output x into y; the shortcut's product is one
    // Forward1 call when it has a batch-1 kernel (flat activations), ForwardRows otherwise.
    private static void EmitSum(CallSite c, string x, string y, int n, int rows, bool batchOne)
    {
        LayerSpec layer = c.Layer;
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        SourceWriter w = c.W;
        LayerSpec begin = c.Plan.Begin(layer);
        string skip = Names.Local(begin);
        string other = Names.Local(c.Plan.ShortcutPath(begin) ?? begin); // after a shortcut path, the F(x) it kept
        string ReadOnly(string reference, int length) => $"MemoryMarshal.CreateReadOnlySpan(ref {reference}, {length})";
        string Writable(string reference, int length) => $"MemoryMarshal.CreateSpan(ref {reference}, {length})";
        if (o.Projection)
        {
            w.Line(batchOne
                ? $"{c.Code}.Forward1<{Kernels}Identity>(ref {skip}, {WeightRefs(layer, "p")}, ref {y});"
                : $"{c.Code}.ForwardRows<{Kernels}Identity>(ref {skip}, {WeightRefs(layer, "p")}, ref {y}, {rows});");
            w.Line($"{Kernels}SequenceKernels.AddInPlace({Writable(y, n)}, {ReadOnly(x, n)});");
        }
        else if (o.PathGate)
        {
            w.Line($"{Kernels}SequenceKernels.Highway({ReadOnly(skip, n)}, {ReadOnly(other, n)}, {ReadOnly(x, n)}, {Writable(y, n)}); // x is T, the gate path's output");
        }
        else if (o.Gated)
        {
            string gate = Names.Local(layer) + "Gate";
            w.Line($"ref float {gate} = ref scratch[{c.Scratch(ScratchRole.Gate)}];");
            w.Line(batchOne
                ? $"{c.Code}.Forward1<{Kernels}Sigmoid>(ref {skip}, {WeightRefs(layer, "p")}, ref {gate});"
                : $"{c.Code}.ForwardRows<{Kernels}Sigmoid>(ref {skip}, {WeightRefs(layer, "p")}, ref {gate}, {rows});");
            w.Line($"{Kernels}SequenceKernels.Highway({ReadOnly(skip, begin.Inputs)}, {ReadOnly(x, n)}, {ReadOnly(gate, n)}, {Writable(y, n)});");
        }
        else
        {
            w.Line($"{Kernels}SequenceKernels.Add({ReadOnly(other, n)}, {ReadOnly(x, n)}, {Writable(y, n)});");
        }
        if (layer.Activation != ActivationKind.None)
            w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({ReadOnly(y, n)}, {Writable(y, n)});");
    }

    // The identity and projection shortcuts on tokens: per token. The gated forms are not decoded.
    public override bool Decodes(LayerSpec layer)
    {
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        return layer.Output.IsTokens && !o.Gated && !o.PathGate;
    }

    // The new token's row: the same sum on one row of the layer's features.
    protected override void EmitDecode(CallSite c, string x, string y) => EmitSum(c, x, y, c.Layer.Output.Features, 1, batchOne: false);

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        SourceWriter w = c.W;
        LayerSpec begin = c.Plan.Begin(layer);
        string skip = Names.Local(begin);
        string other = Names.Local(c.Plan.ShortcutPath(begin) ?? begin); // after a shortcut path, the F(x) it kept
        string rows = layer.Output.Rows == 1 ? "batch" : $"batch * {layer.Output.Rows}";
        // The sum goes where the activation reads it: z's own slot when its derivative needs z (the caller then applies it).
        string sum = pre ?? output;
        if (o.Projection)
        {
            w.Line($"{c.Code}.ForwardRows<{Kernels}Identity>(ref MemoryMarshal.GetReference({skip}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({sum}), {rows});");
            w.Line($"{Kernels}SequenceKernels.AddInPlace({sum}, {input});");
        }
        else if (o.PathGate)
        {
            w.Line($"{Kernels}SequenceKernels.Highway({skip}, {other}, {input}, {sum}); // the input is T, the gate path's output");
        }
        else if (o.Gated)
        {
            string gate = Names.Local(layer) + "Gate";
            w.Line($"{Span} {gate} = {SlotRegion(c.Plan, layer, Slot.Gate)};");
            w.Line($"{c.Code}.ForwardRows<{Kernels}Sigmoid>(ref MemoryMarshal.GetReference({skip}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({gate}), {rows});");
            w.Line($"{Kernels}SequenceKernels.Highway({skip}, {input}, {gate}, {sum});");
        }
        else
        {
            w.Line($"{Kernels}SequenceKernels.Add({other}, {input}, {sum});");
        }
        if (pre is null && layer.Activation != ActivationKind.None)
            w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({output}, {output});");
    }

    public override bool BackwardInPlace => true;

    public override void EmitBackwardInPlace(CallSite c, string input, string gradient)
    {
        LayerSpec layer = c.Layer;
        ResidualEndOptions o = layer.Get<ResidualEndOptions>();
        SourceWriter w = c.W;
        string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
        LayerSpec begin = c.Plan.Begin(layer);
        string skip = c.InputRegion(c.Plan.Step(begin).Index);
        string rows = layer.Output.Rows == 1 ? "batch" : $"batch * {layer.Output.Rows}";
        w.Line($"{gradient}.CopyTo({SlotRegion(c.Plan, layer, Slot.OutputGradient)}); // kept: ResidualOutputGradient{(o.HasShortcutWeights || o.PathGate ? "" : ", and the shortcut's gradient")}");
        if (o.PathGate)
        {
            // F(x) is the output of the step before the gate path's start; x what the begin read; the input is T.
            string f = c.InputRegion(c.Plan.Step(c.Plan.ShortcutPath(begin)!).Index);
            w.Line($"{Kernels}SequenceKernels.HighwaySplit({skip}, {f}, {input}, {gradient}, {SlotRegion(c.Plan, layer, Slot.GateGradient)}, {SlotRegion(c.Plan, layer, Slot.SkipGradient)}); // dF, the carry's dx, then dT in place");
            return;
        }
        if (!o.HasShortcutWeights) return;
        string skipGradient = Names.Local(layer) + "SkipGradient";
        w.Line($"{Span} {skipGradient} = {SlotRegion(c.Plan, layer, Slot.SkipGradient, begin.Inputs)};");
        string source = gradient;
        if (o.RowGate)
        {
            source = Names.Local(layer) + "GateGradient";
            w.Line($"{Span} {source} = {SlotRegion(c.Plan, layer, Slot.GateGradient)};");
            w.Line($"{Kernels}SequenceKernels.HighwayGateGradient({skip}, {input}, {SlotRegion(c.Plan, layer, Slot.Gate)}, {gradient}, {source});");
        }
        w.Line($"{c.Code}.TransposeWeights(ref Unsafe.Add(ref p, {c.Offsets}.WeightOffset), ref transposed);");
        w.Line($"{c.Code}.Transposed.ForwardRows<{Kernels}Identity>({Ref(source)}, ref transposed, ref transposed, {Ref(skipGradient)}, {rows});");
        // After dx: a fused SGD step changes W, and scales dL/dz, which the branch still reads: into a slot of its own unless it is the gate's.
        string scaled = o.RowGate ? Ref(source) : Ref(SlotRegion(c.Plan, layer, Slot.ScaledGradient));
        w.Line($"{c.Code}.AccumulateGradients({Ref(skip)}, {Ref(source)}, {Native(rows)}, {GradientRefs(layer, scaled)});");
        if (o.RowGate)
            w.Line($"{Kernels}SequenceKernels.HighwayCarry({SlotRegion(c.Plan, layer, Slot.Gate)}, {gradient}, {skipGradient}); // shortcut += (1 - T) dy, then dF = T dy");
    }
}

/// <summary>
/// The end of a residual connection: <paramref name="Skip"/> is the member name of its begin step, <paramref name="X"/>
/// the shape it kept, <paramref name="ShortcutName"/> the weight name of its projection or gate tensors (empty for
/// the identity). <paramref name="ShortcutPath"/>: the shortcut is the steps after its <see cref="ResidualShortcutHandler"/> step
/// (on channel-major activations, a projection or a highway gate), and the end adds their output to the F(x) that
/// step kept, or with <paramref name="Gated"/> mixes F(x) and x by it.
/// </summary>
internal sealed record ResidualEndOptions(string Skip, Shape X, bool Projection, bool Gated, string ShortcutName, string Residual, bool ShortcutPath = false) : LayerOptions, IResidualPart
{
    /// <summary>A projection or a highway gate: a dense layer on the rows of x.</summary>
    public bool HasShortcutWeights => Projection || RowGate;

    /// <summary>A highway gate computed here, on the rows of x (flat and token activations).</summary>
    public bool RowGate => Gated && !ShortcutPath;

    /// <summary>A highway gate that is a path of steps (a 1×1 convolution with a sigmoid, on channel-major activations).</summary>
    public bool PathGate => Gated && ShortcutPath;
}
