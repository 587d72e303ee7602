using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[MixtureOfExperts(Experts = N, TopK = k)]</c> on a <c>MixtureOfExperts&lt;TBlock&gt;</c> member: a router
/// Dense(d → N), softmax, the top k experts per row (sample or token), each expert a copy of the block's dense
/// layers with weights of its own, their outputs added up by the gates. One step whose kernel class holds the
/// router's and the expert layers' Gemm products (<see cref="NetworkGenerator.Emitter.MixtureEmitter"/>); the routing
/// between them is the runtime's <c>MixtureKernels</c>. The flattener parses the block as expert 0's layers (shapes and
/// their diagnostics as anywhere) and hands them to <see cref="Create"/>.
/// </summary>
internal sealed class MixtureHandler : LayerHandler
{
    public const string Attribute = "Dsl.MixtureOfExpertsAttribute";

    /// <summary>The member type a mixture is declared with, generic over the expert block.</summary>
    public const string MemberType = "Dsl.MixtureOfExperts<TExpert>";

    // The routing kernels keep one int per expert on the stack.
    private const int MaxExperts = 256;

    public MixtureHandler() : base(LayerKind.MixtureOfExperts)
    {
    }

    // Declared on a block member with an attribute of its own, not through the layer attributes' table.
    public override string? AttributeName => null;

    /// <summary>
    /// The step for a mixture over <paramref name="input"/> whose expert is <paramref name="expert"/> (expert 0's
    /// layers as parsed), or null after reporting what is wrong on the attribute.
    /// </summary>
    public LayerSpec? Create(AttributeData attribute, string memberName, string weightName, string accessibility, Shape? input,
        IReadOnlyList<LayerSpec> expert, string expertType, LayerChecks check)
    {
        int experts = NetworkGenerator.Parser.NamedInt(attribute, "Experts") ?? 0;
        int topK = NetworkGenerator.Parser.NamedInt(attribute, "TopK") ?? 2;
        int gate = NetworkGenerator.Parser.NamedInt(attribute, "Gate") ?? 0;
        bool routerBias = NetworkGenerator.Parser.NamedBool(attribute, "RouterBias") ?? false;
        float balance = NetworkGenerator.Parser.NamedFloat(attribute, "BalanceWeight") ?? 0.01f;
        float capacity = NetworkGenerator.Parser.NamedFloat(attribute, "CapacityFactor") ?? 0f;
        string Text(float value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        void Problem(string message) => check.Report(DiagnosticDescriptors.MixtureOption, message);
        string expertName = expertType.Replace("global::", "");

        if (experts < 2) Problem($"Experts = {SourceWriter.Int(experts)}: a mixture needs at least 2 experts");
        else if (experts > MaxExperts) Problem($"Experts = {SourceWriter.Int(experts)} is more than the {MaxExperts} the routing kernels take");
        else if (topK < 1 || topK > experts) Problem($"TopK = {SourceWriter.Int(topK)} is not in [1, {SourceWriter.Int(experts)}]: each input runs between 1 and all of the experts");
        if (gate is < 0 or > 1) Problem($"Gate = {SourceWriter.Int(gate)} is not a member of MixtureGate");
        if (!(balance >= 0f) || float.IsInfinity(balance)) Problem($"BalanceWeight = {Text(balance)} is not a finite weight of 0 or more");
        if (!(capacity >= 0f) || float.IsInfinity(capacity)) Problem($"CapacityFactor = {Text(capacity)} is not finite and 0 (no limit) or more");
        var layers = new List<ExpertLayer>();
        foreach (LayerSpec layer in expert)
        {
            // The member's own name: what follows {path}.experts.0.
            string name = layer.WeightName.Substring(layer.WeightName.LastIndexOf('.') + 1);
            if (layer.Kind != LayerKind.Dense)
            {
                Problem($"an expert is a chain of Dense layers declared in its block (a feed-forward block), and {expertName}'s '{name}' is {layer.Kind}");
                break;
            }
            if (layer.Pruning is not null || layer.Activation == ActivationKind.Softmax)
            {
                Problem($"{expertName}'s '{name}' is {(layer.Pruning is not null ? "[Pruned]" : "a softmax")}, which an expert's layers cannot be");
                break;
            }
            layers.Add(new ExpertLayer(name, layer.Input.Features, layer.Output.Features, layer.Activation, layer.HasBias));
        }
        if (check.Failed || input is null || layers.Count == 0) return null;
        var options = new MixtureOptions(experts, topK, gate == 1, balance, capacity, expertType, new EquatableArray<ExpertLayer>(layers.ToArray()));
        var spec = new LayerSpec(memberName, accessibility, weightName, LayerKind.MixtureOfExperts, input,
            input.WithFeatures(layers[layers.Count - 1].Outputs), ActivationKind.None, routerBias, options);
        // The kernels address every expert from the router's weight with int offsets (e * ExpertStride).
        check.Size("the router's and experts' weights", WeightValues(spec, spec.Input, spec.Output), NetworkGenerator.Parser.MaxTensorValues);
        return check.Failed ? null : spec;
    }

    /// <summary>Checked before the expert's layers are parsed on <paramref name="input"/>, so the mixture, not its first layer, says what is wrong.</summary>
    public bool CheckInput(Shape? input, LayerChecks check)
    {
        if (input is null || input.IsRowMajor) return true;
        check.Report(DiagnosticDescriptors.MixtureOption, $"routes flat vectors or tokens, and its input is {input}: flatten it, or make it a token sequence, first");
        return false;
    }

    public override LayerSpec? Parse(LayerDeclaration d) =>
        throw new InvalidOperationException("A mixture is declared on a block member; the flattener calls Create.");

    // The router's and every expert's weights and biases: one block, addressed from the router's weight.
    public override long WeightValues(LayerSpec layer, Shape input, Shape output)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        long expert = 0;
        foreach (ExpertLayer e in o.Layers) expert += ((long)e.Inputs + 1) * e.Outputs;
        return ((long)input.Features + 1) * o.Experts + o.Experts * expert;
    }

