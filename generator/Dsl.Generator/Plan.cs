using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

/// <summary>One tensor the network owns, as the constructor declares it and the kernels address it.</summary>
internal sealed record TensorPlan(
    string Name,
    string Role,
    int[] Shape,
    string Init,
    int FanIn,
    int FanOut,
    int TransposeGroups,
    bool Buffer,
    bool Int64,
    int Index,
    int Offset)
{
    /// <summary>The [Pruned] declaration of a weight, which the runtime's masks follow.</summary>
    public PruneSpec? Pruning { get; init; }

    public int Length
    {
        get
        {
            int length = 1;
            foreach (int d in Shape) length *= d;
            return length;
        }
    }
}

/// <summary>Per-sample workspace slots a step keeps besides its output (the constant is named {member}{role}Slot).</summary>
internal enum Slot
{
    Mean,
    Rstd,
    Qkv,
    Probabilities,
    Mixed,
    MixedGradient,
    QkvGradient,
    OutputGradient,
    SkipGradient,
    Gate,
    GateGradient,
    ScaledGradient,
    Routing,
    RoutingGradient,
}

/// <summary>A step's own regions of the batch-1 inference scratch.</summary>
internal enum ScratchRole
{
    Qkv,
    Mixed,
    Probabilities,
    Head,
    Gate,
    Routing,
}

/// <summary>How a step's computation runs, decided once when planning.</summary>
internal enum KernelStrategy
{
    /// <summary>Nothing runs: a view of the previous output, or a marker.</summary>
    None,
    /// <summary>Calls into the runtime's kernels (Dsl.Kernels) with constant sizes.</summary>
    Library,
    /// <summary>The generated dense kernels (Gemm) of its own kernel class.</summary>
    Gemm,
    /// <summary>A convolution whose batch-1 inference runs the generated direct kernel; training runs im2col and Gemm.</summary>
    DirectConvolution,
    /// <summary>A convolution that always runs im2col and the Gemm kernels.</summary>
    Im2ColConvolution,
    /// <summary>An unpadded pool with generated, constant-offset window loops.</summary>
    GeneratedPool,
    /// <summary>Code of its own kind written into its kernel class (token transposes, attention).</summary>
    Generated,
}

/// <summary>Where one step lives: its tensors, slots and scratch, its kernel class and how it runs.</summary>
internal sealed class StepPlan
{
    private readonly Dictionary<string, TensorPlan> _tensors = new();
    private readonly Dictionary<Slot, (int Offset, int Floats)> _slots = new();
    private readonly Dictionary<ScratchRole, int> _scratch = new();

    public StepPlan(LayerSpec layer, int index, KernelStrategy strategy)
    {
        Layer = layer;
        Index = index;
        Strategy = strategy;
    }

    public LayerSpec Layer { get; }

    /// <summary>Where the step stands in <see cref="NetworkSpec.Layers"/>.</summary>
    public int Index { get; }

    public KernelStrategy Strategy { get; }

    /// <summary>The step's tensors in declaration order.</summary>
    public List<TensorPlan> Tensors { get; } = new();

    /// <summary>The per-sample workspace slot of its output (its input's, for a view).</summary>
    public int OutputSlot { get; set; }

    /// <summary>The slot keeping z for the activation's derivative, or -1.</summary>
    public int PreActivationSlot { get; set; } = -1;

    /// <summary>Shared-area offset of a batch norm's statistics, or -1.</summary>
    public int StatisticsSlot { get; set; } = -1;

    /// <summary>Offset of its output in the batch-1 inference scratch, or -1 when it writes none there.</summary>
    public int ScratchSlot { get; set; } = -1;

    /// <summary>The kernel class holding the code the step runs: its own, or that of the first identical step.</summary>
    public string CodeOwner { get; set; } = "";

    /// <summary>True when the step's kernel class carries code, not only its offsets.</summary>
    public bool OwnsCode => CodeOwner == Names.KernelClass(Layer);

