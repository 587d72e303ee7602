using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// Everything the generator knows about one kind of step, in one place: how its attribute is parsed and its
/// output shape inferred (with the diagnostics), its tensors, workspace slots and scratch, the maths it writes
/// in comments, its FLOPs, its <c>NetworkStep</c> options and view, its kernel class and its call sites in the
/// three entry points (batch-1 inference, training forward, backward). The phases (parser, plan, emitter) walk
/// the steps and ask the handler; none of them switches on the kind. <see cref="LayerHandlers"/> maps kinds to
/// handlers. A member returns the kind-independent default where that is right for most kinds.
/// </summary>
internal abstract class LayerHandler
{
    protected LayerHandler(LayerKind kind) => Kind = kind;

    public LayerKind Kind { get; }

    // ---- Declaration ---------------------------------------------------------------------------------------

    /// <summary>The attribute declaring this kind, or null for steps the flattener makes itself (residual ends).</summary>
    public virtual string? AttributeName => $"Dsl.{Kind}Attribute";

    /// <summary>Constructor arguments the attribute must have, each an int; otherwise the compiler reports the attribute and no step is made.</summary>
    public virtual int RequiredArguments => 0;

    /// <summary>The step must be the network's first (an embedding: token ids have no gradient to pass back).</summary>
    public virtual bool MustBeFirst => false;

    /// <summary>Whether the kind fuses an activation (<c>Activation = ...</c>).</summary>
    public virtual bool TakesActivation => false;

    /// <summary>Whether that activation may be a softmax (only over a flat row: a dense layer).</summary>
    public virtual bool AllowsSoftmax => false;

    /// <summary>The declared activation's value: the named argument, unless the kind takes it in its constructor.</summary>
    public virtual int ActivationArgument(AttributeData attribute) => NetworkGenerator.Parser.NamedInt(attribute, "Activation") ?? 0;

    /// <summary>
    /// Reads the kind's options from the attribute and infers the output shape, reporting what is wrong through
    /// <paramref name="d"/>; null when the declaration is invalid. Ends with <see cref="LayerDeclaration.Finish"/>.
    /// </summary>
    public abstract LayerSpec? Parse(LayerDeclaration d);

    /// <summary>Values of the largest weight, checked against the generator's limit before anything is planned.</summary>
    public virtual long WeightValues(LayerSpec layer, Shape input, Shape output) => 0;

    /// <summary>
    /// For a kind whose weight can be [Pruned]: the outputs stored consecutively for one input (the run a block must
    /// divide); null when the kind cannot be pruned.
    /// </summary>
    public virtual int? PrunableRun(LayerSpec layer) => null;

    /// <summary>Whether this pruned layer runs the sparse kernel at inference (on the runtime's compact form of its weight).</summary>
    public virtual bool HasSparseKernel(LayerSpec layer) => false;

    /// <summary>
    /// Whether the step runs in a <c>WeightType.BFloat16</c> network: its inference reads its tensors (if any) from the
    /// bfloat16 image through bfloat16 kernels. Otherwise such a network is DSL0015.
    /// </summary>
    public virtual bool SupportsBFloat16(LayerSpec layer) => false;

    /// <summary>A last check with the output shape known (after the size checks).</summary>
    public virtual void CheckOutput(LayerSpec layer, Shape output, LayerChecks check)
    {
    }

    /// <summary>Whether the step's weight name is its own (a residual end shares its member's, and names only its shortcut).</summary>
    public virtual bool OwnsWeightName => true;

    /// <summary>A tensor name of its own besides the layer's (a residual shortcut's), checked for clashes; empty when none.</summary>
    public virtual string ExtraWeightName(LayerSpec layer) => "";

    // ---- Plan ----------------------------------------------------------------------------------------------

    public virtual KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Library;

