using System.Collections.Generic;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>One tensor the network owns, as the constructor declares it and the kernels address it.</summary>
        private sealed record TensorPlan(
            LayerSpec Layer,
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

        /// <summary>
        /// Where everything lives, computed once from the spec with the runtime's rules: parameter and buffer
        /// offsets (each tensor on a 64-byte boundary, as <c>Dsl.Parameters</c> lays them out), the training
        /// workspace's per-sample and shared slots, and the batch-1 scratch of inference.
        /// </summary>
        private sealed class Plan
        {
            private const int AlignFloats = 16; // must match Dsl.Parameters
            private readonly Dictionary<string, TensorPlan> _tensors = new();
            private readonly Dictionary<string, List<TensorPlan>> _tensorsOf = new();
            private readonly Dictionary<string, int> _output = new();
            private readonly Dictionary<string, int> _pre = new();
            private readonly Dictionary<string, int> _statistics = new();
            private readonly Dictionary<string, int> _scratch = new();
            private readonly Dictionary<string, int> _slotFloats = new();
            private readonly Dictionary<string, int> _index = new();
            private readonly Dictionary<string, LayerSpec> _endOf = new();
            private readonly Dictionary<string, int> _inferenceSlots = new();
            private readonly Dictionary<string, string> _codeOwner = new();

            public Plan(NetworkSpec spec)
            {
                Spec = spec;
                for (int l = 0; l < spec.Layers.Count; l++)
                {
                    _index[spec.Layers[l].MemberName] = l;
                    if (spec.Layers[l].Kind == LayerKind.ResidualEnd) _endOf[spec.Layers[l].Skip] = spec.Layers[l];
                }
                int values = 0, buffers = 0;
                void Add(LayerSpec layer, string role, int[] shape, string init, int fanIn = 0, int fanOut = 0, int transposeGroups = 0, bool buffer = false, bool int64 = false, string? prefix = null)
                {
                    // MultiHeadSelfAttention's roles are PyTorch's names below the layer: in_proj_weight, out_proj.weight.
                    string name = (prefix ?? layer.WeightName) + "." + role;
                    var tensor = new TensorPlan(layer, name, role, shape, init, fanIn, fanOut, transposeGroups, buffer, int64, Tensors.Count, buffer ? buffers : values);
                    Tensors.Add(tensor);
                    _tensors[layer.MemberName + "." + role] = tensor;
                    if (!_tensorsOf.TryGetValue(layer.MemberName, out List<TensorPlan>? own)) _tensorsOf[layer.MemberName] = own = new List<TensorPlan>();
                    own.Add(tensor);
                    if (buffer) buffers += Align(tensor.Length);
                    else
                    {
                        values += Align(tensor.Length);
                        ParameterCount += tensor.Length;
                    }
                }

                for (int l = 0; l < spec.Layers.Count; l++)
                {
                    LayerSpec layer = spec.Layers[l];
                    LayerSpec? next = l + 1 < spec.Layers.Count ? spec.Layers[l + 1] : null;
                    switch (layer.Kind)
                    {
                        case LayerKind.Dense:
                        {
                            int inputs = layer.Input.Features, outputs = layer.Output.Features;
                            Add(layer, "weight", new[] { outputs, inputs }, InitFor(layer, next), inputs, outputs, transposeGroups: 1);
                            if (layer.HasBias) Add(layer, "bias", new[] { outputs }, "Zeros");
                            break;
                        }
                        case LayerKind.LayerNorm:
                        case LayerKind.RMSNorm:
                            Add(layer, "weight", new[] { layer.Input.Features }, "Ones");
                            if (layer.HasBias) Add(layer, "bias", new[] { layer.Input.Features }, "Zeros");
                            break;
                        case LayerKind.MultiHeadSelfAttention:
                        {
                            // PyTorch's nn.MultiheadAttention: xavier_uniform_ on in_proj_weight as one [3D, D] matrix, zero biases.
                            int d = layer.Input.Channels;
                            Add(layer, "in_proj_weight", new[] { 3 * d, d }, "XavierUniform", d, 3 * d, transposeGroups: 1);
                            if (layer.HasBias) Add(layer, "in_proj_bias", new[] { 3 * d }, "Zeros");
                            Add(layer, "out_proj.weight", new[] { d, d }, "XavierUniform", d, d, transposeGroups: 1);
                            if (layer.HasBias) Add(layer, "out_proj.bias", new[] { d }, "Zeros");
                            break;
                        }
                        case LayerKind.Embedding:
                            Add(layer, "weight", new[] { layer.Vocabulary, layer.Output.Channels }, "NormalOne");
                            break;
                        case LayerKind.PositionalEmbedding:
                            Add(layer, "weight", new[] { layer.Input.Width, layer.Input.Channels }, "NormalSmall");
                            break;
                        case LayerKind.ResidualEnd:
                        {
                            LayerSpec begin = Begin(layer);
                            int inputs = begin.Input.Features, outputs = layer.Output.Features;
                            if (layer.Projection)
                                Add(layer, "weight", new[] { outputs, inputs }, "XavierUniform", inputs, outputs, transposeGroups: 1, prefix: layer.ShortcutName);
                            if (layer.Gated)
                            {
                                Add(layer, "weight", new[] { outputs, inputs }, "XavierUniform", inputs, outputs, transposeGroups: 1, prefix: layer.ShortcutName);
                                // A negative gate bias starts the block close to carrying x through, as highway networks do.
                                Add(layer, "bias", new[] { outputs }, "MinusOnes", prefix: layer.ShortcutName);
                            }
                            break;
                        }
                        case LayerKind.Conv2D:
                        case LayerKind.Conv1D:
                        {
                            int receptive = layer.KernelHeight * layer.Kernel;
                            int[] shape = layer.Kind == LayerKind.Conv2D
                                ? new[] { layer.Output.Channels, layer.Input.Channels / layer.Groups, layer.Kernel, layer.Kernel }
                                : new[] { layer.Output.Channels, layer.Input.Channels / layer.Groups, layer.Kernel };
                            // PyTorch's fans for a convolution: in = (C_in / groups) * kernel area, out = C_out * kernel area.
                            Add(layer, "weight", shape, InitFor(layer, next), layer.PatchSize, layer.Output.Channels * receptive, transposeGroups: layer.Groups);
                            if (layer.HasBias) Add(layer, "bias", new[] { layer.Output.Channels }, "Zeros");
                            if (next is not null && FoldsInto(layer, next)) Folded.Add(layer.MemberName);
                            break;
                        }
                        case LayerKind.BatchNorm2D:
                        case LayerKind.BatchNorm1D:
                        {
                            int channels = layer.Input.Channels;
                            Add(layer, "weight", new[] { channels }, "Ones");
                            Add(layer, "bias", new[] { channels }, "Zeros");
                            Add(layer, "running_mean", new[] { channels }, "Zeros", buffer: true);
                            Add(layer, "running_var", new[] { channels }, "Ones", buffer: true);
                            Add(layer, "num_batches_tracked", new int[0], "Zeros", buffer: true, int64: true);
                            break;
                        }
                    }
                }
                ValuesSize = values;
                BuffersSize = buffers;

                // Training workspace, per sample: the input, each layer's output (a Flatten's is its input's), the
                // pre-activation where the derivative needs it, and two gradient buffers of the widest row.
                int slot = spec.InputSize;
                int widest = spec.InputSize;
                int previous = 0;
                void Slot(LayerSpec layer, string role, int floats)
                {
                    _slotFloats[layer.MemberName + "." + role] = floats;
                    Slots.Add((layer, role, slot, floats));
                    slot += floats;
                }
                foreach (LayerSpec layer in spec.Layers)
                {
                    widest = System.Math.Max(widest, layer.Outputs);
                    if (layer.IsView)
                    {
                        _output[layer.MemberName] = previous;
                        continue;
                    }
                    _output[layer.MemberName] = previous = slot;
                    slot += layer.Outputs;
                    if (NeedsPreActivation(layer))
                    {
                        _pre[layer.MemberName] = slot;
                        slot += layer.Outputs;
                    }
                    switch (layer.Kind)
                    {
                        case LayerKind.LayerNorm:
                        case LayerKind.RMSNorm:
                            Slot(layer, "Mean", layer.Input.Rows);
                            Slot(layer, "Rstd", layer.Input.Rows);
                            break;
                        case LayerKind.MultiHeadSelfAttention:
                        {
                            int l = layer.Input.Width, d = layer.Input.Channels;
                            Slot(layer, "Qkv", 3 * l * d);
                            Slot(layer, "Probabilities", layer.Heads * l * l);
                            Slot(layer, "Mixed", l * d);
                            Slot(layer, "MixedGradient", l * d);
                            Slot(layer, "QkvGradient", 3 * l * d);
                            break;
                        }
                        case LayerKind.ResidualEnd:
                            // dL/d(x + F(x)), kept after Backward: the identity shortcut's gradient, and what ResidualOutputGradient shows.
                            Slot(layer, "OutputGradient", layer.Outputs);
                            if (layer.HasShortcutWeights) Slot(layer, "SkipGradient", Begin(layer).Inputs);
                            if (layer.Gated)
                            {
                                Slot(layer, "Gate", layer.Outputs);
                                Slot(layer, "GateGradient", layer.Outputs);
                            }
                            break;
                    }
                }
                GradientSlotA = slot;
                GradientSlotB = slot + widest;
                WorkspaceFloatsPerSample = slot + 2 * widest;

                // Shared (per batch) workspace: one sample's im2col scratch, reused by every convolution in turn,
                // then the per-channel batch statistics each batch norm keeps from forward to backward.
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (layer.Kind == LayerKind.Dense)
                        TransposedFloats = System.Math.Max(TransposedFloats, layer.Input.Features * layer.Output.Features);
                    if (layer.Kind == LayerKind.MultiHeadSelfAttention)
                    {
                        TransposedFloats = System.Math.Max(TransposedFloats, 3 * layer.Input.Channels * layer.Input.Channels);
                        int l = layer.Input.Width;
                        AttentionFloats = System.Math.Max(AttentionFloats, AttentionEmitter.HeadScratchFloats(layer) + 3 * l * l);
                    }
                    if (layer.HasShortcutWeights)
                        TransposedFloats = System.Math.Max(TransposedFloats, Begin(layer).Input.Features * layer.Output.Features);
                    if (!layer.IsConvolution) continue;
                    int pixels = layer.Output.Spatial;
                    ColumnsFloats = System.Math.Max(ColumnsFloats, pixels * layer.PatchSize);
                    PixelsFloats = System.Math.Max(PixelsFloats, pixels * layer.GroupOutputs);
                    if (!ConvEmitter.IsDirect(layer))
                    {
                        InferenceColumnsFloats = System.Math.Max(InferenceColumnsFloats, pixels * layer.PatchSize);
                        InferencePixelsFloats = System.Math.Max(InferencePixelsFloats, pixels * layer.GroupOutputs);
                    }
                    PaddedFloats = System.Math.Max(PaddedFloats, ConvEmitter.PaddedFloats(layer));
                    TransposedFloats = System.Math.Max(TransposedFloats, layer.Groups * layer.PatchSize * layer.GroupOutputs);
                }
                // [columns][pixels][column gradient][padded input][transposed weight][batch-norm statistics...]
                int shared = 2 * ColumnsFloats + PixelsFloats + PaddedFloats + TransposedFloats + AttentionFloats;
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (!layer.IsBatchNorm) continue;
                    _statistics[layer.MemberName] = shared;
                    shared += 2 * layer.Input.Channels;
                }
                WorkspaceSharedFloats = shared;

                // Batch-1 inference scratch: each stored layer output but the last (all kept: a residual reads its x
                // after the branch), each attention's and gate's own scratch, then the convolution scratch, then room
                // to fold a batch norm into its convolution.
                int scratch = 0;
                for (int l = 0; l < spec.Layers.Count - 1; l++)
                {
                    LayerSpec layer = spec.Layers[l];
                    if (IsAliasInInference(l)) continue;
                    _scratch[layer.MemberName] = scratch;
                    scratch += layer.Outputs;
                }
                foreach (LayerSpec layer in spec.Layers)
                {
                    void Scratch(string role, int floats)
                    {
                        _inferenceSlots[layer.MemberName + "." + role] = scratch;
                        scratch += floats;
                    }
                    if (layer.Kind == LayerKind.MultiHeadSelfAttention)
                    {
                        int l = layer.Input.Width, d = layer.Input.Channels;
                        Scratch("Qkv", 3 * l * d);
                        Scratch("Mixed", l * d);
                        Scratch("Probabilities", l * l);
                        Scratch("Head", AttentionEmitter.HeadScratchFloats(layer));
                    }
                    if (layer.Kind == LayerKind.ResidualEnd && layer.Gated) Scratch("Gate", layer.Outputs);
                }
                // Direct convolutions (stride 1, one group) need only the padded input, not im2col's columns and pixels.
                InferenceColumnsSlot = scratch;
                InferencePixelsSlot = scratch + InferenceColumnsFloats;
                InferencePaddedSlot = scratch + InferenceColumnsFloats + InferencePixelsFloats;
                scratch += InferenceColumnsFloats + InferencePixelsFloats + PaddedFloats;
                int fold = 0;
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (Folded.Contains(layer.MemberName))
                        fold = System.Math.Max(fold, 3 * layer.Output.Channels + layer.Groups * layer.PatchSize * layer.GroupOutputs);
                }
                FoldSlot = scratch;
                InferenceScratchFloats = scratch + fold;

                // Identical layers (a repeated block's copies) share one kernel class; each keeps its own offsets.
                var owners = new Dictionary<LayerSpec, string>();
                foreach (LayerSpec layer in spec.Layers)
                {
                    LayerSpec key = layer with { MemberName = "", WeightName = "", Accessibility = "", Skip = "", ShortcutName = "", Residual = "", Epsilon = 0f, Momentum = 0f };
                    if (Folded.Contains(layer.MemberName)) key = key with { Accessibility = "folded" };
                    if (!owners.TryGetValue(key, out string? owner)) owners.Add(key, owner = KernelClass(layer));
                    _codeOwner[layer.MemberName] = owner;
                }
            }

            /// <summary>The kernel class holding the code a layer runs: its own, or that of the first identical layer.</summary>
            public string Code(LayerSpec layer) => _codeOwner[layer.MemberName];

            /// <summary>True when the layer's kernel class carries code, not only its offsets.</summary>
            public bool OwnsCode(LayerSpec layer) => _codeOwner[layer.MemberName] == KernelClass(layer);

            /// <summary>Where a step stands in <see cref="NetworkSpec.Layers"/>.</summary>
            public int Index(LayerSpec layer) => _index[layer.MemberName];

            /// <summary>The <see cref="LayerKind.ResidualBegin"/> of a <see cref="LayerKind.ResidualEnd"/>.</summary>
            public LayerSpec Begin(LayerSpec end) => Spec.Layers[_index[end.Skip]];

            /// <summary>The <see cref="LayerKind.ResidualEnd"/> of a <see cref="LayerKind.ResidualBegin"/>.</summary>
            public LayerSpec End(LayerSpec begin) => _endOf[begin.MemberName];

            /// <summary>Floats per sample of a layer's workspace slot, by role (Mean, Qkv, OutputGradient, ...).</summary>
            public int SlotFloats(LayerSpec layer, string role) => _slotFloats[layer.MemberName + "." + role];

            /// <summary>Every per-sample slot a layer keeps besides its output, in workspace order.</summary>
            public List<(LayerSpec Layer, string Role, int Offset, int Floats)> Slots { get; } = new();

            /// <summary>A layer's region of the batch-1 inference scratch, by role.</summary>
            public int InferenceSlot(LayerSpec layer, string role) => _inferenceSlots[layer.MemberName + "." + role];

            /// <summary>Per-sample scratch of attention, shared by the whole batch (one sample and head at a time).</summary>
            public int AttentionFloats { get; }

            public int AttentionSlot => TransposedSlot + TransposedFloats;

            public NetworkSpec Spec { get; }

            public List<TensorPlan> Tensors { get; } = new();

            /// <summary>
            /// A layer's tensors in declaration order. A lookup, because scanning <see cref="Tensors"/> for every layer
            /// made the generator quadratic in the number of steps.
            /// </summary>
            public IReadOnlyList<TensorPlan> TensorsOf(LayerSpec layer) =>
                _tensorsOf.TryGetValue(layer.MemberName, out List<TensorPlan>? own) ? own : NoTensors;

            private static readonly TensorPlan[] NoTensors = new TensorPlan[0];

            /// <summary>Convolutions (by member name) whose following batch norm is folded into them for inference.</summary>
            public HashSet<string> Folded { get; } = new();

            public int ParameterCount { get; private set; }

            public int ValuesSize { get; }

            public int BuffersSize { get; }

            public int InputSlot => 0;

            public int GradientSlotA { get; }

            public int GradientSlotB { get; }

            public int WorkspaceFloatsPerSample { get; }

            public int ColumnsSlot => 0;

            public int PixelsSlot => ColumnsFloats;

            public int ColumnGradientSlot => ColumnsFloats + PixelsFloats;

            public int PaddedSlot => 2 * ColumnsFloats + PixelsFloats;

            public int TransposedSlot => PaddedSlot + PaddedFloats;

            public int PaddedFloats { get; }

            public int TransposedFloats { get; }

            public int InferencePaddedSlot { get; }

            public int ColumnsFloats { get; }

            public int PixelsFloats { get; }

            public int WorkspaceSharedFloats { get; }

            public int InferenceScratchFloats { get; }

            public int InferenceColumnsSlot { get; }

            /// <summary>im2col scratch of inference: only convolutions without a direct kernel need it.</summary>
            public int InferenceColumnsFloats { get; }

            public int InferencePixelsFloats { get; }

            public int InferencePixelsSlot { get; }

            public int FoldSlot { get; }

            public TensorPlan Tensor(LayerSpec layer, string role) => _tensors[layer.MemberName + "." + role];

            public bool Has(LayerSpec layer, string role) => _tensors.ContainsKey(layer.MemberName + "." + role);

            public int OutputSlot(LayerSpec layer) => _output[layer.MemberName];

            public int PreActivationSlot(LayerSpec layer) => _pre[layer.MemberName];

            public int StatisticsSlot(LayerSpec layer) => _statistics[layer.MemberName];

            public int ScratchSlot(LayerSpec layer) => _scratch[layer.MemberName];

            /// <summary>Batch-1 inference writes no memory for a Flatten (a view) or a batch norm folded into its convolution.</summary>
            public bool IsAliasInInference(int index)
            {
                LayerSpec layer = Spec.Layers[index];
                return layer.IsView || (layer.IsBatchNorm && index > 0 && Folded.Contains(Spec.Layers[index - 1].MemberName));
            }

            /// <summary>A batch norm right after a convolution with no activation folds into it: W' = W s, b' = b s + t.</summary>
            private static bool FoldsInto(LayerSpec convolution, LayerSpec next) =>
                convolution.Activation == ActivationKind.None &&
                ((convolution.Kind == LayerKind.Conv2D && next.Kind == LayerKind.BatchNorm2D) ||
                 (convolution.Kind == LayerKind.Conv1D && next.Kind == LayerKind.BatchNorm1D));

            // Kaiming for layers feeding a ReLU (directly, or through the batch norm after them), Xavier otherwise.
            private static string InitFor(LayerSpec layer, LayerSpec? next) =>
                layer.Activation == ActivationKind.Relu || (layer.Activation == ActivationKind.None && next is { IsBatchNorm: true, Activation: ActivationKind.Relu })
                    ? "KaimingUniform"
                    : "XavierUniform";

            private static int Align(int floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;
        }
    }
}