    /// <summary>A convolution whose following batch norm folds into it for inference.</summary>
    public bool FoldsNext { get; set; }

    /// <summary>A batch norm folded into the convolution before it.</summary>
    public bool FoldedIntoPrevious { get; set; }

    /// <summary>The next step, when batch-1 inference writes this step's output inside its bordered (padded) input.</summary>
    public LayerSpec? BorderedNext { get; set; }

    /// <summary>Batch-1 inference finds its input already inside its zero border (the step before wrote it there).</summary>
    public bool ReadsBordered { get; set; }

    /// <summary>Floats of its output in the batch-1 inference scratch: its outputs, or the next step's bordered input.</summary>
    public int InferenceOutputFloats { get; set; }

    internal void AddTensor(TensorPlan tensor)
    {
        Tensors.Add(tensor);
        _tensors[tensor.Role] = tensor;
    }

    public TensorPlan Tensor(string role) => _tensors[role];

    public bool Has(string role) => _tensors.ContainsKey(role);

    internal void AddSlot(Slot role, int offset, int floats) => _slots[role] = (offset, floats);

    public IReadOnlyDictionary<Slot, (int Offset, int Floats)> SlotsByRole => _slots;

    public IReadOnlyDictionary<ScratchRole, int> ScratchByRole => _scratch;

    public int SlotFloats(Slot role) => _slots[role].Floats;

    internal void AddScratch(ScratchRole role, int offset) => _scratch[role] = offset;

    public int Scratch(ScratchRole role) => _scratch[role];
}

/// <summary>
/// Where everything lives, computed once per spec with the runtime's rules: parameter and buffer offsets (each
/// tensor on a 64-byte boundary, as <c>Dsl.Parameters</c> lays them out), the training workspace's per-sample
/// and shared slots, and the batch-1 scratch of inference. Each step's handler says what its kind needs; the
/// plan lays it out in order.
/// </summary>
internal sealed class Plan
{
    private const int AlignFloats = 16; // must match Dsl.Parameters
    private readonly StepPlan[] _steps;
    private readonly Dictionary<string, StepPlan> _byMember = new();
    private readonly Dictionary<string, StepPlan> _endOf = new();
    private readonly Dictionary<string, StepPlan> _shortcutOf = new();

