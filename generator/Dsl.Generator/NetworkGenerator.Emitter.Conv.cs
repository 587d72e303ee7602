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
        private static class ConvEmitter
        {
            public static void EmitConstants(SourceWriter w, LayerSpec layer)
            {
                w.Line($"public const int Inputs = {layer.PatchSize}; // patch: {layer.Input.Channels / layer.Groups} channels x {layer.KernelHeight}x{layer.Kernel} taps");
                w.Line($"public const int Outputs = {layer.GroupOutputs}; // output channels per group");
                w.Line($"public const int Pixels = {layer.Output.Spatial};");
                w.Line($"public const int Groups = {layer.Groups};");
                w.Line($"public const int GroupWeights = {layer.PatchSize * layer.GroupOutputs};");
                w.Line($"public const int GroupInputFloats = {layer.Input.Channels / layer.Groups * layer.Input.Spatial};");
                w.Line($"public const int GroupOutputFloats = {layer.GroupOutputs * layer.Output.Spatial};");
            }

            public static void EmitForwardHelpers(SourceWriter w, LayerSpec layer, bool folded, bool zeroBias)
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

            public static void EmitBackwardHelpers(SourceWriter w, LayerSpec layer)
            {
                EmitIm2Col(w, layer, gradient: true);
                w.Line();
                EmitTranspose(w, layer, toChannels: false);
            }

            // Im2Col: cols[p, (c*KH + kh)*KW + kw] = x[c, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl], zero outside x.
            // Col2Im (gradient): dx[c, ...] = sum of dcols over every patch position that read it.
            // With padding, x is first copied into a zero-bordered buffer, so every tap of every pixel reads in
            // range: one branch-free row of taps per pixel, written (or read) in order.
            private static void EmitIm2Col(SourceWriter w, LayerSpec layer, bool gradient)
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
                if (padded || gradient)
                    w.Line($"MemoryMarshal.CreateSpan(ref {source}, {channels * plane}).Clear();");
                if (padded && !gradient)
                    EmitPaddingCopy(w, layer, toPadded: true);

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
                    for (int kw = 0; kw < kernelWidth; kw++)
                    {
                        int tap = kh * kernelWidth + kw;
                        int offset = kh * layer.DilationHeight * paddedWidth + kw * layer.Dilation;
                        w.Line(gradient
                            ? $"Unsafe.Add(ref window, {offset}) += Unsafe.Add(ref taps, {tap});"
                            : $"Unsafe.Add(ref taps, {tap}) = Unsafe.Add(ref window, {offset});");
                    }
                w.CloseBlock();
                w.CloseBlock();
                w.CloseBlock();
                if (padded && gradient)
                    EmitPaddingCopy(w, layer, toPadded: false);
                w.CloseBlock();
            }

            // Copies the input into the interior of the zero-bordered buffer, or the interior back out (gradient).
            private static void EmitPaddingCopy(SourceWriter w, LayerSpec layer, bool toPadded)
            {
                int channels = layer.Input.Channels / layer.Groups;
                int height = layer.Input.Height, width = layer.Input.Width;
                int paddedWidth = PaddedWidth(layer), plane = PaddedHeight(layer) * paddedWidth;
                string outside = toPadded ? "x" : "dx", inside = "padded";
                w.Line(toPadded ? "// the input, inside a zero border" : "// the interior of the bordered gradient is dx");
                w.Line($"for (nuint c = 0; c < {channels}; c++)");
                w.Line($"    for (nuint h = 0; h < {height}; h++)");
                string outsideSpan = $"MemoryMarshal.CreateSpan(ref Unsafe.Add(ref {outside}, (c * {height} + h) * {width}), {width})";
                string insideSpan = $"MemoryMarshal.CreateSpan(ref Unsafe.Add(ref {inside}, c * {plane} + (h + {layer.PadTop}) * {paddedWidth} + {layer.PadLeft}), {width})";
                w.Line($"        {(toPadded ? outsideSpan : insideSpan)}.CopyTo({(toPadded ? insideSpan : outsideSpan)});");
            }

            public static bool IsPadded(LayerSpec layer) => layer.PadTop > 0 || layer.PadLeft > 0 || PadRight(layer) > 0;

            private static int PadRight(LayerSpec layer) => layer.Causal ? 0 : layer.Padding;

            private static int PaddedHeight(LayerSpec layer) => layer.Input.Height + 2 * layer.PadTop;

            private static int PaddedWidth(LayerSpec layer) => layer.Input.Width + layer.PadLeft + PadRight(layer);

            /// <summary>Floats of the zero-bordered copy of one group's input, or 0 without padding.</summary>
            public static int PaddedFloats(LayerSpec layer) => IsPadded(layer) ? layer.Input.Channels / layer.Groups * PaddedHeight(layer) * PaddedWidth(layer) : 0;

            // ToChannels: y[n, p] = pixels[p, n]; ToPixels: the reverse, for the gradient.
            private static void EmitTranspose(SourceWriter w, LayerSpec layer, bool toChannels)
            {
                int pixels = layer.Output.Spatial, channels = layer.GroupOutputs;
                if (toChannels)
                {
                    w.Line($"/// <summary>Pixel-major [{pixels}, {channels}] to channel-major [{channels}, {pixels}].</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock("public static void ToChannels(ref float pixels, ref float y)");
                    w.OpenBlock($"for (nuint n = 0; n < {channels}; n++)");
                    w.Line($"ref float yn = ref Unsafe.Add(ref y, n * {pixels});");
                    w.Line($"for (nuint p = 0; p < {pixels}; p++)");
                    w.Line($"    Unsafe.Add(ref yn, p) = Unsafe.Add(ref pixels, p * {channels} + n);");
                }
                else
                {
                    w.Line($"/// <summary>Channel-major [{channels}, {pixels}] to pixel-major [{pixels}, {channels}].</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock("public static void ToPixels(ref float y, ref float pixels)");
                    // Written in order, read across the channel planes: strided reads cost less than strided writes.
                    w.OpenBlock($"for (nuint p = 0; p < {pixels}; p++)");
                    w.Line($"ref float pixel = ref Unsafe.Add(ref pixels, p * {channels});");
                    w.Line($"for (nuint n = 0; n < {channels}; n++)");
                    w.Line($"    Unsafe.Add(ref pixel, n) = Unsafe.Add(ref y, n * {pixels} + p);");
                }
                w.CloseBlock();
                w.CloseBlock();
            }

            // W'[g, k, n] = W[g, k, n] * scale[g*N + n]; b'[c] = b[c] * scale[c] + shift[c].
            private static void EmitFold(SourceWriter w, LayerSpec layer)
            {
                int channels = layer.Output.Channels;
                w.Line("/// <summary>Folds a batch norm's per-channel scale and shift into this convolution's weight and bias.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                w.OpenBlock("public static void Fold(ref float w, ref float b, ref float scale, ref float shift, ref float foldedWeight, ref float foldedBias)");
                w.OpenBlock($"for (nuint g = 0; g < {layer.Groups}; g++)");
                w.OpenBlock($"for (nuint k = 0; k < {layer.PatchSize}; k++)");
                w.Line($"nuint row = (g * {layer.PatchSize} + k) * {layer.GroupOutputs};");
                w.Line($"for (nuint n = 0; n < {layer.GroupOutputs}; n++)");
                w.Line($"    Unsafe.Add(ref foldedWeight, row + n) = Unsafe.Add(ref w, row + n) * Unsafe.Add(ref scale, g * {layer.GroupOutputs} + n);");
                w.CloseBlock();
                w.CloseBlock();
                w.Line($"for (nuint c = 0; c < {channels}; c++)");
                w.Line(layer.HasBias
                    ? "    Unsafe.Add(ref foldedBias, c) = Unsafe.Add(ref b, c) * Unsafe.Add(ref scale, c) + Unsafe.Add(ref shift, c);"
                    : "    Unsafe.Add(ref foldedBias, c) = Unsafe.Add(ref shift, c);");
                w.CloseBlock();
            }
        }
    }
}
