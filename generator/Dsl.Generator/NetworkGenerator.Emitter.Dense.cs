using System;
using System.Collections.Generic;
using System.Linq;
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
        internal static class DenseEmitter
        {
            // Accumulator tiles sized to the register file: for one sample 16 vectors with AVX-512's 32 registers (a
            // 256-output row is then read once, contiguously), 8 with 16 registers; for four rows (the weight gradient's
            // inputs, and the blocked kernel of a layer too narrow for its wide tile), 4x4 with AVX-512 and scalar, 4x2
            // for 256/128-bit vectors.
            private static int SingleTile(Isa isa) => isa == Isa.V512 ? 16 : 8;
            private static int RowTile(Isa isa) => isa == Isa.V512 || isa.IsScalar ? 4 : 2;
            private const int Rows = 4;

            // Multiply-adds per tile up to which a batch-1 forward is written out in full rather than as a loop
            // over inputs: enough for call-overhead-bound tiny layers, small enough to keep compile time and code size flat.
            private const int UnrollBudget = 64;

            private const string ForwardArguments = "ref x, ref w, ref b, ref y";

            // A forward kernel's W and b: fp32, or bfloat16 (Gemm.BFloat16) read through a widening load into fp32 registers.
            private static string WeightType(bool bfloat16) => bfloat16 ? "ushort" : "float";

            private static string ForwardParameters(Gemm layer) => $"ref float x, ref {WeightType(layer.BFloat16)} w, ref {WeightType(layer.BFloat16)} b, ref float y";

            private static string LoadWeight(bool bfloat16, Isa isa, string reference, string offset) =>
                bfloat16 ? isa.LoadBFloat16(reference, offset) : isa.Load(reference, offset);

            /// <summary>
            /// The forward kernels: <c>Forward1</c> (one row, when the product's caller runs one alone) and <c>ForwardRows</c>,
            /// the register-blocked kernel. The AVX-512 and AVX2 kernels are written out; machines without AVX2 run the
            /// runtime's <c>FallbackKernels</c> on this product's <c>Shape</c>.
            /// </summary>
            public static void EmitForward(SourceWriter w, Gemm layer, Plan plan, bool writeKernels = true)
            {
                var written = Isa.Written(plan.Ladder, layer.Outputs, out bool fallback);
                if (!writeKernels)
                {
                    written.Clear();
                    fallback = true;
                }
                string Fallback(string rows) => $"global::Dsl.Kernels.{(layer.BFloat16 ? "BFloat16Kernels" : "FallbackKernels")}.Forward<Shape, TActivation>({ForwardArguments}, {rows});";
                bool packed = written.Any(r => IsPacked(layer, r.Target));
                bool narrow = Narrow512(layer, plan) && written.Count > 0;
                bool blocks = BlocksBatchOne(layer, plan) && written.Count > 0;
                if (fallback || packed || layer.Sparse || narrow || blocks) EmitShape(w, "Shape", layer, packed, fallback, layer.Sparse, narrow || blocks);
                const string Constraint = " where TActivation : struct, global::Dsl.Kernels.IActivation";
                // Batch 1: a product a few vectors wide, not a whole number of them, takes the interleaved kernel on AVX-512
                // and AVX2 where it fits, the ladder's kernels elsewhere.
                var single = new List<(Isa Target, string Condition)>();
                if (layer.BatchOne)
                {
                    // Each rung where it fits gets its own copy: a step's permutes run on one port, and AVX-512 permutes twice
                    // the lanes (a 12544 -> 10 head: Intel Xeon 4.3 -> 3.5 us, reading W at 143 GB/s from L2; as fast as
                    // AVX2's on Zen 4, which splits 512-bit permutes). An AVX-512 product that reads a packed copy
                    // (BlocksBatchOne) takes the runtime's kernel there instead.
                    foreach (Isa rung in plan.Ladder)
                        if (written.Count > 0 && Interleaved.Fits(layer, rung) && !(blocks && rung == Isa.V512))
                            single.Add((rung, rung.IsAccelerated));
                    // The ladder's kernels for the rungs below (one for AVX2 stays when only AVX-512 interleaves).
                    foreach ((Isa Target, string Condition) entry in written)
                        if (!single.Any(s => s.Target == entry.Target)) single.Add(entry);
                    EmitDispatcher(w, $"public static void Forward1<TActivation>({ForwardParameters(layer)}){Constraint}",
                        Calls(single, rung => $"Forward1_{rung.Suffix}<TActivation>({ForwardArguments});", fallback ? Fallback("1") : null));
                    w.Line();
                    if (blocks) EmitBlockedBatchOne(w, layer);
                }
                w.Line("/// <summary>Forward for <paramref name=\"rows\"/> rows, by the register-blocked kernel of the widest accelerated rung.</summary>");
                // A product that reads the network's packed panels (Gemm.Prepacks) has them as its blocked kernels' last argument.
                string Blocked(Isa rung, string panels) => $"ForwardBlocked_{rung.Suffix}<TActivation>({ForwardArguments}, (nuint)rows{(Prepacked(layer, rung) ? ", " + panels : "")});";
                var rowCalls = Calls(written, rung => Blocked(rung, "ref Unsafe.NullRef<float>()"), fallback ? Fallback("(nuint)rows") : null);
                if (narrow) rowCalls.Insert(0, (Isa.V512.IsAccelerated, $"global::Dsl.Kernels.NarrowKernels.Forward<Shape, TActivation>({ForwardArguments}, (nuint)rows);"));
                EmitDispatcher(w, $"public static void ForwardRows<TActivation>({ForwardParameters(layer)}, int rows){Constraint}", rowCalls);
                if (written.Any(r => Prepacked(layer, r.Target))) EmitPanelDispatchers(w, layer, written, fallback ? Fallback("(nuint)rows") : null, Blocked);
                foreach ((Isa target, _) in written)
                {
                    w.Line();
                    EmitBlockedKernel(w, layer, target);
                }
                if (!layer.BatchOne) return;
                foreach ((Isa target, _) in single)
                {
                    w.Line();
                    if (Interleaved.Fits(layer, target)) EmitInterleavedKernel(w, layer, target);
                    else EmitForwardKernel(w, layer, target);
                }
            }

            /// <summary>
            /// True when the product's batched forward runs the runtime's <c>NarrowKernels</c> on AVX-512: wider than one
            /// 256-bit vector and narrower than a 512-bit one (9 to 15 outputs), so the generated tiles, narrowed to AVX2,
            /// take two overlapping 256-bit vectors where one 512-bit vector holds the row; fp32 only.
            /// </summary>
            private static bool Narrow512(Gemm layer, Plan plan) =>
                layer.Outputs > Isa.V256.Width && layer.Outputs < Isa.V512.Width && !layer.BFloat16 && plan.Ladder.Contains(Isa.V512);

            /// <summary>
            /// True when the product's batch-1 forward reads a packed copy of W with AVX-512 (the runtime's
            /// <c>NarrowKernels.Forward1Blocked</c>, 8 to 16 outputs, inputs a multiple of 16): where the interleaved kernel
            /// would permute x for every vector of W, a classifier head after a flatten. fp32, unpruned.
            /// </summary>
            public static bool BlocksBatchOne(Gemm layer, Plan plan) =>
                layer.BatchOne && !layer.BFloat16 && !layer.Sparse && plan.Ladder.Contains(Isa.V512) && Interleaved.Fits(layer, Isa.V512) &&
                layer.Inputs % Isa.V512.Width == 0 && layer.Outputs >= 8 && layer.Outputs <= Isa.V512.Width;

            // Forward1Blocked (the packed copy, or Forward1 without one), and the copy's size and packing, for the call site.
            private static void EmitBlockedBatchOne(SourceWriter w, Gemm layer)
            {
                w.Line("/// <summary>Forward1 over the packed copy of W (<paramref name=\"blocks\"/>, PackBlocks' layout) with AVX-512; Forward1 without it.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.OpenBlock($"public static void Forward1Blocked<TActivation>({ForwardParameters(layer)}, ref float blocks) where TActivation : struct, global::Dsl.Kernels.IActivation");
                w.Line("if (Vector512.IsHardwareAccelerated && !Unsafe.IsNullRef(ref blocks)) global::Dsl.Kernels.NarrowKernels.Forward1Blocked<Shape, TActivation>(ref x, ref blocks, ref b, ref y);");
                w.Line($"else Forward1<TActivation>({ForwardArguments});");
                w.CloseBlock();
                w.Line();
                w.Line("/// <summary>Floats of the packed copy Forward1Blocked reads: none without AVX-512, where it reads W itself.</summary>");
                w.Line("public static int BlockFloats() => Vector512.IsHardwareAccelerated ? global::Dsl.Kernels.NarrowKernels.BlockFloats<Shape>() : 0;");
                w.Line();
                w.Line("/// <summary>Copies W (input-major) into the layout Forward1Blocked reads.</summary>");
                w.Line("public static void PackBlocks(ref float w, ref float blocks) => global::Dsl.Kernels.NarrowKernels.PackBlocks<Shape>(ref w, ref blocks);");
                w.Line();
            }

            /// <summary>The forward of a pruned product over its compact form (its <c>Shape</c> must be written): the loop is the runtime's.</summary>
            public static void EmitForwardSparse(SourceWriter w)
            {
                w.Line("/// <summary>Forward for <paramref name=\"rows\"/> rows over the kept blocks of the pruned W only (its compact form); the loop is the runtime's.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line("public static void ForwardSparse<TActivation>(ref float x, global::Dsl.SparseWeights w, ref float b, ref float y, int rows) where TActivation : struct, global::Dsl.Kernels.IActivation =>");
                w.Line("    global::Dsl.Kernels.SparseKernels.Forward<Shape, TActivation>(ref x, w, ref b, ref y, (nuint)rows);");
            }

            // The constants the runtime's kernels (packed micro-tiles, fallback, narrow, sparse) are specialised on.
            private static void EmitShape(SourceWriter w, string name, Gemm layer, bool tiles, bool fallback, bool sparse = false, bool narrow = false)
            {
                var uses = new List<string>();
                if (tiles) uses.Add("the runtime's packed micro-tiles");
                if (narrow) uses.Add("the runtime's AVX-512 kernels of a few outputs");
                if (fallback) uses.Add("the runtime's kernels on machines without AVX2");
                if (sparse) uses.Add("the runtime's sparse kernel");
                string users = string.Join(" and ", uses);
                w.Line($"/// <summary>This product's constants, for {users}.</summary>");
                w.OpenBlock($"private readonly struct {name} : global::Dsl.Kernels.IGemmShape");
                w.Line($"public static int Inputs => {layer.Inputs};");
                w.Line($"public static int Outputs => {layer.Outputs};");
                w.Line($"public static bool Bias => {(layer.ForwardBias ? "true" : "false")};");
                w.CloseBlock();
                w.Line();
            }

            // The register-blocked kernel's micro-tile: vectors x rows x partial sums. AVX-512 (32 registers): 2 vectors
            // and 24 accumulators, the shape of MLAS's AVX-512 kernel; per input, 12 rows x 2 vectors issue 24 FMAs for 2
            // vector loads and 12 broadcasts. On the Intel Xeon of docs/benchmarks.md it ran case C's products 6-8 % faster
            // than 6 rows x 4 vectors (24 FMAs for 4 vector loads and 6 broadcasts, but twice the panel bytes per FMA).
            // AVX2 (16 registers): 2 vectors and 12 accumulators, 6 rows x 2 vectors issue 12 FMAs for 8 loads.
            private const int BlockedVectors = 2;
            private static int BlockedAccumulators(Isa isa) => isa == Isa.V512 ? 24 : 12;

            // Floats of a packed weight-panel chunk: 16 KB, which stays in L1 beside a micro-tile's rows of x.
            private const int PackedFloats = 4096;

            private static int BlockedRows(Columns columns) =>
                Math.Min(columns.Isa == Isa.V512 ? 12 : 8, BlockedAccumulators(columns.Isa) / (Math.Min(BlockedVectors, columns.Vectors) * Chains(columns)));

            /// <summary>
            /// A 512- or 256-bit rung whose own width fits the layer gets the wide blocked tile when it holds two or more
            /// rows; narrower layers (an AVX-512 vector, or one or two 256-bit ones with their four partial sums) take 4 rows.
            /// </summary>
            private static bool IsBlocked(Gemm layer, Isa rung)
            {
                if (rung != Isa.V512 && rung != Isa.V256) return false;
                Columns columns = Columns.Of(layer.Outputs, rung);
                return columns.Isa == rung && BlockedRows(columns) >= 2;
            }

            // Many rows: panels of a tile's outputs (64 with AVX-512, 16 with AVX2) outside, rows inside, so a panel of W ([Inputs, panel], read with stride
            // Outputs) comes from memory once and from cache for every further micro-tile of rows. Each output sums
            // its inputs in the same partial sums and order as Forward1, so a row's result is bit-identical to batch 1.
            // A panel's micro-tile is written once, as a method generic over its row count (TRows): the full tile and
            // the smaller ones for the rows left over are the same code, the JIT keeping the rows below TRows.Count.
            // Layers too narrow for the wide tile (IsBlocked) take 4 rows and as many vectors as keep 16 accumulators.
            private static void EmitBlockedKernel(SourceWriter w, Gemm layer, Isa isa)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int chains = Chains(columns);
                bool wide = IsBlocked(layer, isa);
                int rows = wide ? BlockedRows(columns) : Rows;
                int vectors = PanelVectors(layer, isa);
                // A wide layer's panel rows lie Outputs floats apart: a power-of-two stride maps them to a few L1 sets
                // (784 rows of a 512-wide layer into 2 of 64), so every weight load went to L2. Wide layers copy each
                // panel, a chunk of inputs at a time, into a contiguous buffer that stays in L1, in micro-tiles the
                // network writes once (GemmTiles) for all its products. Narrow layers (partial sums) have short rows,
                // read W in place, and keep micro-tiles of their own.
                bool packed = IsPacked(layer, isa);
                int chunk = PackedChunk(layer, isa);
                bool chunked = packed && chunk < layer.Inputs;
                var widths = new List<int>();
                bool prepacked = Prepacked(layer, isa);
                KernelHeader(w, $"private static void ForwardBlocked_{isa.Suffix}<TActivation>({ForwardParameters(layer)}, nuint rows{(prepacked ? ", ref float panels" : "")}) where TActivation : struct, global::Dsl.Kernels.IActivation");
                w.Line($"// Micro-tiles of {rows} rows x up to {vectors} vectors{(chains > 1 ? $" x {chains} partial sums" : "")}; the 1-{rows - 1} rows left over run as one smaller tile.");
                if (packed)
                {
                    if (prepacked) EmitPrepackedLoops(w, layer, isa, rows);
                    w.Line($"// The first tile of each panel{(chunked ? $" chunk ({chunk} inputs)" : "")} copies it, as it reads it, into a contiguous buffer ({SourceWriter.Grouped(chunk * vectors * isa.Width * 4)} bytes, L1-resident) the later tiles read.");
                    w.Line($"global::System.Span<float> panelBuffer = stackalloc float[{chunk * vectors * isa.Width}];");
                    w.Line("ref float panel = ref MemoryMarshal.GetReference(panelBuffer);");
                }
                foreach (PanelGroup group in PanelGroups(layer, isa))
                {
                    if (group.Panels >= 2)
                    {
                        int width = group.Vectors * isa.Width;
                        w.OpenBlock($"for (nuint o = 0; o < {group.Panels * width}; o += {width}) // outputs o..o+{width - 1}");
                        Panel(group.Vectors);
                        w.CloseBlock();
                        continue;
                    }
                    w.OpenBlock($"// outputs {group.First}..{group.First + group.Vectors * isa.Width - 1}");
                    w.Line($"const nuint o = {group.First};");
                    Panel(group.Vectors);
                    w.CloseBlock();
                }
                w.CloseBlock();
                if (packed) return;
                foreach (int width in widths)
                {
                    w.Line();
                    EmitTileMethod(w, layer, isa, width, new TileRows(rows, guarded: true), chains);
                }

                void Panel(int count)
                {
                    if (!widths.Contains(count)) widths.Add(count);
                    string Call(int tileRows, string pass, string first, string end) =>
                        (packed ? PackedTile(isa, count, tileRows, pass) : $"{TileMethodName(isa, count)}<TActivation, global::Dsl.Kernels.Rows{tileRows}>") +
                        $"({(packed ? "ref w, ref panel" : "ref w")}, ref x, ref b, ref y, {first}, {end}, o{(chunked ? ", k0, n" : packed ? $", 0, {layer.Inputs}" : "")})";
                    if (chunked)
                    {
                        w.OpenBlock($"for (nuint k0 = 0; k0 < {layer.Inputs}; k0 += {chunk})");
                        w.Line($"nuint n = global::System.Math.Min({chunk}, {layer.Inputs} - k0);");
                    }
                    if (packed)
                    {
                        // The first tile (a single row when the batch is smaller than a tile) reads W and packs the panel; later tiles read the packed copy.
                        w.Line($"nuint s = rows >= {rows} ? {Call(rows, "PackPanel", "0", SourceWriter.Int(rows))} : {Call(1, "PackPanel", "0", "1")};");
                        w.Line($"s = {Call(rows, "ReadPanel", "s", "rows")};");
                    }
                    else w.Line($"nuint s = {Call(rows, "ReadPanel", "0", "rows")};");
                    foreach (int left in LeftoverTiles(rows))
                        w.Line($"if (rows - s >= {left}) s = {Call(left, "ReadPanel", "s", "rows")};");
                    if (chunked) w.CloseBlock();
                }
            }

            // The rows left over after the full tiles of `rows` (fewer than `rows`) run as at most one tile of each power of
            // two below it, largest first: 11 left of 12 run as 8 + 2 + 1, with four instantiations of the tile, not eleven.
            private static IEnumerable<int> LeftoverTiles(int rows)
            {
                int left = 1;
                while (left * 2 < rows) left *= 2;
                for (; left >= 1; left /= 2) yield return left;
            }

            // Vectors per panel of the rung's blocked kernel: the wide tile's, or as many as keep a narrow layer's 4 rows at 16 accumulators.
            private static int PanelVectors(Gemm layer, Isa isa) =>
                IsBlocked(layer, isa) ? BlockedVectors : Math.Min(RowTile(isa), Math.Max(1, 16 / (Rows * Chains(Columns.Of(layer.Outputs, isa)))));

            // True when the product reads the network's packed panels (Gemm.Prepacks) on the rung.
            private static bool Prepacked(Gemm layer, Isa isa) => layer.Prepacks && PrepacksOn(layer, isa);

            /// <summary>True when the blocked kernel of a rung written for the product reads W through panels.</summary>
            public static bool ReadsPanels(Gemm layer, Plan plan) =>
                Isa.Written(plan.Ladder, layer.Outputs, out _).Any(r => PrepacksOn(layer, r.Target));

            /// <summary>
            /// True when the rung's blocked kernel can run over the network's packed panels: it reads panels, and they
            /// tile the outputs without overlapping (the loops over packed panels visit every panel once per block of
            /// inputs, so an overlapping tail would add a block's sums twice into the columns it shares).
            /// </summary>
            private static bool PrepacksOn(Gemm layer, Isa isa)
            {
                if (!IsPacked(layer, isa)) return false;
                int end = 0;
                foreach (PanelGroup group in PanelGroups(layer, isa))
                {
                    if (group.First != end) return false;
                    end += group.Panels * group.Vectors * isa.Width;
                }
                return end == layer.Outputs;
            }

            /// <summary>True when the rung's blocked kernel packs W's panels (wide tiles, one partial sum), in the shared micro-tiles.</summary>
            private static bool IsPacked(Gemm layer, Isa isa) => IsBlocked(layer, isa) && Chains(Columns.Of(layer.Outputs, isa)) == 1;

            /// <summary>
            /// Panels of a blocked kernel, in order: <paramref name="Panels"/> panels of <paramref name="Vectors"/> vectors from
            /// output <paramref name="First"/>, whose packed copy starts <paramref name="Offset"/> floats into the product's panels.
            /// </summary>
            private readonly record struct PanelGroup(int First, int Vectors, int Panels, int Offset);

            // Panels of a wide tile's vectors, then the vectors left over as one panel ending at the last output (overlapping
            // the one before it where the width is not a whole number of vectors: its columns are recomputed to the same
            // values). Every panel is evenly spaced from its first output, so panels of one width share one tile method.
            private static List<PanelGroup> PanelGroups(Gemm layer, Isa isa)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int vectors = PanelVectors(layer, isa);
                int regular = columns.Full / vectors, left = columns.Vectors - regular * vectors;
                var groups = new List<PanelGroup>();
                int offset = 0;
                void Add(int first, int count, int panels)
                {
                    groups.Add(new PanelGroup(first, count, panels, offset));
                    offset += panels * count * isa.Width * layer.Inputs;
                }
                if (regular > 0) Add(0, vectors, regular);
                if (left > 0)
                {
                    int start = layer.Outputs - left * isa.Width;
                    if (start >= 0) Add(start, left, 1);
                    else
                    {
                        // Narrower than one panel, with a tail: ending at the last output it would start before the first,
                        // so the tail vector takes a panel of its own.
                        Add(0, left - 1, 1);
                        Add(layer.Outputs - isa.Width, 1, 1);
                    }
                }
                return groups;
            }

            // The block of every panel of a product (one block of inputs x all its outputs) that stays in L2 while each tile
            // of rows runs across it: 1 MB with AVX-512 (the L2 of Zen 4 and 5; the Intel Xeon has 2 MB), 512 KB with AVX2 (Zen 3's L2).
            private static int PanelBlockBytes(Isa isa) => isa == Isa.V512 ? 1 << 20 : 1 << 19;

            // Inputs per block of the loops over the network's packed panels: the inputs split evenly between the fewest blocks
            // PanelBlockBytes holds (and at least 16, however wide the product). 784 inputs of a 512-output product go as
            // 2 x 392 with AVX-512, where blocks of 256 made 256 + 256 + 256 + 16 and each block costs every tile a pass
            // through y: case C on the Intel Xeon of docs/benchmarks.md read 1.00-1.03x ONNX Runtime in three suite runs
            // (0.98-1.00x before); timed alternately in one process, 1.03x against 1.00x (even blocks of 262: 1.01x).
            private static int PrepackedBlock(Gemm layer, Isa isa)
            {
                int most = Math.Max(16, PanelBlockBytes(isa) / (sizeof(float) * layer.Outputs));
                int blocks = (layer.Inputs + most - 1) / most;
                return (layer.Inputs + blocks - 1) / blocks;
            }

            /// <summary>
            /// Batched inference over the network's packed panels, in the order MLAS runs its packed weights: inputs in blocks,
            /// and within a block one tile of rows at a time across every panel, so the tile's inputs stay in L1 (12 rows of a
            /// 392-input block: 18 KB) while the panels stream from L2, and partial sums go through y once per block, not per 64 inputs.
            /// Reading L1 only for the rows' inputs keeps the kernel's speed when another thread of the core shares its L1.
            /// </summary>
            private static void EmitPrepackedLoops(SourceWriter w, Gemm layer, Isa isa, int rows)
            {
                int block = PrepackedBlock(layer, isa);
                List<PanelGroup> groups = PanelGroups(layer, isa);
                w.Line($"// Given the network's packed panels (batched inference): inputs in blocks of {block}, each tile of rows across every panel.");
                w.OpenBlock("if (!Unsafe.IsNullRef(ref panels))");
                w.OpenBlock($"for (nuint k0 = 0; k0 < {layer.Inputs}; k0 += {block})");
                w.Line($"nuint n = global::System.Math.Min({block}, {layer.Inputs} - k0);");
                w.Line("nuint s = 0;");
                w.OpenBlock($"for (; s + {rows} <= rows; s += {rows})");
                foreach (string call in Tiles(rows, $"s + {rows}")) w.Line(call);
                w.CloseBlock();
                foreach (int left in LeftoverTiles(rows))
                {
                    w.OpenBlock($"if (rows - s >= {left})");
                    foreach (string call in Tiles(left, $"s + {left}")) w.Line(call);
                    w.Line($"s += {left};");
                    w.CloseBlock();
                }
                w.CloseBlock();
                w.Line("return;");
                w.CloseBlock();

                // One tile of `tileRows` rows (s..end) across every panel of the block from k0.
                IEnumerable<string> Tiles(int tileRows, string end)
                {
                    foreach (PanelGroup group in groups)
                    {
                        int width = group.Vectors * isa.Width;
                        string tile = PackedTile(isa, group.Vectors, tileRows, "ReadPanel");
                        string Call(string o, string start) =>
                            $"{tile}(ref w, ref Unsafe.Add(ref panels, {start}k0 * {width}), ref x, ref b, ref y, s, {end}, {o}, k0, n);";
                        yield return group.Panels >= 2
                            ? $"for (nuint o = 0; o < {group.Panels * width}; o += {width}) {Call("o", $"o * {layer.Inputs} + ")}"
                            : Call(SourceWriter.Int(group.First), group.Offset == 0 ? "" : $"{group.Offset} + ");
                    }
                }
            }

            // Floats of a product's packed panels on a rung.
            private static int PanelFloats(Gemm layer, Isa isa) =>
                PanelGroups(layer, isa).Sum(g => g.Panels * g.Vectors * isa.Width * layer.Inputs);

            /// <summary>
            /// The kernels of a product whose batched inference reads the network's packed panels: <c>ForwardPacked</c>,
            /// <c>PanelFloats</c> and <c>PackPanels</c>, each for the rung <c>ForwardRows</c> runs (none where its tiles read W).
            /// </summary>
            private static void EmitPanelDispatchers(SourceWriter w, Gemm layer, List<(Isa Target, string Condition)> written, string? fallback, Func<Isa, string, string> blocked)
            {
                const string Constraint = " where TActivation : struct, global::Dsl.Kernels.IActivation";
                w.Line();
                w.Line("/// <summary>ForwardRows over the network's packed panels of W (<paramref name=\"panels\"/>, this product's from <paramref name=\"offset\"/>), packed by PackPanels.</summary>");
                EmitDispatcher(w, $"public static void ForwardPacked<TActivation>({ForwardParameters(layer)}, int rows, ref float panels, int offset){Constraint}",
                    Calls(written, rung => blocked(rung, "ref Unsafe.Add(ref panels, offset)"), fallback));
                w.Line();
                w.Line("/// <summary>Floats of this product's packed panels on the rung the kernels run: 0 where its tiles read W itself.</summary>");
                EmitDispatcher(w, "public static int PanelFloats()",
                    Calls(written, rung => $"return {(PrepacksOn(layer, rung) ? PanelFloats(layer, rung) : 0)};", fallback is null ? null : "return 0;"));
                w.Line();
                w.Line("/// <summary>Copies W (input-major) into the panels ForwardPacked reads on the rung the kernels run.</summary>");
                EmitDispatcher(w, "public static void PackPanels(ref float w, ref float panels)",
                    Calls(written, rung => PrepacksOn(layer, rung)
                        ? "{ " + string.Join(" ", PanelGroups(layer, rung).Select(g =>
                            $"global::Dsl.Kernels.DenseKernels.PackPanels(ref w, Inputs, Outputs, {g.First}, {g.Vectors * rung.Width}, {g.Panels}, ref {(g.Offset == 0 ? "panels" : $"Unsafe.Add(ref panels, {g.Offset})")});")) + " }"
                        : "return;", fallback is null ? null : "return;"));
            }

            // Inputs per chunk of a packed panel: as many as fill PackedFloats with a wide tile's vectors.
            private static int ChunkInputs(Isa isa) => PackedFloats / (BlockedVectors * isa.Width);

            private static int PackedChunk(Gemm layer, Isa isa) => Math.Min(layer.Inputs, ChunkInputs(isa));

            private static string TileMethodName(Isa isa, int vectors) => $"Tiles_{isa.Suffix}x{vectors}";

            // Rows s.. of one panel of `vectors` vectors from output o, in micro-tiles of TRows rows; returns the first row left over.
            private static void EmitTileMethod(SourceWriter w, Gemm layer, Isa isa, int vectors, TileRows rows, int chains)
            {
                var tile = Panel(isa, vectors);
                w.Line($"/// <summary>Rows s.. of outputs o..o+{vectors * isa.Width - 1}, <typeparamref name=\"TRows\"/> at a time ({rows.Count}, or the fewer left over); returns the first row left over.</summary>");
                KernelHeader(w, $"private static nuint {TileMethodName(isa, vectors)}<TActivation, TRows>(ref {WeightType(layer.BFloat16)} w, ref float x, ref {WeightType(layer.BFloat16)} b, ref float y, nuint s, nuint rows, nuint o) " +
                    "where TActivation : struct, global::Dsl.Kernels.IActivation where TRows : struct, global::Dsl.Kernels.ITileRows");
                if (layer.ForwardBias)
                    for (int k = 0; k < tile.Count; k++) w.Line($"var bias{k} = {LoadWeight(layer.BFloat16, isa, "b", tile[k].Offset.ToString())};");
                w.OpenBlock("for (; s + (nuint)TRows.Count <= rows; s += (nuint)TRows.Count)");
                EmitMicroTile(w, layer, isa, tile, rows, chains);
                w.CloseBlock();
                w.Line("return s;");
                w.CloseBlock();
            }

            // The vectors of a panel from output o.
            private static List<Segment> Panel(Isa isa, int vectors)
            {
                var tile = new List<Segment>();
                for (int k = 0; k < vectors; k++) tile.Add(new Segment(new Offset("o", k * isa.Width), masked: false));
                return tile;
            }

            // The runtime's packed micro-tile (PackedTiles) of a panel of `vectors` vectors on the rung, `rows` rows at a time,
            // in the pass (PackPanel or ReadPanel); it reads W in bfloat16 by overload. The tile is the same for every product
            // but for its sizes, so it is written once, in the runtime, and the JIT specialises it per Shape struct.
            private static string PackedTile(Isa isa, int vectors, int rows, string pass) =>
                $"global::Dsl.Kernels.PackedTiles.Tile{isa.Width * 32}<global::Dsl.Kernels.Vectors{vectors}, Shape, TActivation, global::Dsl.Kernels.Rows{rows}, global::Dsl.Kernels.{pass}>";

            /// <summary>
            /// The rows of a micro-tile. Guarded, it is the largest tile of a method generic over TRows: row 0 always, row
            /// r only under <c>if (TRows.Count &gt; r)</c>, which the JIT folds, so each instantiation keeps just its rows.
            /// </summary>
            private sealed class TileRows
            {
                public TileRows(int count, bool guarded)
                {
                    Count = count;
                    Guarded = guarded;
                }

                public int Count { get; }

                public bool Guarded { get; }

                /// <summary>The loop bound over the rows the tile has.</summary>
                public string Bound => Guarded ? "(nuint)TRows.Count" : SourceWriter.Int(Count);

                /// <summary>Emits <paramref name="row"/> for each row, guarded past row 0.</summary>
                public void Each(SourceWriter w, Action<int> row)
                {
                    for (int r = 0; r < Count; r++)
                    {
                        if (r == 0 || !Guarded)
                        {
                            row(r);
                            continue;
                        }
                        w.OpenBlock($"if (TRows.Count > {r})");
                        row(r);
                        w.CloseBlock();
                    }
                }
            }

            private static void EmitMicroTile(SourceWriter w, Gemm layer, Isa isa, List<Segment> tile, TileRows rows, int chains)
            {
                string Acc(int r, int k, int j) => $"acc{r}_{k}" + (chains == 1 ? "" : "_" + j);
                w.Line($"ref float xs = ref Unsafe.Add(ref x, s * {layer.Inputs});");
                w.Line($"ref float ys = ref Unsafe.Add(ref y, s * {layer.Outputs});");
                EmitAccumulators(w, tile, rows, chains, Acc, (k, j) => j == 0 && layer.ForwardBias ? $"bias{k}" : isa.Zero);
                int whole = layer.Inputs / chains * chains;
                if (whole > 0)
                {
                    w.OpenBlock(chains == 1 ? $"for (nuint i = 0; i < {layer.Inputs}; i++)" : $"for (nuint i = 0; i < {whole}; i += {chains})");
                    for (int j = 0; j < chains; j++) EmitMicroTileInput(w, layer, isa, tile, rows, j == 0 ? "i" : $"i + {j}", (r, k) => Acc(r, k, j), scoped: chains > 1);
                    w.CloseBlock();
                }
                for (int i = whole; i < layer.Inputs; i++)
                {
                    w.OpenBlock($"// input {i}, the remainder of the {chains} partial sums");
                    int j = i % chains;
                    EmitMicroTileInput(w, layer, isa, tile, rows, SourceWriter.Int(i), (r, k) => Acc(r, k, j), scoped: false);
                    w.CloseBlock();
                }
                EmitSumPartialSums(w, rows, tile.Count, chains, Acc);
                EmitEpilogue(w, isa, tile, rows, (r, k) => Acc(r, k, 0), RowStride.Of(layer.Outputs), "ys");
            }

            // The accumulators of every row from their starting values (registers only, so a row the tile does not have
            // costs nothing: the JIT drops it).
            private static void EmitAccumulators(SourceWriter w, List<Segment> tile, TileRows rows, int chains, Func<int, int, int, string> acc, Func<int, int, string> start)
            {
                for (int r = 0; r < rows.Count; r++)
                    for (int k = 0; k < tile.Count; k++)
                        for (int j = 0; j < chains; j++)
                            w.Line($"var {acc(r, k, j)} = {start(k, j)};");
            }

            // One input of a micro-tile: its weight vectors once, then each row's broadcast (one live at a time: with all of
            // them the tile would need more than 32 registers) into that row's accumulators.
            private static void EmitMicroTileInput(SourceWriter w, Gemm layer, Isa isa, List<Segment> tile, TileRows rows, string input, Func<int, int, string> acc, bool scoped)
            {
                if (scoped) w.OpenBlock("");
                w.Line($"ref {WeightType(layer.BFloat16)} wi = ref Unsafe.Add(ref w, ({input}) * {layer.Outputs});");
                for (int k = 0; k < tile.Count; k++)
                    w.Line($"var w{k} = {LoadWeight(layer.BFloat16, isa, "wi", tile[k].Offset.ToString())};");
                rows.Each(w, r =>
                {
                    w.Line($"var x{r} = {isa.Broadcast(r == 0 ? $"Unsafe.Add(ref xs, {input})" : $"Unsafe.Add(ref xs, {r * layer.Inputs} + {input})")};");
                    for (int k = 0; k < tile.Count; k++) w.Line($"{acc(r, k)} = {isa.MultiplyAdd($"w{k}", $"x{r}", acc(r, k))};");
                });
                if (scoped) w.CloseBlock();
            }

            /// <summary>
            /// dL/dW and dL/db, and the input gradient as the forward product over W^T: dx = dz W^T runs the same
            /// broadcast-and-accumulate kernels on the transposed weight (transposed once per batch), which beats
            /// a dot product per input and its horizontal sum.
            /// </summary>
            /// <remarks>
            /// When <paramref name="writeTransposed"/> is false the product over W^T serves only the caller's input
            /// gradient (the network's first step), which training never asks for: it runs the runtime's generic kernel.
            /// </remarks>
            public static void EmitBackward(SourceWriter w, Gemm layer, Plan plan, bool writeTransposed = true)
            {
                var written = Isa.Written(plan.Ladder, layer.Outputs, out bool fallback);
                if (fallback) EmitShape(w, "GradientShape", layer, tiles: false, fallback: true);
                w.Line($"/// <summary>target += x^T (scale dL/dz){(layer.BackwardBias ? ", dL/db += column sums of dL/dz" : "")}: dL/dW, or at scale -lr a fused SGD step on W (dL/dz scaled into <paramref name=\"scaled\"/>).</summary>");
                EmitDispatcher(w, "public static void AccumulateGradients(ref float x, ref float g, nuint rows, ref float target, float scale, ref float gb, ref float scaled)",
                    Calls(written, rung => $"WeightGradient_{rung.Suffix}(ref x, ref g, rows, ref target);",
                        fallback ? "global::Dsl.Kernels.FallbackKernels.WeightGradient<GradientShape>(ref x, ref g, rows, ref target);" : null),
                    layer.BackwardBias
                        ? new[] { $"global::Dsl.Kernels.DenseKernels.AccumulateBiasGradient(ref g, rows, {layer.Outputs}, ref gb);", Scale(layer) }
                        : new[] { Scale(layer) });
                foreach ((Isa target, _) in written)
                {
                    w.Line();
                    EmitWeightGradient(w, layer, target);
                }
                w.Line();
                w.Line($"/// <summary>W^T = [{layer.Outputs}, {layer.Inputs}]{(layer.Groups > 1 ? $" for each of {layer.Groups} groups" : "")}, for the input gradient.</summary>");
                w.Line($"public static void TransposeWeights(ref float w, ref float transposed) => global::Dsl.Kernels.DenseKernels.TransposeWeights(ref w, ref transposed, {layer.Groups}, {layer.Inputs}, {layer.Outputs});");
                w.Line();
                w.Line(writeTransposed
                    ? "/// <summary>The forward kernels over W^T: rows of dL/dz in, rows of dL/dx out.</summary>"
                    : "/// <summary>The product over W^T for the caller's input gradient only: the runtime's generic kernel, not written out.</summary>");
                w.OpenBlock("public static class Transposed");
                w.Line($"public const int Inputs = {layer.Outputs};");
                w.Line($"public const int Outputs = {layer.Inputs};");
                w.Line();
                EmitForward(w, new Gemm(layer.Outputs, layer.Inputs, ForwardBias: false, BackwardBias: false), plan, writeTransposed);
                w.CloseBlock();
            }

            private static string Scale(Gemm layer) => $"if (scale != 1f) g = ref global::Dsl.Kernels.DenseKernels.Scale(ref g, rows * {layer.Outputs}, scale, ref scaled);";

            /// <summary>
            /// A dispatcher method: <paramref name="prologue"/>, then the first of <paramref name="calls"/> whose rung the
            /// machine accelerates (<see cref="EmitChain"/>).
            /// </summary>
            private static void EmitDispatcher(SourceWriter w, string signature, IReadOnlyList<(string Condition, string Call)> calls, params string[] prologue)
            {
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.OpenBlock(signature);
                foreach (string line in prologue) w.Line(line);
                EmitChain(w, calls);
                w.CloseBlock();
            }

            /// <summary>One call per written rung, under its condition, then <paramref name="fallback"/> when given.</summary>
            public static List<(string Condition, string Call)> Calls(List<(Isa Target, string Condition)> written, Func<Isa, string> call, string? fallback)
            {
                var calls = written.Select(d => (d.Condition, call(d.Target))).ToList();
                if (fallback is not null) calls.Add(("", fallback));
                return calls;
            }

            /// <summary>The first call whose condition holds; the last is unconditional.</summary>
            public static void EmitChain(SourceWriter w, IReadOnlyList<(string Condition, string Call)> calls)
            {
                if (calls.Count > 1) w.Line("// The JIT folds IsHardwareAccelerated to a constant, so only one call survives.");
                for (int r = 0; r < calls.Count; r++)
                {
                    if (calls.Count == 1) w.Line(calls[r].Call);
                    else if (r == calls.Count - 1) w.Line("else " + calls[r].Call);
                    else
                    {
                        w.Line($"{(r == 0 ? "if" : "else if")} ({calls[r].Condition})");
                        w.Line("    " + calls[r].Call);
                    }
                }
            }

            private static void KernelHeader(SourceWriter w, string signature)
            {
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock(signature);
            }

            // y = act(b + sum_i x[i] W[i, :]) for one sample: Forward1, the batch-1 kernel.
            private static void EmitForwardKernel(SourceWriter w, Gemm layer, Isa isa)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int chains = Chains(columns);
                KernelHeader(w, $"private static void Forward1_{isa.Suffix}<TActivation>({ForwardParameters(layer)}) where TActivation : struct, global::Dsl.Kernels.IActivation");
                if (chains > 1)
                    w.Line($"// {columns.Vectors} output vector(s): {chains} interleaved partial sums per output (input i feeds sum i % {chains}) keep the FMA pipes busy.");
                bool skip = SkipsZeroInputs(layer, chains);
                if (skip)
                {
                    // One partial sum per output, so a skipped row changes no sum: the result is the full loop's, bit for bit.
                    w.Line("// The inputs come from a ReLU, so many are exactly zero and their rows of W add nothing: list the others first");
                    w.Line("// (without branches), then stream only their rows.");
                    w.Line($"global::System.Span<int> kept = stackalloc int[{layer.Inputs}];");
                    w.Line("ref int keptInputs = ref MemoryMarshal.GetReference(kept);");
                    w.Line("nuint nonZero = 0;");
                    w.OpenBlock($"for (nuint i = 0; i < {layer.Inputs}; i++)");
                    w.Line("Unsafe.Add(ref keptInputs, nonZero) = (int)i;");
                    w.Line("nonZero += Unsafe.Add(ref x, i) != 0f ? 1u : 0u;");
                    w.CloseBlock();
                }
                columns.EmitTiles(w, SingleTile(isa), tile =>
                {
                    // acc{k}_{j}: vector k of the tile, partial sum j (names drop what is always 0).
                    string Acc(int k, int j) => "acc" + k + (chains == 1 ? "" : "_" + j);
                    for (int k = 0; k < tile.Count; k++)
                        for (int j = 0; j < chains; j++)
                            w.Line($"var {Acc(k, j)} = {(j == 0 && layer.ForwardBias ? LoadWeight(layer.BFloat16, isa, "b", tile[k].Offset.ToString()) : isa.Zero)};");
                    if (layer.Inputs * tile.Count <= UnrollBudget)
                    {
                        w.Line($"// {layer.Inputs} inputs x {tile.Count} vectors fit the unroll budget: straight-line code, constant offsets.");
                        for (int i = 0; i < layer.Inputs; i++)
                        {
                            w.Line($"var x{i} = {isa.Broadcast($"Unsafe.Add(ref x, {i})")};");
                            for (int k = 0; k < tile.Count; k++)
                                w.Line($"{Acc(k, i % chains)} = {isa.MultiplyAdd(LoadWeight(layer.BFloat16, isa, "w", tile[k].Offset.Plus(i * layer.Outputs).ToString()), $"x{i}", Acc(k, i % chains))};");
                        }
                    }
                    else if (skip)
                    {
                        w.OpenBlock("for (nuint k = 0; k < nonZero; k++)");
                        w.Line("nuint i = (nuint)Unsafe.Add(ref keptInputs, k);");
                        EmitInputs(w, layer, isa, tile, 1, "i", Acc);
                        w.CloseBlock();
                    }
                    else
                    {
                        int whole = layer.Inputs / chains * chains;
                        if (whole > 0)
                        {
                            w.OpenBlock(chains == 1 ? $"for (nuint i = 0; i < {layer.Inputs}; i++)" : $"for (nuint i = 0; i < {whole}; i += {chains})");
                            EmitInputs(w, layer, isa, tile, chains, "i", Acc);
                            w.CloseBlock();
                        }
                        for (int i = whole; i < layer.Inputs; i++)
                        {
                            w.OpenBlock($"// input {i}, the remainder of the {chains} partial sums");
                            EmitInputs(w, layer, isa, tile, 1, i.ToString(System.Globalization.CultureInfo.InvariantCulture), (k, _) => Acc(k, i % chains));
                            w.CloseBlock();
                        }
                    }
                    var one = new TileRows(1, guarded: false);
                    EmitSumPartialSums(w, one, tile.Count, chains, (_, k, j) => Acc(k, j));
                    EmitEpilogue(w, isa, tile, one, (_, k) => Acc(k, 0), RowStride.Of(layer.Outputs));
                });
                w.CloseBlock();
            }

            // Inputs up to which the list of non-zero inputs goes on the stack (16 KB).
            private const int MaxSkippedInputs = 4096;

            /// <summary>
            /// Whether Forward1 skips zero inputs: they come from a ReLU, and each output has one partial sum (so the sums are
            /// the full loop's) in an input loop (more inputs than the unroll budget). Measured (Pruning_ActivationSparsity,
            /// docs/pruning.md, the layer's own time): with half its inputs zero a 512 -> 512 layer takes 0.52x the time of the
            /// full loop and a 256 -> 128 one 0.67x, with four fifths 0.24x and 0.41x; with none, listing them costs 13-18 %.
            /// </summary>
            private static bool SkipsZeroInputs(Gemm layer, int chains) =>
                layer.ReluInputs && chains == 1 && layer.Inputs > UnrollBudget && layer.Inputs <= MaxSkippedInputs;

            /// <summary>
            /// The batch-1 layout of a product whose width is not a multiple of its rung's vector and is at most a few
            /// vectors (a 10-output head: 16 lanes with AVX-512, 8 with AVX2): W's rows are consecutive, so
            /// <see cref="Rows"/> rows of it are <see cref="Vectors"/> whole vectors, each multiplied by the inputs its
            /// lanes belong to (one load of x, permuted per vector). The ladder's kernels instead narrow the vector or
            /// overlap a tail vector, reading part of every load, with two loads per row that straddle cache lines.
            /// </summary>
            private sealed class Interleaved
            {
                private Interleaved(Isa isa, int outputs)
                {
                    int gcd = Gcd(outputs, isa.Width);
                    Rows = isa.Width / gcd;
                    Vectors = outputs / gcd;
                    // Partial sums to keep two FMA pipes of 4-cycle latency busy, as far as the registers go: AVX-512's 32
                    // hold two sets of up to 7 vectors beside their permute indices, AVX2's 16 one set of up to 5.
                    Chains = isa == Isa.V512 ? (Vectors >= 4 ? 2 : 4) : (Vectors >= 4 ? 1 : 2);
                    MaxVectors = isa == Isa.V512 ? 7 : 5;
                }

                /// <summary>Rows of W (inputs) per step: the fewest whose outputs fill whole vectors.</summary>
                public int Rows { get; }

                /// <summary>Vectors those rows fill.</summary>
                public int Vectors { get; }

                /// <summary>Independent sets of partial sums, each taking every <see cref="Chains"/>-th step.</summary>
                public int Chains { get; }

                private int MaxVectors { get; }

                // Below this many inputs a narrow layer's kernel is the ladder's, written out whole for latency.
                private const int MinInputs = 256;

                /// <summary>
                /// True when the rung is AVX-512 or AVX2, the product's width is not a whole number of its vectors, a step's
                /// inputs are a vector of 4 or more floats, and the accumulators and permute indices fit the register file.
                /// </summary>
                public static bool Fits(Gemm layer, Isa isa)
                {
                    if ((isa != Isa.V512 && isa != Isa.V256) || layer.Outputs % isa.Width == 0 || layer.Inputs < MinInputs) return false;
                    var shape = new Interleaved(isa, layer.Outputs);
                    return shape.Rows >= 4 && shape.Vectors <= shape.MaxVectors;
                }

                public static Interleaved Of(Gemm layer, Isa isa) => new(isa, layer.Outputs);

                private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
            }

            // y = act(b + sum_i x[i] W[i, :]) for one sample of a narrow product: Forward1 on the rung's full vectors.
            private static void EmitInterleavedKernel(SourceWriter w, Gemm layer, Isa isa)
            {
                var shape = Interleaved.Of(layer, isa);
                int n = layer.Outputs, g = shape.Rows, vectors = shape.Vectors, chains = shape.Chains, step = g * chains;
                int whole = layer.Inputs / step * step, groups = (layer.Inputs - whole) / g, tail = whole + groups * g;
                string Acc(int v, int c) => $"acc{v}_{c}";
                KernelHeader(w, $"private static void Forward1_{isa.Suffix}<TActivation>({ForwardParameters(layer)}) where TActivation : struct, global::Dsl.Kernels.IActivation");
                w.Line($"// {n} outputs, not a whole number of vectors: {g} rows of W ({g * n} consecutive floats) {(vectors == 1 ? "are a vector, times" : $"are {vectors} vectors, each times")} x[i..i+{g - 1}]");
                w.Line($"// permuted to the row of each lane; lane l of vector v sums output ({isa.Width} v + l) % {n}.{(chains > 1 ? $" {chains} sets of partial sums take turns." : "")}");
                for (int v = 0; v < vectors; v++)
                {
                    var lanes = new int[isa.Width];
                    for (int l = 0; l < isa.Width; l++) lanes[l] = (isa.Width * v + l) / n;
                    w.Line($"var index{v} = {isa.Ints(lanes)};");
                }
                for (int v = 0; v < vectors; v++)
                    for (int c = 0; c < chains; c++)
                        w.Line($"var {Acc(v, c)} = {isa.Zero};");
                void Step(string i, int c)
                {
                    w.Line($"var x{c} = {isa.LoadLow("x", i, g)};");
                    for (int v = 0; v < vectors; v++)
                        w.Line($"{Acc(v, c)} = {isa.MultiplyAdd(LoadWeight(layer.BFloat16, isa, "wi", SourceWriter.Int(c * g * n + v * isa.Width)), isa.Permute($"x{c}", $"index{v}"), Acc(v, c))};");
                }
                if (whole > 0)
                {
                    w.OpenBlock($"for (nuint i = 0; i < {whole}; i += {step})");
                    w.Line($"ref {WeightType(layer.BFloat16)} wi = ref Unsafe.Add(ref w, i * {n});");
                    for (int c = 0; c < chains; c++) Step(c == 0 ? "i" : $"i + {c * g}", c);
                    w.CloseBlock();
                }
                for (int q = 0; q < groups; q++)
                {
                    int i = whole + q * g;
                    w.OpenBlock($"// inputs {i}..{i + g - 1}, into the first set");
                    w.Line($"ref {WeightType(layer.BFloat16)} wi = ref Unsafe.Add(ref w, {i * n});");
                    Step(SourceWriter.Int(i), 0);
                    w.CloseBlock();
                }
                w.Line($"// Each output: its lanes, {g} rows' worth{(tail < layer.Inputs ? $", then inputs {tail}..{layer.Inputs - 1} one by one" : "")}.");
                w.Line($"global::System.Span<float> lanes = stackalloc float[{g * n}];");
                w.Line("ref float t = ref MemoryMarshal.GetReference(lanes);");
                for (int v = 0; v < vectors; v++)
                {
                    string sum = Acc(v, 0);
                    for (int c = 1; c < chains; c++) sum = $"{sum} + {Acc(v, c)}";
                    w.Line(isa.Store(chains > 1 ? $"({sum})" : sum, "t", SourceWriter.Int(v * isa.Width)));
                }
                w.OpenBlock($"for (nuint j = 0; j < {n}; j++)");
                w.Line($"float sum = {(layer.ForwardBias ? LoadWeight(layer.BFloat16, Isa.Scalar, "b", "j") : "0f")};");
                w.Line($"for (nuint r = 0; r < {g}; r++) sum += Unsafe.Add(ref t, r * {n} + j);");
                if (tail < layer.Inputs)
                    w.Line($"for (nuint i = {tail}; i < {layer.Inputs}; i++) sum += Unsafe.Add(ref x, i) * {LoadWeight(layer.BFloat16, Isa.Scalar, "w", $"i * {n} + j")};");
                w.Line("Unsafe.Add(ref t, j) = sum; // lane j is read only by output j, before this");
                w.CloseBlock();
                w.Line("// The activation on a whole vector, as every other kernel applies it; then the outputs.");
                for (int k = 0; k * isa.Width < n; k++)
                    w.Line(isa.Store($"TActivation.Invoke({isa.Load("t", SourceWriter.Int(k * isa.Width))})", "t", SourceWriter.Int(k * isa.Width)));
                w.Line($"for (nuint j = 0; j < {n}; j++) Unsafe.Add(ref y, j) = Unsafe.Add(ref t, j);");
                w.CloseBlock();
            }

            // Folds the partial sums into sum 0. Every kernel folds in this one order, so a batched row stays bit-identical to batch 1.
            private static void EmitSumPartialSums(SourceWriter w, TileRows rows, int vectors, int chains, Func<int, int, int, string> acc)
            {
                if (chains == 1) return;
                rows.Each(w, r =>
                {
                    for (int k = 0; k < vectors; k++)
                        w.Line(chains == 2
                            ? $"{acc(r, k, 0)} += {acc(r, k, 1)};"
                            : $"{acc(r, k, 0)} = ({acc(r, k, 0)} + {acc(r, k, 1)}) + ({acc(r, k, 2)} + {acc(r, k, 3)});");
                });
            }

            // One step of Forward1's input loop: `chains` consecutive inputs from `i`, input i + j into partial sum j.
            private static void EmitInputs(SourceWriter w, Gemm layer, Isa isa, List<Segment> tile, int chains, string i, Func<int, int, string> acc)
            {
                for (int j = 0; j < chains; j++)
                {
                    string input = j == 0 ? i : $"{i} + {j}";
                    string suffix = chains == 1 ? "" : j.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    w.Line($"ref {WeightType(layer.BFloat16)} wi{suffix} = ref Unsafe.Add(ref w, ({input}) * {layer.Outputs});");
                    w.Line($"var xi{suffix} = {isa.Broadcast($"Unsafe.Add(ref x, {input})")};");
                    for (int k = 0; k < tile.Count; k++)
                        w.Line($"{acc(k, j)} = {isa.MultiplyAdd(LoadWeight(layer.BFloat16, isa, "wi" + suffix, tile[k].Offset.ToString()), "xi" + suffix, acc(k, j))};");
                }
            }

            // Inline activations (identity, ReLU) go on the accumulators. Others call out (exp): store the sums,
            // then apply the activation to y, so no accumulator is live across a call (the JIT would spill them
            // inside the hot loop). An overlapping tail vector is read before its neighbour is activated in place.
            // With onlyIf (a chunked kernel's "last"), earlier chunks store their partial sums unactivated.
            private static void EmitEpilogue(SourceWriter w, Isa isa, List<Segment> tile, TileRows rows, Func<int, int, string> acc, RowStride outputs, string y = "y", string? onlyIf = null)
            {
                string when = onlyIf is null ? "" : onlyIf + " && ";
                string activate = onlyIf is null ? "TActivation.Inline" : "activate";
                rows.Each(w, r =>
                {
                    for (int k = 0; k < tile.Count; k++)
                        w.Line(isa.Store($"{activate} ? TActivation.Invoke({acc(r, k)}) : {acc(r, k)}", y, outputs.At(tile[k].Offset, r)));
                });
                w.OpenBlock($"if ({when}!TActivation.Inline)");
                string row = y;
                if (rows.Count > 1)
                {
                    w.OpenBlock($"for (nuint row = 0; row < {rows.Bound}; row++)");
                    w.Line($"ref float yRow = ref Unsafe.Add(ref {y}, row * {outputs});");
                    row = "yRow";
                }
                bool sharedTail = tile.Count > 1 && tile[tile.Count - 1].Masked;
                string Offset(int k) => tile[k].Offset.ToString();
                if (sharedTail) w.Line($"var tail = {isa.Load(row, Offset(tile.Count - 1))};");
                for (int k = 0; k < tile.Count; k++)
                {
                    if (sharedTail && k == tile.Count - 1) continue;
                    w.Line(isa.Store($"TActivation.Invoke({isa.Load(row, Offset(k))})", row, Offset(k)));
                }
                if (sharedTail) w.Line(isa.Store("TActivation.Invoke(tail)", row, Offset(tile.Count - 1)));
                if (rows.Count > 1) w.CloseBlock();
                w.CloseBlock();
            }

            /// <summary>
            /// Partial sums per output vector: a narrow layer is otherwise a few long chains of dependent FMAs (4 cycles
            /// each). Fixed per layer and rung, so batch-1 and batched kernels sum in the same order.
            /// </summary>
            private static int Chains(Columns columns)
            {
                if (columns.Isa.IsScalar) return 1;
                // FMA latency 4 x two pipes: eight independent sums keep AVX-512 busy, so up to seven vectors split theirs.
                if (columns.Isa == Isa.V512) return columns.Vectors <= 2 ? 4 : columns.Vectors < 8 ? 2 : 1;
                // A narrow layer on a narrower rung (a 10-output head takes 256-bit vectors even with AVX-512) is the
                // same latency-bound chain over every input: a 12544 -> 10 head ran 2 chains of 12544 FMAs.
                return columns.Vectors <= 2 ? 4 : columns.Vectors <= 4 ? 2 : 1;
            }

            // dL/dW[i, :] += sum_s x[s, i] g[s, :], four input rows at a time.
            private static void EmitWeightGradient(SourceWriter w, Gemm layer, Isa isa)
            {
                Columns columns = Columns.Of(layer.Outputs, isa);
                int perTile = RowTile(isa);
                KernelHeader(w, $"private static void WeightGradient_{isa.Suffix}(ref float x, ref float g, nuint rows, ref float gw)");
                if (columns.HasTail && !isa.IsScalar)
                {
                    w.Line("// The last vector overlaps the one before it: its repeated lanes add zero, and it is stored first so");
                    w.Line("// the full vector's store of those lanes wins.");
                    w.Line($"var tailMask = {isa.TailMask(columns.TailFirstKept)};");
                }
                string G(Segment s) => s.Masked ? $"{isa.Load("gs", s.Offset.ToString())} & tailMask" : isa.Load("gs", s.Offset.ToString());

                int fullRows = layer.Inputs / Rows * Rows;
                w.Line($"// rows of x^T dL/dz, {Rows} inputs by a tile of outputs at a time");
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
        /// <see cref="BatchOne"/>: a caller runs one row alone (a dense layer on flat activations), so it gets Forward1;
        /// products that always run rows (convolutions, tokens, attention, the input gradient) only ForwardRows.
        /// <see cref="ReluInputs"/>: its inputs are a ReLU's outputs, so Forward1 may skip the zero ones.
        /// <see cref="BFloat16"/>: W and b are bfloat16 (<c>ref ushort</c>, the parameters' bfloat16 image), widened to fp32 as
        /// each vector is loaded; the sums are fp32 as ever.
        internal sealed record Gemm(int Inputs, int Outputs, bool ForwardBias, bool BackwardBias, int Groups = 1, bool BatchOne = false, bool Sparse = false, bool ReluInputs = false, bool BFloat16 = false, bool Prepacks = false);

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

        /// <summary>The distance between rows of a tile: a constant folded into each offset, or a variable written out.</summary>
        private readonly struct RowStride
        {
            private RowStride(int constant, string? variable)
            {
                Constant = constant;
                Text = variable ?? SourceWriter.Int(constant);
                IsVariable = variable is not null;
            }

            private int Constant { get; }

            private bool IsVariable { get; }

            private string Text { get; }

            public static RowStride Of(int constant) => new(constant, null);

            public static RowStride Variable(string name) => new(0, name);

            /// <summary>Row <paramref name="r"/>'s element at <paramref name="offset"/>.</summary>
            public string At(Offset offset, int r) =>
                !IsVariable ? offset.Plus(r * Constant).ToString()
                : r == 0 ? offset.ToString()
                : $"{offset} + {(r == 1 ? Text : $"{r} * {Text}")}";

            public override string ToString() => Text;
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

            /// <summary>Vectors per row, the tail included.</summary>
            public int Vectors => Full + (HasTail ? 1 : 0);

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
