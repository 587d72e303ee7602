using System;
using System.Collections.Generic;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Dense kernels. Weights are input-major ([in, out]) so every kernel streams whole rows: for input i,
        /// broadcast x[i] and multiply-add it into a tile of output accumulators held in registers. Output
        /// columns are cut into vectors at generation time; a width that is not a multiple of the vector ends
        /// in one overlapping vector (Out - W), masked where it would count lanes twice.
        /// </summary>
        private static class DenseEmitter
        {
            // Accumulator tiles sized to the register file: 8 vectors for one sample; for four samples, 4x4
            // where AVX-512's 32 registers are sure to be there, 4x2 for 256/128-bit vectors (16 registers on x64).
            private const int SingleTile = 8;
            private static int RowTile(Isa isa) => isa == Isa.V512 || isa.IsScalar ? 4 : 2;
            private const int Rows = 4;

            // Multiply-adds per tile up to which a batch-1 forward is written out in full rather than as a loop
            // over inputs: enough for call-overhead-bound tiny layers, small enough to keep compile time and code size flat.
            private const int UnrollBudget = 64;

            /// <summary>
            /// The distinct kernels a layer needs: one per vector width that fits its outputs, each called when
            /// the narrowest rung that uses it is accelerated (a wider rung implies the narrower ones).
            /// </summary>
            private static List<(Isa Target, string Condition)> Dispatch(int outputs)
            {
                var result = new List<(Isa, string)>();
                foreach (Isa rung in Isa.Ladder)
                {
                    Isa target = rung.NarrowedTo(outputs);
                    string condition = rung.IsScalar ? "" : rung.IsAccelerated;
                    if (result.Count > 0 && result[result.Count - 1].Item1 == target) result[result.Count - 1] = (target, condition);
                    else result.Add((target, condition));
                }
                return result;
            }

            public static void EmitForward(SourceWriter w, Gemm layer)
            {
                var dispatch = Dispatch(layer.Outputs);
                EmitDispatch(w, dispatch, "Forward1", "ref float x, ref float w, ref float b, ref float y", "ref x, ref w, ref b, ref y", generic: true);
                EmitDispatch(w, dispatch, "Forward4", "ref float x, ref float w, ref float b, ref float y", "ref x, ref w, ref b, ref y", generic: true);
                w.Line("/// <summary>Forward for <paramref name=\"rows\"/> rows: four at a time share each weight row, the rest one by one.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void ForwardRows<TActivation>(ref float x, ref float w, ref float b, ref float y, int rows) where TActivation : struct, global::Dsl.Kernels.IActivation");
                w.Line("nuint s = 0;");
                w.Line("for (; s + 4 <= (nuint)rows; s += 4)");
                w.Line("    Forward4<TActivation>(ref Unsafe.Add(ref x, s * Inputs), ref w, ref b, ref Unsafe.Add(ref y, s * Outputs));");
                w.Line("for (; s < (nuint)rows; s++)");
                w.Line("    Forward1<TActivation>(ref Unsafe.Add(ref x, s * Inputs), ref w, ref b, ref Unsafe.Add(ref y, s * Outputs));");
                w.CloseBlock();
                foreach ((Isa target, _) in dispatch)
                {
                    w.Line();
                    EmitForwardKernel(w, layer, target, rows: 1);
                    w.Line();
                    EmitForwardKernel(w, layer, target, rows: Rows);
                }
            }

            /// <summary>
            /// dL/dW and dL/db, and the input gradient as the forward product over W^T: dx = dz W^T runs the same
            /// broadcast-and-accumulate kernels on the transposed weight (transposed once per batch), which beats
            /// a dot product per input and its horizontal sum.
            /// </summary>
            public static void EmitBackward(SourceWriter w, Gemm layer)
            {
                var dispatch = Dispatch(layer.Outputs);
                EmitDispatch(w, dispatch, "AccumulateGradients", "ref float x, ref float g, nuint rows, ref float gw, ref float gb", "ref x, ref g, rows, ref gw, ref gb", generic: false);
                foreach ((Isa target, _) in dispatch)
                {
                    w.Line();
                    EmitAccumulateGradients(w, layer, target);
                }
                w.Line();
                w.Line($"/// <summary>W^T = [{layer.Outputs}, {layer.Inputs}] per group, for the input gradient.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock($"public static void TransposeWeights(ref float w, ref float transposed)");
                w.OpenBlock($"for (nuint g = 0; g < {layer.Groups}; g++)");
                w.Line($"ref float wg = ref Unsafe.Add(ref w, g * {layer.Inputs * layer.Outputs});");
                w.Line($"ref float tg = ref Unsafe.Add(ref transposed, g * {layer.Inputs * layer.Outputs});");
                // Rows of W^T are written in order; W is read down its columns, from cache (it is at most a few hundred KB).
                w.Line($"for (nuint n = 0; n < {layer.Outputs}; n++)");
                w.Line($"    for (nuint k = 0; k < {layer.Inputs}; k++)");
                w.Line($"        Unsafe.Add(ref tg, n * {layer.Inputs} + k) = Unsafe.Add(ref wg, k * {layer.Outputs} + n);");
                w.CloseBlock();
                w.CloseBlock();
                w.Line();
                w.Line("/// <summary>The forward kernels over W^T: rows of dL/dz in, rows of dL/dx out.</summary>");
                w.OpenBlock("public static class Transposed");
                w.Line($"public const int Inputs = {layer.Outputs};");
                w.Line($"public const int Outputs = {layer.Inputs};");
                w.Line();
                EmitForward(w, new Gemm(layer.Outputs, layer.Inputs, ForwardBias: false, BackwardBias: false));
                w.CloseBlock();
            }

            private static void EmitDispatch(SourceWriter w, List<(Isa Target, string Condition)> dispatch, string name, string parameters, string arguments, bool generic)
            {
                string typeParameter = generic ? "<TActivation>" : "";
                string constraint = generic ? " where TActivation : struct, global::Dsl.Kernels.IActivation" : "";
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.OpenBlock($"public static void {name}{typeParameter}({parameters}){constraint}");
                if (dispatch.Count > 1) w.Line("// The JIT folds IsHardwareAccelerated to a constant, so only one call survives.");
                for (int r = 0; r < dispatch.Count; r++)
                {
                    string call = $"{name}_{dispatch[r].Target.Suffix}{typeParameter}({arguments});";
                    if (dispatch.Count == 1) w.Line(call);
                    else if (r == dispatch.Count - 1) w.Line("else " + call);
                    else
                    {
                        w.Line($"{(r == 0 ? "if" : "else if")} ({dispatch[r].Condition})");
                        w.Line("    " + call);
                    }
                }
                w.CloseBlock();
                w.Line();
            }

            private static void KernelHeader(SourceWriter w, string signature)
            {
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock(signature);
            }

            // y[r, :] = act(b + sum_i x[r, i] W[i, :]) for `rows` samples.
            private static void EmitForwardKernel(SourceWriter w, Gemm layer, Isa isa, int rows)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int perTile = rows == 1 ? SingleTile : RowTile(isa);
                KernelHeader(w, $"private static void Forward{rows}_{isa.Suffix}<TActivation>(ref float x, ref float w, ref float b, ref float y) where TActivation : struct, global::Dsl.Kernels.IActivation");
                columns.EmitTiles(w, perTile, tile =>
                {
                    for (int k = 0; k < tile.Count; k++)
                    {
                        string init = layer.ForwardBias ? isa.Load("b", tile[k].Offset.ToString()) : isa.Zero;
                        if (rows == 1) w.Line($"var acc{k} = {init};");
                        else
                        {
                            w.Line($"var bias{k} = {init};");
                            for (int r = 0; r < rows; r++) w.Line($"var acc{r}_{k} = bias{k};");
                        }
                    }
                    if (rows == 1 && layer.Inputs * tile.Count <= UnrollBudget)
                    {
                        w.Line($"// {layer.Inputs} inputs x {tile.Count} vectors fit the unroll budget: straight-line code, constant offsets.");
                        for (int i = 0; i < layer.Inputs; i++)
                        {
                            w.Line($"var x{i} = {isa.Broadcast($"Unsafe.Add(ref x, {i})")};");
                            for (int k = 0; k < tile.Count; k++)
                                w.Line($"acc{k} = {isa.MultiplyAdd(isa.Load("w", tile[k].Offset.Plus(i * layer.Outputs).ToString()), $"x{i}", $"acc{k}")};");
                        }
                        for (int k = 0; k < tile.Count; k++)
                            w.Line(isa.Store($"TActivation.Invoke(acc{k})", "y", tile[k].Offset.ToString()));
                        return;
                    }
                    w.OpenBlock($"for (nuint i = 0; i < {layer.Inputs}; i++)");
                    w.Line($"ref float wi = ref Unsafe.Add(ref w, i * {layer.Outputs});");
                    if (rows == 1)
                    {
                        w.Line($"var xi = {isa.Broadcast("Unsafe.Add(ref x, i)")};");
                        for (int k = 0; k < tile.Count; k++)
                            w.Line($"acc{k} = {isa.MultiplyAdd(isa.Load("wi", tile[k].Offset.ToString()), "xi", $"acc{k}")};");
                    }
                    else
                    {
                        for (int k = 0; k < tile.Count; k++) w.Line($"var w{k} = {isa.Load("wi", tile[k].Offset.ToString())};");
                        for (int r = 0; r < rows; r++) w.Line($"var x{r} = {isa.Broadcast(r == 0 ? "Unsafe.Add(ref x, i)" : $"Unsafe.Add(ref x, {r * layer.Inputs} + i)")};");
                        for (int r = 0; r < rows; r++)
                            for (int k = 0; k < tile.Count; k++)
                                w.Line($"acc{r}_{k} = {isa.MultiplyAdd($"w{k}", $"x{r}", $"acc{r}_{k}")};");
                    }
                    w.CloseBlock();
                    for (int r = 0; r < rows; r++)
                        for (int k = 0; k < tile.Count; k++)
                        {
                            string acc = rows == 1 ? $"acc{k}" : $"acc{r}_{k}";
                            w.Line(isa.Store($"TActivation.Invoke({acc})", "y", tile[k].Offset.Plus(r * layer.Outputs).ToString()));
                        }
                });
                w.CloseBlock();
            }

            // dL/db += sum_s g[s, :];  dL/dW[i, :] += sum_s x[s, i] g[s, :], four input rows at a time.
            private static void EmitAccumulateGradients(SourceWriter w, Gemm layer, Isa isa)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int perTile = RowTile(isa);
                KernelHeader(w, $"private static void AccumulateGradients_{isa.Suffix}(ref float x, ref float g, nuint rows, ref float gw, ref float gb)");
                if (columns.HasTail && !isa.IsScalar)
                {
                    w.Line("// The last vector overlaps the one before it: its repeated lanes add zero, and it is stored first so");
                    w.Line("// the full vector's store of those lanes wins.");
                    w.Line($"var tailMask = {isa.TailMask(columns.TailFirstKept)};");
                }
                string G(Segment s) => s.Masked ? $"{isa.Load("gs", s.Offset.ToString())} & tailMask" : isa.Load("gs", s.Offset.ToString());

                if (layer.BackwardBias)
                {
                    w.Line();
                    w.Line("// bias: column sums of dL/dz");
                    columns.EmitTiles(w, perTile * Rows, tile =>
                    {
                        for (int k = 0; k < tile.Count; k++) w.Line($"var acc{k} = {isa.Load("gb", tile[k].Offset.ToString())};");
                        w.OpenBlock("for (nuint s = 0; s < rows; s++)");
                        w.Line($"ref float gs = ref Unsafe.Add(ref g, s * {layer.Outputs});");
                        for (int k = 0; k < tile.Count; k++) w.Line($"acc{k} += {G(tile[k])};");
                        w.CloseBlock();
                        for (int k = tile.Count - 1; k >= 0; k--) w.Line(isa.Store($"acc{k}", "gb", tile[k].Offset.ToString()));
                    });
                }

                int fullRows = layer.Inputs / Rows * Rows;
                w.Line();
                w.Line($"// weight: rows of x^T dL/dz, {Rows} inputs by a tile of outputs at a time");
                if (fullRows == Rows)
                {
                    w.OpenBlock("");
                    w.Line("const nuint i = 0;");
                    EmitWeightGradientRows(w, layer, isa, columns, perTile, Rows, "i", G);
                    w.CloseBlock();
                }
                else if (fullRows > 0)
                {
                    w.OpenBlock($"for (nuint i = 0; i < {fullRows}; i += {Rows})");
                    EmitWeightGradientRows(w, layer, isa, columns, perTile, Rows, "i", G);
                    w.CloseBlock();
                }
                if (layer.Inputs > fullRows)
                {
                    w.OpenBlock("");
                    w.Line($"const nuint i = {fullRows};");
                    EmitWeightGradientRows(w, layer, isa, columns, perTile, layer.Inputs - fullRows, "i", G);
                    w.CloseBlock();
                }
                w.CloseBlock();
            }

            private static void EmitWeightGradientRows(SourceWriter w, Gemm layer, Isa isa, Columns columns, int perTile, int rows, string i, Func<Segment, string> g)
            {
                w.Line($"ref float gwi = ref Unsafe.Add(ref gw, {i} * {layer.Outputs});");
                columns.EmitTiles(w, perTile, tile =>
                {
                    for (int r = 0; r < rows; r++)
                        for (int k = 0; k < tile.Count; k++)
                            w.Line($"var acc{r}_{k} = {isa.Load("gwi", tile[k].Offset.Plus(r * layer.Outputs).ToString())};");
                    w.OpenBlock("for (nuint s = 0; s < rows; s++)");
                    w.Line($"ref float gs = ref Unsafe.Add(ref g, s * {layer.Outputs});");
                    w.Line($"ref float xs = ref Unsafe.Add(ref x, s * {layer.Inputs} + {i});");
                    for (int k = 0; k < tile.Count; k++) w.Line($"var g{k} = {g(tile[k])};");
                    for (int r = 0; r < rows; r++) w.Line($"var x{r} = {isa.Broadcast($"Unsafe.Add(ref xs, {r})")};");
                    for (int r = 0; r < rows; r++)
                        for (int k = 0; k < tile.Count; k++)
                            w.Line($"acc{r}_{k} = {isa.MultiplyAdd($"g{k}", $"x{r}", $"acc{r}_{k}")};");
                    w.CloseBlock();
                    for (int r = 0; r < rows; r++)
                        for (int k = tile.Count - 1; k >= 0; k--)
                            w.Line(isa.Store($"acc{r}_{k}", "gwi", tile[k].Offset.Plus(r * layer.Outputs).ToString()));
                });
            }

        }

        /// <summary>
        /// A matrix product the dense kernels compute: rows of <see cref="Inputs"/> values times an input-major
        /// [Inputs, Outputs] weight. A dense layer is one row per sample; a convolution one row per output pixel
        /// (an im2col patch). The forward adds a bias when <see cref="ForwardBias"/>; backward accumulates its
        /// gradient when <see cref="BackwardBias"/> (a folded batch norm gives a convolution a bias in inference only).
        /// </summary>
        private sealed record Gemm(int Inputs, int Outputs, bool ForwardBias, bool BackwardBias, int Groups = 1);

        /// <summary>An element offset: a loop variable (or none) plus a constant.</summary>
        private readonly struct Offset
        {
            public Offset(string? variable, int constant)
            {
                Variable = variable;
                Constant = constant;
            }

            public string? Variable { get; }

            public int Constant { get; }

            public Offset Plus(int value) => new(Variable, Constant + value);

            public override string ToString() =>
                Variable is null ? SourceWriter.Int(Constant)
                : Constant == 0 ? Variable
                : $"{Variable} + {SourceWriter.Int(Constant)}";
        }

        private readonly struct Segment
        {
            public Segment(Offset offset, bool masked)
            {
                Offset = offset;
                Masked = masked;
            }

            public Offset Offset { get; }

            /// <summary>The overlapping tail vector, whose leading lanes repeat the previous vector's.</summary>
            public bool Masked { get; }
        }

        /// <summary>
        /// How a row of <c>n</c> outputs is cut into vectors on one rung: <see cref="Full"/> whole vectors of
        /// the widest width that fits, then, when n is not a multiple, one tail vector ending at n.
        /// </summary>
        private sealed class Columns
        {
            private Columns(Isa isa, int n)
            {
                Isa = isa;
                Full = n / isa.Width;
                HasTail = n % isa.Width != 0;
                TailOffset = n - isa.Width;
                TailFirstKept = Full * isa.Width - TailOffset;
            }

            public Isa Isa { get; }

            public int Full { get; }

            public bool HasTail { get; }

            public int TailOffset { get; }

            /// <summary>First lane of the tail vector that no full vector covers.</summary>
            public int TailFirstKept { get; }

            public static Columns Of(int n, Isa rung) => new(rung.NarrowedTo(n), n);

            /// <summary>
            /// Emits the body once per tile of up to <paramref name="perTile"/> vectors. Two or more whole tiles
            /// become a loop over <c>o</c> (bounded code size); the remainder is written out with constant offsets.
            /// </summary>
            public void EmitTiles(SourceWriter w, int perTile, Action<List<Segment>> body)
            {
                int width = Isa.Width;
                int regular = Full / perTile;
                int tileFloats = perTile * width;
                if (regular >= 2)
                {
                    w.OpenBlock($"for (nuint o = 0; o < {regular * tileFloats}; o += {tileFloats}) // outputs o..o+{tileFloats - 1}");
                    var tile = new List<Segment>();
                    for (int k = 0; k < perTile; k++) tile.Add(new Segment(new Offset("o", k * width), masked: false));
                    body(tile);
                    w.CloseBlock();
                }
                int explicitStart = regular >= 2 ? regular * perTile : 0;
                var pending = new List<Segment>();
                for (int k = explicitStart; k < Full; k++)
                {
                    pending.Add(new Segment(new Offset(null, k * width), masked: false));
                    if (pending.Count == perTile) Flush();
                }
                if (HasTail) pending.Add(new Segment(new Offset(null, TailOffset), masked: true));
                Flush();

                void Flush()
                {
                    if (pending.Count == 0) return;
                    int first = pending[0].Offset.Constant;
                    int last = pending[pending.Count - 1].Offset.Constant + width - 1;
                    w.OpenBlock($"// outputs {first}..{last}");
                    body(pending);
                    w.CloseBlock();
                    pending = new List<Segment>();
                }
            }
        }
    }
}