    /// <summary>The tensors the step owns, in PyTorch order (weight before bias).</summary>
    public virtual void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
    }

    /// <summary>The step's output is its input's memory in training too (Flatten, the start of a residual connection).</summary>
    public virtual bool IsView => false;

    /// <summary>
    /// For a view that passes on another step's input instead of the previous step's output (a residual's shortcut
    /// path reads x again), that step; otherwise null.
    /// </summary>
    public virtual LayerSpec? PassesInputOf(LayerSpec layer, Plan plan) => null;

    /// <summary>Batch-1 inference writes nothing for it: a view, or a step that is the identity there.</summary>
    public virtual bool IsAliasInInference(LayerSpec layer) => IsView;

    /// <summary>Whether <paramref name="next"/> folds into this step for inference (a batch norm into the convolution before it).</summary>
    public virtual bool FoldsInto(LayerSpec layer, LayerSpec next) => false;

    /// <summary>
    /// Batch-1 inference only: the floats of this step's output when it is written straight into <paramref name="next"/>'s
    /// bordered input (a convolution into the zero border of the padded convolution after it, which then skips its
    /// padding copy), or null when it is written as usual. The plan asks only for adjacent steps outside repeats.
    /// </summary>
    public virtual int? BorderedOutputFloats(LayerSpec layer, LayerSpec next, Plan plan) => null;

    /// <summary>Scratch to fold the following step into this one at inference.</summary>
    public virtual int FoldFloats(LayerSpec layer) => 0;

    /// <summary>Per-sample workspace slots the step keeps besides its output, in order.</summary>
    public virtual void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot)
    {
    }

    /// <summary>What the step needs of the shared training scratch (and of inference's convolution scratch).</summary>
    public virtual void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared)
    {
    }

    /// <summary>Floats of per-batch statistics the step keeps in the shared area from forward to backward.</summary>
    public virtual int StatisticsFloats(LayerSpec layer) => 0;

    /// <summary>What those statistics hold, for the comment on their slot constant.</summary>
    public virtual string StatisticsComment(LayerSpec layer) => "";

    /// <summary>The step's own regions of the batch-1 inference scratch.</summary>
    public virtual void AddInferenceScratch(LayerSpec layer, Action<ScratchRole, int> scratch)
    {
    }

    /// <summary>
    /// The options that decide the step's kernels, for sharing one kernel class between identical steps; names
    /// and values the kernels only receive as arguments (a norm's epsilon) are left out.
    /// </summary>
    public virtual LayerOptions SharingKey(LayerOptions options) => options;

    /// <summary>Whether batched inference may run this step on blocks of samples (flat dense layers).</summary>
    public virtual bool RunsInBlocks(LayerSpec layer) => false;

    // ---- What it computes, in words and numbers ----------------------------------------------------------

    /// <summary>The comment above the step's code: its name, shapes and maths.</summary>
    public abstract string Describe(LayerSpec layer);

    /// <summary>The backward pass's comment after "name: Kind in -> out backward.".</summary>
    public abstract string BackwardMaths(LayerSpec layer, bool first);

    public virtual long Flops(LayerSpec layer, Plan plan) => 0;

    /// <summary>Options of its <c>NetworkStep</c> after the shared ones (tokens, activation).</summary>
    public virtual void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
    }

    /// <summary>The expression creating the step's view (<c>new global::Dsl.Dense(...)</c>); <paramref name="tensor"/> gives a tensor's expression by role, or "null".</summary>
    public abstract string ViewConstruction(LayerSpec layer, Func<string, string> tensor);

    /// <summary>Whether the step has a row in <c>Summary</c>.</summary>
    public virtual bool InSummary => true;

    public virtual string SummaryName(LayerSpec layer) => layer.WeightName;

    public virtual string SummaryKind(LayerSpec layer) => Kind.ToString();

    // ---- Kernel class --------------------------------------------------------------------------------------

    /// <summary>Whether the step gets a kernel class (its offsets, and maybe code).</summary>
    public virtual bool HasKernelClass(StepPlan step) => false;

    /// <summary>Whether the kernel class carries methods, not only constants.</summary>
    public virtual bool HasCode(StepPlan step) => false;

    /// <summary>The kernel class's constants before the tensor offsets.</summary>
    public virtual void EmitConstants(SourceWriter w, StepPlan step, Plan plan)
    {
    }

    /// <summary>The inference file's kernels (called only when the class <see cref="HasCode"/> and owns it).</summary>
    public virtual void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
    }

    /// <summary>The training file's kernels (likewise).</summary>
    public virtual void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan)
    {
    }

    /// <summary>Whether the training file declares its output slot constant (a Flatten's would repeat its input's).</summary>
    public virtual bool DeclaresOutputSlot => true;

    // ---- Call sites ----------------------------------------------------------------------------------------

    /// <summary>
    /// Batch-1 inference of the step reading <paramref name="x"/>; returns the local holding its output. The
    /// default writes into the step's scratch (or <c>y</c> when <paramref name="last"/>) through <see cref="EmitInference"/>.
    /// </summary>
    public virtual string EmitInferenceStep(CallSite c, string x, bool last)
    {
        if (c.Step.FoldedIntoPrevious || IsAliasInInference(c.Layer))
        {
            c.W.Line(c.Step.FoldedIntoPrevious ? "// folded into the convolution before it" : InferenceAliasComment);
            if (last) c.W.Line($"MemoryMarshal.CreateReadOnlySpan(ref {x}, OutputSize).CopyTo(MemoryMarshal.CreateSpan(ref y, OutputSize));");
            return x;
        }
        string output = last ? "y" : Names.Local(c.Layer);
        if (!last) c.W.Line($"ref float {output} = ref MemoryMarshal.GetReference(scratch.Slice({c.ScratchSlot}, {c.Step.InferenceOutputFloats}));");
        EmitInference(c, x, output);
        return output;
    }

    /// <summary>
    /// Whether a decode step (one new token of a causal language model, <c>IDecoder.DecodeStep</c>) can run this step:
    /// it acts on each token on its own, or it is causal attention reading the cached keys and values.
    /// </summary>
    public virtual bool Decodes(LayerSpec layer) => false;

    /// <summary>Floats of the decode cache the step's decode uses: its output row (none for a view), plus what it caches.</summary>
    public virtual int DecodeFloats(LayerSpec layer) => IsAliasInInference(layer) ? 0 : layer.Output.Features;

    /// <summary>
    /// The decode step of this step reading the token row <paramref name="x"/>; returns the local holding its output row.
    /// The default writes into the step's row of the decode cache (or <c>y</c>, the logits, when <paramref name="last"/>)
    /// through <see cref="EmitDecode"/>; a view passes its input on.
    /// </summary>
    public virtual string EmitDecodeStep(CallSite c, string x, bool last)
    {
        if (IsAliasInInference(c.Layer))
        {
            c.W.Line(InferenceAliasComment);
            if (last) c.W.Line($"MemoryMarshal.CreateReadOnlySpan(ref {x}, Vocabulary).CopyTo(MemoryMarshal.CreateSpan(ref y, Vocabulary));");
            return x;
        }
        string output = last ? "y" : Names.Local(c.Layer);
        if (!last) c.W.Line($"ref float {output} = ref Unsafe.Add(ref m, {c.DecodeSlot});");
        EmitDecode(c, x, output);
        return output;
    }

    /// <summary>The decode of one token row from <paramref name="x"/> into <paramref name="y"/>; <c>token</c> and <c>position</c> are in scope.</summary>
    protected virtual void EmitDecode(CallSite c, string x, string y) =>
        throw new InvalidOperationException($"{Kind} has no decode step.");

    /// <summary>Why batch-1 inference writes nothing for the step.</summary>
    protected virtual string InferenceAliasComment => "// a view of the previous output: no data moves";

    /// <summary>Batch-1 inference from <paramref name="x"/> into <paramref name="y"/> (refs to floats).</summary>
    protected virtual void EmitInference(CallSite c, string x, string y) =>
        throw new InvalidOperationException($"{Kind} has no batch-1 inference call.");

    /// <summary>The network's members the step's batch-1 inference reads (a packed copy of its weights), written before <c>ForwardOne</c>.</summary>
    public virtual void EmitInferenceMembers(CallSite c)
    {
    }

    /// <summary>
    /// Whether the step's batched inference (<see cref="EmitBlockInference"/>) reads its weights from the network's packed
    /// panels (<c>Dsl.Kernels.PackedPanels</c>, made once per change of the weights) instead of packing them per call.
    /// </summary>
    public virtual bool PacksPanels(LayerSpec layer, Plan plan) => false;

    /// <summary>The step's part of the network's <c>PackPanels</c>: its weights from <c>values</c> into <c>panels</c> at <paramref name="offset"/>.</summary>
    public virtual void EmitPackPanels(CallSite c, string offset) =>
        throw new InvalidOperationException($"{Kind} packs no panels.");

    /// <summary>Batched inference of a block of <c>rows</c> samples; only kinds that <see cref="RunsInBlocks"/>.</summary>
    public virtual void EmitBlockInference(CallSite c, string x, string y) =>
        throw new InvalidOperationException($"{Kind} does not run in blocks of samples.");

    /// <summary>The training forward's comment for a view.</summary>
    public virtual string ViewComment => "// a view of the previous output: no data moves";

    /// <summary>The training forward of a view reading span <paramref name="input"/>; returns the span it passes on.</summary>
    public virtual string EmitTrainView(CallSite c, string input)
    {
        string output = Names.Local(c.Layer);
        c.W.Line(ViewComment);
        c.W.Line($"{Span} {output} = {input};");
        return output;
    }

    /// <summary>
    /// The training forward over the batch, from span <paramref name="input"/> into span <paramref name="output"/>;
    /// with <paramref name="pre"/> (an activation that needs z) into that instead, the emitter applies the activation after.
    /// </summary>
    public virtual void EmitTrain(CallSite c, string input, string output, string? pre) =>
        throw new InvalidOperationException($"{Kind} has no training forward.");

    /// <summary>Steps whose input gradient is their output gradient, updated in place or not at all.</summary>
    public virtual bool BackwardInPlace => IsView;

    /// <summary>The in-place backward (<see cref="BackwardInPlace"/>); <paramref name="input"/> is the step's input region.</summary>
    public virtual void EmitBackwardInPlace(CallSite c, string input, string gradient)
    {
    }

    /// <summary>The backward into a new gradient buffer, after the activation's derivative has been applied.</summary>
    public virtual void EmitBackward(CallSite c, BackwardSite b) =>
        throw new InvalidOperationException($"{Kind} has no backward.");
}

