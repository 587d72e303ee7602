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
        /// Which input positions a kernel tap reads is worked out here, per tap, so the border needs no branches:
        /// each tap copies one rectangle of in-range pixels, and the padding stays at the zero it was cleared to.
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

            // Im2Col: cols[p, (c*KH + kh)*KW + kw] = x[c, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl].
            // Col2Im (gradient): dx at the same positions += dcols; the caller zeroes dx.
            private static void EmitIm2Col(SourceWriter w, LayerSpec layer, bool gradient)
            {
                int channels = layer.Input.Channels / layer.Groups;
                int height = layer.Input.Height, width = layer.Input.Width;
                int outHeight = layer.Output.Height, outWidth = layer.Output.Width;
                int kernelHeight = layer.KernelHeight, kernelWidth = layer.Kernel;
                int patch = layer.PatchSize;
                string name = gradient ? "Col2Im" : "Im2Col";
                bool anyPadding = false;

                var taps = new System.Collections.Generic.List<string[]>();
                for (int kh = 0; kh < kernelHeight; kh++)
                {
                    int rowShift = kh * layer.DilationHeight - layer.PadTop;
                    (int rowFirst, int rowEnd) = InRange(rowShift, layer.StrideHeight, height, outHeight);
                    for (int kw = 0; kw < kernelWidth; kw++)
                    {
                        int columnShift = kw * layer.Dilation - layer.PadLeft;
                        (int columnFirst, int columnEnd) = InRange(columnShift, layer.Stride, width, outWidth);
                        if (rowFirst > 0 || rowEnd < outHeight || columnFirst > 0 || columnEnd < outWidth) anyPadding = true;
                        if (rowFirst >= rowEnd || columnFirst >= columnEnd) continue; // this tap only ever reads padding
                        string source = $"{Index("oh", layer.StrideHeight, rowShift)} * {width} + {Index("ow", layer.Stride, columnShift)}";
                        string target = $"(oh * {outWidth} + ow) * {patch} + {kh * kernelWidth + kw}";
                        taps.Add(new[] { $"// tap ({kh}, {kw}): output rows {rowFirst}..{rowEnd - 1}, columns {columnFirst}..{columnEnd - 1} read the input",
                            $"for (nuint oh = {rowFirst}; oh < {rowEnd}; oh++)",
                            $"for (nuint ow = {columnFirst}; ow < {columnEnd}; ow++)",
                            gradient
                                ? $"Unsafe.Add(ref dxc, {source}) += Unsafe.Add(ref dcolc, {target});"
                                : $"Unsafe.Add(ref colc, {target}) = Unsafe.Add(ref xc, {source});" });
                    }
                }

                if (gradient)
                {
                    w.Line($"/// <summary>Adds the patch gradients [{outHeight * outWidth}, {patch}] back onto the input positions they were read from (dx must start zeroed).</summary>");
                    w.OpenBlock($"public static void {name}(ref float dcols, ref float dx)");
                }
                else
                {
                    w.Line($"/// <summary>One row of {patch} values per output pixel; padding positions are zero.</summary>");
                    w.OpenBlock($"public static void {name}(ref float x, ref float cols)");
                    if (anyPadding) w.Line($"MemoryMarshal.CreateSpan(ref cols, {outHeight * outWidth * patch}).Clear();");
                }
                w.OpenBlock($"for (nuint c = 0; c < {channels}; c++)");
                if (gradient)
                {
                    w.Line($"ref float dxc = ref Unsafe.Add(ref dx, c * {height * width});");
                    w.Line($"ref float dcolc = ref Unsafe.Add(ref dcols, c * {kernelHeight * kernelWidth});");
                }
                else
                {
                    w.Line($"ref float xc = ref Unsafe.Add(ref x, c * {height * width});");
                    w.Line($"ref float colc = ref Unsafe.Add(ref cols, c * {kernelHeight * kernelWidth});");
                }
                foreach (string[] tap in taps)
                {
                    w.Line(tap[0]);
                    w.Line(tap[1]);
                    w.Line("    " + tap[2]);
                    w.Line("        " + tap[3]);
                }
                w.CloseBlock();
                w.CloseBlock();
            }

            /// <summary>Output positions o in [first, end) for which o * stride + shift lies in [0, size).</summary>
            private static (int First, int End) InRange(int shift, int stride, int size, int outputs)
            {
                int first = 0;
                while (first < outputs && first * stride + shift < 0) first++;
                int end = first;
                while (end < outputs && end * stride + shift < size) end++;
                return (first, end);
            }

            private static string Index(string variable, int stride, int shift)
            {
                string scaled = stride == 1 ? variable : $"{variable} * {stride}";
                return shift == 0 ? scaled : shift > 0 ? $"({scaled} + {shift})" : $"({scaled} - {-shift})";
            }

            // ToChannels: y[n, p] = pixels[p, n]; ToPixels: the reverse, for the gradient.
            private static void EmitTranspose(SourceWriter w, LayerSpec layer, bool toChannels)
            {
                int pixels = layer.Output.Spatial, channels = layer.GroupOutputs;
                if (toChannels)
                {
                    w.Line($"/// <summary>Pixel-major [{pixels}, {channels}] to channel-major [{channels}, {pixels}].</summary>");
                    w.OpenBlock("public static void ToChannels(ref float pixels, ref float y)");
                    w.OpenBlock($"for (nuint n = 0; n < {channels}; n++)");
                    w.Line($"ref float yn = ref Unsafe.Add(ref y, n * {pixels});");
                    w.Line($"for (nuint p = 0; p < {pixels}; p++)");
                    w.Line($"    Unsafe.Add(ref yn, p) = Unsafe.Add(ref pixels, p * {channels} + n);");
                }
                else
                {
                    w.Line($"/// <summary>Channel-major [{channels}, {pixels}] to pixel-major [{pixels}, {channels}].</summary>");
                    w.OpenBlock("public static void ToPixels(ref float y, ref float pixels)");
                    w.OpenBlock($"for (nuint n = 0; n < {channels}; n++)");
                    w.Line($"ref float yn = ref Unsafe.Add(ref y, n * {pixels});");
                    w.Line($"for (nuint p = 0; p < {pixels}; p++)");
                    w.Line($"    Unsafe.Add(ref pixels, p * {channels} + n) = Unsafe.Add(ref yn, p);");
                }
                w.CloseBlock();
                w.CloseBlock();
            }

            // W'[g, k, n] = W[g, k, n] * scale[g*N + n]; b'[c] = b[c] * scale[c] + shift[c].
            private static void EmitFold(SourceWriter w, LayerSpec layer)
            {
                int channels = layer.Output.Channels;
                w.Line("/// <summary>Folds a batch norm's per-channel scale and shift into this convolution's weight and bias.</summary>");
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
