using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>
    /// Turns a <see cref="NetworkSpec"/> and its <see cref="Plan"/> into source text: the network's plumbing
    /// (constants, constructor, properties, the entry points' step loops). What each step does at each place is
    /// its handler's (<see cref="LayerHandler"/>); this file walks the steps and owns nothing kind-specific.
    /// </summary>
    internal static partial class Emitter
    {
        internal const string GeneratedCode = "[global::System.CodeDom.Compiler.GeneratedCode(\"Dsl.Generator\", \"0.1.0\")]";
        internal const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
        internal const string Span = "global::System.Span<float>";
        internal const string Kernels = "global::Dsl.Kernels.";

        // Batch-1 activations up to this size live on the stack; beyond it, in a per-thread buffer.
        internal const int StackScratchLimitFloats = 16 * 1024;

        public static string EmitNetwork(Plan plan)
        {
            NetworkSpec spec = plan.Spec;
            var w = new SourceWriter();
            bool decodes = Decodes(spec);
            OpenFile(w, spec, decodes ? " : global::Dsl.INetwork, global::Dsl.IDecoder" : " : global::Dsl.INetwork");

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
            foreach (MemberView member in spec.Members) w.Line($"private readonly {member.Type} {Names.Field(member.Name)};");
            w.Line();

            EmitConstructor(w, spec, plan);

            foreach (MemberView member in spec.Members)
            {
                w.Line($"/// <summary>{MemberDescription(spec, member.View)}.</summary>");
                w.Line($"{member.Accessibility} partial {member.Type} {Names.Member(member.Name)} => {Names.Field(member.Name)};");
                w.Line();
            }

            w.Line("/// <inheritdoc/>");
            w.Line("public global::Dsl.Parameters Parameters => _parameters;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            if (System.Linq.Enumerable.Any(plan.Tensors, t => t.Pruning is not null))
            {
                // The connections a pruned weight keeps are known at run time only: its table follows the layers'.
                w.Line($"public string Summary => {Verbatim(SummaryText(spec, plan) + "\n\n")} + _parameters.Pruning!.Describe();");
            }
            else w.Line($"public string Summary => {Verbatim(SummaryText(spec, plan))};");
            w.Line();
            EmitSteps(w, spec, plan);

            EmitInference(w, spec, plan);
            if (decodes)
            {
                w.Line();
                EmitDecoding(w, spec, plan);
            }

            for (int l = 0; l < spec.Layers.Count; l++)
            {
                StepPlan step = plan.Step(l);
                LayerSpec layer = step.Layer;
                LayerHandler handler = layer.Handler;
                // A looped copy runs the first copy's code with its offsets plus the copy's strides: no class of its own.
                if (!handler.HasKernelClass(step) || plan.IsLoopedCopy(l)) continue;
                w.Line();
                w.Line($"// {handler.Describe(layer)}.");
                if (layer.Pruning is PruneSpec pruning)
                    w.Line($"// [Pruned]: training removes {SourceWriter.Float(pruning.Sparsity).TrimEnd('f')} of W's connections, {(pruning.Block == 1 ? "weight by weight" : $"in runs of {pruning.Block} outputs of one input")}; the masks are the runtime's (Parameters.Pruning).");
                EmitSkipLocalsInit(w, spec);
                w.OpenBlock($"private static partial class {Names.KernelClass(layer)}");
                handler.EmitConstants(w, step, plan);
                foreach (TensorPlan tensor in step.Tensors)
                    w.Line($"public const int {Names.Offset(tensor.Role)} = {tensor.Offset};{(tensor.Buffer ? " // in the buffer array" : "")}");
                if (!step.OwnsCode)
                {
                    w.Line($"// Runs the kernels of {step.CodeOwner}, an identical layer.");
                    w.CloseBlock();
                    continue;
                }
                if (handler.HasCode(step))
                {
                    w.Line();
                    handler.EmitForwardKernels(w, step, plan);
                }
                w.CloseBlock();
            }

            CloseFile(w, spec);
            return w.ToString();
        }

        public static string EmitBackward(Plan plan)
        {
            NetworkSpec spec = plan.Spec;
            var w = new SourceWriter();
            OpenFile(w, spec, "");

            w.Line("// Training workspace: each slot holds that many floats for every sample of the batch, sample after sample.");
            w.Line($"private const int InputSlot = {plan.InputSlot};");
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                StepPlan step = plan.Step(l);
                LayerSpec layer = step.Layer;
                if (!layer.Handler.DeclaresOutputSlot || plan.IsLoopedCopy(l)) continue;
                w.Line($"private const int {Names.OutputSlot(layer)} = {step.OutputSlot}; // {layer.Outputs} floats");
                if (step.PreActivationSlot >= 0)
                    w.Line($"private const int {Names.PreActivationSlot(layer)} = {step.PreActivationSlot}; // z, kept for the {layer.Activation} derivative");
            }
            foreach ((LayerSpec layer, Slot role, int offset, int floats) in plan.Slots)
                if (!plan.IsLoopedCopy(plan.Step(layer).Index)) w.Line($"private const int {Names.Slot(layer, role)} = {offset}; // {floats} floats");
            w.Line($"private const int GradientSlotA = {plan.GradientSlotA}; // dL/d(layer output), ping-pong between layers");
            w.Line($"private const int GradientSlotB = {plan.GradientSlotB};");
            w.Line($"private const int WorkspaceFloatsPerSample = {plan.WorkspaceFloatsPerSample};");
            if (plan.WorkspaceSharedFloats > 0)
            {
                SharedScratch shared = plan.Shared;
                w.Line("// Shared by the whole batch: one sample's convolution scratch at a time, the transposed weight of one");
                w.Line("// layer at a time, and each batch norm's statistics.");
                if (shared.ColumnsFloats > 0)
                {
                    w.Line($"private const int ColumnsSlot = {shared.ColumnsSlot}; // im2col patches, {shared.ColumnsFloats} floats");
                    w.Line($"private const int PixelsSlot = {shared.PixelsSlot}; // pixel-major output or its gradient, {shared.PixelsFloats} floats");
                    w.Line($"private const int ColumnGradientSlot = {shared.ColumnGradientSlot}; // patch gradients, {shared.ColumnsFloats} floats");
                }
                if (shared.PaddedFloats > 0)
                    w.Line($"private const int PaddedSlot = {shared.PaddedSlot}; // a group's input or its gradient inside a zero border, {shared.PaddedFloats} floats");
                if (shared.TransposedFloats > 0)
                    w.Line($"private const int TransposedWeightSlot = {shared.TransposedSlot}; // W^T of the layer being differentiated, {shared.TransposedFloats} floats");
                if (shared.AttentionFloats > 0)
                    w.Line($"private const int AttentionSlot = {shared.AttentionSlot}; // one sample's head of Q, K, V and their gradients, and its score matrices, {shared.AttentionFloats} floats");
                for (int l = 0; l < spec.Layers.Count; l++)
                {
                    StepPlan step = plan.Step(l);
                    if (step.StatisticsSlot >= 0 && !plan.IsLoopedCopy(l))
                        w.Line($"private const int {Names.StatisticsSlot(step.Layer)} = {step.StatisticsSlot}; // {step.Layer.Handler.StatisticsComment(step.Layer)}");
                }
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
            EmitMixtureObservation(w, spec, plan);

            for (int l = 0; l < spec.Layers.Count; l++)
            {
                StepPlan step = plan.Step(l);
                if (!step.Layer.Handler.HasCode(step) || !step.OwnsCode) continue;
                w.Line();
                w.OpenBlock($"private static partial class {Names.KernelClass(step.Layer)}");
                step.Layer.Handler.EmitBackwardKernels(w, step, plan);
                w.CloseBlock();
            }

            CloseFile(w, spec);
            return w.ToString();
        }

        private static void EmitConstructor(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line($"/// <summary>Creates the network with parameters initialised deterministically from <paramref name=\"seed\"/>.</summary>");
            w.OpenBlock($"public {spec.ClassName}(int seed = 0) : this(new global::Dsl.Parameters(CreateTensors(){(spec.BFloat16 ? ", global::Dsl.WeightType.BFloat16" : "")}))");
            w.Line("_parameters.Initialize(seed);");
            w.CloseBlock();
            w.Line();
            w.OpenBlock("private static global::Dsl.TensorInfo[] CreateTensors() => new global::Dsl.TensorInfo[]");
            foreach (TensorPlan t in plan.Tensors)
            {
                string shape = t.Shape.Length == 0 ? "global::System.Array.Empty<int>()" : $"new[] {{ {string.Join(", ", t.Shape)} }}";
                string extra = "";
                if (t.FanIn > 0) extra += $", fanIn: {t.FanIn}, fanOut: {t.FanOut}";
                if (t.TransposeGroups > 0) extra += $", transposeGroups: {t.TransposeGroups}";
                if (t.Buffer) extra += ", kind: global::Dsl.TensorKind.Buffer";
                if (t.Int64) extra += ", fileDType: global::Dsl.TensorDType.I64";
                if (t.Pruning is PruneSpec p) extra += $", pruning: new global::Dsl.PruningTarget({SourceWriter.Float(p.Sparsity)}, {SourceWriter.Int(p.Block)}{(p.SparseKernel ? ", sparseKernel: true" : "")})";
                w.Line($"new(\"{t.Name}\", {shape}, global::Dsl.TensorInit.{t.Init}{extra}),");
            }
            w.CloseBlock(";");
            w.Line();
            w.OpenBlock($"private {spec.ClassName}(global::Dsl.Parameters parameters)");
            w.Line("_parameters = parameters;");
            IReadOnlyList<Isa> ladder = plan.Ladder;
            Isa narrowest = ladder[ladder.Count - 1];
            if (!narrowest.IsScalar)
            {
                // Kernels exist only for the rungs DslInstructionSets names; the narrowest implies the wider ones' absence is fine.
                string names = string.Join(",", System.Linq.Enumerable.Select(ladder, Isa.PropertyName));
                w.Line($"// Built with DslInstructionSets={names}: no kernels for machines that do not accelerate {narrowest.Vector}.");
                // Dsl.Runtime.Isa is the rung the kernels' own IsHardwareAccelerated ladder picks, so the two cannot disagree.
                w.Line($"if (global::Dsl.Runtime.Isa < global::Dsl.InstructionSet.{narrowest.InstructionSetName})");
                w.Line($"    throw new global::System.PlatformNotSupportedException(\"{spec.ClassName} was built with DslInstructionSets={names}, and this machine does not accelerate {narrowest.Vector}. " +
                       "Build it with DslInstructionSets unset (every instruction set) or naming one this machine has. Dsl.Runtime.Isa is \" + global::Dsl.Runtime.Isa + \".\");");
            }
            w.Line("// The kernels bake in the build-time layout: a runtime laying tensors out otherwise must not run them.");
            w.Line(plan.BuffersSize > 0
                ? "if (_parameters.Size != ParameterBufferSize || _parameters.BufferSize != BufferSize)"
                : "if (_parameters.Size != ParameterBufferSize)");
            w.Line("    throw new global::System.InvalidOperationException(\"The Dsl runtime's parameter layout differs from the generator's; use matching versions.\");");
            foreach (MemberView member in spec.Members)
                w.Line($"{Names.Field(member.Name)} = {MemberConstruction(spec, plan, member.View)};");
            if (plan.InferenceScratchPersists)
            {
                // The constructing thread, which usually runs the network, gets its batch-1 scratch now, cleared so its pages are
                // mapped too: the first Forward then costs what every later one does (a FashionCnn's was 3.5x its steady state).
                w.Line($"({ForwardOneScratch} ??= new global::Dsl.Kernels.AlignedScratch({plan.InferenceScratchFloats})).Floats.Clear();");
            }
            w.CloseBlock();
            w.Line();
        }

        /// <summary>The value of a member property: a layer's view, a block built from its members' values, or a list of copies.</summary>
        private static string MemberConstruction(NetworkSpec spec, Plan plan, ViewNode view)
        {
            if (view.Layer.Length > 0)
            {
                foreach (LayerSpec layer in spec.Layers)
                {
                    if (layer.MemberName != view.Layer) continue;
                    StepPlan step = plan.Step(layer);
                    return layer.Handler.ViewConstruction(layer, role => step.Has(role) ? $"_parameters.Tensors[{step.Tensor(role).Index}]" : "null");
                }
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
                    if (layer.MemberName == view.Layer) return layer.Handler.Describe(layer);
            }
            string type = view.Type.Replace("global::", "");
            return view.IsList ? $"{view.Children.Count} copies of {type}, each with its own weights" : $"Block {type}";
        }

        internal static string ShapeArray(Shape shape) => shape.IsTokens ? $"new[] {{ {shape.Width}, {shape.Channels} }}" : shape.Rank switch
        {
            1 => $"new[] {{ {shape.Channels} }}",
            2 => $"new[] {{ {shape.Channels}, {shape.Width} }}",
            _ => $"new[] {{ {shape.Channels}, {shape.Height}, {shape.Width} }}",
        };

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
            if (spec.RunsInBlocks)
            {
                w.Line("// One sample takes the batch-1 kernels, which are written for it.");
                w.OpenBlock("if (batch == 1)");
                w.Line("ForwardOne(ref x, ref y);");
                w.Line("return;");
                w.CloseBlock();
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
            for (int l = 0; l < spec.Layers.Count; l++) spec.Layers[l].Handler.EmitInferenceMembers(new CallSite(w, plan, l));
            EmitForwardOne(w, spec, plan);
            if (spec.RunsInBlocks)
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

        // Stack scratch (a call's activations, a kernel's packed weight panel) is always written before it is read, so
        // zeroing it is wasted work: 62 KB per call of a 16-token encoder block. [SkipLocalsInit] needs unsafe code
        // allowed (CS0227); without it the stack is zeroed as usual. On a kernel class it covers its nested classes.
        private static void EmitSkipLocalsInit(SourceWriter w, NetworkSpec spec)
        {
            if (spec.SkipLocalsInit) w.Line("[global::System.Runtime.CompilerServices.SkipLocalsInit]");
        }

        // ForwardOne's per-thread scratch (Plan.InferenceScratchPersists).
        private const string ForwardOneScratch = "t_forwardOneScratch";

        // ForwardOne's activations: on the stack, aligned inside its spare floats, or in the per-thread scratch.
        private static void EmitScratch(SourceWriter w, Plan plan)
        {
            int floats = plan.InferenceScratchFloats;
            if (floats == 0) return;
            w.Line(plan.InferenceScratchPersists
                ? $"{Span} scratch = ({ForwardOneScratch} ??= new global::Dsl.Kernels.AlignedScratch({floats})).Floats;"
                : $"{Span} scratch = global::Dsl.Kernels.AlignedScratch.Align(stackalloc float[{floats} + global::Dsl.Kernels.AlignedScratch.StackSlack], {floats});");
        }

        private static void EmitScratchComment(SourceWriter w, Plan plan)
        {
            if (plan.InferenceScratchFloats == 0) return;
            if (!plan.InferenceScratchPersists)
            {
                w.Line("// Activations live on the stack: no allocation, and threads share nothing but the weights.");
            }
            else
            {
                w.Line("// Activations live in a per-thread buffer (too large for the stack): allocated once per thread, 64-byte aligned, then reused.");
                w.Line($"[global::System.ThreadStatic] private static global::Dsl.Kernels.AlignedScratch? {ForwardOneScratch};");
            }
        }

        // The weights inference reads: the fp32 values, or a bfloat16 network's bfloat16 image (rounded again here after training).
        private static void EmitInferenceWeights(SourceWriter w, NetworkSpec spec) =>
            w.Line(spec.BFloat16
                ? "ref ushort p = ref MemoryMarshal.GetReference(_parameters.BFloat16Values);"
                : "ref float p = ref MemoryMarshal.GetReference(_parameters.ReadOnlyValues);");

        private static void EmitForwardOne(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            EmitScratchComment(w, plan);
            EmitOptimisedFromFirstCall(w);
            if (plan.InferenceScratchFloats > 0 && !plan.InferenceScratchPersists) EmitSkipLocalsInit(w, spec);
            w.OpenBlock("private void ForwardOne(ref float x, ref float y)");
            EmitInferenceWeights(w, spec);
            EmitScratch(w, plan);
            SharedScratch shared = plan.Shared;
            if (shared.InferenceColumnsFloats > 0)
            {
                w.Line($"ref float cols = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferenceColumnsSlot}, {shared.InferenceColumnsFloats}));");
                w.Line($"ref float pixels = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferencePixelsSlot}, {shared.InferencePixelsFloats}));");
            }
            if (shared.PaddedFloats > 0)
                w.Line($"ref float padded = ref MemoryMarshal.GetReference(scratch.Slice({plan.InferencePaddedSlot}, {shared.PaddedFloats}));");
            EmitStepsInOrder(w, plan, "x", EmitInferenceStep);
            w.CloseBlock();
        }

        /// <summary>
        /// A one-sample pass over the steps, each reading the previous step's output (<paramref name="first"/> for the
        /// first): a repeat's copies as a loop over its first copy's code. <paramref name="step"/> writes one step and
        /// returns the local holding its output.
        /// </summary>
        private static void EmitStepsInOrder(SourceWriter w, Plan plan, string first, System.Func<SourceWriter, Plan, int, string, bool, LoopPlan?, string> step)
        {
            int count = plan.Spec.Layers.Count;
            string current = first;
            for (int l = 0; l < count; l++)
            {
                if (plan.LoopAt(l) is { } loop)
                {
                    string input = Names.LoopLocal(loop.Number, "Input");
                    OpenLoop(w, plan, loop, ascending: true, $"scoped ref float {input} = ref {current};");
                    string inner = input;
                    for (int j = loop.First; j < loop.First + loop.Steps; j++) inner = step(w, plan, j, inner, false, loop);
                    if (inner != input) w.Line($"{input} = ref {inner};"); // a copy of views only passes its input on
                    CloseLoop(w);
                    current = input;
                    l = loop.End - 1;
                    continue;
                }
                current = step(w, plan, l, current, l == count - 1, null);
            }
        }

        private static string EmitInferenceStep(SourceWriter w, Plan plan, int index, string current, bool last, LoopPlan? loop)
        {
            LayerSpec layer = plan.Step(index).Layer;
            w.Line();
            w.Line($"// {layer.Handler.Describe(layer)}");
            return layer.Handler.EmitInferenceStep(new CallSite(w, plan, index, loop), current, last);
        }

        /// <summary>
        /// Opens a loop over a repeat's copies (<paramref name="ascending"/> for the forward passes, descending for the
        /// backward one); the body is the loop's first copy, its named offsets rebased onto the loop's copy.
        /// </summary>
        private static void OpenLoop(SourceWriter w, Plan plan, LoopPlan loop, bool ascending, params string[] declarations)
        {
            string path = loop.Repeat.Path;
            w.Line();
            w.Line($"// {path}.{loop.FirstCopy} .. {path}.{loop.FirstCopy + loop.Copies - 1}: the same {loop.Steps} steps {loop.Copies} times, written once. Each copy's tensors sit");
            w.Line($"// {SourceWriter.Grouped(loop.ParameterStride)} floats after the previous copy's{(loop.SlotStride > 0 ? $", its training activations {SourceWriter.Grouped(loop.SlotStride)} floats per sample after" : "")}.");
            foreach (string declaration in declarations) w.Line(declaration);
            w.OpenBlock(ascending ? $"for (int copy = 0; copy < {loop.Copies}; copy++)" : $"for (int copy = {loop.Copies - 1}; copy >= 0; copy--)");
            w.Rewrite = loop.Rebase(plan);
        }

        private static void CloseLoop(SourceWriter w)
        {
            w.Rewrite = null;
            w.CloseBlock();
        }

        private static void EmitForwardBlock(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            int hidden = spec.Layers.Take(spec.Layers.Count - 1).Sum(l => l.Outputs);
            bool onStack = BlockRows * hidden <= StackScratchLimitFloats;
            if (plan.PacksPanels) EmitPackPanels(w, spec, plan);
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
            if (hidden > 0 && onStack) EmitSkipLocalsInit(w, spec);
            w.OpenBlock("private void ForwardBlock(ref float x, ref float y, int rows)");
            EmitInferenceWeights(w, spec);
            if (plan.PacksPanels) w.Line($"ref float panels = ref _panels.Get(_parameters, {plan.PanelOffset(spec.Layers.Count)}, PackPanels);");
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
                string output = last ? "y" : Names.Local(layer);
                w.Line();
                w.Line($"// {layer.Handler.Describe(layer)}");
                if (!last)
                {
                    w.Line($"ref float {output} = ref MemoryMarshal.GetReference(scratch.Slice({(offset == 0 ? "0" : $"rows * {offset}")}, rows * {layer.Outputs}));");
                    offset += layer.Outputs;
                }
                layer.Handler.EmitBlockInference(new CallSite(w, plan, l), input, output);
                input = output;
            }
            w.CloseBlock();
        }

        // The wide products' weights as the panels their blocked kernels read, packed once per change of the weights.
        private static void EmitPackPanels(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("// Batched inference reads the wide products' weights from panels packed once per change of the weights (ValuesVersion).");
            w.Line("private readonly global::Dsl.Kernels.PackedPanels _panels = new();");
            w.Line();
            w.OpenBlock($"private static void PackPanels({ReadOnlySpan} valueSpan, {Span} panelSpan)");
            w.Line("ref float values = ref MemoryMarshal.GetReference(valueSpan);");
            w.Line("ref float panels = ref MemoryMarshal.GetReference(panelSpan);");
            for (int l = 0; l < spec.Layers.Count; l++)
                if (spec.Layers[l].Handler.PacksPanels(spec.Layers[l], plan))
                    spec.Layers[l].Handler.EmitPackPanels(new CallSite(w, plan, l), plan.PanelOffset(l));
            w.CloseBlock();
            w.Line();
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
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                if (plan.LoopAt(l) is { } loop)
                {
                    string copyInput = Names.LoopLocal(loop.Number, "Input");
                    OpenLoop(w, plan, loop, ascending: true, $"{Span} {copyInput} = {input};");
                    string inner = copyInput;
                    for (int j = loop.First; j < loop.First + loop.Steps; j++) inner = EmitTrainStep(w, plan, j, inner, loop);
                    if (inner != copyInput) w.Line($"{copyInput} = {inner};");
                    CloseLoop(w);
                    input = copyInput;
                    l = loop.End - 1;
                    continue;
                }
                input = EmitTrainStep(w, plan, l, input, loop: null);
            }
            w.Line();
            w.Line($"{input}.CopyTo(output);");
            w.CloseBlock();
        }

        /// <summary>One step of the training forward, reading span <paramref name="input"/>; returns the span of its output.</summary>
        private static string EmitTrainStep(SourceWriter w, Plan plan, int index, string input, LoopPlan? loop)
        {
            LayerSpec layer = plan.Step(index).Layer;
            LayerHandler handler = layer.Handler;
            string output = Names.Local(layer);
            w.Line();
            w.Line($"// {handler.Describe(layer)}");
            if (handler.IsView) return handler.EmitTrainView(new CallSite(w, plan, index, loop), input);
            w.Line($"{Span} {output} = workspace.Region({Names.OutputSlot(layer)}, {layer.Outputs}, batch);");
            string? pre = null;
            if (Plan.NeedsPreActivation(layer))
            {
                pre = Names.Local(layer) + "Pre";
                w.Line("// keep z: this activation's derivative needs it");
                w.Line($"{Span} {pre} = workspace.Region({Names.PreActivationSlot(layer)}, {layer.Outputs}, batch);");
            }
            handler.EmitTrain(new CallSite(w, plan, index, loop), input, output, pre);
            if (pre is not null)
                w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({pre}, {output});");
            w.Line($"if (workspace.CheckFinite) workspace.ThrowIfNotFinite({output}, {StepName(layer, loop)}, gradient: false);");
            return output;
        }

        /// <summary>A step's weight name as ThrowIfNotFinite's arguments (inside a loop, the parts it joins with the copy's index).</summary>
        private static string StepName(LayerSpec layer, LoopPlan? loop) => loop is null ? $"\"{layer.WeightName}\"" : loop.NameArguments(layer.WeightName);

        // The training passes' views of the workspace's shared scratch; the gradient ones only in Backward.
        private static void EmitSharedScratch(SourceWriter w, Plan plan, bool backward)
        {
            SharedScratch shared = plan.Shared;
            void Shared(string local, string slot, int floats) =>
                w.Line($"ref float {local} = ref MemoryMarshal.GetReference(workspace.Shared({slot}, {floats}));");
            if (shared.ColumnsFloats > 0)
            {
                Shared("cols", "ColumnsSlot", shared.ColumnsFloats);
                Shared("pixels", "PixelsSlot", shared.PixelsFloats);
                if (backward) Shared("columnGradient", "ColumnGradientSlot", shared.ColumnsFloats);
            }
            if (shared.PaddedFloats > 0) Shared("padded", "PaddedSlot", shared.PaddedFloats);
            if (backward && shared.TransposedFloats > 0) Shared("transposed", "TransposedWeightSlot", shared.TransposedFloats);
            if (shared.AttentionFloats > 0) Shared("attention", "AttentionSlot", shared.AttentionFloats);
        }

        private static void EmitBackwardPass(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            w.Line($"public void Backward({ReadOnlySpan} outputGradient, {Span} inputGradient, int batch, global::Dsl.Workspace workspace) =>");
            w.Line("    Backward(outputGradient, inputGradient, batch, workspace, false, 0f);");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.OpenBlock($"public void BackwardUpdatingWeights({ReadOnlySpan} outputGradient, int batch, global::Dsl.Workspace workspace, float learningRate)");
            w.Line("global::Dsl.Guard.WeightUpdate(workspace, learningRate);");
            w.Line("Backward(outputGradient, default, batch, workspace, true, learningRate);");
            w.CloseBlock();
            w.Line();
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock($"private void Backward({ReadOnlySpan} outputGradient, {Span} inputGradient, int batch, global::Dsl.Workspace workspace, bool updateWeights, float learningRate)");
            w.Line("CheckWorkspace(workspace);");
            w.Line("global::Dsl.Guard.BatchLength(outputGradient, OutputSize, batch, nameof(outputGradient));");
            w.Line("if (!inputGradient.IsEmpty)");
            w.Line("    global::Dsl.Guard.BatchLength(inputGradient, InputSize, batch, nameof(inputGradient));");
            w.Line("workspace.BeginBackward(batch);");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            // Helper threads of a data-parallel batch accumulate into buffers of their own (Trainer.Threads).
            w.Line($"{Span} gradients = workspace.Gradients(_parameters);");
            w.Line("ref float grads = ref MemoryMarshal.GetReference(gradients);");
            w.Line("// Products add dL/dW to the gradients, or in a fused SGD step take W -= lr dL/dW (dL/dz scaled by -lr, then read no more).");
            w.Line("ref float products = ref updateWeights ? ref p : ref grads;");
            w.Line("float productScale = updateWeights ? -learningRate : 1f;");
            EmitSharedScratch(w, plan, backward: true);
            LayerSpec lastLayer = spec.Layers[spec.Layers.Count - 1];
            string gradient = Names.GradientLocal(lastLayer.MemberName);
            w.Line($"{Span} {gradient} = workspace.Region(GradientSlotA, OutputSize, batch);");
            w.Line($"outputGradient.CopyTo({gradient});");
            var state = new BackwardState(gradient, "GradientSlotA", "GradientSlotB");
            for (int l = spec.Layers.Count - 1; l >= 0; l--)
            {
                if (plan.Loops.Find(loop => loop.End - 1 == l) is { } loop)
                {
                    // The copies run last to first. The gradient buffers alternate per step, so with an odd number of
                    // alternations per copy the two swap roles from one copy to the next.
                    string copyGradient = Names.LoopLocal(loop.Number, "Gradient"), slotA = Names.LoopLocal(loop.Number, "SlotA"), slotB = Names.LoopLocal(loop.Number, "SlotB");
                    int firstSlot = state.SlotA == "GradientSlotA" ? 0 : 1;
                    // A copy whose steps all update the gradient in place uses no gradient buffer of its own.
                    bool alternates = false;
                    for (int j = loop.First; j < loop.First + loop.Steps; j++) alternates |= !plan.Step(j).Layer.Handler.BackwardInPlace;
                    if (!alternates) (slotA, slotB) = (state.SlotA, state.SlotB);
                    OpenLoop(w, plan, loop, ascending: false, alternates
                        ? new[] { $"{Span} {copyGradient} = {state.Gradient};", $"int {slotA} = {state.SlotA}, {slotB} = {state.SlotB};" }
                        : new[] { $"{Span} {copyGradient} = {state.Gradient};" });
                    // The copy's input: the previous copy's output, or for the first copy what precedes the loop.
                    int lastOutput = loop.First + loop.Steps - 1;
                    while (plan.Step(lastOutput).Layer.Handler.IsView) lastOutput--;
                    int width = plan.Step(loop.First).Layer.Inputs;
                    w.Line($"{Span} {Names.LoopLocal(loop.Number, "Input")} = copy == 0 ? {InputRegion(plan, loop.First)} : " +
                           $"workspace.Region({plan.Step(lastOutput).OutputSlot} + (copy - 1) * {loop.SlotStride}, {width}, batch);");
                    var inner = new BackwardState(copyGradient, slotA, slotB);
                    for (int j = loop.First + loop.Steps - 1; j >= loop.First; j--)
                        inner = EmitBackwardStep(w, plan, j, inner, loop, j == loop.First ? Names.LoopLocal(loop.Number, "GradientNext") : null);
                    w.Line($"{copyGradient} = {inner.Gradient};");
                    bool swaps = inner.SlotA != slotA;
                    if (swaps) w.Line($"({slotA}, {slotB}) = ({slotB}, {slotA});");
                    CloseLoop(w);
                    bool flipped = swaps && loop.Copies % 2 == 1;
                    string before = Names.GradientLocal(spec.Layers[loop.First - 1].MemberName);
                    w.Line($"{Span} {before} = {copyGradient};");
                    state = new BackwardState(before, (firstSlot == 0) != flipped ? "GradientSlotA" : "GradientSlotB", (firstSlot == 0) != flipped ? "GradientSlotB" : "GradientSlotA");
                    l = loop.First;
                    continue;
                }
                state = EmitBackwardStep(w, plan, l, state, loop: null, nextName: null);
            }
            w.CloseBlock();
        }

        /// <summary>
        /// Where the backward stands: the span holding dL/d(output) of the step about to run, and the gradient slot the
        /// next step writes into (<see cref="SlotA"/>) against the other (<see cref="SlotB"/>), as names.
        /// </summary>
        private sealed record BackwardState(string Gradient, string SlotA, string SlotB);

        /// <summary>
        /// One step of the backward pass. <paramref name="nextName"/> names its dx span instead of the previous step's
        /// gradient local (the first step of a loop's copy, whose predecessor lies outside the loop body).
        /// </summary>
        private static BackwardState EmitBackwardStep(SourceWriter w, Plan plan, int l, BackwardState state, LoopPlan? loop, string? nextName)
        {
            NetworkSpec spec = plan.Spec;
            LayerSpec layer = spec.Layers[l];
            LayerHandler handler = layer.Handler;
            var site = new CallSite(w, plan, l, loop);
            string gradient = state.Gradient;
            string input = l == 0 ? "workspace.Region(InputSlot, InputSize, batch)" : InputRegion(plan, l, loop);
            bool first = l == 0;
            w.Line();
            w.Line($"// {layer.WeightName}: {layer.Kind} {layer.Input} -> {layer.Output} backward. {handler.BackwardMaths(layer, first)}");
            if (handler.BackwardInPlace)
            {
                // The gradient of a view is the same memory seen with the input's shape; the others update it in place
                // (after their activation's derivative, when they have one: a residual's end).
                EmitActivationBackward(w, layer, gradient);
                handler.EmitBackwardInPlace(site, input, gradient);
                if (first)
                {
                    w.Line("if (!inputGradient.IsEmpty)");
                    w.Line($"    {gradient}.CopyTo(inputGradient);");
                    return state;
                }
                string same = nextName ?? Names.GradientLocal(spec.Layers[l - 1].MemberName);
                w.Line($"{Span} {same} = {gradient};");
                return state with { Gradient = same };
            }
            EmitActivationBackward(w, layer, gradient);

            // Where dx goes: the other gradient buffer, or the caller's span for the first layer.
            string next;
            BackwardState after = state;
            if (first)
            {
                next = "inputGradient";
            }
            else
            {
                next = nextName ?? Names.GradientLocal(spec.Layers[l - 1].MemberName);
                w.Line($"{Span} {next} = workspace.Region({state.SlotB}, {layer.Inputs}, batch);");
                after = new BackwardState(next, state.SlotB, state.SlotA);
            }
            // Layers that need dx for their own statistics even when the caller does not want it write it to the free buffer.
            string free = $"workspace.Region({after.SlotB}, InputSize, batch)";
            string dxTarget = first ? $"(inputGradient.IsEmpty ? {free} : inputGradient)" : next;
            handler.EmitBackward(site, new BackwardSite(input, gradient, next, first, dxTarget));
            if (!first) w.Line($"if (workspace.CheckFinite) workspace.ThrowIfNotFinite({next}, {StepName(layer, loop)}, gradient: true);");
            return after;
        }

        // dz = dy f'(.) over the whole batch, in place, before the layer's own backward.
        private static void EmitActivationBackward(SourceWriter w, LayerSpec layer, string gradient)
        {
            switch (layer.Activation)
            {
                case ActivationKind.None:
                    break;
                case ActivationKind.Softmax:
                    w.Line($"{ReadOnlySpan} {Names.Local(layer)} = workspace.Region({Names.OutputSlot(layer)}, {layer.Outputs}, batch);");
                    w.Line($"for (int s = 0; s < {RowCount(layer)}; s++)");
                    w.Line($"    {Kernels}Softmax.Backward({Names.Local(layer)}.Slice(s * {layer.Output.Features}, {layer.Output.Features}), {gradient}.Slice(s * {layer.Output.Features}, {layer.Output.Features}));");
                    break;
                default:
                    string slot = Plan.NeedsPreActivation(layer) ? Names.PreActivationSlot(layer) : Names.OutputSlot(layer);
                    w.Line($"{Kernels}ActivationSpan.Backward<{Kernels}{OperatorName(layer.Activation)}>(workspace.Region({slot}, {layer.Outputs}, batch), {gradient});");
                    break;
            }
        }

        /// <summary>Where the step at <paramref name="index"/> read its input in training: the last stored output before it (a view's is its input's).</summary>
        internal static string InputRegion(Plan plan, int index, LoopPlan? loop = null)
        {
            NetworkSpec spec = plan.Spec;
            for (int l = index - 1; l >= 0; l--)
            {
                // Inside a loop, what precedes the copy is the copy's input (declared at the top of the loop body).
                if (loop is not null && l < loop.First) return Names.LoopLocal(loop.Number, "Input");
                // A shortcut path reads x again: go on from the step whose input it passes on.
                if (spec.Layers[l].Handler.PassesInputOf(spec.Layers[l], plan) is { } source) l = plan.Step(source).Index;
                else if (!spec.Layers[l].Handler.IsView)
                    return $"workspace.Region({OutputSlotOf(plan, spec.Layers[l])}, {spec.Layers[index].Inputs}, batch)";
            }
            return "workspace.Region(InputSlot, InputSize, batch)";
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
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                StepPlan step = plan.Step(l);
                LayerSpec layer = step.Layer;
                LayerHandler handler = layer.Handler;
                long layerFlops = handler.Flops(layer, plan);
                flops += layerFlops;
                if (!handler.InSummary) continue;
                int parameters = step.Tensors.Where(t => !t.Buffer).Sum(t => t.Length);
                string activation = handler.TakesActivation ? layer.Activation.ToString() : "";
                rows.Add(new[] { handler.SummaryName(layer), handler.SummaryKind(layer), layer.Output.ToString(), activation, SourceWriter.Grouped(parameters), SourceWriter.Grouped(layerFlops) });
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
                StepPlan step = plan.Step(l);
                LayerSpec layer = step.Layer;
                var tensors = new List<string>();
                foreach (TensorPlan t in step.Tensors) tensors.Add($"\"{t.Name}\"");
                var options = new List<string>();
                if (layer.Input.IsTokens) options.Add("InputIsTokens = true");
                if (layer.Output.IsTokens) options.Add("OutputIsTokens = true");
                if (layer.Activation != ActivationKind.None) options.Add($"Activation = global::Dsl.Activation.{layer.Activation}");
                layer.Handler.AddStepOptions(layer, plan, options);
                string stepText = $"new global::Dsl.NetworkStep(global::Dsl.StepKind.{layer.Kind}, \"{layer.WeightName}\", {ShapeArray(layer.Input)}, {ShapeArray(layer.Output)}, " +
                              (tensors.Count == 0 ? "global::System.Array.Empty<string>()" : $"new[] {{ {string.Join(", ", tensors)} }}") + ")";
                w.Line(options.Count == 0 ? stepText + "," : $"{stepText} {{ {string.Join(", ", options)} }},");
            }
            w.CloseBlock(");");
            w.Line();
        }

        private static string Verbatim(string text) => "@\"" + text.Replace("\"", "\"\"") + "\"";

        /// <summary>A ref to sample <c>s</c>'s <paramref name="length"/> floats of a batch span (inside a loop over <c>s</c>).</summary>
        internal static string Sample(string span, int length) => $"ref MemoryMarshal.GetReference({span}.Slice(s * {length}, {length}))";

        /// <summary>A row count as the kernels' nuint.</summary>
        internal static string Native(string count) => count.Contains(" ") ? $"(nuint)({count})" : $"(nuint){count}";

        /// <summary>Rows of a per-row layer over the whole batch: batch, or batch times the tokens.</summary>
        internal static string RowCount(LayerSpec layer) => layer.Input.Rows == 1 ? "batch" : $"batch * {layer.Input.Rows}";

        internal static string OperatorName(ActivationKind activation) => activation == ActivationKind.None ? "Identity" : activation.ToString();

        /// <summary>
        /// The last arguments of a product's AccumulateGradients: where its weight gradient goes and its scale (the
        /// gradient, or in a fused SGD step the weight itself: see the Backward core), its bias gradient, and where a
        /// fused step scales dL/dz (<paramref name="scaled"/>: dL/dz itself when nothing reads it afterwards).
        /// </summary>
        internal static string GradientRefs(LayerSpec layer, string scaled) =>
            $"ref Unsafe.Add(ref products, {Names.KernelClass(layer)}.WeightOffset), productScale, ref Unsafe.Add(ref grads, {Names.KernelClass(layer)}.{(layer.HasBias ? "BiasOffset" : "WeightOffset")}), {scaled}";

        // Arguments for a layer's weight and bias in buffer `root` (values or gradients); a layer without bias passes its weight, unread.
        internal static string WeightRefs(LayerSpec layer, string root) =>
            $"ref Unsafe.Add(ref {root}, {Names.KernelClass(layer)}.WeightOffset), ref Unsafe.Add(ref {root}, {Names.KernelClass(layer)}.{(layer.HasBias ? "BiasOffset" : "WeightOffset")})";

        /// <summary>A step's output slot constant, outside a loop: a looped copy has none of its own (see <see cref="SlotOf"/>).</summary>
        private static string OutputSlotOf(Plan plan, LayerSpec layer) => SlotOf(plan, layer, Names.OutputSlot);

        /// <summary>
        /// A per-sample slot of <paramref name="layer"/> named by <paramref name="name"/>, as code outside loops reads it:
        /// a looped copy declares no constants, so its slot is the first copy's plus the copies' slot strides.
        /// </summary>
        private static string SlotOf(Plan plan, LayerSpec layer, System.Func<LayerSpec, string> name)
        {
            int index = plan.Step(layer).Index;
            foreach (LoopPlan loop in plan.Loops)
            {
                if (index < loop.First + loop.Steps || index >= loop.End) continue;
                int copies = (index - loop.First) / loop.Steps;
                return $"{name(plan.Step(index - copies * loop.Steps).Layer)} + {copies * loop.SlotStride}";
            }
            return name(layer);
        }

        /// <summary>A layer's per-sample workspace slot over the batch.</summary>
        internal static string SlotRegion(Plan plan, LayerSpec layer, Slot role, int? floats = null) =>
            $"workspace.Region({Names.Slot(layer, role)}, {floats ?? plan.Step(layer).SlotFloats(role)}, batch)";

        /// <summary>
        /// The residual stream, read from the training workspace: each residual connection's sum h = x + F(x)
        /// (before a post-norm) after <c>ForwardTrain</c>, and dL/dh after <c>Backward</c>. Both are slots the
        /// passes keep anyway, so observing costs nothing when unused.
        /// </summary>
        private static void EmitResidualObservation(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            var ends = new List<LayerSpec>();
            foreach (LayerSpec layer in spec.Layers)
                if (layer.Options is ResidualEndOptions) ends.Add(layer);
            if (ends.Count == 0) return;
            w.Line();
            w.Line("/// <summary>Residual connections, in the order they run; <see cref=\"ResidualName\"/> names them.</summary>");
            w.Line($"public const int ResidualCount = {ends.Count};");
            w.Line();
            w.Line("/// <summary>The member path of residual connection <paramref name=\"index\"/> (its branch's weight-name prefix).</summary>");
            w.OpenBlock("public static string ResidualName(int index) => index switch");
            EmitIndexCases(w, ends.ConvertAll(end => $"\"{end.Get<ResidualEndOptions>().Residual}\""), "ResidualCount", "residual connections");
            foreach (bool gradient in new[] { false, true })
            {
                w.Line();
                w.Line(gradient
                    ? "/// <summary>dL/dh of residual connection <paramref name=\"index\"/> (h = x + F(x), before any post-norm; with an activation after the sum, dL at the sum, through its derivative) for every sample of the last <c>Backward</c> with <paramref name=\"workspace\"/>.</summary>"
                    : "/// <summary>The sum h = x + F(x) of residual connection <paramref name=\"index\"/> (before any post-norm, after its activation if it has one) for every sample of the last <c>ForwardTrain</c> with <paramref name=\"workspace\"/>.</summary>");
                w.OpenBlock($"public global::System.ReadOnlySpan<float> ResidualOutput{(gradient ? "Gradient" : "")}(global::Dsl.Workspace workspace, int index)");
                w.Line("CheckWorkspace(workspace);");
                w.OpenBlock("return index switch");
                // A looped copy has no constants of its own: its slot is the first copy's plus the copy's strides.
                EmitIndexCases(w, ends.ConvertAll(end =>
                    $"workspace.Region({(gradient ? SlotOf(plan, end, e => Names.Slot(e, Slot.OutputGradient)) : OutputSlotOf(plan, end))}, {end.Outputs}, workspace.Batch)"),
                    "ResidualCount", "residual connections");
                w.CloseBlock();
            }
        }

        /// <summary>
        /// The mixture-of-experts layers' routing of the last training batch (INetwork.Mixture), read from the statistics
        /// their ForwardTrain keeps in the workspace's shared area.
        /// </summary>
        private static void EmitMixtureObservation(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            var mixtures = new List<StepPlan>();
            foreach (LayerSpec layer in spec.Layers)
                if (layer.Kind == LayerKind.MixtureOfExperts) mixtures.Add(plan.Step(layer));
            if (mixtures.Count == 0) return;
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"public int MixtureCount => {mixtures.Count};");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.OpenBlock("public global::Dsl.MixtureStatistics Mixture(global::Dsl.Workspace workspace, int index)");
            w.Line("CheckWorkspace(workspace);");
            w.OpenBlock("return index switch");
            EmitIndexCases(w, mixtures.ConvertAll(m =>
            {
                int experts = m.Layer.Get<MixtureOptions>().Experts;
                return $"new global::Dsl.MixtureStatistics(\"{m.Layer.WeightName}\", workspace.Shared({m.StatisticsSlot}, {Mixture.StatisticsFloats(experts)}), {experts})";
            }), "MixtureCount", "mixture-of-experts layers");
            w.CloseBlock();
        }

        /// <summary>The arms of an <c>index switch</c> (one per case, in order), its out-of-range arm naming <paramref name="count"/>, and its end.</summary>
        private static void EmitIndexCases(SourceWriter w, List<string> cases, string count, string what)
        {
            for (int i = 0; i < cases.Count; i++) w.Line($"{i} => {cases[i]},");
            w.Line($"_ => throw new global::System.ArgumentOutOfRangeException(nameof(index), index, \"There are \" + {count} + \" {what}.\"),");
            w.CloseBlock(";");
        }
    }
}
