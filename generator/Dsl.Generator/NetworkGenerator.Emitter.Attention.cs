using System.Collections.Generic;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Multi-head self-attention as six matrix products, each run by the dense kernels with its sizes baked
        /// in: the input projection [L, D] x [D, 3D]; per head the scores Q_h K_h^T ([L, dh] x [dh, L]) and the
        /// mix P V_h ([L, L] x [L, dh]); the output projection [L, D] x [D, D]. A head's Q (pre-scaled by
        /// 1/sqrt(dh)), K^T and V are first copied out of the projected rows so each product reads contiguous
        /// rows (the runtime's AttentionKernels.GatherHead and ScatterHead in the forward). The backward reuses the same two per-head shapes: dP = dO V^T is a scores product, and
        /// dV = P^T dO, dQ = dS K, dK = dS^T Q are mix products.
        /// </summary>
        internal static class AttentionEmitter
        {
            /// <summary>Per head: q, k (or k^T), v, v^T, dO, dV, dQ, dK, each [L, dh].</summary>
            public static int HeadScratchFloats(Attention layer) => 8 * layer.Input.Width * layer.HeadDim;

            public static void EmitConstants(SourceWriter w, Attention layer)
            {
                int l = layer.Input.Width, d = layer.Input.Channels;
                w.Line($"public const int Length = {l}; // tokens");
                w.Line($"public const int ModelDim = {d};");
                w.Line($"public const int Heads = {layer.Heads};");
                w.Line($"public const int HeadDim = {layer.HeadDim};");
                w.Line($"public const int HeadFloats = {l * layer.HeadDim}; // one head's Q, K or V: [Length, HeadDim]");
                w.Line($"public const int ScoreFloats = {l * l}; // one head's scores: [Length, Length]");
            }

            public static void EmitForward(SourceWriter w, Attention layer, Plan plan)
            {
                int l = layer.Input.Width, d = layer.Input.Channels, dh = layer.HeadDim;
                string scale = SourceWriter.Float((float)(1.0 / System.Math.Sqrt(dh)));
                w.Line($"private const float Scale = {scale}; // 1/sqrt(HeadDim), folded into Q");
                w.Line();
                EmitProduct(w, "InProjection", $"[Q K V] = x W_in + b_in: [{l}, {d}] x [{d}, {3 * d}]", new Gemm(d, 3 * d, layer.HasBias, layer.HasBias), plan, backward: false);
                EmitProduct(w, "Scores", $"S = Q_h K_h^T (and dP = dO V_h^T): [{l}, {dh}] x [{dh}, {l}]", new Gemm(dh, l, false, false), plan, backward: false);
                EmitProduct(w, "Mix", $"O_h = P V_h (and dV = P^T dO, dQ = dS K, dK = dS^T Q): [{l}, {l}] x [{l}, {dh}]", new Gemm(l, dh, false, false), plan, backward: false);
                EmitProduct(w, "OutProjection", $"y = O W_out + b_out: [{l}, {d}] x [{d}, {d}]", new Gemm(d, d, layer.HasBias, layer.HasBias), plan, backward: false);

                w.Line("/// <summary>");
                w.Line($"/// One sample: y = softmax(Q_h K_h^T / sqrt({dh}){(layer.Causal ? " + causal mask" : "")}) V_h per head, concatenated, then projected.");
                w.Line("/// Keeps the projected rows (qkv), each head's probabilities (head h at h * probabilityStride) and the");
                w.Line("/// concatenated head outputs (mixed) for the backward pass; head is scratch for one head at a time.");
                w.Line("/// </summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void Forward(ref float x, ref float inWeight, ref float inBias, ref float outWeight, ref float outBias, ref float y, " +
                            "ref float qkv, ref float probabilities, nuint probabilityStride, ref float mixed, ref float head)");
                w.Line("ref float q = ref head;");
                w.Line("ref float kT = ref Unsafe.Add(ref head, HeadFloats);");
                w.Line("ref float v = ref Unsafe.Add(ref head, 2 * HeadFloats);");
                w.Line("ref float o = ref Unsafe.Add(ref head, 3 * HeadFloats);");
                w.Line("InProjection.ForwardRows<global::Dsl.Kernels.Identity>(ref x, ref inWeight, ref inBias, ref qkv, Length);");
                w.OpenBlock("for (nuint h = 0; h < Heads; h++)");
                w.Line("ref float p = ref Unsafe.Add(ref probabilities, h * probabilityStride);");
                w.Line("global::Dsl.Kernels.AttentionKernels.GatherHead(MemoryMarshal.CreateReadOnlySpan(ref qkv, Length * 3 * ModelDim), Length, ModelDim, HeadDim, (int)h, Scale, " +
                       "MemoryMarshal.CreateSpan(ref q, HeadFloats), MemoryMarshal.CreateSpan(ref kT, HeadFloats), MemoryMarshal.CreateSpan(ref v, HeadFloats));");
                w.Line("Scores.ForwardRows<global::Dsl.Kernels.Identity>(ref q, ref kT, ref kT, ref p, Length);");
                w.Line($"global::Dsl.Kernels.AttentionKernels.SoftmaxRows(MemoryMarshal.CreateSpan(ref p, ScoreFloats), Length, causal: {(layer.Causal ? "true" : "false")});");
                w.Line("Mix.ForwardRows<global::Dsl.Kernels.Identity>(ref p, ref v, ref v, ref o, Length);");
                w.Line("global::Dsl.Kernels.AttentionKernels.ScatterHead(MemoryMarshal.CreateReadOnlySpan(ref o, HeadFloats), Length, ModelDim, HeadDim, (int)h, MemoryMarshal.CreateSpan(ref mixed, Length * ModelDim));");
                w.CloseBlock();
                w.Line("OutProjection.ForwardRows<global::Dsl.Kernels.Identity>(ref mixed, ref outWeight, ref outBias, ref y, Length);");
                w.CloseBlock();
                // Only a network with a decode step (a causal language model) calls it.
                if (!Decodes(plan.Spec)) return;
                w.Line();
                EmitDecode(w, layer);
            }

            /// <summary>A decode step's floats for the layer: the new token's Q, K, V, its scores, the mixed heads, and the cached keys and values.</summary>
            public static int DecodeFloats(Attention layer)
            {
                int l = layer.Input.Width, d = layer.Input.Channels;
                return 3 * d + l + d + 2 * l * d;
            }

            // A causal layer's decode step: one row through the projections, attention over the cached positions.
            private static void EmitDecode(SourceWriter w, Attention layer)
            {
                w.Line("/// <summary>");
                w.Line("/// A decode step: the token row x at <paramref name=\"position\"/> through the layer, its key and value appended to the");
                w.Line("/// cached rows of the positions before it, each head attending to positions 0..position. region holds the row's Q, K, V,");
                w.Line("/// the scores, the mixed heads, then the cached keys [Length, ModelDim] and values [Length, ModelDim].");
                w.Line("/// </summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void Decode(ref float x, ref float inWeight, ref float inBias, ref float outWeight, ref float outBias, ref float y, ref float region, nuint position)");
                w.Line("ref float qkv = ref region;");
                w.Line("ref float scores = ref Unsafe.Add(ref region, 3 * ModelDim);");
                w.Line("ref float mixed = ref Unsafe.Add(ref scores, Length);");
                w.Line("ref float keys = ref Unsafe.Add(ref mixed, ModelDim);");
                w.Line("ref float values = ref Unsafe.Add(ref keys, Length * ModelDim);");
                w.Line("InProjection.ForwardRows<global::Dsl.Kernels.Identity>(ref x, ref inWeight, ref inBias, ref qkv, 1);");
                w.Line("MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref qkv, ModelDim), ModelDim).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref keys, position * ModelDim), ModelDim));");
                w.Line("MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref qkv, 2 * ModelDim), ModelDim).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref values, position * ModelDim), ModelDim));");
                w.Line("for (int h = 0; h < Heads; h++)");
                w.Line("    global::Dsl.Kernels.AttentionKernels.DecodeHead(ref Unsafe.Add(ref qkv, h * HeadDim), ref keys, ref values, (int)position + 1, ModelDim, HeadDim, h, Scale, ref scores, ref Unsafe.Add(ref mixed, h * HeadDim));");
                w.Line("OutProjection.ForwardRows<global::Dsl.Kernels.Identity>(ref mixed, ref outWeight, ref outBias, ref y, 1);");
                w.CloseBlock();
            }

            public static void EmitBackward(SourceWriter w, Attention layer, Plan plan)
            {
                int l = layer.Input.Width, d = layer.Input.Channels, dh = layer.HeadDim;
                EmitProduct(w, "InProjection", null, new Gemm(d, 3 * d, layer.HasBias, layer.HasBias), plan, backward: true);
                EmitProduct(w, "OutProjection", null, new Gemm(d, d, layer.HasBias, layer.HasBias), plan, backward: true);

                w.Line("/// <summary>");
                w.Line("/// One sample, every head: from dL/d(concatenated outputs) and what the forward kept, dL/d(projected rows).");
                w.Line("/// dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(dP P)) (masked entries have P = 0, so dS = 0);");
                w.Line($"/// dQ = dS K / sqrt({dh}); dK = dS^T Q / sqrt({dh}).");
                w.Line("/// </summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void BackwardSample(ref float qkv, ref float probabilities, ref float mixedGradient, ref float qkvGradient, ref float head, ref float squares)");
                w.Line("ref float q = ref head;");
                w.Line("ref float k = ref Unsafe.Add(ref head, HeadFloats);");
                w.Line("ref float vT = ref Unsafe.Add(ref head, 2 * HeadFloats);");
                w.Line("ref float dO = ref Unsafe.Add(ref head, 3 * HeadFloats);");
                w.Line("ref float dV = ref Unsafe.Add(ref head, 4 * HeadFloats);");
                w.Line("ref float dQ = ref Unsafe.Add(ref head, 5 * HeadFloats);");
                w.Line("ref float dK = ref Unsafe.Add(ref head, 6 * HeadFloats);");
                w.Line("ref float pT = ref squares;");
                w.Line("ref float dS = ref Unsafe.Add(ref squares, ScoreFloats);");
                w.Line("ref float dST = ref Unsafe.Add(ref squares, 2 * ScoreFloats);");
                w.OpenBlock("for (nuint h = 0; h < Heads; h++)");
                w.Line("ref float p = ref Unsafe.Add(ref probabilities, h * ScoreFloats);");
                w.Line("GatherHeadForBackward(ref qkv, ref mixedGradient, h, ref q, ref k, ref vT, ref dO);");
                w.Line("TransposeScores(ref p, ref pT);");
                w.Line("Mix.ForwardRows<global::Dsl.Kernels.Identity>(ref pT, ref dO, ref dO, ref dV, Length);");
                w.Line("Scores.ForwardRows<global::Dsl.Kernels.Identity>(ref dO, ref vT, ref vT, ref dS, Length);");
                w.Line("global::Dsl.Kernels.AttentionKernels.SoftmaxRowsBackward(MemoryMarshal.CreateReadOnlySpan(ref p, ScoreFloats), MemoryMarshal.CreateSpan(ref dS, ScoreFloats), Length);");
                w.Line("Mix.ForwardRows<global::Dsl.Kernels.Identity>(ref dS, ref k, ref k, ref dQ, Length);");
                w.Line("TransposeScores(ref dS, ref dST);");
                w.Line("Mix.ForwardRows<global::Dsl.Kernels.Identity>(ref dST, ref q, ref q, ref dK, Length);");
                w.Line("ScatterHeadGradient(ref dQ, ref dK, ref dV, h, ref qkvGradient);");
                w.CloseBlock();
                w.CloseBlock();
                w.Line();

                w.Line($"/// <summary>Head h's Q / sqrt({dh}) and K as [{l}, {dh}], V^T as [{dh}, {l}], and its slice of dL/d(concatenated outputs) as [{l}, {dh}].</summary>");
                w.OpenBlock("private static void GatherHeadForBackward(ref float qkv, ref float mixedGradient, nuint h, ref float q, ref float k, ref float vT, ref float dO)");
                EmitHeadLoop(w, d, l, dh,
                    "Unsafe.Add(ref q, t * HeadDim + i) = Unsafe.Add(ref row, i) * Scale;",
                    "Unsafe.Add(ref k, t * HeadDim + i) = Unsafe.Add(ref row, ModelDim + i);",
                    "Unsafe.Add(ref vT, i * Length + t) = Unsafe.Add(ref row, 2 * ModelDim + i);",
                    "Unsafe.Add(ref dO, t * HeadDim + i) = Unsafe.Add(ref mixedGradient, t * ModelDim + h * HeadDim + i);");
                w.CloseBlock();
                w.Line();
                w.Line("/// <summary>dQ (still to be scaled), dK and dV of head h into its columns of dL/d(projected rows).</summary>");
                w.OpenBlock("private static void ScatterHeadGradient(ref float dQ, ref float dK, ref float dV, nuint h, ref float qkvGradient)");
                w.OpenBlock("for (nuint t = 0; t < Length; t++)");
                w.Line("ref float row = ref Unsafe.Add(ref qkvGradient, t * 3 * ModelDim + h * HeadDim);");
                w.OpenBlock("for (nuint i = 0; i < HeadDim; i++)");
                w.Line("Unsafe.Add(ref row, i) = Unsafe.Add(ref dQ, t * HeadDim + i) * Scale;");
                w.Line("Unsafe.Add(ref row, ModelDim + i) = Unsafe.Add(ref dK, t * HeadDim + i);");
                w.Line("Unsafe.Add(ref row, 2 * ModelDim + i) = Unsafe.Add(ref dV, t * HeadDim + i);");
                w.CloseBlock();
                w.CloseBlock();
                w.CloseBlock();
                w.Line();
                w.Line($"/// <summary>[{l}, {l}] transposed.</summary>");
                w.OpenBlock("private static void TransposeScores(ref float a, ref float aT)");
                w.Line("for (nuint r = 0; r < Length; r++)");
                w.Line("    for (nuint c = 0; c < Length; c++)");
                w.Line("        Unsafe.Add(ref aT, c * Length + r) = Unsafe.Add(ref a, r * Length + c);");
                w.CloseBlock();
            }

            private static void EmitHeadLoop(SourceWriter w, int d, int l, int dh, params string[] body)
            {
                w.OpenBlock("for (nuint t = 0; t < Length; t++)");
                w.Line("ref float row = ref Unsafe.Add(ref qkv, t * 3 * ModelDim + h * HeadDim);");
                w.OpenBlock("for (nuint i = 0; i < HeadDim; i++)");
                foreach (string line in body) w.Line(line);
                w.CloseBlock();
                w.CloseBlock();
            }

            internal static void EmitProduct(SourceWriter w, string name, string? comment, Gemm gemm, Plan plan, bool backward)
            {
                if (comment is not null) w.Line($"// {comment}");
                w.OpenBlock($"public static partial class {name}");
                if (!backward)
                {
                    w.Line($"public const int Inputs = {gemm.Inputs};");
                    w.Line($"public const int Outputs = {gemm.Outputs};");
                    w.Line();
                    DenseEmitter.EmitForward(w, gemm, plan);
                }
                else
                {
                    DenseEmitter.EmitBackward(w, gemm, plan);
                }
                w.CloseBlock();
                w.Line();
            }
        }
    }
}