/// <summary>
/// One step's place in the code being written. Inside a loop over a repeat's copies (<see cref="Loop"/>), the
/// step is the loop's first copy, and its scratch, step index and inputs are expressions in the loop's <c>copy</c>.
/// </summary>
internal sealed class CallSite
{
    public CallSite(SourceWriter w, Plan plan, int index, LoopPlan? loop = null)
    {
        W = w;
        Plan = plan;
        Index = index;
        Step = plan.Step(index);
        Loop = loop;
    }

    public LoopPlan? Loop { get; }

    /// <summary>Where the step's output starts in batch-1 inference scratch.</summary>
    public string ScratchSlot => Loop is null ? SourceWriter.Int(Step.ScratchSlot) : $"{Step.ScratchSlot} + copy * {Loop.ScratchStride}";

    /// <summary>Where one of the step's own regions of batch-1 inference scratch starts.</summary>
    public string Scratch(ScratchRole role) => Loop is null ? SourceWriter.Int(Step.Scratch(role)) : $"{Step.Scratch(role)} + copy * {Loop.StepScratchStride}";

    /// <summary>Where the step's region of the decode cache starts (its output row first).</summary>
    public string DecodeSlot => Loop is null ? SourceWriter.Int(Plan.DecodeSlots[Index]) : $"{Plan.DecodeSlots[Index]} + copy * {Plan.DecodeStride(Loop)}";