    public Plan(NetworkSpec spec)
    {
        Spec = spec;
        Ladder = Isa.Select(spec.InstructionSets, out _) ?? Isa.Ladder;
        _steps = new StepPlan[spec.Layers.Count];
        for (int l = 0; l < spec.Layers.Count; l++)
        {
            LayerSpec layer = spec.Layers[l];
            _steps[l] = new StepPlan(layer, l, layer.Handler.Strategy(layer));
            _byMember[layer.MemberName] = _steps[l];
            if (layer.Options is ResidualEndOptions end) _endOf[end.Skip] = _steps[l];
            if (layer.Options is ResidualShortcutOptions shortcut) _shortcutOf[shortcut.Skip] = _steps[l];
        }

        // Parameters and buffers, step by step.
        int values = 0, buffers = 0;
        for (int l = 0; l < spec.Layers.Count; l++)
        {
            LayerSpec layer = spec.Layers[l];
            LayerSpec? next = l + 1 < spec.Layers.Count ? spec.Layers[l + 1] : null;
            StepPlan step = _steps[l];
            void Add(TensorRequest t)
            {
                string name = (t.Prefix ?? layer.WeightName) + "." + t.Role;
                var tensor = new TensorPlan(name, t.Role, t.Shape, t.Init, t.FanIn, t.FanOut, t.TransposeGroups, t.Buffer, t.Int64, Tensors.Count, t.Buffer ? buffers : values) { Pruning = t.Pruning };
                Tensors.Add(tensor);
                step.AddTensor(tensor);
                if (t.Buffer) buffers += Align(tensor.Length);
                else
                {
                    values += Align(tensor.Length);
                    ParameterCount += tensor.Length;
                }
            }
            layer.Handler.AddTensors(layer, next, this, Add);
            if (next is not null && layer.Handler.FoldsInto(layer, next))
            {
                step.FoldsNext = true;
                _steps[l + 1].FoldedIntoPrevious = true;
            }
        }
        ValuesSize = values;
        BuffersSize = buffers;

        // Batch-1 inference: a step may write its output straight into the next one's bordered input (outside repeats,
        // whose copies share one kernel and one scratch stride).
        foreach (StepPlan step in _steps) step.InferenceOutputFloats = step.Layer.Outputs;
        for (int l = 0; l + 1 < _steps.Length; l++)
        {
            if (spec.RunsInBlocks || InRepeat(spec, l) || InRepeat(spec, l + 1)) continue;
            if (_steps[l].Layer.Handler.BorderedOutputFloats(_steps[l].Layer, _steps[l + 1].Layer, this) is not int floats) continue;
            _steps[l].BorderedNext = _steps[l + 1].Layer;
            _steps[l].InferenceOutputFloats = floats;
            _steps[l + 1].ReadsBordered = true;
        }

        // Training workspace, per sample: the input, each step's output (a view's is its input's), the
        // pre-activation where the derivative needs it, the kind's own slots, then two gradient buffers of the widest row.
        int slot = spec.InputSize;
        int widest = spec.InputSize;
        int previous = 0;
        foreach (StepPlan step in _steps)
        {
            LayerSpec layer = step.Layer;
            widest = System.Math.Max(widest, layer.Outputs);
            if (layer.Handler.IsView)
            {
                if (layer.Handler.PassesInputOf(layer, this) is { } source) previous = Step(source).OutputSlot;
                step.OutputSlot = previous;
            }
            else
            {
                step.OutputSlot = previous = slot;
                slot += layer.Outputs;
            }
            if (NeedsPreActivation(layer))
            {
                step.PreActivationSlot = slot;
                slot += layer.Outputs;
            }
            layer.Handler.AddSlots(layer, this, (role, floats) =>
            {
                step.AddSlot(role, slot, floats);
                Slots.Add((layer, role, slot, floats));
                slot += floats;
            });
        }
        GradientSlotA = slot;
        GradientSlotB = slot + widest;
        WorkspaceFloatsPerSample = slot + 2 * widest;

        // Shared (per batch) workspace: one sample's im2col scratch, reused by every convolution in turn, the
        // transposed weight of one layer at a time, attention's head scratch, then each batch norm's statistics.
        foreach (StepPlan step in _steps) step.Layer.Handler.SizeSharedScratch(step.Layer, this, Shared);
        int shared = Shared.Total;
        foreach (StepPlan step in _steps)
        {
            int statistics = step.Layer.Handler.StatisticsFloats(step.Layer);
            if (statistics == 0) continue;
            step.StatisticsSlot = shared;
            shared += statistics;
        }
        WorkspaceSharedFloats = shared;

        // Batch-1 inference scratch: each stored step output but the last (all kept: a residual reads its x after
        // the branch), each step's own scratch (attention, gates), then the convolution scratch, then room to fold
        // a batch norm into its convolution.
        // Every region starts on a multiple of 16 floats, so in the per-thread scratch (64-byte aligned) a vector over a
        // region's start is one cache line: case D's forward ran 2 % faster with its 16-aligned regions.
        int scratch = 0;
        for (int l = 0; l < _steps.Length - 1; l++)
        {
            if (IsAliasInInference(l)) continue;
            _steps[l].ScratchSlot = scratch;
            scratch += AlignedFloats(_steps[l].InferenceOutputFloats);
        }
        foreach (StepPlan step in _steps)
        {
            step.Layer.Handler.AddInferenceScratch(step.Layer, (role, floats) =>
            {
                step.AddScratch(role, scratch);
                scratch += AlignedFloats(floats);
            });
        }
        // Direct convolutions (stride 1, one group) need only the padded input, not im2col's columns and pixels.
        InferenceColumnsSlot = scratch;
        InferencePixelsSlot = InferenceColumnsSlot + AlignedFloats(Shared.InferenceColumnsFloats);
        InferencePaddedSlot = InferencePixelsSlot + AlignedFloats(Shared.InferencePixelsFloats);
        scratch = InferencePaddedSlot + AlignedFloats(Shared.PaddedFloats);
        int fold = 0;
        foreach (StepPlan step in _steps)
            if (step.FoldsNext) fold = System.Math.Max(fold, step.Layer.Handler.FoldFloats(step.Layer));
        FoldSlot = scratch;
        InferenceScratchFloats = scratch + fold;

        // Identical steps (a repeated block's copies) share one kernel class; each keeps its own offsets.
        var owners = new Dictionary<LayerSpec, string>();
        foreach (StepPlan step in _steps)
        {
            LayerSpec key = KernelKey(step);
            if (!owners.TryGetValue(key, out string? owner)) owners.Add(key, owner = Names.KernelClass(step.Layer));
            step.CodeOwner = owner;
        }

        foreach (RepeatSpan repeat in spec.Repeats)
        {
            LoopPlan? loop = spec.RunsInBlocks ? null : LoopOf(repeat); // ForwardBlock writes every step out
            if (loop is not null) Loops.Add(loop with { Number = Loops.Count });
        }
    }

