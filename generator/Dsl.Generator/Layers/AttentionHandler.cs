using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[MultiHeadSelfAttention(heads)]</c> on a token sequence, optionally causal: PyTorch's packed in-projection
/// [3D, D] and out-projection, six Gemm products with sizes baked in (<see cref="NetworkGenerator.Emitter.AttentionEmitter"/>).
/// </summary>
internal sealed class AttentionHandler : LayerHandler
{
    public AttentionHandler() : base(LayerKind.MultiHeadSelfAttention)
    {
    }

    public override int RequiredArguments => 1;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        var options = new AttentionOptions(d.Argument(0), d.NamedBool("Causal") ?? false);
        int modelDim = d.NamedInt("ModelDim") ?? 0;
        LayerChecks check = d.Check;
        check.Positive("heads", options.Heads);
        check.NotNegative("model dimension", modelDim);
        return d.Finish(d.Spec with { Options = options }, s =>
        {
            if (!s.IsTokens) return LayerDeclaration.Fail(options.Causal ? check.CausalNeedsSequence(s) : check.WrongRank(d.KindName, 4, s));
            if (modelDim != 0 && modelDim != s.Channels) return LayerDeclaration.Fail(check.AttentionWidth(modelDim, s.Channels));
            if (s.Channels % options.Heads != 0) return LayerDeclaration.Fail(check.HeadsDoNotDivide(s.Channels, options.Heads));
            return s;
        });
    }

    public override long WeightValues(LayerSpec layer, Shape input, Shape output) => 3L * input.Channels * input.Channels;

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Generated;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        // PyTorch's nn.MultiheadAttention: xavier_uniform_ on in_proj_weight as one [3D, D] matrix, zero biases.
        int d = layer.Input.Channels;
        add(new TensorRequest("in_proj_weight", new[] { 3 * d, d }, "XavierUniform", d, 3 * d, TransposeGroups: 1));
        if (layer.HasBias) add(new TensorRequest("in_proj_bias", new[] { 3 * d }, "Zeros"));
        add(new TensorRequest("out_proj.weight", new[] { d, d }, "XavierUniform", d, d, TransposeGroups: 1));
        if (layer.HasBias) add(new TensorRequest("out_proj.bias", new[] { d }, "Zeros"));
    }

    public override void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot)
    {
        int l = layer.Input.Width, d = layer.Input.Channels;
        slot(Slot.Qkv, 3 * l * d);
        slot(Slot.Probabilities, layer.Get<AttentionOptions>().Heads * l * l);
        slot(Slot.Mixed, l * d);
        slot(Slot.MixedGradient, l * d);
        slot(Slot.QkvGradient, 3 * l * d);
    }

    public override void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared)
    {
        shared.NeedTransposed(3 * layer.Input.Channels * layer.Input.Channels);
        int l = layer.Input.Width;
        shared.NeedAttention(AttentionEmitter.HeadScratchFloats(new Attention(layer)) + 3 * l * l);
    }

    public override void AddInferenceScratch(LayerSpec layer, Action<ScratchRole, int> scratch)
    {
        int l = layer.Input.Width, d = layer.Input.Channels;
        scratch(ScratchRole.Qkv, 3 * l * d);
        scratch(ScratchRole.Mixed, l * d);
        scratch(ScratchRole.Probabilities, l * l);
        scratch(ScratchRole.Head, AttentionEmitter.HeadScratchFloats(new Attention(layer)));
    }

    public override string Describe(LayerSpec layer)
    {
        var a = new Attention(layer);
        return $"{layer.WeightName}: MultiHeadSelfAttention on {layer.Input}, {a.Heads} heads of {a.HeadDim}{(a.Causal ? ", causal" : "")}. " +
               $"[Q K V] = x W_in{(a.HasBias ? " + b_in" : "")}; O_h = softmax(Q_h K_h^T / sqrt({a.HeadDim}){(a.Causal ? " + mask" : "")}) V_h; y = [O_1 .. O_{a.Heads}] W_out{(a.HasBias ? " + b_out" : "")}";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        "Output projection, then per sample and head the softmax and the score products, then the input projection" + Maths.WhenAsked(first) + ".";

    public override long Flops(LayerSpec layer, Plan plan) =>
        2L * layer.Input.Width * layer.Input.Channels * (4 * layer.Input.Channels + 2 * layer.Input.Width);

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        AttentionOptions o = layer.Get<AttentionOptions>();
        if (layer.HasBias) options.Add("Bias = true");
        if (o.Causal) options.Add("Causal = true");
        options.Add($"Heads = {o.Heads}");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        AttentionOptions o = layer.Get<AttentionOptions>();
        Shape i = layer.Input;
        return $"new global::Dsl.MultiHeadSelfAttention(_parameters, \"{layer.WeightName}\", {i.Width}, {i.Channels}, {o.Heads}, {(o.Causal ? "true" : "false")}, " +
               $"{tensor("in_proj_weight")}, {tensor("in_proj_bias")}, {tensor("out_proj.weight")}, {tensor("out_proj.bias")})";
    }

    public override bool HasKernelClass(StepPlan step) => true;

    public override bool HasCode(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan) => AttentionEmitter.EmitConstants(w, new Attention(step.Layer));

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan) => AttentionEmitter.EmitForward(w, new Attention(step.Layer), plan);

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan) => AttentionEmitter.EmitBackward(w, new Attention(step.Layer), plan);

    private static string Weights(CallSite c, string root)
    {
        string offsets = c.Offsets;
        string inBias = c.Layer.HasBias ? "InProjBiasOffset" : "InProjWeightOffset";
        string outBias = c.Layer.HasBias ? "OutProjBiasOffset" : "OutProjWeightOffset";
        return $"ref Unsafe.Add(ref {root}, {offsets}.InProjWeightOffset), ref Unsafe.Add(ref {root}, {offsets}.{inBias}), " +
               $"ref Unsafe.Add(ref {root}, {offsets}.OutProjWeightOffset), ref Unsafe.Add(ref {root}, {offsets}.{outBias})";
    }

    // Causal attention decodes: a new token attends to the positions before it, whose keys and values are cached.
    public override bool Decodes(LayerSpec layer) => layer.Get<AttentionOptions>().Causal;

    // The output row, then the step's scratch and cache (AttentionEmitter.DecodeFloats).
    public override int DecodeFloats(LayerSpec layer) => layer.Output.Features + AttentionEmitter.DecodeFloats(new Attention(layer));

    protected override void EmitDecode(CallSite c, string x, string y) =>
        c.W.Line($"{c.Code}.Decode(ref {x}, {Weights(c, "p")}, ref {y}, ref Unsafe.Add(ref m, {c.DecodeSlot} + {c.Layer.Output.Features}), (nuint)position);");

    protected override void EmitInference(CallSite c, string x, string y)
    {
        string Scratch(ScratchRole role) => $"ref scratch[{c.Scratch(role)}]";
        c.W.Line($"{c.Code}.Forward(ref {x}, {Weights(c, "p")}, ref {y}, {Scratch(ScratchRole.Qkv)}, {Scratch(ScratchRole.Probabilities)}, 0, {Scratch(ScratchRole.Mixed)}, {Scratch(ScratchRole.Head)});");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        SourceWriter w = c.W;
        string local = Names.Local(layer);
        int l = layer.Input.Width, d = layer.Input.Channels;
        w.Line($"{Span} {local}Qkv = {SlotRegion(c.Plan, layer, Slot.Qkv)};");
        w.Line($"{Span} {local}Probabilities = {SlotRegion(c.Plan, layer, Slot.Probabilities)};");
        w.Line($"{Span} {local}Mixed = {SlotRegion(c.Plan, layer, Slot.Mixed)};");
        w.Line("for (int s = 0; s < batch; s++)");
        w.Line($"    {c.Code}.Forward({Sample(input, layer.Inputs)}, {Weights(c, "p")}, {Sample(output, layer.Outputs)}, " +
               $"{Sample(local + "Qkv", 3 * l * d)}, {Sample(local + "Probabilities", layer.Get<AttentionOptions>().Heads * l * l)}, {c.Code}.ScoreFloats, {Sample(local + "Mixed", l * d)}, ref attention);");
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        SourceWriter w = c.W;
        string code = c.Code, offsets = c.Offsets;
        string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
        int l = layer.Input.Width, d = layer.Input.Channels;
        string local = Names.Local(layer);
        string rows = $"batch * {l}";
        string outBias = layer.HasBias ? "OutProjBiasOffset" : "OutProjWeightOffset";
        string inBias = layer.HasBias ? "InProjBiasOffset" : "InProjWeightOffset";
        string identity = Kernels + "Identity";
        w.Line($"{Span} {local}MixedGradient = {SlotRegion(c.Plan, layer, Slot.MixedGradient)};");
        w.Line($"{Span} {local}QkvGradient = {SlotRegion(c.Plan, layer, Slot.QkvGradient)};");
        // Each projection's dx before its dW: a fused SGD step changes W, and scales dL/dz in place, as the weight gradient is formed.
        w.Line($"{code}.OutProjection.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.OutProjWeightOffset), ref transposed);");
        w.Line($"{code}.OutProjection.Transposed.ForwardRows<{identity}>({Ref(b.Gradient)}, ref transposed, ref transposed, {Ref(local + "MixedGradient")}, {rows});");
        w.Line($"{code}.OutProjection.AccumulateGradients({Ref(SlotRegion(c.Plan, layer, Slot.Mixed))}, {Ref(b.Gradient)}, {Native(rows)}, ref Unsafe.Add(ref products, {offsets}.OutProjWeightOffset), productScale, ref Unsafe.Add(ref grads, {offsets}.{outBias}), {Ref(b.Gradient)});");
        w.Line("for (int s = 0; s < batch; s++)");
        w.Line($"    {code}.BackwardSample({Sample(SlotRegion(c.Plan, layer, Slot.Qkv), 3 * l * d)}, {Sample(SlotRegion(c.Plan, layer, Slot.Probabilities), layer.Get<AttentionOptions>().Heads * l * l)}, " +
               $"{Sample(local + "MixedGradient", l * d)}, {Sample(local + "QkvGradient", 3 * l * d)}, ref attention, ref Unsafe.Add(ref attention, {AttentionEmitter.HeadScratchFloats(new Attention(layer))}));");
        if (b.First) w.OpenBlock("if (!inputGradient.IsEmpty)");
        w.Line($"{code}.InProjection.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.InProjWeightOffset), ref transposed);");
        w.Line($"{code}.InProjection.Transposed.ForwardRows<{identity}>({Ref(local + "QkvGradient")}, ref transposed, ref transposed, {Ref(b.Next)}, {rows});");
        if (b.First) w.CloseBlock();
        w.Line($"{code}.InProjection.AccumulateGradients({Ref(b.Input)}, {Ref(local + "QkvGradient")}, {Native(rows)}, ref Unsafe.Add(ref products, {offsets}.InProjWeightOffset), productScale, ref Unsafe.Add(ref grads, {offsets}.{inBias}), {Ref(local + "QkvGradient")});");
    }
}

/// <summary>An attention step's sizes, as the attention kernels read them.</summary>
internal sealed class Attention
{
    public Attention(LayerSpec layer)
    {
        AttentionOptions o = layer.Get<AttentionOptions>();
        Input = layer.Input;
        HasBias = layer.HasBias;
        Heads = o.Heads;
        Causal = o.Causal;
    }

    /// <summary>[L tokens, D features].</summary>
    public Shape Input { get; }

    public bool HasBias { get; }

    public int Heads { get; }

    public bool Causal { get; }

    /// <summary>Values per head.</summary>
    public int HeadDim => Input.Channels / Heads;
}

internal sealed record AttentionOptions(int Heads, bool Causal) : LayerOptions;
