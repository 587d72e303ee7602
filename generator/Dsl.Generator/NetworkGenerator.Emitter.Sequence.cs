using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Call sites of the sequence layers (tokens, norms, attention, embeddings, token pooling) and of the two
        /// ends of a residual connection, in the three entry points: batch-1 inference, the training forward over
        /// a batch, and the backward pass. Per-row layers run over all rows of the batch at once (rows = batch ×
        /// tokens); attention runs sample by sample around its batched projections.
        /// </summary>
        private static class SequenceEmitter
        {
            private const string Identity = Kernels + "Identity";

            /// <summary>The steps whose call sites this class writes.</summary>
            public static bool Handles(LayerSpec layer) =>
                layer.Kind is LayerKind.Tokens or LayerKind.LayerNorm or LayerKind.RMSNorm or LayerKind.MultiHeadSelfAttention or LayerKind.Embedding
                    or LayerKind.PositionalEmbedding or LayerKind.ResidualEnd ||
                (layer.Kind == LayerKind.GlobalAvgPool && layer.Input.IsTokens);

            public static void EmitTokensForward(SourceWriter w, LayerSpec layer)
            {
                w.Line($"/// <summary>y[t, c] = x[c, t]: [{layer.Input.Channels}, {layer.Input.Spatial}] channel-major to [{layer.Input.Spatial}, {layer.Input.Channels}] token-major.</summary>");
                w.OpenBlock("public static void Forward(ref float x, ref float y)");
                w.Line("for (nuint c = 0; c < Channels; c++)");
                w.Line("    for (nuint t = 0; t < Positions; t++)");
                w.Line("        Unsafe.Add(ref y, t * Channels + c) = Unsafe.Add(ref x, c * Positions + t);");
                w.CloseBlock();
            }

            public static void EmitTokensBackward(SourceWriter w, LayerSpec layer)
            {
                w.Line("/// <summary>dx[c, t] = dy[t, c].</summary>");
                w.OpenBlock("public static void Backward(ref float dy, ref float dx)");
                w.Line("for (nuint t = 0; t < Positions; t++)");
                w.Line("    for (nuint c = 0; c < Channels; c++)");
                w.Line("        Unsafe.Add(ref dx, c * Positions + t) = Unsafe.Add(ref dy, t * Channels + c);");
                w.CloseBlock();
            }

            public static void EmitInference(SourceWriter w, Plan plan, LayerSpec layer, string x, string y)
            {
                string code = plan.Code(layer), offsets = KernelClass(layer);
                string ReadOnly(string reference, int length) => $"MemoryMarshal.CreateReadOnlySpan(ref {reference}, {length})";
                string Writable(string reference, int length) => $"MemoryMarshal.CreateSpan(ref {reference}, {length})";
                string Values(string offset, int length) => $"_parameters.Values.Slice({offsets}.{offset}, {length})";
                int features = layer.Input.Features;
                switch (layer.Kind)
                {
                    case LayerKind.Tokens:
                        w.Line($"{code}.Forward(ref {x}, ref {y});");
                        break;
                    case LayerKind.LayerNorm:
                        w.Line($"{Kernels}NormKernels.LayerNormForward({ReadOnly(x, layer.Inputs)}, {Writable(y, layer.Outputs)}, {layer.Input.Rows}, {features}, " +
                               $"{Values("WeightOffset", features)}, {Values("BiasOffset", features)}, {SourceWriter.Float(layer.Epsilon)}, default, default);");
                        break;
                    case LayerKind.RMSNorm:
                        w.Line($"{Kernels}NormKernels.RMSNormForward({ReadOnly(x, layer.Inputs)}, {Writable(y, layer.Outputs)}, {layer.Input.Rows}, {features}, " +
                               $"{Values("WeightOffset", features)}, {SourceWriter.Float(layer.Epsilon)}, default);");
                        break;
                    case LayerKind.MultiHeadSelfAttention:
                    {
                        string Scratch(string role) => $"ref scratch[{plan.InferenceSlot(layer, role)}]";
                        w.Line($"{code}.Forward(ref {x}, {AttentionWeights(layer, offsets, "p")}, ref {y}, {Scratch("Qkv")}, {Scratch("Probabilities")}, 0, {Scratch("Mixed")}, {Scratch("Head")});");
                        break;
                    }
                    case LayerKind.Embedding:
                        w.Line($"{Kernels}EmbeddingKernels.Gather({ReadOnly(x, layer.Inputs)}, {Values("WeightOffset", layer.Vocabulary * layer.Output.Channels)}, {Writable(y, layer.Outputs)}, {layer.Vocabulary}, {layer.Output.Channels});");
                        break;
                    case LayerKind.PositionalEmbedding:
                        w.Line($"{Kernels}SequenceKernels.Add({ReadOnly(x, layer.Inputs)}, {Values("WeightOffset", layer.Inputs)}, {Writable(y, layer.Outputs)});");
                        break;
                    case LayerKind.GlobalAvgPool:
                        w.Line($"{Kernels}SequenceKernels.MeanTokens({ReadOnly(x, layer.Inputs)}, {Writable(y, layer.Outputs)}, {layer.Input.Rows}, {layer.Input.Features});");
                        break;
                    case LayerKind.ResidualEnd:
                    {
                        LayerSpec begin = plan.Begin(layer);
                        string skip = Local(begin);
                        int n = layer.Outputs, rows = layer.Output.Rows;
                        if (layer.Projection)
                        {
                            w.Line(rows == 1
                                ? $"{code}.Forward1<{Identity}>(ref {skip}, {WeightRefs(layer, "p")}, ref {y});"
                                : $"{code}.ForwardRows<{Identity}>(ref {skip}, {WeightRefs(layer, "p")}, ref {y}, {rows});");
                            w.Line($"{Kernels}SequenceKernels.AddInPlace({Writable(y, n)}, {ReadOnly(x, n)});");
                        }
                        else if (layer.Gated)
                        {
                            string gate = Local(layer) + "Gate";
                            w.Line($"ref float {gate} = ref scratch[{plan.InferenceSlot(layer, "Gate")}];");
                            w.Line(rows == 1
                                ? $"{code}.Forward1<{Kernels}Sigmoid>(ref {skip}, {WeightRefs(layer, "p")}, ref {gate});"
                                : $"{code}.ForwardRows<{Kernels}Sigmoid>(ref {skip}, {WeightRefs(layer, "p")}, ref {gate}, {rows});");
                            w.Line($"{Kernels}SequenceKernels.Highway({ReadOnly(skip, begin.Inputs)}, {ReadOnly(x, n)}, {ReadOnly(gate, n)}, {Writable(y, n)});");
                        }
                        else
                        {
                            w.Line($"{Kernels}SequenceKernels.Add({ReadOnly(skip, n)}, {ReadOnly(x, n)}, {Writable(y, n)});");
                        }
                        break;
                    }
                }
            }

            public static void EmitTrain(SourceWriter w, Plan plan, LayerSpec layer, string input, string output)
            {
                string code = plan.Code(layer), offsets = KernelClass(layer);
                string Values(string offset, int length) => $"_parameters.Values.Slice({offsets}.{offset}, {length})";
                string Sample(string span, int length) => $"ref MemoryMarshal.GetReference({span}.Slice(s * {length}, {length}))";
                int features = layer.Input.Features;
                switch (layer.Kind)
                {
                    case LayerKind.Tokens:
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {code}.Forward({Sample(input, layer.Inputs)}, {Sample(output, layer.Outputs)});");
                        break;
                    case LayerKind.LayerNorm:
                        w.Line($"{Kernels}NormKernels.LayerNormForward({input}, {output}, {RowCount(layer)}, {features}, {Values("WeightOffset", features)}, {Values("BiasOffset", features)}, " +
                               $"{SourceWriter.Float(layer.Epsilon)}, {SlotRegion(plan, layer, "Mean")}, {SlotRegion(plan, layer, "Rstd")});");
                        break;
                    case LayerKind.RMSNorm:
                        w.Line($"{Kernels}NormKernels.RMSNormForward({input}, {output}, {RowCount(layer)}, {features}, {Values("WeightOffset", features)}, " +
                               $"{SourceWriter.Float(layer.Epsilon)}, {SlotRegion(plan, layer, "Rstd")});");
                        break;
                    case LayerKind.MultiHeadSelfAttention:
                    {
                        string local = Local(layer);
                        int l = layer.Input.Width, d = layer.Input.Channels;
                        w.Line($"{Span} {local}Qkv = {SlotRegion(plan, layer, "Qkv")};");
                        w.Line($"{Span} {local}Probabilities = {SlotRegion(plan, layer, "Probabilities")};");
                        w.Line($"{Span} {local}Mixed = {SlotRegion(plan, layer, "Mixed")};");
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {code}.Forward({Sample(input, layer.Inputs)}, {AttentionWeights(layer, offsets, "p")}, {Sample(output, layer.Outputs)}, " +
                               $"{Sample(local + "Qkv", 3 * l * d)}, {Sample(local + "Probabilities", layer.Heads * l * l)}, {code}.ScoreFloats, {Sample(local + "Mixed", l * d)}, ref attention);");
                        break;
                    }
                    case LayerKind.Embedding:
                        w.Line($"{Kernels}EmbeddingKernels.Gather({input}, {Values("WeightOffset", layer.Vocabulary * layer.Output.Channels)}, {output}, {layer.Vocabulary}, {layer.Output.Channels});");
                        break;
                    case LayerKind.PositionalEmbedding:
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {Kernels}SequenceKernels.Add({input}.Slice(s * {layer.Inputs}, {layer.Inputs}), {Values("WeightOffset", layer.Inputs)}, {output}.Slice(s * {layer.Outputs}, {layer.Outputs}));");
                        break;
                    case LayerKind.GlobalAvgPool:
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {Kernels}SequenceKernels.MeanTokens({input}.Slice(s * {layer.Inputs}, {layer.Inputs}), {output}.Slice(s * {layer.Outputs}, {layer.Outputs}), {layer.Input.Rows}, {features});");
                        break;
                    case LayerKind.ResidualEnd:
                    {
                        string skip = Local(plan.Begin(layer));
                        string rows = layer.Output.Rows == 1 ? "batch" : $"batch * {layer.Output.Rows}";
                        if (layer.Projection)
                        {
                            w.Line($"{code}.ForwardRows<{Identity}>(ref MemoryMarshal.GetReference({skip}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({output}), {rows});");
                            w.Line($"{Kernels}SequenceKernels.AddInPlace({output}, {input});");
                        }
                        else if (layer.Gated)
                        {
                            string gate = Local(layer) + "Gate";
                            w.Line($"{Span} {gate} = {SlotRegion(plan, layer, "Gate")};");
                            w.Line($"{code}.ForwardRows<{Kernels}Sigmoid>(ref MemoryMarshal.GetReference({skip}), {WeightRefs(layer, "p")}, ref MemoryMarshal.GetReference({gate}), {rows});");
                            w.Line($"{Kernels}SequenceKernels.Highway({skip}, {input}, {gate}, {output});");
                        }
                        else
                        {
                            w.Line($"{Kernels}SequenceKernels.Add({skip}, {input}, {output});");
                        }
                        break;
                    }
                }
            }

            /// <summary>Layers whose input gradient is a new buffer: <paramref name="next"/> (or the caller's span for the first layer).</summary>
            public static void EmitBackward(SourceWriter w, Plan plan, LayerSpec layer, string input, string gradient, string next, bool first, string freeBuffer)
            {
                string code = plan.Code(layer), offsets = KernelClass(layer);
                string Values(string offset, int length) => $"_parameters.Values.Slice({offsets}.{offset}, {length})";
                string Gradients(string offset, int length) => $"_parameters.Gradients.Slice({offsets}.{offset}, {length})";
                string Sample(string span, int length) => $"ref MemoryMarshal.GetReference({span}.Slice(s * {length}, {length}))";
                string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
                // Norms need dx for nothing but the caller; the kernels write it anyway, into the free buffer if unwanted.
                string normTarget = first ? $"(inputGradient.IsEmpty ? {freeBuffer} : inputGradient)" : next;
                int features = layer.Input.Features;
                switch (layer.Kind)
                {
                    case LayerKind.Tokens:
                    case LayerKind.GlobalAvgPool:
                        if (first) w.OpenBlock("if (!inputGradient.IsEmpty)");
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line(layer.Kind == LayerKind.Tokens
                            ? $"    {code}.Backward({Sample(gradient, layer.Outputs)}, {Sample(next, layer.Inputs)});"
                            : $"    {Kernels}SequenceKernels.MeanTokensBackward({gradient}.Slice(s * {layer.Outputs}, {layer.Outputs}), {next}.Slice(s * {layer.Inputs}, {layer.Inputs}), {layer.Input.Rows}, {features});");
                        if (first) w.CloseBlock();
                        break;
                    case LayerKind.LayerNorm:
                        w.Line($"{Kernels}NormKernels.LayerNormBackward({input}, {gradient}, {normTarget}, {RowCount(layer)}, {features}, {Values("WeightOffset", features)}, " +
                               $"{SlotRegion(plan, layer, "Mean")}, {SlotRegion(plan, layer, "Rstd")}, {Gradients("WeightOffset", features)}, {Gradients("BiasOffset", features)});");
                        break;
                    case LayerKind.RMSNorm:
                        w.Line($"{Kernels}NormKernels.RMSNormBackward({input}, {gradient}, {normTarget}, {RowCount(layer)}, {features}, {Values("WeightOffset", features)}, " +
                               $"{SlotRegion(plan, layer, "Rstd")}, {Gradients("WeightOffset", features)});");
                        break;
                    case LayerKind.Embedding:
                        w.Line($"{Kernels}EmbeddingKernels.ScatterAdd({input}, {gradient}, {Gradients("WeightOffset", layer.Vocabulary * layer.Output.Channels)}, {layer.Output.Channels});");
                        w.Line("inputGradient.Clear(); // token ids have no gradient");
                        break;
                    case LayerKind.MultiHeadSelfAttention:
                    {
                        int l = layer.Input.Width, d = layer.Input.Channels;
                        string local = Local(layer);
                        string rows = $"batch * {l}";
                        string outBias = layer.HasBias ? "OutProjBiasOffset" : "OutProjWeightOffset";
                        string inBias = layer.HasBias ? "InProjBiasOffset" : "InProjWeightOffset";
                        w.Line($"{Span} {local}MixedGradient = {SlotRegion(plan, layer, "MixedGradient")};");
                        w.Line($"{Span} {local}QkvGradient = {SlotRegion(plan, layer, "QkvGradient")};");
                        w.Line($"{code}.OutProjection.AccumulateGradients({Ref(SlotRegion(plan, layer, "Mixed"))}, {Ref(gradient)}, {Native(rows)}, ref Unsafe.Add(ref grads, {offsets}.OutProjWeightOffset), ref Unsafe.Add(ref grads, {offsets}.{outBias}));");
                        w.Line($"{code}.OutProjection.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.OutProjWeightOffset), ref transposed);");
                        w.Line($"{code}.OutProjection.Transposed.ForwardRows<{Identity}>({Ref(gradient)}, ref transposed, ref transposed, {Ref(local + "MixedGradient")}, {rows});");
                        w.Line("for (int s = 0; s < batch; s++)");
                        w.Line($"    {code}.BackwardSample({Sample(SlotRegion(plan, layer, "Qkv"), 3 * l * d)}, {Sample(SlotRegion(plan, layer, "Probabilities"), layer.Heads * l * l)}, " +
                               $"{Sample(local + "MixedGradient", l * d)}, {Sample(local + "QkvGradient", 3 * l * d)}, ref attention, ref Unsafe.Add(ref attention, {AttentionEmitter.HeadScratchFloats(layer)}));");
                        w.Line($"{code}.InProjection.AccumulateGradients({Ref(input)}, {Ref(local + "QkvGradient")}, {Native(rows)}, ref Unsafe.Add(ref grads, {offsets}.InProjWeightOffset), ref Unsafe.Add(ref grads, {offsets}.{inBias}));");
                        if (first) w.OpenBlock("if (!inputGradient.IsEmpty)");
                        w.Line($"{code}.InProjection.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.InProjWeightOffset), ref transposed);");
                        w.Line($"{code}.InProjection.Transposed.ForwardRows<{Identity}>({Ref(local + "QkvGradient")}, ref transposed, ref transposed, {Ref(next)}, {rows});");
                        if (first) w.CloseBlock();
                        break;
                    }
                }
            }

            /// <summary>
            /// Steps whose input gradient is their output gradient, updated in place or not at all: the ends of a
            /// residual connection and the positional embedding. <paramref name="input"/> is the step's input.
            /// </summary>
            public static void EmitPassThroughBackward(SourceWriter w, NetworkSpec spec, Plan plan, int index, string input, string gradient)
            {
                LayerSpec layer = spec.Layers[index];
                string code = plan.Code(layer), offsets = KernelClass(layer);
                string Ref(string span) => $"ref MemoryMarshal.GetReference({span})";
                switch (layer.Kind)
                {
                    case LayerKind.PositionalEmbedding:
                        w.Line($"{Kernels}SequenceKernels.SumSamples({gradient}, batch, _parameters.Gradients.Slice({offsets}.WeightOffset, {layer.Outputs}));");
                        break;
                    case LayerKind.ResidualBegin:
                    {
                        LayerSpec end = plan.End(layer);
                        string shortcut = end.HasShortcutWeights ? "SkipGradient" : "OutputGradient";
                        w.Line($"{Kernels}SequenceKernels.AddInPlace({gradient}, {SlotRegion(plan, end, shortcut, layer.Inputs)});");
                        break;
                    }
                    case LayerKind.ResidualEnd:
                    {
                        LayerSpec begin = plan.Begin(layer);
                        string skip = InputRegion(spec, plan.Index(begin));
                        string rows = layer.Output.Rows == 1 ? "batch" : $"batch * {layer.Output.Rows}";
                        w.Line($"{gradient}.CopyTo({SlotRegion(plan, layer, "OutputGradient")}); // kept: ResidualOutputGradient{(layer.HasShortcutWeights ? "" : ", and the shortcut's gradient")}");
                        if (!layer.Projection && !layer.Gated) break;
                        string skipGradient = Local(layer) + "SkipGradient";
                        w.Line($"{Span} {skipGradient} = {SlotRegion(plan, layer, "SkipGradient", begin.Inputs)};");
                        string source = gradient;
                        if (layer.Gated)
                        {
                            source = Local(layer) + "GateGradient";
                            w.Line($"{Span} {source} = {SlotRegion(plan, layer, "GateGradient")};");
                            w.Line($"{Kernels}SequenceKernels.HighwayGateGradient({skip}, {input}, {SlotRegion(plan, layer, "Gate")}, {gradient}, {source});");
                        }
                        w.Line($"{code}.AccumulateGradients({Ref(skip)}, {Ref(source)}, {Native(rows)}, {WeightRefs(layer, "grads")});");
                        w.Line($"{code}.TransposeWeights(ref Unsafe.Add(ref p, {offsets}.WeightOffset), ref transposed);");
                        w.Line($"{code}.Transposed.ForwardRows<{Identity}>({Ref(source)}, ref transposed, ref transposed, {Ref(skipGradient)}, {rows});");
                        if (layer.Gated)
                            w.Line($"{Kernels}SequenceKernels.HighwayCarry({SlotRegion(plan, layer, "Gate")}, {gradient}, {skipGradient}); // shortcut += (1 - T) dy, then dF = T dy");
                        break;
                    }
                }
            }

            private static string AttentionWeights(LayerSpec layer, string offsets, string root)
            {
                string inBias = layer.HasBias ? "InProjBiasOffset" : "InProjWeightOffset";
                string outBias = layer.HasBias ? "OutProjBiasOffset" : "OutProjWeightOffset";
                return $"ref Unsafe.Add(ref {root}, {offsets}.InProjWeightOffset), ref Unsafe.Add(ref {root}, {offsets}.{inBias}), " +
                       $"ref Unsafe.Add(ref {root}, {offsets}.OutProjWeightOffset), ref Unsafe.Add(ref {root}, {offsets}.{outBias})";
            }
        }

        /// <summary>
        /// The residual stream, read from the training workspace: each residual connection's sum h = x + F(x)
        /// (before a post-norm) after <c>ForwardTrain</c>, and dL/dh after <c>Backward</c>. Both are slots the
        /// passes keep anyway, so observing costs nothing when unused.
        /// </summary>
        private static void EmitResidualObservation(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            var ends = new System.Collections.Generic.List<LayerSpec>();
            foreach (LayerSpec layer in spec.Layers)
                if (layer.Kind == LayerKind.ResidualEnd) ends.Add(layer);
            if (ends.Count == 0) return;
            w.Line();
            w.Line("/// <summary>Residual connections, in the order they run; <see cref=\"ResidualName\"/> names them.</summary>");
            w.Line($"public const int ResidualCount = {ends.Count};");
            w.Line();
            w.Line("/// <summary>The member path of residual connection <paramref name=\"index\"/> (its branch's weight-name prefix).</summary>");
            w.OpenBlock("public static string ResidualName(int index) => index switch");
            for (int i = 0; i < ends.Count; i++) w.Line($"{i} => \"{ends[i].Residual}\",");
            w.Line("_ => throw new global::System.ArgumentOutOfRangeException(nameof(index), index, \"There are \" + ResidualCount + \" residual connections.\"),");
            w.CloseBlock(";");
            foreach (bool gradient in new[] { false, true })
            {
                w.Line();
                w.Line(gradient
                    ? "/// <summary>dL/dh of residual connection <paramref name=\"index\"/> (h = x + F(x), before any post-norm) for every sample of the last <c>Backward</c> with <paramref name=\"workspace\"/>.</summary>"
                    : "/// <summary>The sum h = x + F(x) of residual connection <paramref name=\"index\"/> (before any post-norm) for every sample of the last <c>ForwardTrain</c> with <paramref name=\"workspace\"/>.</summary>");
                w.OpenBlock($"public global::System.ReadOnlySpan<float> ResidualOutput{(gradient ? "Gradient" : "")}(global::Dsl.Workspace workspace, int index)");
                w.Line("CheckWorkspace(workspace);");
                w.OpenBlock("return index switch");
                for (int i = 0; i < ends.Count; i++)
                    w.Line($"{i} => workspace.Region({(gradient ? SlotName(ends[i], "OutputGradient") : OutputSlot(ends[i]))}, {ends[i].Outputs}, workspace.Batch),");
                w.Line("_ => throw new global::System.ArgumentOutOfRangeException(nameof(index), index, \"There are \" + ResidualCount + \" residual connections.\"),");
                w.CloseBlock(";");
                w.CloseBlock();
            }
        }

        /// <summary>A layer's per-sample workspace slot over the batch.</summary>
        private static string SlotRegion(Plan plan, LayerSpec layer, string role, int? floats = null) =>
            $"workspace.Region({SlotName(layer, role)}, {floats ?? plan.SlotFloats(layer, role)}, batch)";

        private static string SlotName(LayerSpec layer, string role) => layer.MemberName + role + "Slot";
    }
}
