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

            w.Line("/// <summary>Input features per sample.</summary>");
            w.Line($"public const int InputSize = {spec.InputSize};");
            w.Line("/// <summary>Output values per sample.</summary>");
            w.Line($"public const int OutputSize = {spec.OutputSize};");
            w.Line("/// <summary>Trainable scalars.</summary>");
            w.Line($"public const int ParameterCount = {plan.ParameterCount};");
            w.Line("// Floats in the parameter buffer: each tensor starts on a 64-byte boundary.");
            w.Line($"private const int ParameterBufferSize = {plan.BufferSize};");
            w.Line();
            w.Line("int global::Dsl.INetwork.InputSize => InputSize;");
            w.Line("int global::Dsl.INetwork.OutputSize => OutputSize;");
            w.Line();
            w.Line("private readonly global::Dsl.Parameters _parameters;");
            foreach (LayerSpec layer in spec.Layers) w.Line($"private readonly global::Dsl.Dense {FieldName(layer)};");
            w.Line();

            w.Line($"/// <summary>Creates the network with parameters initialised deterministically from <paramref name=\"seed\"/>.</summary>");
            w.OpenBlock($"public {spec.ClassName}(int seed = 0)");
            w.OpenBlock("_parameters = new global::Dsl.Parameters(new global::Dsl.TensorInfo[]");
            foreach (LayerSpec layer in spec.Layers)
            {
                string init = layer.Activation == ActivationKind.Relu ? "KaimingUniform" : "XavierUniform";
                w.Line($"new global::Dsl.TensorInfo(\"{layer.WeightName}.weight\", new[] {{ {layer.Outputs}, {layer.Inputs} }}, global::Dsl.TensorInit.{init}, fanIn: {layer.Inputs}, fanOut: {layer.Outputs}, storedTransposed: true),");
                if (layer.HasBias) w.Line($"new global::Dsl.TensorInfo(\"{layer.WeightName}.bias\", new[] {{ {layer.Outputs} }}, global::Dsl.TensorInit.Zeros),");
            }
            w.CloseBlock(");");
            w.Line("// The kernels bake in the layout computed at build time; a runtime that lays tensors out differently must not run them.");
            w.Line("if (_parameters.Size != ParameterBufferSize)");
            w.Line("    throw new global::System.InvalidOperationException(\"The Dsl runtime's parameter layout differs from the generator's; use matching versions.\");");
            int tensor = 0;
            foreach (LayerSpec layer in spec.Layers)
            {
                string weight = $"_parameters.Tensors[{tensor++}]";
                string bias = layer.HasBias ? $"_parameters.Tensors[{tensor++}]" : "null";
                w.Line($"{FieldName(layer)} = new global::Dsl.Dense(_parameters, \"{layer.WeightName}\", {layer.Inputs}, {layer.Outputs}, global::Dsl.Activation.{layer.Activation}, {weight}, {bias});");
            }
            w.Line("_parameters.Initialize(seed);");
            w.CloseBlock();
            w.Line();

            foreach (LayerSpec layer in spec.Layers)
            {
                w.Line($"/// <summary>{LayerDescription(layer)}.</summary>");
                w.Line($"{layer.Accessibility} partial global::Dsl.Dense {layer.MemberName} => {FieldName(layer)};");
                w.Line();
            }

            w.Line("/// <inheritdoc/>");
            w.Line("public global::Dsl.Parameters Parameters => _parameters;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"public string Summary => {Verbatim(SummaryText(spec, plan))};");
            w.Line();

            EmitInference(w, spec, plan);

            foreach (LayerSpec layer in spec.Layers)
            {
                w.Line();
                w.Line($"// {LayerDescription(layer)}.");
                w.Line($"// W is stored input-major [{layer.Inputs}, {layer.Outputs}] so each kernel streams whole rows.");
                w.OpenBlock($"private static partial class {KernelClass(layer)}");
                w.Line($"public const int Inputs = {layer.Inputs};");
                w.Line($"public const int Outputs = {layer.Outputs};");
                w.Line($"public const int WeightOffset = {plan.WeightOffset(layer)};");
                if (layer.HasBias) w.Line($"public const int BiasOffset = {plan.BiasOffset(layer)};");
                w.Line();
                DenseEmitter.EmitForward(w, new Gemm(layer.Inputs, layer.Outputs, layer.HasBias, layer.HasBias));
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
                w.Line($"private const int {OutputSlot(layer)} = {plan.OutputSlot(layer)}; // {layer.Outputs} floats");
                if (NeedsPreActivation(layer))
                    w.Line($"private const int {PreActivationSlot(layer)} = {plan.PreActivationSlot(layer)}; // z, kept for the {layer.Activation} derivative");
            }
            w.Line($"private const int GradientSlotA = {plan.GradientSlotA}; // dL/d(layer output), ping-pong between layers");
            w.Line($"private const int GradientSlotB = {plan.GradientSlotB};");
            w.Line($"private const int WorkspaceFloatsPerSample = {plan.WorkspaceFloatsPerSample};");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public global::Dsl.Workspace CreateWorkspace(int maxBatch) => new global::Dsl.Workspace(WorkspaceFloatsPerSample, maxBatch);");
            w.Line();
            w.OpenBlock("private static void CheckWorkspace(global::Dsl.Workspace workspace)");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(workspace);");
            w.Line("if (workspace.FloatsPerSample != WorkspaceFloatsPerSample)");
            w.Line($"    throw new global::System.ArgumentException(\"The workspace was not created by {spec.ClassName}.CreateWorkspace.\", nameof(workspace));");
            w.CloseBlock();
            w.Line();

            EmitForwardTrain(w, spec, plan);
            w.Line();
            EmitBackwardPass(w, spec, plan);

            foreach (LayerSpec layer in spec.Layers)
            {
                w.Line();
                w.OpenBlock($"private static partial class {KernelClass(layer)}");
                DenseEmitter.EmitBackward(w, new Gemm(layer.Inputs, layer.Outputs, layer.HasBias, layer.HasBias));
                w.CloseBlock();
            }

            CloseFile(w, spec);
            return w.ToString();
        }

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
            w.Line("nuint s = 0;");
            w.Line("// Four samples at a time share every weight load; the rest go one by one.");
            w.Line("for (; s + 4 <= (nuint)batch; s += 4)");
            w.Line("    ForwardFour(ref Unsafe.Add(ref x, s * InputSize), ref Unsafe.Add(ref y, s * OutputSize));");
            w.Line("for (; s < (nuint)batch; s++)");
            w.Line("    ForwardOne(ref Unsafe.Add(ref x, s * InputSize), ref Unsafe.Add(ref y, s * OutputSize));");
            w.CloseBlock();
            w.Line();
            EmitForwardRows(w, spec, plan, rows: 1, "ForwardOne");
            w.Line();
            EmitForwardRows(w, spec, plan, rows: 4, "ForwardFour");
        }

        private static void EmitForwardRows(SourceWriter w, NetworkSpec spec, Plan plan, int rows, string name)
        {
            int hidden = spec.Layers.Take(spec.Layers.Count - 1).Sum(l => l.Outputs) * rows;
            bool onStack = hidden <= StackScratchLimitFloats;
            if (hidden > 0)
                w.Line(onStack
                    ? "// Activations live on the stack: no allocation, and threads share nothing but the weights."
                    : "// Activations live in a per-thread buffer (too large for the stack): allocated once per thread, then reused.");
            if (!onStack) w.Line($"[global::System.ThreadStatic] private static float[]? t_{SourceWriter.Camel(name)}Scratch;");
            w.OpenBlock($"private void {name}(ref float x, ref float y)");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            if (!onStack) w.Line($"float[] scratch = t_{SourceWriter.Camel(name)}Scratch ??= new float[{hidden}];");
            int offset = 0;
            for (int l = 0; l < spec.Layers.Count - 1; l++)
            {
                LayerSpec layer = spec.Layers[l];
                int size = layer.Outputs * rows;
                w.Line(onStack
                    ? $"{Span} {Local(layer)} = stackalloc float[{size}];"
                    : $"{Span} {Local(layer)} = new {Span}(scratch, {offset}, {size});");
                offset += size;
            }
            string input = "x";
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                LayerSpec layer = spec.Layers[l];
                bool last = l == spec.Layers.Count - 1;
                string output = last ? "y" : $"MemoryMarshal.GetReference({Local(layer)})";
                string fused = layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);
                w.Line();
                w.Line($"// {LayerDescription(layer)}");
                w.Line($"{KernelClass(layer)}.Forward{rows}<{Kernels}{fused}>(ref {input}, {WeightRefs(layer)}, ref {output});");
                if (layer.Activation == ActivationKind.Softmax)
                {
                    for (int r = 0; r < rows; r++)
                        w.Line($"{Kernels}Softmax.Forward(MemoryMarshal.CreateSpan(ref {(r == 0 ? output : $"Unsafe.Add(ref {output}, {r * layer.Outputs})")}, {layer.Outputs}));");
                }
                input = output;
            }
            w.CloseBlock();
        }

        private static void EmitForwardTrain(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            w.OpenBlock($"public void ForwardTrain({ReadOnlySpan} input, {Span} output, int batch, global::Dsl.Workspace workspace)");
            w.Line("CheckWorkspace(workspace);");
            w.Line("global::Dsl.Guard.BatchLength(input, InputSize, batch, nameof(input));");
            w.Line("global::Dsl.Guard.BatchLength(output, OutputSize, batch, nameof(output));");
            w.Line("workspace.BeginForward(batch);");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            w.Line($"{Span} x = workspace.Region(InputSlot, InputSize, batch);");
            w.Line("input.CopyTo(x);");
            string input = "x";
            foreach (LayerSpec layer in spec.Layers)
            {
                string output = Local(layer);
                w.Line();
                w.Line($"// {LayerDescription(layer)}");
                w.Line($"{Span} {output} = workspace.Region({OutputSlot(layer)}, {KernelClass(layer)}.Outputs, batch);");
                if (NeedsPreActivation(layer))
                {
                    string pre = Local(layer) + "Pre";
                    w.Line("// keep z: this activation's derivative needs it");
                    w.Line($"{Span} {pre} = workspace.Region({PreActivationSlot(layer)}, {KernelClass(layer)}.Outputs, batch);");
                    w.Line($"{KernelClass(layer)}.ForwardRows<{Kernels}Identity>(ref MemoryMarshal.GetReference({input}), {WeightRefs(layer)}, ref MemoryMarshal.GetReference({pre}), batch);");
                    w.Line($"{Kernels}ActivationSpan.Forward<{Kernels}{OperatorName(layer.Activation)}>({pre}, {output});");
                }
                else
                {
                    string fused = layer.Activation == ActivationKind.Softmax ? "Identity" : OperatorName(layer.Activation);
                    w.Line($"{KernelClass(layer)}.ForwardRows<{Kernels}{fused}>(ref MemoryMarshal.GetReference({input}), {WeightRefs(layer)}, ref MemoryMarshal.GetReference({output}), batch);");
                    if (layer.Activation == ActivationKind.Softmax)
                    {
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {Kernels}Softmax.Forward({output}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
                    }
                }
                input = output;
            }
            w.Line();
            w.Line($"{input}.CopyTo(output);");
            w.CloseBlock();
        }

        private static void EmitBackwardPass(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            w.Line("/// <inheritdoc/>");
            w.OpenBlock($"public void Backward({ReadOnlySpan} outputGradient, {Span} inputGradient, int batch, global::Dsl.Workspace workspace)");
            w.Line("CheckWorkspace(workspace);");
            w.Line("global::Dsl.Guard.BatchLength(outputGradient, OutputSize, batch, nameof(outputGradient));");
            w.Line("if (!inputGradient.IsEmpty)");
            w.Line("    global::Dsl.Guard.BatchLength(inputGradient, InputSize, batch, nameof(inputGradient));");
            w.Line("workspace.BeginBackward(batch);");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            w.Line("ref float grads = ref MemoryMarshal.GetReference(_parameters.Gradients);");
            LayerSpec lastLayer = spec.Layers[spec.Layers.Count - 1];
            string gradient = "d" + Pascal(Local(lastLayer));
            w.Line($"{Span} {gradient} = workspace.Region(GradientSlotA, OutputSize, batch);");
            w.Line($"outputGradient.CopyTo({gradient});");
            bool slotA = true;
            for (int l = spec.Layers.Count - 1; l >= 0; l--)
            {
                LayerSpec layer = spec.Layers[l];
                string kernels = KernelClass(layer);
                string input = l == 0 ? "workspace.Region(InputSlot, InputSize, batch)" : $"workspace.Region({OutputSlot(spec.Layers[l - 1])}, {kernels}.Inputs, batch)";
                w.Line();
                w.Line($"// {layer.WeightName}: Dense {layer.Inputs} -> {layer.Outputs} backward. {BackwardMaths(layer, l == 0)}");
                switch (layer.Activation)
                {
                    case ActivationKind.None:
                        break;
                    case ActivationKind.Softmax:
                        w.Line($"{ReadOnlySpan} {Local(layer)} = workspace.Region({OutputSlot(layer)}, {kernels}.Outputs, batch);");
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {Kernels}Softmax.Backward({Local(layer)}.Slice(s * {kernels}.Outputs, {kernels}.Outputs), {gradient}.Slice(s * {kernels}.Outputs, {kernels}.Outputs));");
                        break;
                    default:
                        string slot = NeedsPreActivation(layer) ? PreActivationSlot(layer) : OutputSlot(layer);
                        w.Line($"{Kernels}ActivationSpan.Backward<{Kernels}{OperatorName(layer.Activation)}>(workspace.Region({slot}, {kernels}.Outputs, batch), {gradient});");
                        break;
                }
                w.Line($"{kernels}.AccumulateGradients(ref MemoryMarshal.GetReference({input}), ref MemoryMarshal.GetReference({gradient}), (nuint)batch, {WeightRefs(layer, "grads")});");
                if (l > 0)
                {
                    slotA = !slotA;
                    string next = "d" + Pascal(Local(spec.Layers[l - 1]));
                    w.Line($"{Span} {next} = workspace.Region({(slotA ? "GradientSlotA" : "GradientSlotB")}, {kernels}.Inputs, batch);");
                    w.Line($"{kernels}.InputGradientRows(ref MemoryMarshal.GetReference({gradient}), ref Unsafe.Add(ref p, {kernels}.WeightOffset), ref MemoryMarshal.GetReference({next}), batch);");
                    gradient = next;
                }
                else
                {
                    w.Line("if (!inputGradient.IsEmpty)");
                    w.Line($"    {kernels}.InputGradientRows(ref MemoryMarshal.GetReference({gradient}), ref Unsafe.Add(ref p, {kernels}.WeightOffset), ref MemoryMarshal.GetReference(inputGradient), batch);");
                }
            }
            w.CloseBlock();
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
            string bias = layer.HasBias ? "; db += sum over samples of dz" : "";
            string dx = first ? "; dx = dz W^T when asked for" : "; dx = dz W^T";
            return $"{dz}; dW += x^T dz{bias}{dx}.";
        }

        // Arguments for a layer's weight and bias in buffer `root` (values or gradients); a layer without bias passes its weight, unread.
        private static string WeightRefs(LayerSpec layer, string root = "p") =>
            $"ref Unsafe.Add(ref {root}, {KernelClass(layer)}.WeightOffset), ref Unsafe.Add(ref {root}, {KernelClass(layer)}.{(layer.HasBias ? "BiasOffset" : "WeightOffset")})";

        private static string OutputSlot(LayerSpec layer) => layer.MemberName + "OutputSlot";

        private static string PreActivationSlot(LayerSpec layer) => layer.MemberName + "PreActivationSlot";

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
                long layerFlops = 2L * layer.Inputs * layer.Outputs;
                flops += layerFlops;
                int parameters = layer.Inputs * layer.Outputs + (layer.HasBias ? layer.Outputs : 0);
                rows.Add(new[] { layer.WeightName, "Dense", SourceWriter.Int(layer.Outputs), layer.Activation.ToString(), SourceWriter.Grouped(parameters), SourceWriter.Grouped(layerFlops) });
            }
            rows.Add(new[] { "total", "", "", "", SourceWriter.Grouped(plan.ParameterCount), SourceWriter.Grouped(flops) });
            int[] widths = new int[rows[0].Length];
            foreach (string[] row in rows)
                for (int c = 0; c < row.Length; c++) widths[c] = System.Math.Max(widths[c], row[c].Length);
            var lines = new List<string> { $"{spec.ClassName}: {spec.InputSize} inputs -> {spec.OutputSize} outputs, {SourceWriter.Grouped(plan.ParameterCount)} parameters, {SourceWriter.Grouped(flops)} FLOPs per sample" };
            foreach (string[] row in rows)
            {
                var cells = new string[row.Length];
                for (int c = 0; c < row.Length; c++)
                    cells[c] = c >= 4 ? new string(' ', widths[c] - row[c].Length) + row[c] : SourceWriter.Pad(row[c], widths[c]);
                lines.Add(string.Join("  ", cells).TrimEnd());
            }
            return string.Join("\n", lines) + "\n";
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
            string affine = layer.HasBias ? "x W + b" : "x W";
            string maths = activation.Length == 0 ? $"y = {affine}" : $"y = {activation}({affine})";
            return $"{layer.WeightName}: Dense {layer.Inputs} -> {layer.Outputs}{(activation.Length == 0 ? "" : ", " + layer.Activation)}. {maths}";
        }

        private static bool NeedsPreActivation(LayerSpec layer) => layer.Activation is ActivationKind.Gelu or ActivationKind.Silu;

        private static string OperatorName(ActivationKind activation) => activation == ActivationKind.None ? "Identity" : activation.ToString();

        private static string KernelClass(LayerSpec layer) => layer.MemberName + "Kernels";

        private static string FieldName(LayerSpec layer) => "_" + SourceWriter.Camel(layer.MemberName);

        // Parameters and locals of the methods that also hold per-layer locals: a layer called 'Input' or 'X' must not shadow them.
        private static readonly HashSet<string> s_reservedLocals = new()
        {
            "input", "output", "batch", "workspace", "outputGradient", "inputGradient", "x", "y", "p", "s", "grads", "scratch",
        };

        // Locals are named after the layer; '@' only where the name is a keyword (a layer called 'Event'),
        // a 'Layer' suffix where it would collide with one of the generated names above.
        private static string Local(LayerSpec layer)
        {
            string name = SourceWriter.Camel(layer.MemberName);
            if (s_reservedLocals.Contains(name)) return name + "Layer";
            return Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + name : name;
        }

        private static string Pascal(string local) => local.TrimStart('@').Substring(0, 1).ToUpperInvariant() + local.TrimStart('@').Substring(1);

        /// <summary>Where everything lives, computed once from the spec with the runtime's rules.</summary>
        private sealed class Plan
        {
            private const int AlignFloats = 16; // must match Dsl.Parameters
            private readonly Dictionary<string, int> _weight = new();
            private readonly Dictionary<string, int> _bias = new();
            private readonly Dictionary<string, int> _output = new();
            private readonly Dictionary<string, int> _pre = new();

            public Plan(NetworkSpec spec)
            {
                int offset = 0;
                foreach (LayerSpec layer in spec.Layers)
                {
                    _weight[layer.MemberName] = offset;
                    offset += Align(layer.Inputs * layer.Outputs);
                    ParameterCount += layer.Inputs * layer.Outputs;
                    if (layer.HasBias)
                    {
                        _bias[layer.MemberName] = offset;
                        offset += Align(layer.Outputs);
                        ParameterCount += layer.Outputs;
                    }
                }
                BufferSize = offset;

                int slot = spec.InputSize;
                int widest = spec.InputSize;
                foreach (LayerSpec layer in spec.Layers)
                {
                    _output[layer.MemberName] = slot;
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
            }

            public int ParameterCount { get; }

            public int BufferSize { get; }

            public int InputSlot => 0;

            public int GradientSlotA { get; }

            public int GradientSlotB { get; }

            public int WorkspaceFloatsPerSample { get; }

            public int WeightOffset(LayerSpec layer) => _weight[layer.MemberName];

            public int BiasOffset(LayerSpec layer) => layer.HasBias ? _bias[layer.MemberName] : -1;

            public int OutputSlot(LayerSpec layer) => _output[layer.MemberName];

            public int PreActivationSlot(LayerSpec layer) => _pre[layer.MemberName];

            private static int Align(int floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;
        }
    }
}