    /// <summary>What decides a step's code: the step with its names blanked.</summary>
    private static LayerSpec KernelKey(StepPlan step) =>
        step.Layer with
        {
            MemberName = "", WeightName = "", Options = step.Layer.Handler.SharingKey(step.Layer.Options),
            Accessibility = (step.FoldsNext ? "folded" : "") + (step.ReadsBordered ? " bordered input" : "") +
                (step.BorderedNext is { } next ? $" bordered output for {next.Options}" : ""),
        };

    // Floats rounded up to a whole number of 64-byte lines.
    private static int AlignedFloats(int floats) => (floats + 15) / 16 * 16;

    /// <summary>Whether step <paramref name="index"/> is one of a repeat's copies (whose call sites may run as a loop over copies).</summary>
    public bool InRepeat(int index) => InRepeat(Spec, index);

    private static bool InRepeat(NetworkSpec spec, int index)
    {
        foreach (RepeatSpan repeat in spec.Repeats)
            if (index >= repeat.First && index < repeat.First + repeat.Steps * repeat.Copies) return true;
        return false;
    }

    /// <summary>
    /// The copies of a repeat that run as one loop: the longest run of consecutive copies whose steps are the same
    /// code (equal kernel keys and plans) and whose every offset moves by the same stride from one copy to the next.
    /// Copy 0 differs when it changes the shape; the network's first and last steps stay outside (the first has no
    /// gradient buffer of its own, the last writes the caller's output). Null when fewer than two copies qualify.
    /// </summary>
    private LoopPlan? LoopOf(RepeatSpan repeat)
    {
        LoopPlan? best = null;
        for (int first = repeat.First == 0 ? 1 : 0; first <= 1 && first < repeat.Copies; first++)
        {
            LoopPlan? strides = Strides(repeat, first, first + 1);
            if (strides is null) continue;
            int end = first + 2;
            while (end < repeat.Copies && Strides(repeat, end - 1, end) == strides) end++;
            if (repeat.First + end * repeat.Steps >= _steps.Length) end--; // the last step stays outside
            var loop = strides with { FirstCopy = first, Copies = end - first };
            if (loop.Copies >= 2 && (best is null || loop.Copies > best.Copies)) best = loop;
        }
        return best;
    }