    public override KernelStrategy Strategy(LayerSpec layer) => KernelStrategy.Generated;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        int d = layer.Input.Features;
        // nn.Linear's shapes [out, in], stored input-major; the router starts small (Xavier) so every expert is tried early.
        add(new TensorRequest("router.weight", new[] { o.Experts, d }, "XavierUniform", d, o.Experts, TransposeGroups: 1));
        if (layer.HasBias) add(new TensorRequest("router.bias", new[] { o.Experts }, "Zeros"));
        for (int e = 0; e < o.Experts; e++)
        {
            for (int j = 0; j < o.Layers.Count; j++)
            {
                ExpertLayer l = o.Layers[j];
                add(new TensorRequest(ExpertRole(e, l, "weight"), new[] { l.Outputs, l.Inputs }, Init.For(l.Activation), l.Inputs, l.Outputs, TransposeGroups: 1));
                if (l.HasBias) add(new TensorRequest(ExpertRole(e, l, "bias"), new[] { l.Outputs }, "Zeros"));
            }
        }
    }

    /// <summary>A tensor's role (its name after the layer's): <c>experts.3.fc1.weight</c>.</summary>
    public static string ExpertRole(int expert, ExpertLayer layer, string tensor) => $"experts.{SourceWriter.Int(expert)}.{layer.Name}.{tensor}";

    public override void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot)
    {
        var m = new Mixture(layer);
        slot(Slot.Routing, layer.Input.Rows * m.RoutingFloatsPerRow);
        slot(Slot.RoutingGradient, layer.Input.Rows * m.GradientFloatsPerRow);
    }

    public override void SizeSharedScratch(LayerSpec layer, Plan plan, SharedScratch shared)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        shared.NeedTransposed(layer.Input.Features * o.Experts);
        foreach (ExpertLayer l in o.Layers) shared.NeedTransposed(l.Inputs * l.Outputs);
    }

    public override int StatisticsFloats(LayerSpec layer) => Mixture.StatisticsFloats(layer.Get<MixtureOptions>().Experts);

    public override string StatisticsComment(LayerSpec layer) => "the sorted rows' starts per expert, then the routing statistics (Dsl.MixtureStatistics.Layout)";

    public override void AddInferenceScratch(LayerSpec layer, Action<ScratchRole, int> scratch) =>
        scratch(ScratchRole.Routing, new Mixture(layer).InferenceFloats);

    public override string Describe(LayerSpec layer)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        var chain = new List<string>();
        foreach (ExpertLayer l in o.Layers) chain.Add($"Dense {l.Inputs} -> {l.Outputs}{Maths.Named(l.Activation)}");
        string rows = layer.Input.IsTokens ? $" on each of {layer.Input.Rows} tokens" : "";
        string gates = o.Renormalize ? $"g = softmax of the top-{o.TopK} logits" : "g_e = p_e";
        return $"{layer.WeightName}: MixtureOfExperts {layer.Input.Features} -> {layer.Output.Features}{rows}, {o.Experts} experts ({o.ExpertType.Replace("global::", "")}: {string.Join(", ", chain)}), top-{o.TopK}. " +
               $"p = softmax(x W_r{(layer.HasBias ? " + b_r" : "")}); {gates}; y = sum over e in top{o.TopK}(p) of g_e E_e(x)";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        "Per expert over its rows: the gated dy back through its layers (dW, db, dx); dg = dy . E_e(x); the router's dz from dg and the balancing loss " +
        $"{SourceWriter.Float(layer.Get<MixtureOptions>().BalanceWeight)} N sum f_e P_e through the softmax; dx = dz W_r^T plus the experts' dx" + Maths.WhenAsked(first) + ".";

    // The work that runs: the router and k experts per row.
    public override long Flops(LayerSpec layer, Plan plan)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        long expert = 0;
        foreach (ExpertLayer l in o.Layers) expert += (long)l.Inputs * l.Outputs;
        return 2L * layer.Input.Rows * ((long)layer.Input.Features * o.Experts + o.TopK * expert);
    }

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        if (layer.HasBias) options.Add("Bias = true");
        options.Add($"Experts = {o.Experts}");
        options.Add($"TopK = {o.TopK}");
        if (o.Renormalize) options.Add("Gate = global::Dsl.MixtureGate.TopKSoftmax");
        options.Add($"BalanceWeight = {SourceWriter.Float(o.BalanceWeight)}");
        if (o.CapacityFactor > 0) options.Add($"CapacityFactor = {SourceWriter.Float(o.CapacityFactor)}");
        var steps = new List<string>();
        Shape shape = layer.Input;
        foreach (ExpertLayer l in o.Layers)
        {
            Shape output = shape.WithFeatures(l.Outputs);
            var tensors = $"new[] {{ \"{layer.WeightName}.{ExpertRole(0, l, "weight")}\"{(l.HasBias ? $", \"{layer.WeightName}.{ExpertRole(0, l, "bias")}\"" : "")} }}";
            var stepOptions = new List<string>();
            if (shape.IsTokens) stepOptions.Add("InputIsTokens = true, OutputIsTokens = true");
            if (l.Activation != ActivationKind.None) stepOptions.Add($"Activation = global::Dsl.Activation.{l.Activation}");
            if (l.HasBias) stepOptions.Add("Bias = true");
            steps.Add($"new global::Dsl.NetworkStep(global::Dsl.StepKind.Dense, \"{layer.WeightName}.experts.0.{l.Name}\", {ShapeArray(shape)}, {ShapeArray(output)}, {tensors})" +
                      (stepOptions.Count == 0 ? "" : $" {{ {string.Join(", ", stepOptions)} }}"));
            shape = output;
        }
        options.Add($"Expert = new global::Dsl.NetworkStep[] {{ {string.Join(", ", steps)} }}");
    }

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        int d = layer.Input.Features;
        string router = $"new global::Dsl.Dense(_parameters, \"{layer.WeightName}.router\", {d}, {o.Experts}, global::Dsl.Activation.None, {tensor("router.weight")}, {tensor("router.bias")})";
        var experts = new List<string>();
        for (int e = 0; e < o.Experts; e++)
        {
            var views = new List<string>();
            foreach (ExpertLayer l in o.Layers)
                views.Add($"new global::Dsl.Dense(_parameters, \"{layer.WeightName}.experts.{e}.{l.Name}\", {l.Inputs}, {l.Outputs}, global::Dsl.Activation.{l.Activation}, " +
                          $"{tensor(ExpertRole(e, l, "weight"))}, {tensor(ExpertRole(e, l, "bias"))})");
            experts.Add($"new {o.ExpertType}({string.Join(", ", views)})");
        }
        return $"new global::Dsl.MixtureOfExperts<{o.ExpertType}>(\"{layer.WeightName}\", {router}, global::System.Array.AsReadOnly(new {o.ExpertType}[] {{ {string.Join(", ", experts)} }}), {o.TopK})";
    }

    public override string SummaryKind(LayerSpec layer) => $"MixtureOfExperts({layer.Get<MixtureOptions>().Experts}, top {layer.Get<MixtureOptions>().TopK})";

    public override bool HasKernelClass(StepPlan step) => true;

    public override bool HasCode(StepPlan step) => true;

    public override void EmitConstants(SourceWriter w, StepPlan step, Plan plan) => MixtureEmitter.EmitConstants(w, new Mixture(step.Layer), step);

    public override void EmitForwardKernels(SourceWriter w, StepPlan step, Plan plan) => MixtureEmitter.EmitForward(w, new Mixture(step.Layer), plan);

    public override void EmitBackwardKernels(SourceWriter w, StepPlan step, Plan plan) => MixtureEmitter.EmitBackward(w, new Mixture(step.Layer), plan);

    // The kernels address every tensor from the router's weight: identical steps (a repeated block's) share the code.
    private static string Base(CallSite c, string root) => $"ref Unsafe.Add(ref {root}, {c.Offsets}.RouterWeightOffset)";

    // Each token is routed on its own, so a new token's row runs alone: the rows path over one row.
    public override bool Decodes(LayerSpec layer) => layer.Input.IsTokens;

    // The output row, then one row's routing region and the starts.
    public override int DecodeFloats(LayerSpec layer) => layer.Output.Features + new Mixture(layer).DecodeRegionFloats;

    protected override void EmitDecode(CallSite c, string x, string y) =>
        c.W.Line($"{c.Code}.DecodeRow(ref {x}, {Base(c, "p")}, ref {y}, ref Unsafe.Add(ref m, {c.DecodeSlot} + {c.Layer.Output.Features}));");

    protected override void EmitInference(CallSite c, string x, string y)
    {
        string scratch = $"ref scratch[{c.Scratch(ScratchRole.Routing)}]";
        c.W.Line(c.Layer.Input.Rows == 1
            ? $"{c.Code}.Forward1(ref {x}, {Base(c, "p")}, ref {y}, {scratch});"
            : $"{c.Code}.ForwardTokens(ref {x}, {Base(c, "p")}, ref {y}, {scratch});");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        var m = new Mixture(layer);
        c.W.Line($"{c.Code}.ForwardTrain(ref MemoryMarshal.GetReference({input}), {Base(c, "p")}, ref MemoryMarshal.GetReference({output}), {RowCount(layer)}, " +
                 $"ref MemoryMarshal.GetReference({SlotRegion(c.Plan, layer, Slot.Routing)}), workspace.Shared({Names.StatisticsSlot(layer)}, {Mixture.StatisticsFloats(m.Experts)}), workspace);");
    }

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        var m = new Mixture(layer);
        string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
        string wantDx = b.First ? "!inputGradient.IsEmpty" : "true";
        c.W.Line($"{c.Code}.Backward({Ref(b.Input)}, {Base(c, "p")}, {Ref(b.Gradient)}, {Ref(b.Next)}, {wantDx}, {RowCount(layer)}, " +
                 $"{Ref(SlotRegion(c.Plan, layer, Slot.Routing))}, {Ref(SlotRegion(c.Plan, layer, Slot.RoutingGradient))}, " +
                 $"workspace.Shared({Names.StatisticsSlot(layer)}, {Mixture.StatisticsFloats(m.Experts)}), {Base(c, "products")}, productScale, {Base(c, "grads")}, ref transposed);");
    }
}

