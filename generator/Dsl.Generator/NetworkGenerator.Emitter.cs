using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>Turns a <see cref="NetworkSpec"/> into source text. Works from the spec alone.</summary>
    internal static partial class Emitter
    {
        private const string GeneratedCode = "[global::System.CodeDom.Compiler.GeneratedCode(\"Dsl.Generator\", \"0.1.0\")]";
        private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
        private const string Span = "global::System.Span<float>";
        private const string Kernels = "global::Dsl.Kernels.";

        // Batch-1 activations up to this size live on the stack; beyond it, in a per-thread buffer.
        private const int StackScratchLimitFloats = 16 * 1024;

        public static string EmitNetwork(NetworkSpec spec)
        {
            var plan = new Plan(spec);
            var w = new SourceWriter();
            OpenFile(w, spec, $" : global::Dsl.INetwork");

            w.Line("/// <summary>Input values per sample" + (spec.Input.Rank > 1 ? $" ({spec.Input}, channel-major)" : "") + ".</summary>");
            w.Line($"public const int InputSize = {spec.InputSize};");
            w.Line("/// <summary>Output values per sample.</summary>");
            w.Line($"public const int OutputSize = {spec.OutputSize};");
            w.Line("/// <summary>Trainable scalars.</summary>");
            w.Line($"public const int ParameterCount = {plan.ParameterCount};");
            w.Line("// Floats in the parameter and buffer arrays: each tensor starts on a 64-byte boundary.");
            w.Line($"private const int ParameterBufferSize = {plan.ValuesSize};");
            if (plan.BuffersSize > 0) w.Line($"private const int BufferSize = {plan.BuffersSize};");
            w.Line();
            w.Line("int global::Dsl.INetwork.InputSize => InputSize;");
            w.Line("int global::Dsl.INetwork.OutputSize => OutputSize;");
            w.Line();
            w.Line("private readonly global::Dsl.Parameters _parameters;");
            foreach (MemberView member in spec.Members) w.Line($"private readonly {member.Type} {FieldName(member.Name)};");
            w.Line();

            EmitConstructor(w, spec, plan);

            foreach (MemberView member in spec.Members)
            {
                w.Line($"/// <summary>{MemberDescription(spec, member.View)}.</summary>");
                w.Line($"{member.Accessibility} partial {member.Type} {member.Name} => {FieldName(member.Name)};");
                w.Line();
            }

            w.Line("/// <inheritdoc/>");
            w.Line("public global::Dsl.Parameters Parameters => _parameters;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"public string Summary => {Verbatim(SummaryText(spec, plan))};");
            w.Line();
            EmitSteps(w, spec, plan);

            EmitInference(w, spec, plan);

            for (int l = 0; l < spec.Layers.Count; l++)
            {
                LayerSpec layer = spec.Layers[l];
                if (!HasKernelClass(layer)) continue;
                w.Line();
                w.Line($"// {LayerDescription(layer)}.");
                w.OpenBlock($"private static partial class {KernelClass(layer)}");
                EmitLayerConstants(w, layer, plan);
                if (!plan.OwnsCode(layer))
                {
                    w.Line($"// Runs the kernels of {plan.Code(layer)}, an identical layer.");
                    w.CloseBlock();
                    continue;
                }
                if (HasCode(layer)) w.Line();
                if (layer.Kind == LayerKind.Tokens) SequenceEmitter.EmitTokensForward(w, layer);
                if (layer.Kind == LayerKind.MultiHeadSelfAttention) AttentionEmitter.EmitForward(w, layer);
                if (layer.Kind == LayerKind.ResidualEnd)
                    DenseEmitter.EmitForward(w, ShortcutGemm(plan, layer));
                if (layer.Kind == LayerKind.Dense || layer.IsConvolution)
                    DenseEmitter.EmitForward(w, ForwardGemm(layer, plan));
                if (PoolEmitter.IsGenerated(layer))
                    PoolEmitter.EmitForward(w, layer);
                if (layer.IsConvolution)
                {
                    w.Line();
                    bool folded = plan.Folded.Contains(layer.MemberName);
                    ConvEmitter.EmitForwardHelpers(w, layer, folded, zeroBias: folded && !layer.HasBias);
                    if (ConvEmitter.IsDirect(layer))
                    {
                        w.Line();
                        ConvEmitter.EmitDirect(w, layer, bias: layer.HasBias || folded);
                    }
                }
                w.CloseBlock();
            }

            CloseFile(w, spec);
            return w.ToString();
        }

        public static string EmitBackward(NetworkSpec spec)
        {
            var plan = new Plan(spec);
            var w = new SourceWriter();
            OpenFile(w, spec, "");

            w.Line("// Training workspace: each slot holds that many floats for every sample of the batch, sample after sample.");
            w.Line($"private const int InputSlot = {plan.InputSlot};");
            foreach (LayerSpec layer in spec.Layers)
            {
                if (layer.Kind == LayerKind.Flatten) continue;
                w.Line($"private const int {OutputSlot(layer)} = {plan.OutputSlot(layer)}; // {layer.Outputs} floats");
                if (NeedsPreActivation(layer))
                    w.Line($"private const int {PreActivationSlot(layer)} = {plan.PreActivationSlot(layer)}; // z, kept for the {layer.Activation} derivative");
            }
            foreach ((LayerSpec layer, string role, int offset, int floats) in plan.Slots)
                w.Line($"private const int {SlotName(layer, role)} = {offset}; // {floats} floats");
            w.Line($"private const int GradientSlotA = {plan.GradientSlotA}; // dL/d(layer output), ping-pong between layers");
            w.Line($"private const int GradientSlotB = {plan.GradientSlotB};");
            w.Line($"private const int WorkspaceFloatsPerSample = {plan.WorkspaceFloatsPerSample};");
            if (plan.WorkspaceSharedFloats > 0)
            {
                w.Line("// Shared by the whole batch: one sample's convolution scratch at a time, the transposed weight of one");
                w.Line("// layer at a time, and each batch norm's statistics.");
                if (plan.ColumnsFloats > 0)
                {
                    w.Line($"private const int ColumnsSlot = {plan.ColumnsSlot}; // im2col patches, {plan.ColumnsFloats} floats");
                    w.Line($"private const int PixelsSlot = {plan.PixelsSlot}; // pixel-major output or its gradient, {plan.PixelsFloats} floats");
                    w.Line($"private const int ColumnGradientSlot = {plan.ColumnGradientSlot}; // patch gradients, {plan.ColumnsFloats} floats");
                }
                if (plan.PaddedFloats > 0)
                    w.Line($"private const int PaddedSlot = {plan.PaddedSlot}; // a group's input or its gradient inside a zero border, {plan.PaddedFloats} floats");
                if (plan.TransposedFloats > 0)
                    w.Line($"private const int TransposedWeightSlot = {plan.TransposedSlot}; // W^T of the layer being differentiated, {plan.TransposedFloats} floats");
                if (plan.AttentionFloats > 0)
                    w.Line($"private const int AttentionSlot = {plan.AttentionSlot}; // one sample's head of Q, K, V and their gradients, and its score matrices, {plan.AttentionFloats} floats");
                foreach (LayerSpec layer in spec.Layers.Where(l => l.IsBatchNorm))
                    w.Line($"private const int {StatisticsSlot(layer)} = {plan.StatisticsSlot(layer)}; // batch mean, then 1/sqrt(var + eps), {layer.Input.Channels} each");
                w.Line($"private const int WorkspaceSharedFloats = {plan.WorkspaceSharedFloats};");
            }
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line(plan.WorkspaceSharedFloats > 0
                ? "public global::Dsl.Workspace CreateWorkspace(int maxBatch) => new global::Dsl.Workspace(WorkspaceFloatsPerSample, maxBatch, WorkspaceSharedFloats);"
                : "public global::Dsl.Workspace CreateWorkspace(int maxBatch) => new global::Dsl.Workspace(WorkspaceFloatsPerSample, maxBatch);");
            w.Line();
            w.OpenBlock("private static void CheckWorkspace(global::Dsl.Workspace workspace)");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(workspace);");
            w.Line(plan.WorkspaceSharedFloats > 0
                ? "if (workspace.FloatsPerSample != WorkspaceFloatsPerSample || workspace.SharedFloats != WorkspaceSharedFloats)"
                : "if (workspace.FloatsPerSample != WorkspaceFloatsPerSample)");
            w.Line($"    throw new global::System.ArgumentException(\"The workspace was not created by {spec.ClassName}.CreateWorkspace.\", nameof(workspace));");
            w.CloseBlock();
            w.Line();

            EmitForwardTrain(w, spec, plan);
            w.Line();
            EmitBackwardPass(w, spec, plan);

            EmitResidualObservation(w, spec, plan);

            foreach (LayerSpec layer in spec.Layers)
            {
                if (!HasCode(layer) || !plan.OwnsCode(layer)) continue;
                w.Line();
                w.OpenBlock($"private static partial class {KernelClass(layer)}");
                if (PoolEmitter.IsGenerated(layer)) PoolEmitter.EmitBackward(w, layer);
                if (layer.Kind == LayerKind.Tokens) SequenceEmitter.EmitTokensBackward(w, layer);
                if (layer.Kind == LayerKind.MultiHeadSelfAttention) AttentionEmitter.EmitBackward(w, layer);
                if (layer.Kind == LayerKind.ResidualEnd) DenseEmitter.EmitBackward(w, ShortcutGemm(plan, layer));
                if (layer.Kind == LayerKind.Dense || layer.IsConvolution) DenseEmitter.EmitBackward(w, BackwardGemm(layer));
                if (layer.IsConvolution)
                {
                    w.Line();
                    ConvEmitter.EmitBackwardHelpers(w, layer);
                }
                w.CloseBlock();
            }

            CloseFile(w, spec);
            return w.ToString();
        }

        private static void EmitConstructor(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line($"/// <summary>Creates the network with parameters initialised deterministically from <paramref name=\"seed\"/>.</summary>");
            w.OpenBlock($"public {spec.ClassName}(int seed = 0)");
            w.OpenBlock("_parameters = new global::Dsl.Parameters(new global::Dsl.TensorInfo[]");
            foreach (TensorPlan t in plan.Tensors)
            {
                string shape = t.Shape.Length == 0 ? "global::System.Array.Empty<int>()" : $"new[] {{ {string.Join(", ", t.Shape)} }}";
                string extra = "";
                if (t.FanIn > 0) extra += $", fanIn: {t.FanIn}, fanOut: {t.FanOut}";
                if (t.TransposeGroups > 0) extra += $", transposeGroups: {t.TransposeGroups}";
                if (t.Buffer) extra += ", kind: global::Dsl.TensorKind.Buffer";
                if (t.Int64) extra += ", fileDType: global::Dsl.TensorDType.I64";
                w.Line($"new global::Dsl.TensorInfo(\"{t.Name}\", {shape}, global::Dsl.TensorInit.{t.Init}{extra}),");
            }
            w.CloseBlock(");");
            w.Line("// The kernels bake in the layout computed at build time; a runtime that lays tensors out differently must not run them.");
            w.Line(plan.BuffersSize > 0
                ? "if (_parameters.Size != ParameterBufferSize || _parameters.BufferSize != BufferSize)"
                : "if (_parameters.Size != ParameterBufferSize)");
            w.Line("    throw new global::System.InvalidOperationException(\"The Dsl runtime's parameter layout differs from the generator's; use matching versions.\");");
            foreach (MemberView member in spec.Members)
                w.Line($"{FieldName(member.Name)} = {MemberConstruction(spec, plan, member.View)};");
            w.Line("_parameters.Initialize(seed);");
            w.CloseBlock();
            w.Line();
        }

        private static string ViewConstruction(LayerSpec layer, Plan plan)
        {
            string Tensor(string role) => plan.Has(layer, role) ? $"_parameters.Tensors[{plan.Tensor(layer, role).Index}]" : "null";
            string name = $"\"{layer.WeightName}\"";
            string activation = $"global::Dsl.Activation.{layer.Activation}";
            Shape i = layer.Input;
            string options = $"kernel: {layer.Kernel}, stride: {layer.Stride}, padding: {layer.Padding}";
            return layer.Kind switch
            {
                LayerKind.Dense => $"new global::Dsl.Dense(_parameters, {name}, {layer.Inputs}, {layer.Outputs}, {activation}, {Tensor("weight")}, {Tensor("bias")})",
                LayerKind.Conv2D => $"new global::Dsl.Conv2D(_parameters, {name}, {i.Channels}, {i.Height}, {i.Width}, {layer.Output.Channels}, {options}, dilation: {layer.Dilation}, groups: {layer.Groups}, {activation}, {Tensor("weight")}, {Tensor("bias")})",
                LayerKind.Conv1D => $"new global::Dsl.Conv1D(_parameters, {name}, {i.Channels}, {i.Width}, {layer.Output.Channels}, {options}, dilation: {layer.Dilation}, groups: {layer.Groups}, causal: {(layer.Causal ? "true" : "false")}, {activation}, {Tensor("weight")}, {Tensor("bias")})",
                LayerKind.MaxPool2D or LayerKind.AvgPool2D => $"new global::Dsl.{layer.Kind}({name}, {i.Channels}, {i.Height}, {i.Width}, {options})",
                LayerKind.MaxPool1D => $"new global::Dsl.MaxPool1D({name}, {i.Channels}, {i.Width}, {options})",
                LayerKind.GlobalAvgPool => i.Rank == 3 ? $"new global::Dsl.GlobalAvgPool({name}, {i.Channels}, {i.Height}, {i.Width})" : $"new global::Dsl.GlobalAvgPool({name}, {i.Channels}, {i.Width})",
                LayerKind.Flatten => $"new global::Dsl.Flatten({name}, {ShapeArray(i)})",
                LayerKind.Tokens => $"new global::Dsl.Tokens({name}, {ShapeArray(i)})",
                LayerKind.LayerNorm => $"new global::Dsl.LayerNorm(_parameters, {name}, {ShapeArray(i)}, {i.Features}, {SourceWriter.Float(layer.Epsilon)}, {Tensor("weight")}, {Tensor("bias")})",
                LayerKind.RMSNorm => $"new global::Dsl.RMSNorm(_parameters, {name}, {ShapeArray(i)}, {i.Features}, {SourceWriter.Float(layer.Epsilon)}, {Tensor("weight")})",
                LayerKind.MultiHeadSelfAttention => $"new global::Dsl.MultiHeadSelfAttention(_parameters, {name}, {i.Width}, {i.Channels}, {layer.Heads}, {(layer.Causal ? "true" : "false")}, " +
                                                    $"{Tensor("in_proj_weight")}, {Tensor("in_proj_bias")}, {Tensor("out_proj.weight")}, {Tensor("out_proj.bias")})",
                LayerKind.Embedding => $"new global::Dsl.Embedding(_parameters, {name}, {i.Size}, {layer.Vocabulary}, {layer.Output.Channels}, {Tensor("weight")})",
                LayerKind.PositionalEmbedding => $"new global::Dsl.PositionalEmbedding(_parameters, {name}, {i.Width}, {i.Channels}, {Tensor("weight")})",
                _ => $"new global::Dsl.{layer.Kind}(_parameters, {name}, {i.Channels}, {(layer.Kind == LayerKind.BatchNorm2D ? $"{i.Height}, {i.Width}" : i.Rank == 2 ? $"{i.Width}" : "0")}, " +
                     $"momentum: {SourceWriter.Float(layer.Momentum)}, epsilon: {SourceWriter.Float(layer.Epsilon)}, {activation}, " +
                     $"{Tensor("weight")}, {Tensor("bias")}, {Tensor("running_mean")}, {Tensor("running_var")}, {Tensor("num_batches_tracked")})",
            };
        }

        /// <summary>The value of a member property: a layer's view, a block built from its members' values, or a list of copies.</summary>
        private static string MemberConstruction(NetworkSpec spec, Plan plan, ViewNode view)
        {
            if (view.Layer.Length > 0)
            {
                foreach (LayerSpec layer in spec.Layers)
                    if (layer.MemberName == view.Layer) return ViewConstruction(layer, plan);
            }
            var parts = new List<string>();
            foreach (ViewNode child in view.Children) parts.Add(MemberConstruction(spec, plan, child));
            return view.IsList
                ? $"global::System.Array.AsReadOnly(new {view.Type}[] {{ {string.Join(", ", parts)} }})"
                : $"new {view.Type}({string.Join(", ", parts)})";
        }

        private static string MemberDescription(NetworkSpec spec, ViewNode view)
        {
            if (view.Layer.Length > 0)
            {
                foreach (LayerSpec layer in spec.Layers)
                    if (layer.MemberName == view.Layer) return LayerDescription(layer);
            }
            string type = view.Type.Replace("global::", "");
            return view.IsList ? $"{view.Children.Count} copies of {type}, each with its own weights" : $"Block {type}";
        }

        private static string ShapeArray(Shape shape) => shape.IsTokens ? $"new[] {{ {shape.Width}, {shape.Channels} }}" : shape.Rank switch
        {
            1 => $"new[] {{ {shape.Channels} }}",
            2 => $"new[] {{ {shape.Channels}, {shape.Width} }}",
            _ => $"new[] {{ {shape.Channels}, {shape.Height}, {shape.Width} }}",
        };

        private static bool HasKernelClass(LayerSpec layer) =>
            layer.Kind is LayerKind.Dense or LayerKind.Tokens or LayerKind.MultiHeadSelfAttention or LayerKind.Embedding or LayerKind.PositionalEmbedding ||
            layer.IsConvolution || layer.IsBatchNorm || layer.IsNorm || PoolEmitter.IsGenerated(layer) || layer.HasShortcutWeights;

        /// <summary>Kernel classes with methods, not only constants. An identity residual has none: its sums are library calls.</summary>
        private static bool HasCode(LayerSpec layer) =>
            layer.Kind is LayerKind.Dense or LayerKind.Tokens or LayerKind.MultiHeadSelfAttention || layer.IsConvolution || PoolEmitter.IsGenerated(layer) ||
            layer.HasShortcutWeights;

        /// <summary>A residual's projection (no bias) or gate (bias, sigmoid) is a dense layer on the rows of x.</summary>
        private static Gemm ShortcutGemm(Plan plan, LayerSpec end) =>
            new(plan.Begin(end).Input.Features, end.Output.Features, end.Gated, end.Gated);

        private static void EmitLayerConstants(SourceWriter w, LayerSpec layer, Plan plan)
        {
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    w.Line($"// W is stored input-major [{layer.Input.Features}, {layer.Output.Features}] so each kernel streams whole rows{(layer.Input.IsTokens ? "; it runs on each of the " + layer.Input.Rows + " tokens" : "")}.");
                    w.Line($"public const int Inputs = {layer.Input.Features};");
                    w.Line($"public const int Outputs = {layer.Output.Features};");
                    break;
                case LayerKind.Conv2D:
                case LayerKind.Conv1D:
                    w.Line($"// W is stored per group input-major [{layer.Groups}, {layer.PatchSize}, {layer.GroupOutputs}]: im2col rows times W is the convolution,");
                    w.Line($"// vectorised over the {layer.GroupOutputs} output channels of a group by the same kernels as a dense layer.");
                    ConvEmitter.EmitConstants(w, layer);
                    break;
                case LayerKind.BatchNorm2D:
                case LayerKind.BatchNorm1D:
                    w.Line($"public const int Channels = {layer.Input.Channels};");
                    w.Line($"public const int Spatial = {layer.Input.Spatial}; // positions per channel");
                    break;
                case LayerKind.Tokens:
                    w.Line($"public const int Channels = {layer.Input.Channels};");
                    w.Line($"public const int Positions = {layer.Input.Spatial};");
                    break;
                case LayerKind.MultiHeadSelfAttention:
                    AttentionEmitter.EmitConstants(w, layer);
                    break;
                case LayerKind.ResidualEnd:
                {
                    Gemm gemm = ShortcutGemm(plan, layer);
                    w.Line(layer.Gated
                        ? $"// The gate T = sigmoid(x W_T + b_T), W_T stored input-major [{gemm.Inputs}, {gemm.Outputs}]."
                        : $"// The projection shortcut x W_s, W_s stored input-major [{gemm.Inputs}, {gemm.Outputs}].");
                    w.Line($"public const int Inputs = {gemm.Inputs};");
                    w.Line($"public const int Outputs = {gemm.Outputs};");
                    break;
                }
            }
            foreach (TensorPlan tensor in plan.TensorsOf(layer))
            {
                w.Line($"public const int {OffsetName(tensor.Role)} = {tensor.Offset};{(tensor.Buffer ? " // in the buffer array" : "")}");
            }
        }

        /// <summary>The constant naming a tensor's offset: weight → WeightOffset, out_proj.weight → OutProjWeightOffset.</summary>
        private static string OffsetName(string role)
        {
            var builder = new System.Text.StringBuilder();
            foreach (string word in role.Split('_', '.'))
                if (word.Length > 0) builder.Append(char.ToUpperInvariant(word[0])).Append(word.Substring(1));
            return builder + "Offset";
        }

        // Inference kernels add a bias when the layer has one or a folded batch norm gives it one.
        private static Gemm ForwardGemm(LayerSpec layer, Plan plan) =>
            layer.Kind == LayerKind.Dense
                ? new Gemm(layer.Input.Features, layer.Output.Features, layer.HasBias, layer.HasBias)
                : new Gemm(layer.PatchSize, layer.GroupOutputs, layer.HasBias || plan.Folded.Contains(layer.MemberName), layer.HasBias);

        private static Gemm BackwardGemm(LayerSpec layer) =>
            layer.Kind == LayerKind.Dense
                ? new Gemm(layer.Input.Features, layer.Output.Features, layer.HasBias, layer.HasBias)
                : new Gemm(layer.PatchSize, layer.GroupOutputs, layer.HasBias, layer.HasBias, layer.Groups);

        private static void EmitInference(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            w.OpenBlock($"public void Forward({ReadOnlySpan} input, {Span} output)");
            w.Line("global::Dsl.Guard.Length(input, InputSize, nameof(input));");
            w.Line("global::Dsl.Guard.Length(output, OutputSize, nameof(output));");
            w.Line("ForwardOne(ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(output));");
            w.CloseBlock();
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.OpenBlock($"public void Forward({ReadOnlySpan} input, {Span} output, int batch)");
            w.Line("global::Dsl.Guard.BatchLength(input, InputSize, batch, nameof(input));");
            w.Line("global::Dsl.Guard.BatchLength(output, OutputSize, batch, nameof(output));");
            w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float y = ref MemoryMarshal.GetReference(output);");
            if (spec.AllDense)
            {
                w.Line($"// Blocks of up to {BlockRows} samples go layer by layer, so a block reads each weight once from memory and");
                w.Line("// every further sample of the block finds it in cache.");
                w.Line($"for (nuint s = 0; s < (nuint)batch; s += {BlockRows})");
                w.Line($"    ForwardBlock(ref Unsafe.Add(ref x, s * InputSize), ref Unsafe.Add(ref y, s * OutputSize), (int)global::System.Math.Min({BlockRows}, (nuint)batch - s));");
            }
            else
            {
                w.Line("for (nuint s = 0; s < (nuint)batch; s++)");
                w.Line("    ForwardOne(ref Unsafe.Add(ref x, s * InputSize), ref Unsafe.Add(ref y, s * OutputSize));");
            }
            w.CloseBlock();
            w.Line();
            EmitForwardOne(w, spec, plan);
            if (spec.AllDense)
            {
                w.Line();
                EmitForwardBlock(w, spec, plan);
            }
        }

        // Samples per block of a batched all-dense forward: 64 rows keep the AVX-512 blocked kernel's 6-row micro-tiles
        // busy and a 784-wide block of inputs within L2.
        private const int BlockRows = 64;

        // Tiered JIT would run an entry point's first calls unoptimised, slowly; these are compiled optimised at once.
        private static void EmitOptimisedFromFirstCall(SourceWriter w) => w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");

        private static void EmitScratch(SourceWriter w, string method, int floats)
        {
            if (floats == 0) return;
            if (floats <= StackScratchLimitFloats)
            {
                w.Line($"{Span} scratch = stackalloc float[{floats}];");
            }
            else
            {
                w.Line($"float[] scratchArray = t_{SourceWriter.Camel(method)}Scratch ??= new float[{floats}];");
                w.Line($"{Span} scratch = scratchArray;");
            }
        }

        private static void EmitScratchComment(SourceWriter w, string method, int floats)
        {
            if (floats == 0) return;
            if (floats <= StackScratchLimitFloats)
            {
                w.Line("// Activations live on the stack: no allocation, and threads share nothing but the weights.");
            }
            else
            {
                w.Line("// Activations live in a per-thread buffer (too large for the stack): allocated once per thread, then reused.");
                w.Line($"[global::System.ThreadStatic] private static float[]? t_{SourceWriter.Camel(method)}Scratch;");
            }
        }

        private static void EmitForwardOne(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            EmitScratchComment(w, "ForwardOne", plan.InferenceScratchFloats);
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock("private void ForwardOne(ref float x, ref float y)");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            EmitScratch(w, "ForwardOne", plan.InferenceScratchFloats);
            if (plan.InferenceColumnsFloats > 0)
            {
                w.Line($"ref float cols = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferenceColumnsSlot}, {plan.InferenceColumnsFloats}));");
                w.Line($"ref float pixels = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferencePixelsSlot}, {plan.InferencePixelsFloats}));");
            }
            if (plan.PaddedFloats > 0)
                w.Line($"ref float padded = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferencePaddedSlot}, {plan.PaddedFloats}));");
            string current = "x";
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                LayerSpec layer = spec.Layers[l];
                bool last = l == spec.Layers.Count - 1;
                w.Line();
                w.Line($"// {LayerDescription(layer)}");
                if (layer.Kind == LayerKind.ResidualBegin)
                {
                    w.Line($"ref float {Local(layer)} = ref {current}; // x, read again where the residual ends");
                    continue;
                }
                if (plan.IsAliasInInference(l))
                {
                    w.Line(layer.Kind == LayerKind.Flatten ? "// a view of the previous output: no data moves" : "// folded into the convolution before it");
                    if (last) w.Line($"MemoryMarshal.CreateReadOnlySpan(ref {current}, OutputSize).CopyTo(MemoryMarshal.CreateSpan(ref y, OutputSize));");
                    continue;
                }
                string output = last ? "y" : Local(layer);
                if (!last) w.Line($"ref float {output} = ref MemoryMarshal.GetReference(scratch.Slice({plan.ScratchSlot(layer)}, {layer.Outputs}));");
                EmitLayerInference(w, spec, plan, l, current, output);
                current = output;
            }
            w.CloseBlock();
        }

        private static void EmitLayerInference(SourceWriter w, NetworkSpec spec, Plan plan, int index, string x, string y)
        {
            LayerSpec layer = spec.Layers[index];
            string kernels = plan.Code(layer), offsets = KernelClass(layer);
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                {
                    string fused = layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);
                    int rows = layer.Input.Rows, width = layer.Output.Features;
                    w.Line(rows == 1
                        ? $"{kernels}.Forward1<{Kernels}{fused}>(ref {x}, {WeightRefs(layer, "p")}, ref {y});"
                        : $"{kernels}.ForwardRows<{Kernels}{fused}>(ref {x}, {WeightRefs(layer, "p")}, ref {y}, {rows});");
                    if (layer.Activation == ActivationKind.Softmax)
                    {
                        if (rows > 1) w.Line($"for (int t = 0; t < {rows}; t++)");
                        w.Line($"{(rows > 1 ? "    " : "")}{Kernels}Softmax.Forward(MemoryMarshal.CreateSpan(ref {(rows > 1 ? $"Unsafe.Add(ref {y}, t * {width})" : y)}, {width}));");
                    }
                    break;
                }
                case LayerKind.Conv2D:
                case LayerKind.Conv1D:
                {
                    ActivationKind activation = layer.Activation;
                    string weight = $"ref Unsafe.Add(ref p, {offsets}.WeightOffset)";
                    string bias = layer.HasBias ? $"ref Unsafe.Add(ref p, {offsets}.BiasOffset)" : weight;
                    if (plan.Folded.Contains(layer.MemberName))
                    {
                        LayerSpec norm = spec.Layers[index + 1];
                        string normKernels = KernelClass(norm);
                        int channels = layer.Output.Channels;
                        activation = norm.Activation;
                        w.Line($"// {norm.WeightName} folded in: scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale; W' = W scale, b' = b scale + shift");
                        string fold = Local(layer) + "Folded";
                        w.Line($"{Span} {fold} = scratch.Slice({plan.FoldSlot}, {3 * channels + layer.Groups * layer.PatchSize * layer.GroupOutputs});");
                        w.Line($"{Kernels}BatchNormKernels.Fold(_parameters.Values.Slice({normKernels}.WeightOffset, {channels}), _parameters.Values.Slice({normKernels}.BiasOffset, {channels}), " +
                               $"_parameters.Buffers.Slice({normKernels}.RunningMeanOffset, {channels}), _parameters.Buffers.Slice({normKernels}.RunningVarOffset, {channels}), {SourceWriter.Float(norm.Epsilon)}, " +
                               $"{fold}.Slice(0, {channels}), {fold}.Slice({channels}, {channels}));");
                        w.Line($"{kernels}.Fold({weight}, {bias}, ref {fold}[0], ref {fold}[{channels}], ref {fold}[{3 * channels}], ref {fold}[{2 * channels}]);");
                        weight = $"ref {fold}[{3 * channels}]";
                        bias = $"ref {fold}[{2 * channels}]";
                    }
                    if (ConvEmitter.IsDirect(layer))
                        w.Line($"{kernels}.Direct<{Kernels}{OperatorName(activation)}>(ref {x}, {(ConvEmitter.IsPadded(layer) ? "ref padded, " : "")}{weight}, {bias}, ref {y});");
                    else
                        EmitConvolutionForward(w, plan, layer, x, y, weight, bias, activation);
                    break;
                }
                case LayerKind.BatchNorm2D:
                case LayerKind.BatchNorm1D:
                {
                    int channels = layer.Input.Channels;
                    w.Line($"{Kernels}BatchNormKernels.Inference(MemoryMarshal.CreateReadOnlySpan(ref {x}, {layer.Inputs}), MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}), {channels}, {layer.Input.Spatial}, " +
                           $"_parameters.Values.Slice({offsets}.WeightOffset, {channels}), _parameters.Values.Slice({offsets}.BiasOffset, {channels}), " +
                           $"_parameters.Buffers.Slice({offsets}.RunningMeanOffset, {channels}), _parameters.Buffers.Slice({offsets}.RunningVarOffset, {channels}), {SourceWriter.Float(layer.Epsilon)});");
                    if (layer.Activation != ActivationKind.None)
                        w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>(MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}), MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs}));");
                    break;
                }
                case LayerKind when SequenceEmitter.Handles(layer):
                    SequenceEmitter.EmitInference(w, plan, layer, x, y);
                    break;
                default:
                    w.Line(PoolEmitter.IsGenerated(layer)
                        ? $"{kernels}.Forward(ref {x}, ref {y});"
                        : PoolingCall(layer, "Forward", $"MemoryMarshal.CreateReadOnlySpan(ref {x}, {layer.Inputs})", $"MemoryMarshal.CreateSpan(ref {y}, {layer.Outputs})"));
                    break;
            }
        }

        // One sample: per group, im2col, the dense product over pixels (activation fused), then back to channel-major.
        private static void EmitConvolutionForward(SourceWriter w, Plan plan, LayerSpec layer, string x, string y, string weight, string bias, ActivationKind activation, string? pre = null)
        {
            string kernels = plan.Code(layer), offsets = KernelClass(layer);
            string target = pre ?? y;
            string fused = pre is not null ? "Identity" : OperatorName(activation);
            if (layer.Groups == 1)
            {
                w.Line($"{kernels}.Im2Col(ref {x}, {(ConvEmitter.IsPadded(layer) ? "ref padded, " : "")}ref cols);");
                w.Line($"{kernels}.ForwardRows<{Kernels}{fused}>(ref cols, {weight}, {bias}, ref pixels, {kernels}.Pixels);");
                w.Line($"{kernels}.ToChannels(ref pixels, ref {target});");
                return;
            }
            w.OpenBlock($"for (int g = 0; g < {kernels}.Groups; g++)");
            w.Line($"{kernels}.Im2Col(ref Unsafe.Add(ref {x}, g * {kernels}.GroupInputFloats), {(ConvEmitter.IsPadded(layer) ? "ref padded, " : "")}ref cols);");
            w.Line($"{kernels}.ForwardRows<{Kernels}{fused}>(ref cols, ref Unsafe.Add({weight}, g * {kernels}.GroupWeights), ref Unsafe.Add({bias}, g * {kernels}.Outputs), ref pixels, {kernels}.Pixels);");
            w.Line($"{kernels}.ToChannels(ref pixels, ref Unsafe.Add(ref {target}, g * {kernels}.GroupOutputFloats));");
            w.CloseBlock();
        }

        private static string PoolingCall(LayerSpec layer, string direction, params string[] spans)
        {
            Shape i = layer.Input, o = layer.Output;
            string arguments = string.Join(", ", spans);
            return layer.Kind switch
            {
                LayerKind.MaxPool2D or LayerKind.AvgPool2D =>
                    $"{Kernels}PoolingKernels.{layer.Kind}{direction}({arguments}, {i.Channels}, {i.Height}, {i.Width}, {layer.Kernel}, {layer.Stride}, {layer.Padding}, {o.Height}, {o.Width});",
                LayerKind.MaxPool1D =>
                    $"{Kernels}PoolingKernels.MaxPool1D{direction}({arguments}, {i.Channels}, {i.Width}, {layer.Kernel}, {layer.Stride}, {layer.Padding}, {o.Width});",
                _ => $"{Kernels}PoolingKernels.GlobalAvgPool{direction}({arguments}, {i.Channels}, {i.Spatial});",
            };
        }

        private static void EmitForwardBlock(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            int hidden = spec.Layers.Take(spec.Layers.Count - 1).Sum(l => l.Outputs);
            bool onStack = BlockRows * hidden <= StackScratchLimitFloats;
            if (hidden > 0)
            {
                if (onStack)
                {
                    w.Line("// The block's activations live on the stack, sized by its rows: no allocation, and threads share nothing but the weights.");
                }
                else
                {
                    w.Line("// The block's activations live in a per-thread buffer (too large for the stack): allocated once per thread, then reused.");
                    w.Line("[global::System.ThreadStatic] private static float[]? t_forwardBlockScratch;");
                }
            }
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock("private void ForwardBlock(ref float x, ref float y, int rows)");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            if (hidden > 0)
                w.Line(onStack
                    ? $"{Span} scratch = stackalloc float[rows * {hidden}];"
                    : $"{Span} scratch = t_forwardBlockScratch ??= new float[{BlockRows * hidden}];");
            int offset = 0;
            string input = "x";
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                LayerSpec layer = spec.Layers[l];
                bool last = l == spec.Layers.Count - 1;
                string output = last ? "y" : Local(layer);
                w.Line();
                w.Line($"// {LayerDescription(layer)}");
                if (!last)
                {
                    w.Line($"ref float {output} = ref MemoryMarshal.GetReference(scratch.Slice({(offset == 0 ? "0" : $"rows * {offset}")}, rows * {layer.Outputs}));");
                    offset += layer.Outputs;
                }
                string fused = layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);
                w.Line($"{plan.Code(layer)}.ForwardRows<{Kernels}{fused}>(ref {input}, {WeightRefs(layer, "p")}, ref {output}, rows);");
                if (layer.Activation == ActivationKind.Softmax)
                {
                    w.Line("for (int r = 0; r < rows; r++)");
                    w.Line($"    {Kernels}Softmax.Forward(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref {output}, r * {layer.Outputs}), {layer.Outputs}));");
                }
                input = output;
            }
            w.CloseBlock();
        }

        private static void EmitForwardTrain(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock($"public void ForwardTrain({ReadOnlySpan} input, {Span} output, int batch, global::Dsl.Workspace workspace)");
            w.Line("CheckWorkspace(workspace);");
            w.Line("global::Dsl.Guard.BatchLength(input, InputSize, batch, nameof(input));");
            w.Line("global::Dsl.Guard.BatchLength(output, OutputSize, batch, nameof(output));");
            w.Line("workspace.BeginForward(batch);");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            if (plan.BuffersSize > 0) w.Line("ref float buffers = ref MemoryMarshal.GetReference(_parameters.Buffers);");
            EmitSharedScratch(w, plan, backward: false);
            w.Line($"{Span} x = workspace.Region(InputSlot, InputSize, batch);");
            w.Line("input.CopyTo(x);");
            string input = "x";
            foreach (LayerSpec layer in spec.Layers)
            {
                string kernels = plan.Code(layer), offsets = KernelClass(layer);
                string output = Local(layer);
                w.Line();
                w.Line($"// {LayerDescription(layer)}");
                if (layer.IsView)
                {
                    w.Line(layer.Kind == LayerKind.Flatten ? "// a view of the previous output: no data moves" : "// x, read again where the residual ends");
                    w.Line($"{Span} {output} = {input};");
                    input = output;
                    continue;
                }
                w.Line($"{Span} {output} = workspace.Region({OutputSlot(layer)}, {layer.Outputs}, batch);");
                string? pre = null;
                if (NeedsPreActivation(layer))
                {
                    pre = Local(layer) + "Pre";
                    w.Line("// keep z: this activation's derivative needs it");
                    w.Line($"{Span} {pre} = workspace.Region({PreActivationSlot(layer)}, {layer.Outputs}, batch);");
                }
                string target = pre ?? output;
                switch (layer.Kind)
                {
                    case LayerKind.Dense:
                    {
                        string fused = pre is not null || layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);
                        w.Line($"{kernels}.ForwardRows<{Kernels}{fused}>(ref MemoryMarshal.GetReference({input}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({target}), {RowCount(layer)});");
                        if (layer.Activation == ActivationKind.Softmax)
                        {
                            w.Line($"for (int s = 0; s < {RowCount(layer)}; s++)");
                            w.Line($"    {Kernels}Softmax.Forward({output}.Slice(s * {layer.Output.Features}, {layer.Output.Features}));");
                        }
                        break;
                    }
                    case LayerKind.Conv2D:
                    case LayerKind.Conv1D:
                    {
                        string weight = $"ref Unsafe.Add(ref p, {offsets}.WeightOffset)";
                        string bias = layer.HasBias ? $"ref Unsafe.Add(ref p, {offsets}.BiasOffset)"
                            : plan.Folded.Contains(layer.MemberName) ? $"ref {kernels}.NoBias[0]" : weight;
                        w.OpenBlock("for (int s = 0; s < batch; s++)");
                        w.Line($"ref float xs = ref MemoryMarshal.GetReference({input}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
                        w.Line($"ref float ys = ref MemoryMarshal.GetReference({target}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
                        EmitConvolutionForward(w, plan, layer, "xs", "ys", weight, bias, pre is not null ? ActivationKind.None : layer.Activation);
                        w.CloseBlock();
                        break;
                    }
                    case LayerKind.BatchNorm2D:
                    case LayerKind.BatchNorm1D:
                    {
                        int channels = layer.Input.Channels;
                        w.Line($"{Span} {Local(layer)}Statistics = workspace.Shared({StatisticsSlot(layer)}, {2 * channels});");
                        w.Line($"{Kernels}BatchNormKernels.ForwardTraining({input}, {target}, batch, {channels}, {layer.Input.Spatial}, " +
                               $"_parameters.Values.Slice({offsets}.WeightOffset, {channels}), _parameters.Values.Slice({offsets}.BiasOffset, {channels}), " +
                               $"_parameters.Buffers.Slice({offsets}.RunningMeanOffset, {channels}), _parameters.Buffers.Slice({offsets}.RunningVarOffset, {channels}), " +
                               $"{SourceWriter.Float(layer.Momentum)}, {SourceWriter.Float(layer.Epsilon)}, {Local(layer)}Statistics.Slice(0, {channels}), {Local(layer)}Statistics.Slice({channels}, {channels}));");
                        w.Line($"Unsafe.Add(ref buffers, {offsets}.NumBatchesTrackedOffset) += 1f;");
                        if (pre is null && layer.Activation != ActivationKind.None)
                            w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({output}, {output});");
                        break;
                    }
                    case LayerKind when SequenceEmitter.Handles(layer):
                        SequenceEmitter.EmitTrain(w, plan, layer, input, output);
                        break;
                    default:
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line("    " + (PoolEmitter.IsGenerated(layer)
                            ? $"{kernels}.Forward(ref MemoryMarshal.GetReference({input}.Slice(s * {layer.Inputs}, {layer.Inputs})), ref MemoryMarshal.GetReference({output}.Slice(s * {layer.Outputs}, {layer.Outputs})));"
                            : PoolingCall(layer, "Forward", $"{input}.Slice(s * {layer.Inputs}, {layer.Inputs})", $"{output}.Slice(s * {layer.Outputs}, {layer.Outputs})")));
                        break;
                }
                if (pre is not null)
                    w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({pre}, {output});");
                w.Line($"if (workspace.CheckFinite) workspace.ThrowIfNotFinite({output}, \"{layer.WeightName}\", gradient: false);");
                input = output;
            }
            w.Line();
            w.Line($"{input}.CopyTo(output);");
            w.CloseBlock();
        }

        // The training passes' views of the workspace's shared scratch; the gradient ones only in Backward.
        private static void EmitSharedScratch(SourceWriter w, Plan plan, bool backward)
        {
            void Shared(string local, string slot, int floats) =>
                w.Line($"ref float {local} = ref MemoryMarshal.GetReference(workspace.Shared({slot}, {floats}));");
            if (plan.ColumnsFloats > 0)
            {
                Shared("cols", "ColumnsSlot", plan.ColumnsFloats);
                Shared("pixels", "PixelsSlot", plan.PixelsFloats);
                if (backward) Shared("columnGradient", "ColumnGradientSlot", plan.ColumnsFloats);
            }
            if (plan.PaddedFloats > 0) Shared("padded", "PaddedSlot", plan.PaddedFloats);
            if (backward && plan.TransposedFloats > 0) Shared("transposed", "TransposedWeightSlot", plan.TransposedFloats);
            if (plan.AttentionFloats > 0) Shared("attention", "AttentionSlot", plan.AttentionFloats);
        }

        private static void EmitBackwardPass(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock($"public void Backward({ReadOnlySpan} outputGradient, {Span} inputGradient, int batch, global::Dsl.Workspace workspace)");
            w.Line("CheckWorkspace(workspace);");
            w.Line("global::Dsl.Guard.BatchLength(outputGradient, OutputSize, batch, nameof(outputGradient));");
            w.Line("if (!inputGradient.IsEmpty)");
            w.Line("    global::Dsl.Guard.BatchLength(inputGradient, InputSize, batch, nameof(inputGradient));");
            w.Line("workspace.BeginBackward(batch);");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            w.Line("ref float grads = ref MemoryMarshal.GetReference(_parameters.Gradients);");
            EmitSharedScratch(w, plan, backward: true);
            LayerSpec lastLayer = spec.Layers[spec.Layers.Count - 1];
            string gradient = GradientLocal(lastLayer.MemberName);
            w.Line($"{Span} {gradient} = workspace.Region(GradientSlotA, OutputSize, batch);");
            w.Line($"outputGradient.CopyTo({gradient});");
            bool slotA = true;
            for (int l = spec.Layers.Count - 1; l >= 0; l--)
            {
                LayerSpec layer = spec.Layers[l];
                string kernels = plan.Code(layer), offsets = KernelClass(layer);
                string input = l == 0 ? "workspace.Region(InputSlot, InputSize, batch)" : InputRegion(spec, l);
                bool first = l == 0;
                w.Line();
                w.Line($"// {layer.WeightName}: {layer.Kind} {layer.Input} -> {layer.Output} backward. {BackwardMaths(layer, first)}");
                if (layer.IsView || layer.Kind is LayerKind.ResidualEnd or LayerKind.PositionalEmbedding)
                {
                    // The gradient of a view is the same memory seen with the input's shape; the others update it in place.
                    SequenceEmitter.EmitPassThroughBackward(w, spec, plan, l, input, gradient);
                    if (first)
                    {
                        w.Line("if (!inputGradient.IsEmpty)");
                        w.Line($"    {gradient}.CopyTo(inputGradient);");
                    }
                    else
                    {
                        string same = GradientLocal(spec.Layers[l - 1].MemberName);
                        w.Line($"{Span} {same} = {gradient};");
                        gradient = same;
                    }
                    continue;
                }
                EmitActivationBackward(w, layer, gradient);

                // Where dx goes: the other gradient buffer, or the caller's span for the first layer.
                string next;
                if (first)
                {
                    next = "inputGradient";
                }
                else
                {
                    slotA = !slotA;
                    next = GradientLocal(spec.Layers[l - 1].MemberName);
                    w.Line($"{Span} {next} = workspace.Region({(slotA ? "GradientSlotA" : "GradientSlotB")}, {layer.Inputs}, batch);");
                }
                string guard = first ? "if (!inputGradient.IsEmpty)" : "";

                switch (layer.Kind)
                {
                    case LayerKind.Dense:
                        w.Line($"{kernels}.AccumulateGradients(ref MemoryMarshal.GetReference({input}), ref MemoryMarshal.GetReference({gradient}), {Native(RowCount(layer))}, {WeightRefs(layer, "grads")});");
                        if (first) w.OpenBlock(guard);
                        w.Line($"{kernels}.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.WeightOffset), ref transposed);");
                        w.Line($"{kernels}.Transposed.ForwardRows<{Kernels}Identity>(ref MemoryMarshal.GetReference({gradient}), ref transposed, ref transposed, ref MemoryMarshal.GetReference({next}), {RowCount(layer)});");
                        if (first) w.CloseBlock();
                        break;
                    case LayerKind.Conv2D:
                    case LayerKind.Conv1D:
                        EmitConvolutionBackward(w, plan, layer, input, gradient, next, first);
                        break;
                    case LayerKind.BatchNorm2D:
                    case LayerKind.BatchNorm1D:
                    {
                        int channels = layer.Input.Channels;
                        string statistics = $"workspace.Shared({StatisticsSlot(layer)}, {2 * channels})";
                        // dx is needed for the statistics' gradient even when the caller does not want it: use the free buffer.
                        string target = first ? $"(inputGradient.IsEmpty ? workspace.Region({(slotA ? "GradientSlotB" : "GradientSlotA")}, InputSize, batch) : inputGradient)" : next;
                        w.Line($"{Kernels}BatchNormKernels.Backward({input}, {gradient}, {target}, batch, {channels}, {layer.Input.Spatial}, _parameters.Values.Slice({offsets}.WeightOffset, {channels}), " +
                               $"{statistics}.Slice(0, {channels}), {statistics}.Slice({channels}, {channels}), _parameters.Gradients.Slice({offsets}.WeightOffset, {channels}), _parameters.Gradients.Slice({offsets}.BiasOffset, {channels}));");
                        break;
                    }
                    case LayerKind when SequenceEmitter.Handles(layer):
                        SequenceEmitter.EmitBackward(w, plan, layer, input, gradient, next, first, $"workspace.Region({(slotA ? "GradientSlotB" : "GradientSlotA")}, InputSize, batch)");
                        break;
                    default:
                        if (first) w.OpenBlock(guard);
                        w.Line($"{next}.Clear();");
                        w.Line("for (int s = 0; s < batch; s++)");
                        // Max pools find the window's maximum again in the stored input; average pools need only dy.
                        string dy = $"{gradient}.Slice(s * {layer.Outputs}, {layer.Outputs})", dx = $"{next}.Slice(s * {layer.Inputs}, {layer.Inputs})";
                        string xs = $"{input}.Slice(s * {layer.Inputs}, {layer.Inputs})";
                        string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
                        bool max = layer.Kind is LayerKind.MaxPool2D or LayerKind.MaxPool1D;
                        w.Line("    " + (PoolEmitter.IsGenerated(layer)
                            ? (max ? $"{kernels}.Backward({Ref(xs)}, {Ref(dy)}, {Ref(dx)});" : $"{kernels}.Backward({Ref(dy)}, {Ref(dx)});")
                            : max ? PoolingCall(layer, "Backward", xs, dy, dx) : PoolingCall(layer, "Backward", dy, dx)));
                        if (first) w.CloseBlock();
                        break;
                }
                if (!first) w.Line($"if (workspace.CheckFinite) workspace.ThrowIfNotFinite({next}, \"{layer.WeightName}\", gradient: true);");
                gradient = next;
            }
            w.CloseBlock();
        }

        // dz = dy f'(.) over the whole batch, in place, before the layer's own backward.
        private static void EmitActivationBackward(SourceWriter w, LayerSpec layer, string gradient)
        {
            switch (layer.Activation)
            {
                case ActivationKind.None:
                    break;
                case ActivationKind.Softmax:
                    w.Line($"{ReadOnlySpan} {Local(layer)} = workspace.Region({OutputSlot(layer)}, {layer.Outputs}, batch);");
                    w.Line($"for (int s = 0; s < {RowCount(layer)}; s++)");
                    w.Line($"    {Kernels}Softmax.Backward({Local(layer)}.Slice(s * {layer.Output.Features}, {layer.Output.Features}), {gradient}.Slice(s * {layer.Output.Features}, {layer.Output.Features}));");
                    break;
                default:
                    string slot = NeedsPreActivation(layer) ? PreActivationSlot(layer) : OutputSlot(layer);
                    w.Line($"{Kernels}ActivationSpan.Backward<{Kernels}{OperatorName(layer.Activation)}>(workspace.Region({slot}, {layer.Outputs}, batch), {gradient});");
                    break;
            }
        }

        // Per sample and group: dz to pixel-major, im2col again, dW += cols^T dz, db += sum dz, and dx = col2im(dz W^T).
        private static void EmitConvolutionBackward(SourceWriter w, Plan plan, LayerSpec layer, string input, string gradient, string next, bool first)
        {
            string kernels = plan.Code(layer), offsets = KernelClass(layer);
            bool grouped = layer.Groups > 1;
            string padded = ConvEmitter.IsPadded(layer) ? "ref padded, " : "";
            string Offset(string constant) => grouped ? $" + g * {kernels}.{constant}" : "";
            string Group(string reference, string constant) => grouped ? $"ref Unsafe.Add(ref {reference}, g * {kernels}.{constant})" : $"ref {reference}";
            string gradientBias = layer.HasBias ? $"ref Unsafe.Add(ref grads, {offsets}.BiasOffset{Offset("Outputs")})" : $"ref Unsafe.Add(ref grads, {offsets}.WeightOffset)";
            string wantDx = first ? "!inputGradient.IsEmpty" : "true";
            if (first) w.Line("if (!inputGradient.IsEmpty)");
            w.Line($"{(first ? "    " : "")}{kernels}.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.WeightOffset), ref transposed);");
            w.OpenBlock("for (int s = 0; s < batch; s++)");
            w.Line($"ref float xs = ref MemoryMarshal.GetReference({input}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
            w.Line($"ref float dys = ref MemoryMarshal.GetReference({gradient}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
            w.Line(first
                ? $"ref float dxs = ref inputGradient.IsEmpty ? ref xs : ref MemoryMarshal.GetReference({next}.Slice(s * {layer.Inputs}, {layer.Inputs}));"
                : $"ref float dxs = ref MemoryMarshal.GetReference({next}.Slice(s * {layer.Inputs}, {layer.Inputs}));");
            if (grouped) w.OpenBlock($"for (int g = 0; g < {kernels}.Groups; g++)");
            w.Line($"{kernels}.ToPixels({Group("dys", "GroupOutputFloats")}, ref pixels);");
            w.Line($"{kernels}.Im2Col({Group("xs", "GroupInputFloats")}, {padded}ref cols);");
            w.Line($"{kernels}.AccumulateGradients(ref cols, ref pixels, {kernels}.Pixels, ref Unsafe.Add(ref grads, {offsets}.WeightOffset{Offset("GroupWeights")}), {gradientBias});");
            if (first) w.OpenBlock($"if ({wantDx})");
            w.Line($"{kernels}.Transposed.ForwardRows<{Kernels}Identity>(ref pixels, {Group("transposed", "GroupWeights")}, ref transposed, ref columnGradient, {kernels}.Pixels);");
            w.Line($"{kernels}.Col2Im(ref columnGradient, {padded}{Group("dxs", "GroupInputFloats")});");
            if (first) w.CloseBlock();
            if (grouped) w.CloseBlock();
            w.CloseBlock();
        }

        // The layer before `index` wrote its output where? (A Flatten's is its own input's.)
        private static string InputRegion(NetworkSpec spec, int index)
        {
            for (int l = index - 1; l >= 0; l--)
            {
                if (!spec.Layers[l].IsView)
                    return $"workspace.Region({OutputSlot(spec.Layers[l])}, {spec.Layers[index].Inputs}, batch)";
            }
            return "workspace.Region(InputSlot, InputSize, batch)";
        }

        private static string BackwardMaths(LayerSpec layer, bool first)
        {
            string dz = layer.Activation switch
            {
                ActivationKind.None => "dz = dy",
                ActivationKind.Softmax => "dz = y (dy - sum(dy y)) per sample",
                ActivationKind.Relu or ActivationKind.Tanh or ActivationKind.Sigmoid => $"dz = dy {layer.Activation.ToString().ToLowerInvariant()}'(y)",
                _ => $"dz = dy {layer.Activation.ToString().ToLowerInvariant()}'(z)",
            };
            string dx = first ? "; dx when asked for" : "";
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    return $"{dz}; dW += x^T dz{(layer.HasBias ? "; db += sum over samples of dz" : "")}; dx = dz W^T{(first ? " when asked for" : "")}.";
                case LayerKind.Conv2D:
                case LayerKind.Conv1D:
                    return $"{dz}; per sample dW += im2col(x)^T dz{(layer.HasBias ? ", db += sum over pixels of dz" : "")}, dx = col2im(dz W^T){dx}.";
                case LayerKind.BatchNorm2D:
                case LayerKind.BatchNorm1D:
                    return $"{dz}; dgamma += sum dz xhat, dbeta += sum dz, dx through the batch statistics.";
                case LayerKind.Flatten:
                    return "The gradient is the same memory with the input's shape.";
                case LayerKind.ResidualBegin:
                    return "dx = dF(x)/dx + the shortcut's gradient: the sum of both paths.";
                case LayerKind.ResidualEnd:
                    return layer.Gated
                        ? "dF = T dy; dT = dy (F - x), dA = dT T (1 - T); dW_T += x^T dA; the shortcut's gradient is (1 - T) dy + dA W_T^T."
                        : layer.Projection ? "dF = dy; dW_s += x^T dy; the shortcut's gradient is dy W_s^T." : "dF = dy, and the shortcut's gradient is dy too (kept).";
                case LayerKind.Tokens:
                    return $"dx[c, t] = dy[t, c]{dx}.";
                case LayerKind.LayerNorm:
                case LayerKind.RMSNorm:
                    return $"dgamma += sum dy xhat{(layer.HasBias ? ", dbeta += sum dy" : "")}, dx through each row's statistics.";
                case LayerKind.MultiHeadSelfAttention:
                    return "Output projection, then per sample and head the softmax and the score products, then the input projection" + dx + ".";
                case LayerKind.Embedding:
                    return "dW[id_t] += dy[t]; token ids have no gradient.";
                case LayerKind.PositionalEmbedding:
                    return $"dP += sum over samples of dy; dx = dy{dx}.";
                case LayerKind.GlobalAvgPool when layer.Input.IsTokens:
                    return $"Each token's gradient is dy / {layer.Input.Rows}{dx}.";
                case LayerKind.MaxPool2D:
                case LayerKind.MaxPool1D:
                    return $"Each window's gradient goes to its (first) maximum{dx}.";
                default:
                    return $"Each window's gradient is shared equally by its positions{dx}.";
            }
        }

        private static void OpenFile(SourceWriter w, NetworkSpec spec, string baseList)
        {
            w.Line("// <auto-generated/>");
            w.Line("#nullable enable");
            w.Line();
            w.Line("using MemoryMarshal = global::System.Runtime.InteropServices.MemoryMarshal;");
            w.Line("using MethodImpl = global::System.Runtime.CompilerServices.MethodImplAttribute;");
            w.Line("using MethodImplOptions = global::System.Runtime.CompilerServices.MethodImplOptions;");
            w.Line("using Unsafe = global::System.Runtime.CompilerServices.Unsafe;");
            w.Line("using Vector128 = global::System.Runtime.Intrinsics.Vector128;");
            w.Line("using Vector256 = global::System.Runtime.Intrinsics.Vector256;");
            w.Line("using Vector512 = global::System.Runtime.Intrinsics.Vector512;");
            w.Line();
            if (spec.Namespace is not null)
            {
                w.Line($"namespace {spec.Namespace};");
                w.Line();
            }
            foreach (string outer in spec.ContainingTypes) w.OpenBlock(outer);
            if (baseList.Length > 0) w.Line(GeneratedCode); // once per type: the attribute allows no repeats
            w.OpenBlock($"partial class {spec.ClassName}{baseList}");
        }

        private static void CloseFile(SourceWriter w, NetworkSpec spec)
        {
            w.CloseBlock();
            foreach (string _ in spec.ContainingTypes) w.CloseBlock();
        }

        private static string SummaryText(NetworkSpec spec, Plan plan)
        {
            var rows = new List<string[]> { new[] { "layer", "kind", "output", "activation", "parameters", "FLOPs" } };
            long flops = 0;
            foreach (LayerSpec layer in spec.Layers)
            {
                long layerFlops = layer.Kind switch
                {
                    LayerKind.Dense => 2L * layer.Input.Rows * layer.Input.Features * layer.Output.Features,
                    LayerKind.Conv2D or LayerKind.Conv1D => 2L * layer.Outputs * layer.PatchSize,
                    LayerKind.BatchNorm2D or LayerKind.BatchNorm1D => 2L * layer.Outputs,
                    LayerKind.MaxPool2D or LayerKind.AvgPool2D => (long)layer.Outputs * layer.Kernel * layer.Kernel,
                    LayerKind.MaxPool1D => (long)layer.Outputs * layer.Kernel,
                    LayerKind.GlobalAvgPool => layer.Inputs,
                    LayerKind.LayerNorm or LayerKind.RMSNorm => 5L * layer.Outputs,
                    LayerKind.PositionalEmbedding => layer.Outputs,
                    LayerKind.MultiHeadSelfAttention => 2L * layer.Input.Width * layer.Input.Channels * (4 * layer.Input.Channels + 2 * layer.Input.Width),
                    LayerKind.ResidualEnd => layer.Outputs + (layer.HasShortcutWeights ? 2L * layer.Output.Rows * plan.Begin(layer).Input.Features * layer.Output.Features : 0),
                    _ => 0,
                };
                flops += layerFlops;
                int parameters = plan.TensorsOf(layer).Where(t => !t.Buffer).Sum(t => t.Length);
                string activation = layer.Kind is LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv1D || layer.IsBatchNorm ? layer.Activation.ToString() : "";
                if (layer.Kind == LayerKind.ResidualBegin) continue;
                string kind = layer.Kind != LayerKind.ResidualEnd ? layer.Kind.ToString() : layer.Gated ? "+ highway" : layer.Projection ? "+ projection" : "+ x";
                rows.Add(new[] { layer.Kind == LayerKind.ResidualEnd ? layer.ShortcutName.Length > 0 ? layer.ShortcutName : layer.Residual : layer.WeightName, kind, layer.Output.ToString(), activation, SourceWriter.Grouped(parameters), SourceWriter.Grouped(layerFlops) });
            }
            rows.Add(new[] { "total", "", "", "", SourceWriter.Grouped(plan.ParameterCount), SourceWriter.Grouped(flops) });
            int[] widths = new int[rows[0].Length];
            foreach (string[] row in rows)
                for (int c = 0; c < row.Length; c++) widths[c] = System.Math.Max(widths[c], row[c].Length);
            string inputs = spec.Input.Rank == 1 ? $"{spec.InputSize} inputs" : $"{spec.Input} input";
            var lines = new List<string> { $"{spec.ClassName}: {inputs} -> {spec.OutputSize} outputs, {SourceWriter.Grouped(plan.ParameterCount)} parameters, {SourceWriter.Grouped(flops)} FLOPs per sample" };
            foreach (string[] row in rows)
            {
                var cells = new string[row.Length];
                for (int c = 0; c < row.Length; c++)
                    cells[c] = c >= 4 ? new string(' ', widths[c] - row[c].Length) + row[c] : SourceWriter.Pad(row[c], widths[c]);
                lines.Add(string.Join("  ", cells).TrimEnd());
            }
            return string.Join("\n", lines) + "\n";
        }

        /// <summary>The step list exporters and tools read: kind, shapes, options and tensor names of every step.</summary>
        private static void EmitSteps(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            w.Line("public global::System.Collections.Generic.IReadOnlyList<global::Dsl.NetworkStep> Steps => s_steps;");
            w.Line();
            w.OpenBlock("private static readonly global::System.Collections.ObjectModel.ReadOnlyCollection<global::Dsl.NetworkStep> s_steps = global::System.Array.AsReadOnly(new global::Dsl.NetworkStep[]");
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                LayerSpec layer = spec.Layers[l];
                var tensors = new List<string>();
                foreach (TensorPlan t in plan.TensorsOf(layer)) tensors.Add($"\"{t.Name}\"");
                var options = new List<string>();
                if (layer.Input.IsTokens) options.Add("InputIsTokens = true");
                if (layer.Output.IsTokens) options.Add("OutputIsTokens = true");
                if (layer.Activation != ActivationKind.None) options.Add($"Activation = global::Dsl.Activation.{layer.Activation}");
                if (layer.HasBias && layer.Kind is LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv1D or LayerKind.MultiHeadSelfAttention) options.Add("Bias = true");
                if (layer.Kernel != 1) options.Add($"Kernel = {layer.Kernel}");
                if (layer.Stride != 1) options.Add($"Stride = {layer.Stride}");
                if (layer.Padding != 0) options.Add($"Padding = {layer.Padding}");
                if (layer.Dilation != 1) options.Add($"Dilation = {layer.Dilation}");
                if (layer.Groups != 1) options.Add($"Groups = {layer.Groups}");
                if (layer.Causal) options.Add("Causal = true");
                if (layer.IsBatchNorm || layer.IsNorm) options.Add($"Epsilon = {SourceWriter.Float(layer.Epsilon)}");
                if (layer.Kind == LayerKind.MultiHeadSelfAttention) options.Add($"Heads = {layer.Heads}");
                if (layer.Kind == LayerKind.ResidualEnd)
                {
                    options.Add($"Skip = {plan.Index(plan.Begin(layer))}");
                    if (layer.Projection) options.Add("Projection = true");
                    if (layer.Gated) options.Add("Gated = true");
                }
                string step = $"new global::Dsl.NetworkStep(global::Dsl.StepKind.{layer.Kind}, \"{layer.WeightName}\", {ShapeArray(layer.Input)}, {ShapeArray(layer.Output)}, " +
                              (tensors.Count == 0 ? "global::System.Array.Empty<string>()" : $"new[] {{ {string.Join(", ", tensors)} }}") + ")";
                w.Line(options.Count == 0 ? step + "," : $"{step} {{ {string.Join(", ", options)} }},");
            }
            w.CloseBlock(");");
            w.Line();
        }

        private static string Verbatim(string text) => "@\"" + text.Replace("\"", "\"\"") + "\"";

        private static string LayerDescription(LayerSpec layer)
        {
            string activation = layer.Activation switch
            {
                ActivationKind.None => "",
                ActivationKind.Softmax => "softmax",
                _ => layer.Activation.ToString().ToLowerInvariant(),
            };
            string Apply(string inner) => activation.Length == 0 ? $"y = {inner}" : $"y = {activation}({inner})";
            string named = activation.Length == 0 ? "" : ", " + layer.Activation;
            string shapes = $"{layer.Input} -> {layer.Output}";
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    return layer.Input.IsTokens
                        ? $"{layer.WeightName}: Dense {layer.Input.Features} -> {layer.Output.Features} on each of {layer.Input.Rows} tokens{named}. {Apply(layer.HasBias ? "x W + b" : "x W")}"
                        : $"{layer.WeightName}: Dense {layer.Inputs} -> {layer.Outputs}{named}. {Apply(layer.HasBias ? "x W + b" : "x W")}";
                case LayerKind.Conv2D:
                case LayerKind.Conv1D:
                {
                    string kernel = layer.Kind == LayerKind.Conv2D ? $"{layer.Kernel}x{layer.Kernel}" : $"kernel {layer.Kernel}";
                    string options = $", stride {layer.Stride}, {(layer.Causal ? $"causal pad {layer.PadLeft}" : $"pad {layer.Padding}")}";
                    if (layer.Dilation != 1) options += $", dilation {layer.Dilation}";
                    if (layer.Groups != 1) options += $", {layer.Groups} groups";
                    return $"{layer.WeightName}: {layer.Kind} {shapes}, {kernel}{options}{named}. {Apply(layer.HasBias ? "W * x + b" : "W * x")}";
                }
                case LayerKind.BatchNorm2D:
                case LayerKind.BatchNorm1D:
                    return $"{layer.WeightName}: {layer.Kind} {layer.Input}{named}, statistics per channel over the batch{(layer.Input.Spatial > 1 ? " and positions" : "")}. {Apply("gamma (x - mean) / sqrt(var + eps) + beta")}";
                case LayerKind.MaxPool2D:
                case LayerKind.AvgPool2D:
                case LayerKind.MaxPool1D:
                {
                    string window = layer.Kind == LayerKind.MaxPool1D ? $"{layer.Kernel}" : $"{layer.Kernel}x{layer.Kernel}";
                    string what = layer.Kind == LayerKind.AvgPool2D ? "mean of each window (padding counts as zero)" : "max of each window";
                    return $"{layer.WeightName}: {layer.Kind} {shapes}, {window}, stride {layer.Stride}, pad {layer.Padding}. y = {what}";
                }
                case LayerKind.GlobalAvgPool:
                    return layer.Input.IsTokens
                        ? $"{layer.WeightName}: GlobalAvgPool {shapes}. y = mean of the {layer.Input.Rows} tokens"
                        : $"{layer.WeightName}: GlobalAvgPool {shapes}. y_c = mean over the positions of channel c";
                case LayerKind.Tokens:
                    return $"{layer.WeightName}: Tokens {shapes}. y[t, c] = x[c, t]: each position becomes a token of its {layer.Input.Channels} channels";
                case LayerKind.LayerNorm:
                    return $"{layer.WeightName}: LayerNorm over the {layer.Input.Features} features of {(layer.Input.IsTokens ? "each token" : "the sample")}. y = gamma (x - mean) / sqrt(var + {SourceWriter.Float(layer.Epsilon).TrimEnd('f')}) + beta";
                case LayerKind.RMSNorm:
                    return $"{layer.WeightName}: RMSNorm over the {layer.Input.Features} features of {(layer.Input.IsTokens ? "each token" : "the sample")}. y = gamma x / sqrt(mean(x^2) + {SourceWriter.Float(layer.Epsilon).TrimEnd('f')})";
                case LayerKind.MultiHeadSelfAttention:
                    return $"{layer.WeightName}: MultiHeadSelfAttention on {layer.Input}, {layer.Heads} heads of {layer.HeadDim}{(layer.Causal ? ", causal" : "")}. " +
                           $"[Q K V] = x W_in{(layer.HasBias ? " + b_in" : "")}; O_h = softmax(Q_h K_h^T / sqrt({layer.HeadDim}){(layer.Causal ? " + mask" : "")}) V_h; y = [O_1 .. O_{layer.Heads}] W_out{(layer.HasBias ? " + b_out" : "")}";
                case LayerKind.Embedding:
                    return $"{layer.WeightName}: Embedding of {layer.Input.Size} token ids, vocabulary {layer.Vocabulary} -> {layer.Output}. y[t] = W[id_t]";
                case LayerKind.PositionalEmbedding:
                    return $"{layer.WeightName}: PositionalEmbedding on {layer.Input}. y[t] = x[t] + P[t]";
                case LayerKind.ResidualBegin:
                    return $"{layer.WeightName}: residual connection begins on {layer.Input}: x is kept for the sum";
                case LayerKind.ResidualEnd:
                    return $"{layer.WeightName}: residual connection ends, {layer.Output}. " + (layer.Gated
                        ? "y = T F(x) + (1 - T) x, T = sigmoid(x W_T + b_T)"
                        : layer.Projection ? "y = x W_s + F(x)" : "y = x + F(x)");
                default:
                    return $"{layer.WeightName}: Flatten {shapes}. The same values seen as a flat vector (channel-major, like torch.flatten)";
            }
        }

        private static bool NeedsPreActivation(LayerSpec layer) => layer.Activation is ActivationKind.Gelu or ActivationKind.GeluTanh or ActivationKind.Silu;

        /// <summary>A row count as the kernels' nuint.</summary>
        private static string Native(string count) => count.Contains(" ") ? $"(nuint)({count})" : $"(nuint){count}";

        /// <summary>Rows of a per-row layer over the whole batch: batch, or batch times the tokens.</summary>
        private static string RowCount(LayerSpec layer) => layer.Input.Rows == 1 ? "batch" : $"batch * {layer.Input.Rows}";

        private static string OperatorName(ActivationKind activation) => activation == ActivationKind.None ? "Identity" : activation.ToString();

        private static string KernelClass(LayerSpec layer) => layer.MemberName + "Kernels";

        private static string FieldName(string memberName) => "_" + SourceWriter.Camel(memberName);

        // Parameters and locals of the methods that also hold per-layer locals: a layer called 'Input' or 'X' must not shadow them.
        private static readonly HashSet<string> s_reservedLocals = new()
        {
            "input", "output", "batch", "workspace", "outputGradient", "inputGradient", "x", "y", "p", "s", "g", "grads", "scratch",
            "scratchArray", "buffers", "cols", "pixels", "columnGradient", "padded", "transposed", "xs", "ys", "dys", "dxs", "attention",
        };

        // Locals are named after the layer; '@' only where the name is a keyword (a layer called 'Event'),
        // a 'Layer' suffix where it would collide with one of the generated names above.
        private static string Local(LayerSpec layer) => Local(layer.MemberName);

        private static string Local(string memberName)
        {
            string name = SourceWriter.Camel(memberName);
            if (s_reservedLocals.Contains(name)) return name + "Layer";
            return Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + name : name;
        }

        /// <summary>Every local the emitted methods derive from a layer's name; two layers must not share one.</summary>
        internal static IEnumerable<string> DerivedLocals(string memberName)
        {
            string local = Local(memberName);
            return new[]
            {
                local, local + "Pre", local + "Folded", local + "Statistics", local + "Qkv", local + "Probabilities", local + "Mixed", local + "MixedGradient",
                local + "QkvGradient", local + "Gate", local + "GateGradient", local + "SkipGradient", GradientLocal(memberName),
            };
        }

        /// <summary>dL/d(layer output): 'd' and the layer's local in PascalCase (dFc1).</summary>
        private static string GradientLocal(string memberName)
        {
            string local = Local(memberName).TrimStart('@');
            return "d" + char.ToUpperInvariant(local[0]) + local.Substring(1);
        }

        // Arguments for a layer's weight and bias in buffer `root` (values or gradients); a layer without bias passes its weight, unread.
        private static string WeightRefs(LayerSpec layer, string root) =>
            $"ref Unsafe.Add(ref {root}, {KernelClass(layer)}.WeightOffset), ref Unsafe.Add(ref {root}, {KernelClass(layer)}.{(layer.HasBias ? "BiasOffset" : "WeightOffset")})";

        private static string OutputSlot(LayerSpec layer) => layer.MemberName + "OutputSlot";

        private static string PreActivationSlot(LayerSpec layer) => layer.MemberName + "PreActivationSlot";

        private static string StatisticsSlot(LayerSpec layer) => layer.MemberName + "StatisticsSlot";
    }
}