    /// <summary>The strides from copy <paramref name="a"/> to copy <paramref name="b"/>, or null when their steps are not the same code.</summary>
    private LoopPlan? Strides(RepeatSpan repeat, int a, int b)
    {
        if (b >= repeat.Copies || repeat.First + (b + 1) * repeat.Steps > _steps.Length) return null;
        int? parameters = null, buffers = null, slots = null, statistics = null, scratch = null, stepScratch = null;
        bool Same(ref int? stride, int from, int to)
        {
            if (from < 0 || to < 0) return from == to;
            stride ??= to - from;
            return stride == to - from;
        }
        for (int j = 0; j < repeat.Steps; j++)
        {
            StepPlan x = _steps[repeat.First + a * repeat.Steps + j], y = _steps[repeat.First + b * repeat.Steps + j];
            // A pruned layer asks the runtime for its own compact form by index: its copies are written out.
            if (x.Layer.Pruning is not null) return null;
            if (!KernelKey(x).Equals(KernelKey(y)) || x.Strategy != y.Strategy || x.FoldsNext != y.FoldsNext || x.FoldedIntoPrevious != y.FoldedIntoPrevious
                || x.Tensors.Count != y.Tensors.Count || x.CodeOwner != y.CodeOwner)
                return null;
            for (int t = 0; t < x.Tensors.Count; t++)
                if (x.Tensors[t].Buffer ? !Same(ref buffers, x.Tensors[t].Offset, y.Tensors[t].Offset) : !Same(ref parameters, x.Tensors[t].Offset, y.Tensors[t].Offset))
                    return null;
            if (!x.Layer.Handler.IsView && !Same(ref slots, x.OutputSlot, y.OutputSlot)) return null;
            if (!Same(ref slots, x.PreActivationSlot, y.PreActivationSlot) || !Same(ref statistics, x.StatisticsSlot, y.StatisticsSlot)
                || !Same(ref scratch, x.ScratchSlot, y.ScratchSlot))
                return null;
            foreach (KeyValuePair<Slot, (int Offset, int Floats)> slot in x.SlotsByRole)
                if (!y.SlotsByRole.TryGetValue(slot.Key, out var other) || !Same(ref slots, slot.Value.Offset, other.Offset)) return null;
            foreach (KeyValuePair<ScratchRole, int> region in x.ScratchByRole)
                if (!y.ScratchByRole.TryGetValue(region.Key, out int other) || !Same(ref stepScratch, region.Value, other)) return null;
        }
        return new LoopPlan(repeat, 0, 0, parameters ?? 0, buffers ?? 0, slots ?? 0, statistics ?? 0, scratch ?? 0, stepScratch ?? 0);
    }

    /// <summary>
    /// Per step, where its region of a decode cache starts: regions of <see cref="Layers.LayerHandler.DecodeFloats"/>
    /// one after the other in step order, so a repeat's copies are equally spaced (<see cref="DecodeStride"/>).
    /// </summary>
    public int[] DecodeSlots
    {
        get
        {
            if (_decodeSlots is null)
            {
                _decodeSlots = new int[_steps.Length + 1];
                for (int i = 0; i < _steps.Length; i++)
                    _decodeSlots[i + 1] = _decodeSlots[i] + _steps[i].Layer.Handler.DecodeFloats(_steps[i].Layer);
            }
            return _decodeSlots;
        }
    }

    private int[]? _decodeSlots;

    /// <summary>Floats of a decode cache: every step's region.</summary>
    public int DecodeFloats => DecodeSlots[_steps.Length];

    /// <summary>The decode-cache floats between a repeat's consecutive copies.</summary>
    public int DecodeStride(LoopPlan loop) => DecodeSlots[loop.First + loop.Steps] - DecodeSlots[loop.First];

    /// <summary>Which of the runtime's prunable tensors (<c>Parameters.Pruning.Tensors</c>, in declaration order) is <paramref name="layer"/>'s weight.</summary>
    public int PrunableIndex(LayerSpec layer)
    {
        List<TensorPlan> own = Step(layer).Tensors;
        int index = 0;
        foreach (TensorPlan t in Tensors)
        {
            if (t.Pruning is null) continue;
            if (own.Contains(t)) return index;
            index++;
        }
        throw new System.InvalidOperationException($"Step '{layer.MemberName}' has no pruned weight.");
    }