/// <summary>One layer of the expert block: its member's weight name, sizes, activation and bias.</summary>
internal sealed record ExpertLayer(string Name, int Inputs, int Outputs, ActivationKind Activation, bool HasBias);

/// <summary>A mixture's options: experts, k, renormalised gates (Mixtral) or not (Switch), the balancing weight, capacity, the expert's type and layers.</summary>
internal sealed record MixtureOptions(int Experts, int TopK, bool Renormalize, float BalanceWeight, float CapacityFactor, string ExpertType, EquatableArray<ExpertLayer> Layers) : LayerOptions;

/// <summary>A mixture step's sizes and the layout of its regions, as the kernels and the plan read them.</summary>
internal sealed class Mixture
{
    public Mixture(LayerSpec layer)
    {
        MixtureOptions o = layer.Get<MixtureOptions>();
        Layer = layer;
        Experts = o.Experts;
        TopK = o.TopK;
        Layers = o.Layers;
        Features = layer.Input.Features;
        OutputFeatures = layer.Output.Features;
        Rows = layer.Input.Rows;
    }

    public LayerSpec Layer { get; }

    public int Experts { get; }

    public int TopK { get; }

    public EquatableArray<ExpertLayer> Layers { get; }

    /// <summary>d: features per row in.</summary>
    public int Features { get; }

