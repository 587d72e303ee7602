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
            private readonly Dictionary<string, int> _output = new();
            private readonly Dictionary<string, int> _pre = new();
            private readonly Dictionary<string, int> _statistics = new();
            private readonly Dictionary<string, int> _scratch = new();

            public Plan(NetworkSpec spec)
            {
                Spec = spec;
                int values = 0, buffers = 0;
                void Add(LayerSpec layer, string role, int[] shape, string init, int fanIn = 0, int fanOut = 0, int transposeGroups = 0, bool buffer = false, bool int64 = false)
                {
                    var tensor = new TensorPlan(layer, role, shape, init, fanIn, fanOut, transposeGroups, buffer, int64, Tensors.Count, buffer ? buffers : values);
                    Tensors.Add(tensor);
                    _tensors[layer.MemberName + "." + role] = tensor;
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
                            Add(layer, "weight", new[] { layer.Outputs, layer.Inputs }, InitFor(layer, next), layer.Inputs, layer.Outputs, transposeGroups: 1);
                            if (layer.HasBias) Add(layer, "bias", new[] { layer.Outputs }, "Zeros");
                            break;
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
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (layer.Kind == LayerKind.Flatten)
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
                    widest = System.Math.Max(widest, layer.Outputs);
                }
                GradientSlotA = slot;
                GradientSlotB = slot + widest;
                WorkspaceFloatsPerSample = slot + 2 * widest;

                // Shared (per batch) workspace: one sample's im2col scratch, reused by every convolution in turn,
                // then the per-channel batch statistics each batch norm keeps from forward to backward.
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (layer.Kind == LayerKind.Dense)
                        TransposedFloats = System.Math.Max(TransposedFloats, layer.Inputs * layer.Outputs);
                    if (!layer.IsConvolution) continue;
                    int pixels = layer.Output.Spatial;
                    ColumnsFloats = System.Math.Max(ColumnsFloats, pixels * layer.PatchSize);
                    PixelsFloats = System.Math.Max(PixelsFloats, pixels * layer.GroupOutputs);
                    PaddedFloats = System.Math.Max(PaddedFloats, ConvEmitter.PaddedFloats(layer));
                    TransposedFloats = System.Math.Max(TransposedFloats, layer.Groups * layer.PatchSize * layer.GroupOutputs);
                }
                // [columns][pixels][column gradient][padded input][transposed weight][batch-norm statistics...]
                int shared = 2 * ColumnsFloats + PixelsFloats + PaddedFloats + TransposedFloats;
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (!layer.IsBatchNorm) continue;
                    _statistics[layer.MemberName] = shared;
                    shared += 2 * layer.Input.Channels;
                }
                WorkspaceSharedFloats = shared;

                // Batch-1 inference scratch: each stored layer output but the last, then the convolution scratch,
                // then room to fold a batch norm into its convolution.
                int scratch = 0;
                for (int l = 0; l < spec.Layers.Count - 1; l++)
                {
                    LayerSpec layer = spec.Layers[l];
                    if (IsAliasInInference(l)) continue;
                    _scratch[layer.MemberName] = scratch;
                    scratch += layer.Outputs;
                }
                InferenceColumnsSlot = scratch;
                InferencePixelsSlot = scratch + ColumnsFloats;
                InferencePaddedSlot = scratch + ColumnsFloats + PixelsFloats;
                scratch += ColumnsFloats + PixelsFloats + PaddedFloats;
                int fold = 0;
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (Folded.Contains(layer.MemberName))
                        fold = System.Math.Max(fold, 3 * layer.Output.Channels + layer.Groups * layer.PatchSize * layer.GroupOutputs);
                }
                FoldSlot = scratch;
                InferenceScratchFloats = scratch + fold;
            }

            public NetworkSpec Spec { get; }

            public List<TensorPlan> Tensors { get; } = new();

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
                return layer.Kind == LayerKind.Flatten || (layer.IsBatchNorm && index > 0 && Folded.Contains(Spec.Layers[index - 1].MemberName));
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