    /// <summary>Repeats whose copies run as loops, in step order.</summary>
    public List<LoopPlan> Loops { get; } = new();

    /// <summary>The loop whose first looped step is <paramref name="index"/>, if any.</summary>
    public LoopPlan? LoopAt(int index)
    {
        foreach (LoopPlan loop in Loops)
            if (loop.First == index) return loop;
        return null;
    }

    /// <summary>True when the step is one of a loop's copies after its first: its code is the first copy's.</summary>
    public bool IsLoopedCopy(int index)
    {
        foreach (LoopPlan loop in Loops)
            if (index >= loop.First + loop.Repeat.Steps && index < loop.End) return true;
        return false;
    }

    public NetworkSpec Spec { get; }

    /// <summary>The instruction-set rungs the kernels are written for (DslInstructionSets), widest first.</summary>
    public IReadOnlyList<Isa> Ladder { get; }

    /// <summary>The plan of step <paramref name="index"/>.</summary>
    public StepPlan Step(int index) => _steps[index];

    public StepPlan Step(LayerSpec layer) => _byMember[layer.MemberName];

    /// <summary>
    /// Whether a step's product over W^T serves only the caller's input gradient: the network's first step, whose
    /// kernel class no other step runs. Training never asks for that gradient, so the product runs the runtime's
    /// generic kernel instead of kernels written for its shape.
    /// </summary>
    public bool InputGradientOnly(StepPlan step) => step.Index == 0 && System.Array.FindAll(_steps, s => s.CodeOwner == step.CodeOwner).Length == 1;

    /// <summary>The kernel class holding the code a step runs.</summary>
    public string Code(LayerSpec layer) => Step(layer).CodeOwner;

    /// <summary>Whether a step's batched inference reads the network's packed weight panels (LayerHandler.PacksPanels).</summary>
    public bool PacksPanels => Spec.Layers.Any(l => l.Handler.PacksPanels(l, this));

    /// <summary>
    /// Where step <paramref name="index"/>'s packed panels start among the network's: the panel floats of the packing steps
    /// before it, an expression of constants the JIT folds (each product's floats depend on the rung it runs).
    /// </summary>
    public string PanelOffset(int index)
    {
        var sizes = Spec.Layers.Take(index).Where(l => l.Handler.PacksPanels(l, this)).Select(l => $"{Code(l)}.PanelFloats()").ToList();
        return sizes.Count == 0 ? "0" : string.Join(" + ", sizes);
    }

    /// <summary>The begin step of a residual end or shortcut path.</summary>
    public LayerSpec Begin(LayerSpec step) => _byMember[step.Get<IResidualPart>().Skip].Layer;

    /// <summary>The end step of a residual begin.</summary>
    public LayerSpec End(LayerSpec begin) => _endOf[begin.MemberName].Layer;

    /// <summary>The start of a residual begin's shortcut path (a projection on channel-major activations), or null.</summary>
    public LayerSpec? ShortcutPath(LayerSpec begin) => _shortcutOf.TryGetValue(begin.MemberName, out StepPlan? step) ? step.Layer : null;

    public List<TensorPlan> Tensors { get; } = new();

    /// <summary>Every per-sample slot a step keeps besides its output, in workspace order.</summary>
    public List<(LayerSpec Layer, Slot Role, int Offset, int Floats)> Slots { get; } = new();

    /// <summary>Sizes of the shared training scratch (and the convolution scratch of batch-1 inference).</summary>
    public SharedScratch Shared { get; } = new();

    public int ParameterCount { get; private set; }

    public int ValuesSize { get; }

    public int BuffersSize { get; }

    public int InputSlot => 0;

    public int GradientSlotA { get; }

    public int GradientSlotB { get; }

    public int WorkspaceFloatsPerSample { get; }

    public int WorkspaceSharedFloats { get; }

    public int InferenceScratchFloats { get; }

