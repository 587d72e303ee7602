using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Convolution plumbing around the dense kernels: im2col turns one sample's group of input channels into
        /// rows of patches ([pixels, patch]), so the convolution is the dense product with the weight stored
        /// [patch, output channels]; the result comes back pixel-major and is transposed to channel-major.
        /// The border needs no branches: with padding, the input is first copied into a zero-bordered buffer, so
        /// every tap of every output pixel reads in range at an offset fixed at generation time.
        /// </summary>
        internal static class ConvEmitter
        {
            public static void EmitConstants(SourceWriter w, Convolution layer)
            {
                w.Line($"public const int Inputs = {layer.PatchSize}; // patch: {layer.Input.Channels / layer.Groups} channels x {layer.KernelHeight}x{layer.Kernel} taps");
                w.Line($"public const int Outputs = {layer.GroupOutputs}; // output channels per group");
                w.Line($"public const int Pixels = {layer.Output.Spatial};");
                w.Line($"public const int Groups = {layer.Groups};");
                w.Line($"public const int GroupWeights = {layer.PatchSize * layer.GroupOutputs};");
                w.Line($"public const int GroupInputFloats = {layer.Input.Channels / layer.Groups * layer.Input.Spatial};");
                w.Line($"public const int GroupOutputFloats = {layer.GroupOutputs * layer.Output.Spatial};");
            }

            public static void EmitForwardHelpers(SourceWriter w, Convolution layer, bool folded, bool zeroBias)
            {
                EmitIm2Col(w, layer, gradient: false);
                w.Line();
                EmitTranspose(w, layer, toChannels: true);
                if (folded)
                {
                    w.Line();
                    EmitFold(w, layer);
                }
                if (zeroBias)
                {
                    w.Line();
                    w.Line("// The training forward runs the kernel built with the folded bias; without its own bias it adds these zeros.");
                    w.Line($"public static readonly float[] NoBias = new float[{layer.Output.Channels}];");
                }
            }

            public static void EmitBackwardHelpers(SourceWriter w, Convolution layer)
            {
                EmitIm2Col(w, layer, gradient: true);
                w.Line();
                EmitTranspose(w, layer, toChannels: false);
            }

            // Im2Col: cols[p, (c*KH + kh)*KW + kw] = x[c, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl], zero outside x.
            // Col2Im (gradient): dx[c, ...] = sum of dcols over every patch position that read it.
            // With padding, x is first copied into a zero-bordered buffer, so every tap of every pixel reads in
            // range: one branch-free row of taps per pixel, written (or read) in order.
            private static void EmitIm2Col(SourceWriter w, Convolution layer, bool gradient)
            {
                int channels = layer.Input.Channels / layer.Groups;
                int height = layer.Input.Height, width = layer.Input.Width;
                int outHeight = layer.Output.Height, outWidth = layer.Output.Width;
                int kernelHeight = layer.KernelHeight, kernelWidth = layer.Kernel;
                int patch = layer.PatchSize;
                bool padded = IsPadded(layer);
                int paddedHeight = PaddedHeight(layer), paddedWidth = PaddedWidth(layer);
                int plane = paddedHeight * paddedWidth;
                string source = padded ? "padded" : gradient ? "dx" : "x";

                if (gradient)
                {
                    w.Line($"/// <summary>dx from the patch gradients [{outHeight * outWidth}, {patch}]: each input position sums the patch entries that read it.</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock(padded ? "public static void Col2Im(ref float dcols, ref float padded, ref float dx)" : "public static void Col2Im(ref float dcols, ref float dx)");
                }
                else
                {
                    w.Line($"/// <summary>One row of {patch} values per output pixel; positions in the padding are zero.</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock(padded ? "public static void Im2Col(ref float x, ref float padded, ref float cols)" : "public static void Im2Col(ref float x, ref float cols)");
                }
                if (gradient)
                    w.Line($"MemoryMarshal.CreateSpan(ref {source}, {channels * plane}).Clear();");
                else if (padded)
                    w.Line(PadCall(layer) + ";");

                // A row of 2 to 4 taps from the bordered buffer is one 4-float copy: each store's spare lanes fall on the taps
                // written next, and the last pixel's, like the last row's load, on the RowSlack floats past cols and the buffer.
                // Machines without Vector128 take the runtime's copy (PatchKernels.Copy).
                bool vectorRows = !gradient && padded && layer.Dilation == 1 && layer.DilationHeight == 1 && kernelWidth is >= 2 and <= 4;
                if (vectorRows)
                {
                    w.Line($"if (!{Isa.V128.IsAccelerated})");
                    w.Line($"    global::Dsl.Kernels.PatchKernels.Copy(ref padded, ref cols, {outHeight}, {outWidth}, {layer.StrideHeight}, {layer.Stride}, {paddedWidth}, {plane}, {channels}, {kernelHeight}, {kernelWidth});");
                    w.OpenBlock("else");
                }
                EmitPatchLoops(w, layer, source, plane, gradient, vectorRows);
                if (vectorRows) w.CloseBlock();
                if (padded && gradient)
                    EmitInteriorCopy(w, layer);
                w.CloseBlock();
            }

            /// <summary>Floats past the im2col rows and past the bordered input that a vectorised Im2Col may write or read.</summary>
            public const int RowSlack = 4;

            // The loops over output pixels and channels of Im2Col (or Col2Im, gradient): a tap a float at a time, or with
            // vectors each row of taps as one Vector128 copy.
            private static void EmitPatchLoops(SourceWriter w, Convolution layer, string source, int plane, bool gradient, bool vectors)
            {
                int channels = layer.Input.Channels / layer.Groups;
                int outHeight = layer.Output.Height, outWidth = layer.Output.Width;
                int kernelHeight = layer.KernelHeight, kernelWidth = layer.Kernel;
                int paddedWidth = PaddedWidth(layer), patch = layer.PatchSize;
                w.OpenBlock($"for (nuint oh = 0; oh < {outHeight}; oh++)");
                w.OpenBlock($"for (nuint ow = 0; ow < {outWidth}; ow++)");
                w.Line($"ref float row = ref Unsafe.Add(ref {(gradient ? "dcols" : "cols")}, (oh * {outWidth} + ow) * {patch});");
                string originRow = layer.StrideHeight == 1 ? "oh" : $"oh * {layer.StrideHeight}";
                string originColumn = layer.Stride == 1 ? "ow" : $"ow * {layer.Stride}";
                w.Line($"ref float origin = ref Unsafe.Add(ref {source}, {(kernelHeight == 1 && outHeight == 1 ? originColumn : $"{originRow} * {paddedWidth} + {originColumn}")});");
                w.OpenBlock($"for (nuint c = 0; c < {channels}; c++)");
                w.Line($"ref float taps = ref Unsafe.Add(ref row, c * {kernelHeight * kernelWidth});");
                w.Line($"ref float window = ref Unsafe.Add(ref origin, c * {plane});");
                for (int kh = 0; kh < kernelHeight; kh++)
                {
                    if (vectors)
                    {
                        w.Line(Isa.V128.Store(Isa.V128.Load("window", SourceWriter.Int(kh * paddedWidth)), "taps", SourceWriter.Int(kh * kernelWidth)));
                        continue;
                    }
                    for (int kw = 0; kw < kernelWidth; kw++)
                    {
                        int tap = kh * kernelWidth + kw;
                        int offset = kh * layer.DilationHeight * paddedWidth + kw * layer.Dilation;
                        w.Line(gradient
                            ? $"Unsafe.Add(ref window, {offset}) += Unsafe.Add(ref taps, {tap});"
                            : $"Unsafe.Add(ref taps, {tap}) = Unsafe.Add(ref window, {offset});");
                    }
                }
                w.CloseBlock();
                w.CloseBlock();
                w.CloseBlock();
            }

            // Copies the interior of the zero-bordered gradient buffer out to dx.
            private static void EmitInteriorCopy(SourceWriter w, Convolution layer)
            {
                int channels = layer.Input.Channels / layer.Groups;
                int height = layer.Input.Height, width = layer.Input.Width;
                int paddedWidth = PaddedWidth(layer), plane = PaddedHeight(layer) * paddedWidth;
                w.Line("// the interior of the bordered gradient is dx");
                w.Line($"for (nuint c = 0; c < {channels}; c++)");
                w.Line($"    for (nuint h = 0; h < {height}; h++)");
                w.Line($"        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref padded, c * {plane} + (h + {layer.PadTop}) * {paddedWidth} + {layer.PadLeft}), {width})" +
                       $".CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dx, (c * {height} + h) * {width}), {width}));");
            }

            // One group's input [channels / groups, height, width] inside its zero border: the runtime's copy, which clears only the border.
            private static string PadCall(Convolution layer) => $"global::Dsl.Kernels.PatchKernels.Pad(ref x, ref padded, {BorderedLayout(layer)})";

            // The sizes PatchKernels takes for one group's input inside its zero border: channels, height, width, and the border.
            private static string BorderedLayout(Convolution layer) =>
                $"{layer.Input.Channels / layer.Groups}, {layer.Input.Height}, {layer.Input.Width}, {layer.PadTop}, {layer.PadLeft}, {PadRight(layer)}";

            /// <summary>
            /// Stride 1 with one group: batch-1 inference runs the direct kernel (<see cref="EmitDirect"/>) on the
            /// channel-major input; other convolutions, and every training pass, run im2col and the dense kernels.
            /// Rows narrower than an AVX-512 vector with 32 or more output channels stay on im2col: there the dense
            /// kernels' blocked product over channels beats a half-width direct kernel (Fashion-MNIST's 14x14 64-channel
            /// layer ran ~20% slower direct).
            /// </summary>
            public static bool IsDirect(Convolution layer) =>
                layer.Groups == 1 && layer.Stride == 1 && (layer.Output.Width >= Isa.V512.Width || layer.GroupOutputs < 32);

            // Accumulators per block and output channels per block: with AVX-512's 32 registers 24 accumulators leave
            // room for a block's input vectors and one broadcast weight; the 16-register rungs (and scalar) take 12.
            private static int DirectAccumulators(Isa isa) => isa == Isa.V512 ? 24 : 12;
            private static int DirectChannels(Isa isa) => isa == Isa.V512 ? 8 : 4;

            /// <summary>
            /// The direct convolution of one sample for inference: <c>Direct</c> pads the input (when the layer pads and
            /// the step before has not written it bordered already), runs the kernel of the widest accelerated rung whose
            /// vector fits an output row, and applies a non-inline activation as a second pass over the output. With
            /// <paramref name="into"/> the output goes inside the zero border of that next convolution's input: the kernels
            /// write rows of its bordered width, and Direct clears the border first when <paramref name="clearsBorder"/>
            /// (the scratch is on the stack; a per-thread scratch keeps the border it was allocated with, Plan.InferenceScratchPersists).
            /// </summary>
            public static void EmitDirect(SourceWriter w, Convolution layer, bool bias, IReadOnlyList<Isa> ladder, bool readsBordered, Convolution? into, bool clearsBorder)
            {
                bool padded = IsPadded(layer) && !readsBordered;
                var output = OutputGeometry.Of(layer, into);
                var written = Isa.Written(ladder, layer.Output.Width, out bool fallback);
                string source = padded ? "padded" : "x";
                if (fallback) EmitDirectShape(w, layer, bias, output);
                string where = (readsBordered ? "; x already inside its zero border (the step before wrote it there)" : "") + (into is null ? "" : "; y inside the next convolution's zero border");
                w.Line($"/// <summary>y = act(W * x{(bias ? " + b" : "")}) for one sample, channel-major in and out, by the direct kernel (no im2col){where}.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock($"public static void Direct<TActivation>(ref float x, {(padded ? "ref float padded, " : "")}ref float w, ref float b, ref float y) where TActivation : struct, global::Dsl.Kernels.IActivation");
                if (padded) w.Line(PadCall(layer) + ";");
                if (into is not null && clearsBorder) w.Line($"{BorderCall(into)};");
                if (into is not null && !clearsBorder) w.Line("// The border stays zero: the per-thread scratch was zeroed when allocated, and only the interior is ever written.");
                DenseEmitter.EmitChain(w, DenseEmitter.Calls(written, rung => $"Direct_{rung.Suffix}<TActivation>(ref {source}, ref w, ref b, ref y);",
                    fallback ? $"global::Dsl.Kernels.FallbackKernels.Direct<DirectShape, TActivation>(ref {source}, ref w, ref b, ref y);" : null));
                if (into is null) EmitActivationPass(w, layer);
                w.CloseBlock();
                foreach ((Isa target, _) in written)
                {
                    w.Line();
                    EmitDirectKernel(w, layer, target, bias, output);
                }
            }

            // Activations that call exp, applied over the whole output after the kernel (Direct and DirectLanes).
            private static void EmitActivationPass(SourceWriter w, Convolution layer)
            {
                w.Line("// Activations that call exp run once over the stored sums, so no accumulator lives across a call.");
                w.Line("if (!TActivation.Inline)");
                w.Line($"    global::Dsl.Kernels.ActivationSpan.Forward<TActivation>(MemoryMarshal.CreateReadOnlySpan(ref y, {layer.Outputs}), MemoryMarshal.CreateSpan(ref y, {layer.Outputs}));");
            }

            // Where the direct kernels write: rows of the output's width, channel after channel; or, into the next
            // convolution's bordered input, rows of its padded width starting inside its border.
            private readonly record struct OutputGeometry(int RowFloats, int Plane, int Origin)
            {
                public static OutputGeometry Of(Convolution layer, Convolution? into) => into is null
                    ? new(layer.Output.Width, layer.Output.Spatial, 0)
                    : new(PaddedWidth(into), PaddedHeight(into) * PaddedWidth(into), into.PadTop * PaddedWidth(into) + into.PadLeft);

                // The kernels' `yc`: output position (0, 0) of channel `co`.
                public string ChannelStart(string co) =>
                    $"ref float yc = ref Unsafe.Add(ref y, {co} * {Plane}{(Origin == 0 ? "" : $" + {Origin}")});";
            }

            // The next convolution's zero border around the output written inside it.
            private static string BorderCall(Convolution into) => $"global::Dsl.Kernels.PatchKernels.ClearBorder(ref y, {BorderedLayout(into)})";

            // The constants the runtime's direct kernel is specialised on, on machines without AVX2.
            private static void EmitDirectShape(SourceWriter w, Convolution layer, bool bias, OutputGeometry output)
            {
                int paddedWidth = IsPadded(layer) ? PaddedWidth(layer) : layer.Input.Width;
                int plane = (IsPadded(layer) ? PaddedHeight(layer) : layer.Input.Height) * paddedWidth;
                w.Line("/// <summary>This convolution's constants, for the runtime's direct kernel on machines without AVX2.</summary>");
                w.OpenBlock("private readonly struct DirectShape : global::Dsl.Kernels.IDirectConvolutionShape");
                w.Line($"public static int InputChannels => {layer.Input.Channels};");
                w.Line($"public static int OutputChannels => {layer.Output.Channels};");
                w.Line($"public static int OutputHeight => {layer.Output.Height};");
                w.Line($"public static int OutputWidth => {layer.Output.Width};");
                w.Line($"public static int KernelHeight => {layer.KernelHeight};");
                w.Line($"public static int KernelWidth => {layer.Kernel};");
                w.Line($"public static int DilationHeight => {layer.DilationHeight};");
                w.Line($"public static int DilationWidth => {layer.Dilation};");
                w.Line($"public static int InputWidth => {paddedWidth};");
                w.Line($"public static int InputPlane => {plane};");
                w.Line($"public static bool Bias => {(bias ? "true" : "false")};");
                w.Line($"public static int OutputRowFloats => {output.RowFloats};");
                w.Line($"public static int OutputPlane => {output.Plane};");
                w.Line($"public static int OutputOrigin => {output.Origin};");
                w.CloseBlock();
                w.Line();
            }

            // y[co, oh, ow] = b[co] + sum over (ci, ky, kx) of W[(ci, ky, kx), co] x[ci, oh + ky dh, ow + kx dw], x the
            // (padded) input. Output positions of a row are in the lanes; a block is a few output channels times a few
            // vectors of output positions, all in accumulators. Per tap: each input vector is loaded once, each channel's
            // weight broadcast once (a tap's weights for consecutive channels are contiguous in the input-major W).
            private static void EmitDirectKernel(SourceWriter w, Convolution layer, Isa isa, bool bias, OutputGeometry output)
            {
                if (ChannelLanes(layer, isa))
                {
                    EmitChannelLanesKernel(w, layer, bias, output);
                    return;
                }
                int outChannels = layer.Output.Channels, inChannels = layer.Input.Channels;
                int outHeight = layer.Output.Height, outWidth = layer.Output.Width;
                int kernelHeight = layer.KernelHeight, kernelWidth = layer.Kernel, taps = kernelHeight * kernelWidth;
                int paddedWidth = IsPadded(layer) ? PaddedWidth(layer) : layer.Input.Width;
                int plane = (IsPadded(layer) ? PaddedHeight(layer) : layer.Input.Height) * paddedWidth;
                Columns columns = Columns.Of(outWidth, isa);

                // Channel blocks as even as the register budget allows (16 channels: 2 x 8, not 8 + 8 ... + remainder).
                int blocks = (outChannels + DirectChannels(isa) - 1) / DirectChannels(isa);
                int perBlock = (outChannels + blocks - 1) / blocks;
                int fullBlocks = outChannels / perBlock, lastChannels = outChannels % perBlock;
                int vectors = System.Math.Max(1, DirectAccumulators(isa) / perBlock);
                // Short rows: whole rows per block, several rows at once; long rows: tiles of vectors along the row.
                int perTile = System.Math.Min(columns.Vectors, vectors);
                int rows = columns.Vectors <= vectors ? System.Math.Min(outHeight, vectors / columns.Vectors) : 1;
                // A small window is written out tap by tap inside the loop over input channels; with a single input channel
                // there is no such loop, and a loop over the window's rows is as fast (Intel Xeon, a 1 -> 8 3x3 layer's share
                // of case D unchanged in perf samples) in a third of the source.
                bool unrollWindow = taps <= 16 && inChannels > 1;

                w.Line($"// {outChannels} channels in blocks of {perBlock}{(lastChannels > 0 ? $" (the last of {lastChannels})" : "")} x {(rows > 1 ? $"{rows} rows x " : "")}{perTile} {(isa.IsScalar ? "positions" : "vectors")} of a row: " +
                       $"{perBlock * rows * perTile} accumulators{(columns.HasTail && !isa.IsScalar ? $"; a row's last vector overlaps the one before (both store the same values)" : "")}.");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock($"private static void Direct_{isa.Suffix}<TActivation>(ref float x, ref float w, ref float b, ref float y) where TActivation : struct, global::Dsl.Kernels.IActivation");
                if (fullBlocks >= 2)
                {
                    w.OpenBlock($"for (nuint co = 0; co < {fullBlocks * perBlock}; co += {perBlock})");
                    ChannelBlock("co", perBlock);
                    w.CloseBlock();
                }
                else
                {
                    w.OpenBlock($"// channels 0..{perBlock - 1}");
                    w.Line("const nuint co = 0;");
                    ChannelBlock("co", perBlock);
                    w.CloseBlock();
                }
                if (lastChannels > 0)
                {
                    w.OpenBlock($"// channels {fullBlocks * perBlock}..{outChannels - 1}");
                    w.Line($"const nuint co = {fullBlocks * perBlock};");
                    ChannelBlock("co", lastChannels);
                    w.CloseBlock();
                }
                w.CloseBlock();

                void ChannelBlock(string co, int channels)
                {
                    w.Line($"ref float wc = ref Unsafe.Add(ref w, {co});");
                    if (bias) w.Line($"ref float bc = ref Unsafe.Add(ref b, {co});");
                    w.Line(output.ChannelStart(co));
                    int regular = outHeight / rows, leftover = outHeight % rows;
                    w.OpenBlock(rows == 1 ? $"for (nuint oh = 0; oh < {outHeight}; oh++)" : $"for (nuint oh = 0; oh < {regular * rows}; oh += {rows})");
                    RowBlock(channels, rows);
                    w.CloseBlock();
                    if (leftover > 0)
                    {
                        w.OpenBlock($"// rows {regular * rows}..{outHeight - 1}");
                        w.Line($"const nuint oh = {regular * rows};");
                        RowBlock(channels, leftover);
                        w.CloseBlock();
                    }
                }

                void RowBlock(int channels, int blockRows)
                {
                    w.Line($"ref float xr = ref Unsafe.Add(ref x, oh * {paddedWidth});");
                    w.Line($"ref float yr = ref Unsafe.Add(ref yc, oh * {output.RowFloats});");
                    columns.EmitTiles(w, perTile, tile => Block(channels, blockRows, tile));
                }

                void Block(int channels, int blockRows, List<Segment> tile)
                {
                    int spots = blockRows * tile.Count;
                    Offset Spot(int s) => tile[s % tile.Count].Offset.Plus(s / tile.Count * paddedWidth);
                    Offset Out(int c, int s) => tile[s % tile.Count].Offset.Plus(c * output.Plane + s / tile.Count * output.RowFloats);
                    for (int c = 0; c < channels; c++)
                        for (int s = 0; s < spots; s++)
                            w.Line($"var acc{c}_{s} = {(bias ? isa.Broadcast($"Unsafe.Add(ref bc, {c})") : isa.Zero)};");
                    if (inChannels == 1)
                    {
                        w.OpenBlock("// the only input channel");
                        w.Line("const nuint ci = 0;");
                    }
                    else w.OpenBlock($"for (nuint ci = 0; ci < {inChannels}; ci++)");
                    w.Line($"ref float xc = ref Unsafe.Add(ref xr, ci * {plane});");
                    w.Line($"ref float wi = ref Unsafe.Add(ref wc, ci * {taps * outChannels});");
                    if (unrollWindow)
                    {
                        for (int ky = 0; ky < kernelHeight; ky++)
                            for (int kx = 0; kx < kernelWidth; kx++)
                                Tap("xc", "wi", ky * layer.DilationHeight * paddedWidth + kx * layer.Dilation, (ky * kernelWidth + kx) * outChannels, $"tap ({ky}, {kx})");
                    }
                    else
                    {
                        w.OpenBlock($"for (nuint ky = 0; ky < {kernelHeight}; ky++)");
                        w.Line($"ref float xk = ref Unsafe.Add(ref xc, ky * {layer.DilationHeight * paddedWidth});");
                        w.Line($"ref float wk = ref Unsafe.Add(ref wi, ky * {kernelWidth * outChannels});");
                        for (int kx = 0; kx < kernelWidth; kx++)
                            Tap("xk", "wk", kx * layer.Dilation, kx * outChannels, $"tap (ky, {kx})");
                        w.CloseBlock();
                    }
                    w.CloseBlock();

                    void Tap(string xs, string ws, int shift, int weight, string comment)
                    {
                        w.OpenBlock($"// {comment}");
                        for (int s = 0; s < spots; s++) w.Line($"var x{s} = {isa.Load(xs, Spot(s).Plus(shift).ToString())};");
                        for (int c = 0; c < channels; c++)
                        {
                            w.Line($"var w{c} = {isa.Broadcast($"Unsafe.Add(ref {ws}, {weight + c})")};");
                            for (int s = 0; s < spots; s++) w.Line($"acc{c}_{s} = {isa.MultiplyAdd($"x{s}", $"w{c}", $"acc{c}_{s}")};");
                        }
                        w.CloseBlock();
                    }

                    w.OpenBlock("if (TActivation.Inline)");
                    for (int c = 0; c < channels; c++)
                        for (int s = 0; s < spots; s++)
                            w.Line(isa.Store($"TActivation.Invoke(acc{c}_{s})", "yr", Out(c, s).ToString()));
                    w.CloseBlock();
                    w.OpenBlock("else");
                    for (int c = 0; c < channels; c++)
                        for (int s = 0; s < spots; s++)
                            w.Line(isa.Store($"acc{c}_{s}", "yr", Out(c, s).ToString()));
                    w.CloseBlock();
                }
            }

            /// <summary>
            /// With AVX-512, output channels in whole vectors, and a row that leaves lanes of its vectors idle (a 28-wide
            /// row fills 28 of 32), the channels go in the lanes instead: every lane is an output. Case D's 8 -> 16
            /// convolution (Intel Xeon, alone): 8.78 -> 8.20 us, the same floats. A tile's transpose (64 shuffles) costs
            /// about what 64 of its multiply-adds do, so each position must bring enough of them: 72 there (8 channels of
            /// 3 x 3), where one input channel's 9 would nearly double the tile's time.
            /// </summary>
            private static bool ChannelLanes(Convolution layer, Isa isa)
            {
                if (isa != Isa.V512 || !LanesFit(layer)) return false;
                Columns row = Columns.Of(layer.Output.Width, isa);
                return row.Isa == isa && layer.Output.Width * 10 < row.Vectors * isa.Width * 9;
            }

            // Output channels in whole AVX-512 vectors, enough multiply-adds per position to carry the transpose, and a W
            // the kernel can walk: each tile reads a channel block's weight vectors Outputs floats apart across all of W,
            // which past the first-level TLB's reach (64 pages of 4 KB) costs more than the lanes gain. ResNet-18 with its
            // 2.4 and 9.4 MB layers on channel lanes: 45.1 ms a call against 32.2 with im2col's packed panels.
            private static bool LanesFit(Convolution layer) =>
                layer.Output.Channels % Isa.V512.Width == 0
                && layer.Input.Channels * layer.KernelHeight * layer.Kernel >= MinLaneProducts
                && (long)layer.Input.Channels * layer.KernelHeight * layer.Kernel * layer.Output.Channels * sizeof(float) <= MaxLaneWeightBytes;

            // Multiply-adds per output position (input channels x window) below which the row kernel stays.
            private const int MinLaneProducts = 36;

            // The most W (bytes) a channel-lanes kernel reads: the first-level TLB's reach.
            private const int MaxLaneWeightBytes = 256 * 1024;

            /// <summary>
            /// A convolution that runs im2col because its rows are narrower than an AVX-512 vector and it has 32 or more
            /// output channels (<see cref="IsDirect"/>) still fills every lane with its channels there: with AVX-512 its
            /// batch-1 inference runs the channel-lanes kernel (<see cref="EmitDirectLanes"/>), and im2col on the other
            /// rungs, where the row kernel lost to it. The sample CNN's 32 -> 64 convolution on 14 x 14 (Intel Xeon):
            /// see docs/benchmarks.md, "a seventh stop".
            /// </summary>
            public static bool LanesOnNarrowRows(Convolution layer, IReadOnlyList<Isa> ladder) =>
                !IsDirect(layer) && layer.Groups == 1 && layer.Stride == 1 && layer.Output.Width < Isa.V512.Width
                && LanesFit(layer) && ladder.Contains(Isa.V512);

            /// <summary>
            /// <c>DirectLanes</c>: the channel-lanes kernel of one sample, for a layer whose other rungs run im2col
            /// (<see cref="LanesOnNarrowRows"/>); the call site runs it when AVX-512 is accelerated. Pads the input when the
            /// layer pads, and applies a non-inline activation as a second pass, as <c>Direct</c> does.
            /// </summary>
            public static void EmitDirectLanes(SourceWriter w, Convolution layer, bool bias)
            {
                bool padded = IsPadded(layer);
                w.Line($"/// <summary>y = act(W * x{(bias ? " + b" : "")}) for one sample, channel-major in and out, with the output channels in AVX-512 lanes (the caller checks for AVX-512; other rungs run im2col).</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock($"public static void DirectLanes<TActivation>(ref float x, {(padded ? "ref float padded, " : "")}ref float w, ref float b, ref float y) where TActivation : struct, global::Dsl.Kernels.IActivation");
                if (padded) w.Line(PadCall(layer) + ";");
                w.Line($"Direct_512<TActivation>(ref {(padded ? "padded" : "x")}, ref w, ref b, ref y);");
                EmitActivationPass(w, layer);
                w.CloseBlock();
                w.Line();
                EmitChannelLanesKernel(w, layer, bias, OutputGeometry.Of(layer, null));
            }

            // Positions of a row per channel-lanes tile: one accumulator each, beside the window's row of weight vectors
            // and one broadcast input; rows split evenly (28: 2 x 14).
            private const int MaxLanePositions = 14;

            // y[co, oh, ow] as EmitDirectKernel's, with 16 output channels in the lanes and a tile of positions along a
            // row, one accumulator each. Per input channel and window row: the row's weight vectors (one per kx) are
            // loaded once, each input of the tile's span broadcast once and multiplied into every position it reaches
            // (position p takes input p + kx dw for weight kx, in kx order, so each sum runs in the row kernel's order and
            // gives the same float). The tile goes out through a 16 x 16 transpose into the channel planes.
            private static void EmitChannelLanesKernel(SourceWriter w, Convolution layer, bool bias, OutputGeometry output)
            {
                Isa isa = Isa.V512;
                int outChannels = layer.Output.Channels, inChannels = layer.Input.Channels;
                int outHeight = layer.Output.Height, outWidth = layer.Output.Width;
                int kernelHeight = layer.KernelHeight, kernelWidth = layer.Kernel, taps = kernelHeight * kernelWidth;
                int paddedWidth = IsPadded(layer) ? PaddedWidth(layer) : layer.Input.Width;
                int plane = (IsPadded(layer) ? PaddedHeight(layer) : layer.Input.Height) * paddedWidth;
                int tiles = (outWidth + MaxLanePositions - 1) / MaxLanePositions;
                int positions = (outWidth + tiles - 1) / tiles, regular = outWidth / positions, last = outWidth - regular * positions;
                // Rows of at most half a tile, written unbordered (one after the other in the plane), go several to a tile:
                // 7-wide rows two at a time, so 14 accumulators hide the FMA latency that 7 would not.
                int rowsPerTile = output.RowFloats == outWidth && output.Origin == 0 ? System.Math.Max(1, MaxLanePositions / outWidth) : 1;

                if (rowsPerTile > 1)
                    w.Line($"// {outChannels} channels in blocks of 16 in the lanes x {rowsPerTile} rows of {outWidth} positions: {rowsPerTile * outWidth} accumulators, transposed into the channel planes.");
                else
                    w.Line($"// {outChannels} channels in blocks of 16 in the lanes x {positions} positions of a row: {positions} accumulators, transposed into the channel planes.");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock($"private static void Direct_{isa.Suffix}<TActivation>(ref float x, ref float w, ref float b, ref float y) where TActivation : struct, global::Dsl.Kernels.IActivation");
                w.Line("global::System.Span<float> tileBuffer = stackalloc float[256];");
                w.Line("ref float tile = ref MemoryMarshal.GetReference(tileBuffer);");
                if (outChannels > isa.Width) w.OpenBlock($"for (nuint co = 0; co < {outChannels}; co += {isa.Width})");
                else
                {
                    w.OpenBlock($"// channels 0..{isa.Width - 1}");
                    w.Line("const nuint co = 0;");
                }
                w.Line("ref float wc = ref Unsafe.Add(ref w, co);");
                w.Line($"var bias = {(bias ? isa.Load("b", "co") : isa.Zero)};");
                w.Line(output.ChannelStart("co"));
                if (rowsPerTile > 1)
                {
                    int fullRows = outHeight / rowsPerTile * rowsPerTile;
                    if (fullRows > 0)
                    {
                        w.OpenBlock(fullRows > rowsPerTile ? $"for (nuint oh = 0; oh < {fullRows}; oh += {rowsPerTile}) // rows oh..oh+{rowsPerTile - 1}" : $"// rows 0..{rowsPerTile - 1}");
                        if (fullRows == rowsPerTile) w.Line("const nuint oh = 0;");
                        RowTile(rowsPerTile);
                        w.CloseBlock();
                    }
                    if (fullRows < outHeight)
                    {
                        w.OpenBlock($"// rows {fullRows}..{outHeight - 1}");
                        w.Line($"const nuint oh = {fullRows};");
                        RowTile(outHeight - fullRows);
                        w.CloseBlock();
                    }
                }
                else
                {
                    w.OpenBlock($"for (nuint oh = 0; oh < {outHeight}; oh++)");
                    w.Line($"ref float xr = ref Unsafe.Add(ref x, oh * {paddedWidth});");
                    w.Line($"ref float yr = ref Unsafe.Add(ref yc, oh * {output.RowFloats});");
                    if (regular >= 2)
                    {
                        w.OpenBlock($"for (nuint ow = 0; ow < {regular * positions}; ow += {positions}) // positions ow..ow+{positions - 1}");
                        Tile(1, positions);
                        w.CloseBlock();
                    }
                    else
                    {
                        w.OpenBlock($"// positions 0..{positions - 1}");
                        w.Line("const nuint ow = 0;");
                        Tile(1, positions);
                        w.CloseBlock();
                    }
                    if (last > 0)
                    {
                        w.OpenBlock($"// positions {regular * positions}..{outWidth - 1}");
                        w.Line($"const nuint ow = {regular * positions};");
                        Tile(1, last);
                        w.CloseBlock();
                    }
                    w.CloseBlock();
                }
                w.CloseBlock();
                w.CloseBlock();

                // `rows` whole rows from oh, one after the other in the tile as in the plane.
                void RowTile(int rows)
                {
                    w.Line($"ref float xr = ref Unsafe.Add(ref x, oh * {paddedWidth});");
                    w.Line($"ref float yr = ref Unsafe.Add(ref yc, oh * {output.RowFloats});");
                    w.Line("const nuint ow = 0;");
                    Tile(rows, outWidth);
                }

                // Positions ow.. of `rows` rows from xr (input) and yr (output), `count` of each row: accumulator r·count + p.
                void Tile(int rows, int count)
                {
                    for (int p = 0; p < rows * count; p++) w.Line($"var acc{p} = bias;");
                    w.OpenBlock(inChannels == 1 ? "// the only input channel" : $"for (nuint ci = 0; ci < {inChannels}; ci++)");
                    if (inChannels == 1) w.Line("const nuint ci = 0;");
                    w.Line($"ref float xc = ref Unsafe.Add(ref xr, ci * {plane} + ow);");
                    w.Line($"ref float wi = ref Unsafe.Add(ref wc, ci * {taps * outChannels});");
                    w.OpenBlock($"for (nuint ky = 0; ky < {kernelHeight}; ky++)");
                    w.Line($"ref float xk = ref Unsafe.Add(ref xc, ky * {layer.DilationHeight * paddedWidth});");
                    w.Line($"ref float wk = ref Unsafe.Add(ref wi, ky * {kernelWidth * outChannels});");
                    for (int kx = 0; kx < kernelWidth; kx++) w.Line($"var w{kx} = {isa.Load("wk", SourceWriter.Int(kx * outChannels))};");
                    int span = count + (kernelWidth - 1) * layer.Dilation;
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < span; j++)
                        {
                            string name = rows == 1 ? $"x{j}" : $"x{r}_{j}";
                            w.Line($"var {name} = {isa.Broadcast($"Unsafe.Add(ref xk, {r * paddedWidth + j})")};");
                            for (int kx = 0; kx < kernelWidth; kx++)
                            {
                                int p = j - kx * layer.Dilation;
                                if (p >= 0 && p < count) w.Line($"acc{r * count + p} = {isa.MultiplyAdd($"w{kx}", name, $"acc{r * count + p}")};");
                            }
                        }
                    w.CloseBlock();
                    w.CloseBlock();
                    w.OpenBlock("if (TActivation.Inline)");
                    for (int p = 0; p < rows * count; p++) w.Line(isa.Store($"TActivation.Invoke(acc{p})", "tile", SourceWriter.Int(p * isa.Width)));
                    w.CloseBlock();
                    w.OpenBlock("else");
                    for (int p = 0; p < rows * count; p++) w.Line(isa.Store($"acc{p}", "tile", SourceWriter.Int(p * isa.Width)));
                    w.CloseBlock();
                    w.Line($"global::Dsl.Kernels.DenseKernels.TransposeTile16(ref tile, ref Unsafe.Add(ref yr, ow), {output.Plane}, {rows * count});");
                }
            }

            public static bool IsPadded(Convolution layer) => layer.PadTop > 0 || layer.PadLeft > 0 || PadRight(layer) > 0;

            private static int PadRight(Convolution layer) => layer.Causal ? 0 : layer.Padding;

            private static int PaddedHeight(Convolution layer) => layer.Input.Height + 2 * layer.PadTop;

            private static int PaddedWidth(Convolution layer) => layer.Input.Width + layer.PadLeft + PadRight(layer);

            /// <summary>Floats of the zero-bordered copy of one group's input, or 0 without padding.</summary>
            public static int PaddedFloats(Convolution layer) => IsPadded(layer) ? layer.Input.Channels / layer.Groups * PaddedHeight(layer) * PaddedWidth(layer) : 0;

            // ToChannels: y[n, p] = pixels[p, n]; ToPixels: the reverse, for the gradient. One runtime transpose.
            private static void EmitTranspose(SourceWriter w, Convolution layer, bool toChannels)
            {
                int pixels = layer.Output.Spatial, channels = layer.GroupOutputs;
                w.Line(toChannels
                    ? $"/// <summary>Pixel-major [{pixels}, {channels}] to channel-major [{channels}, {pixels}].</summary>"
                    : $"/// <summary>Channel-major [{channels}, {pixels}] to pixel-major [{pixels}, {channels}].</summary>");
                w.Line(toChannels
                    ? $"public static void ToChannels(ref float pixels, ref float y) => global::Dsl.Kernels.DenseKernels.Transpose(ref pixels, ref y, {pixels}, {channels});"
                    : $"public static void ToPixels(ref float y, ref float pixels) => global::Dsl.Kernels.DenseKernels.Transpose(ref y, ref pixels, {channels}, {pixels});");
            }

            // W'[g, k, n] = W[g, k, n] * scale[g*N + n]; b'[c] = b[c] * scale[c] + shift[c].
            private static void EmitFold(SourceWriter w, Convolution layer)
            {
                int channels = layer.Output.Channels;
                w.Line("/// <summary>Folds a batch norm's per-channel scale and shift into this convolution's weight and bias.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void Fold(ref float w, ref float b, ref float scale, ref float shift, ref float foldedWeight, ref float foldedBias)");
                w.Line($"for (nuint g = 0; g < {layer.Groups}; g++)");
                w.Line($"    global::Dsl.Kernels.BatchNormKernels.ScaleColumns(ref Unsafe.Add(ref w, g * {layer.PatchSize * layer.GroupOutputs}), ref Unsafe.Add(ref scale, g * {layer.GroupOutputs}), " +
                       $"ref Unsafe.Add(ref foldedWeight, g * {layer.PatchSize * layer.GroupOutputs}), {layer.PatchSize}, {layer.GroupOutputs});");
                w.Line($"for (nuint c = 0; c < {channels}; c++)");
                w.Line(layer.HasBias
                    ? "    Unsafe.Add(ref foldedBias, c) = Unsafe.Add(ref b, c) * Unsafe.Add(ref scale, c) + Unsafe.Add(ref shift, c);"
                    : "    Unsafe.Add(ref foldedBias, c) = Unsafe.Add(ref shift, c);");
                w.CloseBlock();
            }
        }
    }
}
