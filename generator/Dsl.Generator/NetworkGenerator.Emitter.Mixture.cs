using System.Collections.Generic;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// A mixture of experts as Gemm products with sizes baked in: the router [rows, d] x [d, N], and each expert
        /// layer once per expert over the rows routed to it ([count, in] x [in, out], the expert's weights one
        /// <c>ExpertStride</c> after the previous expert's). Batch 1 on a flat input runs the k chosen experts' batch-1
        /// kernels in turn and reads no other expert's weights. Every tensor is addressed from the router's weight
        /// (<c>w</c>), so identical mixtures share the code.
        /// </summary>
        internal static class MixtureEmitter
        {
            private const string K = "global::Dsl.Kernels.";

            public static void EmitConstants(SourceWriter w, Mixture m, StepPlan step)
            {
                int router = step.Tensor("router.weight").Offset;
                int Relative(string role) => step.Tensor(role).Offset - router;
                w.Line($"public const int Experts = {m.Experts};");
                w.Line($"public const int TopK = {m.TopK};");
                w.Line($"public const int Features = {m.Features}; // d, per row in");
                w.Line($"public const int OutputFeatures = {m.OutputFeatures}; // per row out");
                w.Line($"public const int Rows = {m.Rows}; // rows per sample: {(m.Rows == 1 ? "one input vector" : "its tokens")}");
                MixtureOptions o = m.Layer.Get<MixtureOptions>();
                w.Line($"private const bool Renormalize = {(o.Renormalize ? "true" : "false")}; // {(o.Renormalize ? "gates: softmax over the chosen logits (Mixtral)" : "gates: the chosen experts' probabilities (Switch)")}");
                w.Line($"private const float BalanceWeight = {SourceWriter.Float(o.BalanceWeight)};");
                w.Line($"private const float CapacityFactor = {SourceWriter.Float(o.CapacityFactor)}; // 0: no limit");
                w.Line("// Offsets from the router's weight, which the call sites pass as w.");
                w.Line($"private const int RouterBias = {(m.Layer.HasBias ? Relative("router.bias") : 0)};");
                ExpertLayer first = m.Layers[0];
                w.Line($"public const int ExpertStride = {Relative(MixtureHandler.ExpertRole(1, first, "weight")) - Relative(MixtureHandler.ExpertRole(0, first, "weight"))}; // floats from one expert's tensors to the next's");
                for (int j = 0; j < m.Layers.Count; j++)
                {
                    ExpertLayer l = m.Layers[j];
                    int weight = Relative(MixtureHandler.ExpertRole(0, l, "weight"));
                    w.Line($"private const int Layer{j}Weight = {weight}; // expert 0's {l.Name}.weight");
                    w.Line($"private const int Layer{j}Bias = {(l.HasBias ? Relative(MixtureHandler.ExpertRole(0, l, "bias")) : weight)};");
                }
                w.Line("// The routing region, in rows: probabilities [N], gates [k], choices, positions, assignments [k] (ints), the sorted inputs [k, d], each layer's z and output [k, out].");
                foreach ((string name, int at) in m.RowOffsets()) w.Line($"private const int {name} = {at};");
                w.Line($"public const int RoutingFloatsPerRow = {m.RoutingFloatsPerRow};");
                w.Line($"public const int GradientFloatsPerRow = {m.GradientFloatsPerRow}; // dz of the router [N], dg [k], sorted dx [k, d], sorted dy [k, out], two hidden gradients [k, {m.HiddenWidth}]");
            }

            private static void EmitProducts(SourceWriter w, Mixture m, Plan plan, bool backward)
            {
                bool one = m.Rows == 1;
                AttentionEmitter.EmitProduct(w, "Router", backward ? null : $"logits = x W_r: [rows, {m.Features}] x [{m.Features}, {m.Experts}]",
                    new Gemm(m.Features, m.Experts, m.Layer.HasBias, m.Layer.HasBias, BatchOne: one), plan, backward);
                for (int j = 0; j < m.Layers.Count; j++)
                {
                    ExpertLayer l = m.Layers[j];
                    bool afterRelu = j > 0 && m.Layers[j - 1].Activation == ActivationKind.Relu;
                    AttentionEmitter.EmitProduct(w, $"Layer{j}", backward ? null : $"each expert's {l.Name}: [rows, {l.Inputs}] x [{l.Inputs}, {l.Outputs}]{Maths.Named(l.Activation)}",
                        new Gemm(l.Inputs, l.Outputs, l.HasBias, l.HasBias, BatchOne: one, ReluInputs: one && afterRelu), plan, backward);
                }
            }

            // z kept: the product writes z, and the activation follows; otherwise it is fused into the product.
            private static string Fused(Mixture m, int j) => m.KeepsZ(j) ? "Identity" : OperatorName(m.Layers[j].Activation);

            public static void EmitForward(SourceWriter w, Mixture m, Plan plan)
            {
                EmitProducts(w, m, plan, backward: false);
                int n = m.Layers.Count;
                if (m.Rows == 1)
                {
                    w.Line("/// <summary>");
                    w.Line("/// One input row: the router's logits, the top-k experts, and only those experts' layers, each output added with its gate.");
                    w.Line("/// region holds the logits [N], the gates [k], the choices [k] and each layer's output in turn.");
                    w.Line("/// </summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock("public static void Forward1(ref float x, ref float w, ref float y, ref float region)");
                    w.Line("ref float logits = ref region;");
                    w.Line("ref float gates = ref Unsafe.Add(ref region, Experts);");
                    w.Line("ref int choices = ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, Experts + TopK));");
                    int at = 0;
                    for (int j = 0; j < n; j++)
                    {
                        w.Line($"ref float h{j} = ref Unsafe.Add(ref region, Experts + 2 * TopK + {at});");
                        at += m.Layers[j].Outputs;
                    }
                    w.Line($"Router.Forward1<{K}Identity>(ref x, ref w, ref Unsafe.Add(ref w, RouterBias), ref logits);");
                    w.Line($"{K}MixtureKernels.Route(ref logits, 1, Experts, TopK, Renormalize, ref gates, ref choices);");
                    w.OpenBlock("for (int j = 0; j < TopK; j++)");
                    w.Line("ref float e = ref Unsafe.Add(ref w, Unsafe.Add(ref choices, j) * ExpertStride);");
                    for (int j = 0; j < n; j++)
                    {
                        string input = j == 0 ? "x" : $"h{j - 1}";
                        w.Line($"Layer{j}.Forward1<{K}{OperatorName(m.Layers[j].Activation)}>(ref {input}, ref Unsafe.Add(ref e, Layer{j}Weight), ref Unsafe.Add(ref e, Layer{j}Bias), ref h{j});");
                    }
                    w.Line($"{K}MixtureKernels.Accumulate(ref h{n - 1}, Unsafe.Add(ref gates, j), ref y, OutputFeatures, j == 0);");
                    w.CloseBlock();
                    w.CloseBlock();
                    w.Line();
                }
                else
                {
                    w.Line("/// <summary>One sample's tokens, grouped by expert; region holds the routing region of Rows rows, then the starts.</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.Line("public static void ForwardTokens(ref float x, ref float w, ref float y, ref float region) =>");
                    w.Line("    ForwardRows(ref x, ref w, ref y, Rows, ref region, ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, Rows * RoutingFloatsPerRow)), Rows);");
                    w.Line();
                    if (Decodes(plan.Spec))
                    {
                        w.Line("/// <summary>A decode step: one new token's row, routed on its own; region holds one row's routing region, then the starts.</summary>");
                        w.Line("public static void DecodeRow(ref float x, ref float w, ref float y, ref float region) =>");
                        w.Line("    ForwardRows(ref x, ref w, ref y, 1, ref region, ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, RoutingFloatsPerRow)), 1);");
                        w.Line();
                    }
                }
                w.Line("/// <summary>");
                w.Line("/// rows through the router, sorted by expert (at most capacity rows each, the rest dropped), each expert once over its");
                w.Line("/// rows, the outputs added up by the gates. Keeps the routing region for the backward; returns the assignments dropped.");
                w.Line("/// </summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("internal static int ForwardRows(ref float x, ref float w, ref float y, int rows, ref float region, ref int starts, int capacity)");
                EmitRegion(w, m);
                w.Line($"Router.ForwardRows<{K}Identity>(ref x, ref w, ref Unsafe.Add(ref w, RouterBias), ref probabilities, rows);");
                w.Line($"{K}MixtureKernels.Route(ref probabilities, rows, Experts, TopK, Renormalize, ref gates, ref choices);");
                w.Line($"int dropped = {K}MixtureKernels.Group(ref choices, rows, Experts, TopK, capacity, ref starts, ref assignments, ref positions);");
                w.Line($"{K}MixtureKernels.Gather(ref x, Features, ref assignments, Unsafe.Add(ref starts, Experts), TopK, ref sorted);");
                OpenExpertLoop(w);
                w.Line("ref float ew = ref Unsafe.Add(ref w, e * ExpertStride);");
                for (int j = 0; j < n; j++)
                {
                    ExpertLayer l = m.Layers[j];
                    string input = j == 0 ? "sorted" : $"out{j - 1}";
                    string target = m.KeepsZ(j) ? $"z{j}" : $"out{j}";
                    w.Line($"Layer{j}.ForwardRows<{K}{Fused(m, j)}>(ref Unsafe.Add(ref {input}, first * {l.Inputs}), ref Unsafe.Add(ref ew, Layer{j}Weight), ref Unsafe.Add(ref ew, Layer{j}Bias), ref Unsafe.Add(ref {target}, first * {l.Outputs}), count);");
                    if (m.KeepsZ(j))
                        w.Line($"{K}ActivationSpan.Forward<{K}{OperatorName(l.Activation)}>({Rows($"z{j}", l.Outputs)}, {Rows($"out{j}", l.Outputs)});");
                }
                w.CloseBlock();
                w.Line($"{K}MixtureKernels.Combine(ref out{n - 1}, OutputFeatures, ref positions, ref gates, rows, TopK, ref y);");
                w.Line("return dropped;");
                w.CloseBlock();
            }

            // The loop over the experts that have rows: expert e's sorted rows are first .. first + count.
            private static void OpenExpertLoop(SourceWriter w)
            {
                w.OpenBlock("for (int e = 0; e < Experts; e++)");
                w.Line("int first = Unsafe.Add(ref starts, e), count = Unsafe.Add(ref starts, e + 1) - first;");
                w.Line("if (count == 0) continue;");
            }

            // An expert's rows first .. first + count of a sorted region `name` of `width` floats per row.
            private static string Rows(string name, int width) => $"MemoryMarshal.CreateSpan(ref Unsafe.Add(ref {name}, first * {width}), count * {width})";

            private static void EmitRegion(SourceWriter w, Mixture m)
            {
                w.Line("ref float probabilities = ref region;");
                w.Line("ref float gates = ref Unsafe.Add(ref region, rows * GatesAt);");
                w.Line("ref int choices = ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, rows * ChoicesAt));");
                w.Line("ref int positions = ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, rows * PositionsAt));");
                w.Line("ref int assignments = ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, rows * AssignmentsAt));");
                w.Line("ref float sorted = ref Unsafe.Add(ref region, rows * SortedAt);");
                for (int j = 0; j < m.Layers.Count; j++)
                {
                    if (m.KeepsZ(j)) w.Line($"ref float z{j} = ref Unsafe.Add(ref region, rows * Z{j}At);");
                    w.Line($"ref float out{j} = ref Unsafe.Add(ref region, rows * Out{j}At);");
                }
            }

            public static void EmitBackward(SourceWriter w, Mixture m, Plan plan)
            {
                EmitProducts(w, m, plan, backward: true);
                int n = m.Layers.Count;
                w.Line("/// <summary>");
                w.Line("/// The training forward over rows (samples, or their tokens): ForwardRows with the capacity of a training batch, then the");
                w.Line("/// batch's routing statistics (the whole batch's, when it is split across threads) into statistics.");
                w.Line("/// </summary>");
                w.OpenBlock($"public static void ForwardTrain(ref float x, ref float w, ref float y, int rows, ref float region, global::System.Span<float> statistics, global::Dsl.Workspace workspace)");
                w.Line("ref int starts = ref Unsafe.As<float, int>(ref MemoryMarshal.GetReference(statistics));");
                w.Line($"int dropped = ForwardRows(ref x, ref w, ref y, rows, ref region, ref starts, {K}MixtureKernels.Capacity(CapacityFactor, rows, Experts, TopK));");
                w.Line($"{K}MixtureKernels.Statistics(ref region, ref Unsafe.As<float, int>(ref Unsafe.Add(ref region, rows * ChoicesAt)), rows, Experts, TopK, dropped, BalanceWeight, workspace, statistics);");
                w.CloseBlock();
                w.Line();
                w.Line("/// <summary>");
                w.Line("/// From dL/dy: each expert's gated dy back through its layers over its rows (dW and db into its gradients, dx into the sorted");
                w.Line("/// dx), dL/d(gate) = dy . output, the router's dz from the gates and the balancing loss, dx = dz W_r^T plus each row's");
                w.Line("/// experts' dx (when inputGradient), dW_r += x^T dz. Each dx is formed before its dW, which a fused SGD step changes.");
                w.Line("/// </summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void Backward(ref float x, ref float w, ref float dy, ref float dx, bool inputGradient, int rows, ref float region, ref float gradient, " +
                            "global::System.Span<float> statistics, ref float products, float productScale, ref float grads, ref float transposed)");
                EmitRegion(w, m);
                w.Line("ref int starts = ref Unsafe.As<float, int>(ref MemoryMarshal.GetReference(statistics));");
                w.Line("ref float logitGradient = ref gradient;");
                w.Line("ref float gateGradient = ref Unsafe.Add(ref gradient, rows * Experts);");
                w.Line("ref float sortedDx = ref Unsafe.Add(ref gradient, rows * (Experts + TopK));");
                w.Line("ref float outputGradient = ref Unsafe.Add(ref sortedDx, rows * TopK * Features);");
                if (m.HiddenWidth > 0)
                {
                    w.Line("ref float hiddenA = ref Unsafe.Add(ref outputGradient, rows * TopK * OutputFeatures);");
                    w.Line($"ref float hiddenB = ref Unsafe.Add(ref hiddenA, rows * TopK * {m.HiddenWidth});");
                }
                w.Line($"{K}MixtureKernels.CombineBackward(ref dy, ref out{n - 1}, OutputFeatures, ref positions, ref gates, rows, TopK, ref outputGradient, ref gateGradient);");
                OpenExpertLoop(w);
                w.Line("nint at = e * ExpertStride;");
                for (int j = n - 1; j >= 0; j--)
                {
                    ExpertLayer l = m.Layers[j];
                    // dL/dz of layer j: the sorted dy for the last, else the hidden buffers in turn.
                    string g = j == n - 1 ? "outputGradient" : (n - 2 - j) % 2 == 0 ? "hiddenA" : "hiddenB";
                    string dxTarget = j == 0 ? "sortedDx" : (n - 1 - j) % 2 == 0 ? "hiddenA" : "hiddenB";
                    string input = j == 0 ? "sorted" : $"out{j - 1}";
                    w.Line($"// {l.Name}: {Maths.ActivationGradient(l.Activation)}; dx = dz W^T; dW += x^T dz{(l.HasBias ? "; db += sum of dz" : "")}");
                    if (l.Activation != ActivationKind.None)
                        w.Line($"{K}ActivationSpan.Backward<{K}{OperatorName(l.Activation)}>({Rows(m.KeepsZ(j) ? $"z{j}" : $"out{j}", l.Outputs)}, {Rows(g, l.Outputs)});");
                    if (j == 0) w.OpenBlock("if (inputGradient)");
                    w.Line($"Layer{j}.TransposeWeights(ref Unsafe.Add(ref w, at + Layer{j}Weight), ref transposed);");
                    w.Line($"Layer{j}.Transposed.ForwardRows<{K}Identity>(ref Unsafe.Add(ref {g}, first * {l.Outputs}), ref transposed, ref transposed, ref Unsafe.Add(ref {dxTarget}, first * {l.Inputs}), count);");
                    if (j == 0) w.CloseBlock();
                    w.Line($"Layer{j}.AccumulateGradients(ref Unsafe.Add(ref {input}, first * {l.Inputs}), ref Unsafe.Add(ref {g}, first * {l.Outputs}), (nuint)count, " +
                           $"ref Unsafe.Add(ref products, at + Layer{j}Weight), productScale, ref Unsafe.Add(ref grads, at + Layer{j}Bias), ref Unsafe.Add(ref {g}, first * {l.Outputs}));");
                }
                w.CloseBlock();
                w.Line($"{K}MixtureKernels.RouterBackward(ref probabilities, ref gates, ref choices, ref gateGradient, rows, Experts, TopK, Renormalize, " +
                       "statistics.Slice(new global::Dsl.MixtureStatistics.Layout(Experts).BalanceGradient, Experts), ref logitGradient);");
                w.OpenBlock("if (inputGradient)");
                w.Line("Router.TransposeWeights(ref w, ref transposed);");
                w.Line($"Router.Transposed.ForwardRows<{K}Identity>(ref logitGradient, ref transposed, ref transposed, ref dx, rows);");
                w.Line($"{K}MixtureKernels.ScatterAdd(ref sortedDx, Features, ref assignments, Unsafe.Add(ref starts, Experts), TopK, ref dx);");
                w.CloseBlock();
                w.Line("Router.AccumulateGradients(ref x, ref logitGradient, (nuint)rows, ref products, productScale, ref Unsafe.Add(ref grads, RouterBias), ref logitGradient);");
                w.CloseBlock();
            }
        }
    }
}