    /// <summary>Features per row out (the last expert layer's).</summary>
    public int OutputFeatures { get; }

    /// <summary>Rows per sample: tokens, or 1.</summary>
    public int Rows { get; }

    /// <summary>Whether expert layer <paramref name="j"/> keeps z for its activation's derivative.</summary>
    public bool KeepsZ(int j) => Plan.NeedsPreActivation(Layers[j].Activation);

    /// <summary>
    /// Where each part of a row's routing region starts, in floats per row, after the probabilities [N]: gates [k],
    /// choices, positions and assignments [k] (ints), the sorted inputs [k, d], and per expert layer its z [k, out]
    /// (when kept) and output [k, out].
    /// </summary>
    public List<(string Name, int At)> RowOffsets() => RowLayout(out _);

    /// <summary>A row's floats of the training forward's routing region (<see cref="RowOffsets"/>).</summary>
    public int RoutingFloatsPerRow
    {
        get
        {
            RowLayout(out int floats);
            return floats;
        }
    }

    private List<(string Name, int At)> RowLayout(out int floats)
    {
        var result = new List<(string, int)>
        {
            ("GatesAt", Experts),
            ("ChoicesAt", Experts + TopK),
            ("PositionsAt", Experts + 2 * TopK),
            ("AssignmentsAt", Experts + 3 * TopK),
            ("SortedAt", Experts + 4 * TopK),
        };
        int at = Experts + 4 * TopK + TopK * Features;
        for (int j = 0; j < Layers.Count; j++)
        {
            if (KeepsZ(j))
            {
                result.Add(($"Z{j}At", at));
                at += TopK * Layers[j].Outputs;
            }
            result.Add(($"Out{j}At", at));
            at += TopK * Layers[j].Outputs;
        }
        floats = at;
        return result;
    }

    /// <summary>The widest hidden layer (an output of a layer but the last), 0 for a one-layer expert.</summary>
    public int HiddenWidth
    {
        get
        {
            int widest = 0;
            for (int j = 0; j + 1 < Layers.Count; j++) widest = Math.Max(widest, Layers[j].Outputs);
            return widest;
        }
    }

    /// <summary>Per row of the backward: dL/d(logits) [N], dL/d(gates) [k], sorted dx [k, d], sorted dL/d(expert output) [k, out], two hidden gradients [k, hidden].</summary>
    public int GradientFloatsPerRow => Experts + TopK + TopK * Features + TopK * OutputFeatures + 2 * TopK * HiddenWidth;

    /// <summary>Batch-1 scratch: the rows of one sample with the training layout, and the N + 1 starts.</summary>
    public int InferenceFloats => Rows * RoutingFloatsPerRow + Experts + 1;

    /// <summary>A decode step's region: one row's routing region and the N + 1 starts.</summary>
    public int DecodeRegionFloats => RoutingFloatsPerRow + Experts + 1;

    /// <summary>The shared statistics: Dsl.MixtureStatistics.Layout's floats.</summary>
    public static int StatisticsFloats(int experts) => (experts + 1) + 3 * experts + 5;
}