    /// <summary>The step's index among the network's steps (dropout keys its masks on it).</summary>
    public string StepIndex => Loop is null ? SourceWriter.Int(Index) : $"{Index} + copy * {Loop.Steps}";

    /// <summary>The training input region of step <paramref name="index"/>, the copy's input where that comes from before the copy.</summary>
    public string InputRegion(int index) => NetworkGenerator.Emitter.InputRegion(Plan, index, Loop);

    public SourceWriter W { get; }

    public Plan Plan { get; }

    public int Index { get; }

    public StepPlan Step { get; }

    public LayerSpec Layer => Step.Layer;

    /// <summary>The kernel class with the code the step runs (its own, or an identical step's).</summary>
    public string Code => Step.CodeOwner;

    /// <summary>The step's own kernel class, with its offsets.</summary>
    public string Offsets => Names.KernelClass(Layer);
}

/// <summary>
/// A backward call: the step's input region, dL/d(output) (already through the activation), where dL/d(input)
/// goes (<see cref="Next"/>: a gradient buffer, or the caller's span for the first step), and for steps that
/// must write dx anyway (norms) a target that is the free buffer when the caller wants none.
/// </summary>
internal sealed record BackwardSite(string Input, string Gradient, string Next, bool First, string DxTarget);

/// <summary>One layer attribute being parsed.</summary>
internal sealed class LayerDeclaration
{
    public LayerDeclaration(AttributeData attribute, LayerSpec spec, Shape? input, LayerChecks check)
    {
        Attribute = attribute;
        Spec = spec;
        Input = input;
        Check = check;
    }

    public AttributeData Attribute { get; }

    /// <summary>The step with its names, kind, activation and bias, no options yet and a placeholder output.</summary>
    public LayerSpec Spec { get; }

    /// <summary>The input shape, or null when an earlier step failed (options are still checked).</summary>
    public Shape? Input { get; }

    public LayerChecks Check { get; }

    public string KindName => Spec.Kind.ToString();

    public int Argument(int index) => (int)Attribute.ConstructorArguments[index].Value!;

    public int? NamedInt(string name) => NetworkGenerator.Parser.NamedInt(Attribute, name);

    public float? NamedFloat(string name) => NetworkGenerator.Parser.NamedFloat(Attribute, name);

    public bool? NamedBool(string name) => NetworkGenerator.Parser.NamedBool(Attribute, name);

    /// <summary>The activation checks, then the output shape when the input is known and the options are valid.</summary>
    public LayerSpec? Finish(LayerSpec spec, Func<Shape, Shape?> infer) => NetworkGenerator.Parser.Finish(spec, Input, Check, infer);

    /// <summary>Shape inference's failure value, after a check reported why.</summary>
    public static Shape? Fail(bool reported) => null;
}