    /// <summary>
    /// True when batch-1 inference's scratch is a per-thread array (too large for the stack): zeroed when allocated and
    /// kept across calls, so what no step writes stays zero, as a bordered output's border does (each stored output
    /// has its own region, of which the kernels write only the interior). On the stack it holds whatever was there.
    /// </summary>
    public bool InferenceScratchPersists => InferenceScratchFloats > NetworkGenerator.Emitter.StackScratchLimitFloats;

    public int InferenceColumnsSlot { get; }

    public int InferencePixelsSlot { get; }

    public int InferencePaddedSlot { get; }

    public int FoldSlot { get; }

    /// <summary>Batch-1 inference writes no memory for a view, for a step that is the identity there, or for a batch norm folded into its convolution.</summary>
    public bool IsAliasInInference(int index)
    {
        StepPlan step = _steps[index];
        return step.Layer.Handler.IsAliasInInference(step.Layer) || step.FoldedIntoPrevious;
    }

    /// <summary>Activations whose derivative needs the pre-activation z, not only the output.</summary>
    public static bool NeedsPreActivation(LayerSpec layer) => NeedsPreActivation(layer.Activation);

    /// <summary>Whether the activation's derivative needs z (GELU, SiLU) rather than its output.</summary>
    public static bool NeedsPreActivation(ActivationKind activation) => activation is ActivationKind.Gelu or ActivationKind.GeluTanh or ActivationKind.Silu;

    private static int Align(int floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;
}

/// <summary>A tensor a handler asks the plan for; <see cref="Prefix"/> overrides the layer's weight name (a residual's shortcut).</summary>
internal sealed record TensorRequest(string Role, int[] Shape, string Init, int FanIn = 0, int FanOut = 0, int TransposeGroups = 0, bool Buffer = false, bool Int64 = false, string? Prefix = null, PruneSpec? Pruning = null);

/// <summary>
/// The shared training scratch, sized to the largest user of each region:
/// [columns][pixels][column gradient][padded input][transposed weight][attention].
/// </summary>
internal sealed class SharedScratch
{
    public int ColumnsFloats { get; private set; }

    public int PixelsFloats { get; private set; }

    public int PaddedFloats { get; private set; }

    public int TransposedFloats { get; private set; }

    public int AttentionFloats { get; private set; }

    /// <summary>im2col scratch of batch-1 inference: only convolutions without a direct kernel need it.</summary>
    public int InferenceColumnsFloats { get; private set; }

    public int InferencePixelsFloats { get; private set; }

    public int ColumnsSlot => 0;

    public int PixelsSlot => ColumnsFloats;

    public int ColumnGradientSlot => ColumnsFloats + PixelsFloats;

    public int PaddedSlot => 2 * ColumnsFloats + PixelsFloats;

    public int TransposedSlot => PaddedSlot + PaddedFloats;

    public int AttentionSlot => TransposedSlot + TransposedFloats;

    public int Total => AttentionSlot + AttentionFloats;

    public void NeedColumns(int columns, int pixels)
    {
        ColumnsFloats = System.Math.Max(ColumnsFloats, columns);
        PixelsFloats = System.Math.Max(PixelsFloats, pixels);
    }

    public void NeedInferenceColumns(int columns, int pixels)
    {
        InferenceColumnsFloats = System.Math.Max(InferenceColumnsFloats, columns);
        InferencePixelsFloats = System.Math.Max(InferencePixelsFloats, pixels);
    }

    public void NeedPadded(int floats) => PaddedFloats = System.Math.Max(PaddedFloats, floats);

    public void NeedTransposed(int floats) => TransposedFloats = System.Math.Max(TransposedFloats, floats);

    public void NeedAttention(int floats) => AttentionFloats = System.Math.Max(AttentionFloats, floats);
}

/// <summary>
/// Copies <see cref="FirstCopy"/> .. of a repeat that run as one loop over <c>copy</c> = 0 .. <see cref="Copies"/> − 1:
/// the code is that of copy <see cref="FirstCopy"/>, and each of its offsets moves by the stride of its kind per copy
/// (tensors in the parameter or buffer array, per-sample workspace slots, shared statistics, inference scratch of
/// step outputs and of the steps' own scratch).
/// </summary>
internal sealed record LoopPlan(RepeatSpan Repeat, int FirstCopy, int Copies, int ParameterStride, int BufferStride, int SlotStride,
    int StatisticsStride, int ScratchStride, int StepScratchStride)
{
    /// <summary>The first step of the loop's first copy.</summary>
    public int First => Repeat.First + FirstCopy * Repeat.Steps;

    /// <summary>One past the last step of the loop's last copy.</summary>
    public int End => First + Copies * Repeat.Steps;

    public int Steps => Repeat.Steps;

    /// <summary>The loop's place among the network's loops, which numbers its locals (copy0Input, ...).</summary>
    public int Number { get; init; }

    /// <summary>Whether step <paramref name="index"/> belongs to the loop's first copy, the one whose code runs for all.</summary>
    public bool InFirstCopy(int index) => index >= First && index < First + Steps;

    /// <summary>
    /// "blocks.3.fc1" of the first copy as the arguments naming it for copy <c>copy</c>: <c>"blocks.", copy + 3, ".fc1"</c>.
    /// The copy's index is the first ".3" after the repeat's path (member paths put it right after; a residual's
    /// extras, "blocks_norm.3", after their suffix).
    /// </summary>
    public string NameArguments(string weightName)
    {
        string index = "." + SourceWriter.Int(FirstCopy);
        int at = weightName.IndexOf(index, Repeat.Path.Length, System.StringComparison.Ordinal);
        while (at >= 0 && at + index.Length < weightName.Length && weightName[at + index.Length] != '.')
            at = weightName.IndexOf(index, at + 1, System.StringComparison.Ordinal);
        if (at < 0) throw new System.InvalidOperationException($"'{weightName}' does not name copy {FirstCopy} of '{Repeat.Path}'.");
        string copy = FirstCopy == 0 ? "copy" : $"copy + {FirstCopy}";
        return $"\"{weightName.Substring(0, at)}.\", {copy}, \"{weightName.Substring(at + index.Length)}\"";
    }

    /// <summary>
    /// Rebases a line of the first copy's code onto copy <c>copy</c>: each of its tensor offsets, workspace slots and
    /// statistics slots (named constants) plus that many strides. Scratch and step indices are the call sites' own
    /// expressions (<see cref="Layers.CallSite"/>).
    /// </summary>
    public System.Func<string, string> Rebase(Plan plan)
    {
        var replacements = new System.Collections.Generic.Dictionary<string, string>();
        void Add(string name, int stride) => replacements[name] = $"({name} + copy * {SourceWriter.Int(stride)})";
        for (int index = First; index < First + Steps; index++)
        {
            StepPlan step = plan.Step(index);
            LayerSpec layer = step.Layer;
            foreach (TensorPlan t in step.Tensors) Add(Names.KernelClass(layer) + "." + Names.Offset(t.Role), t.Buffer ? BufferStride : ParameterStride);
            if (!layer.Handler.IsView) Add(Names.OutputSlot(layer), SlotStride);
            if (step.PreActivationSlot >= 0) Add(Names.PreActivationSlot(layer), SlotStride);
            foreach (Slot role in step.SlotsByRole.Keys) Add(Names.Slot(layer, role), SlotStride);
            if (step.StatisticsSlot >= 0) Add(Names.StatisticsSlot(layer), StatisticsStride);
        }
        if (replacements.Count == 0) return line => line;
        var pattern = new System.Text.RegularExpressions.Regex(
            @"(?<![\w.])(" + string.Join("|", System.Linq.Enumerable.Select(System.Linq.Enumerable.OrderByDescending(replacements.Keys, k => k.Length), System.Text.RegularExpressions.Regex.Escape)) + @")(?!\w)",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        return line => pattern.Replace(line, m => replacements[m.Value]);
    }
}
