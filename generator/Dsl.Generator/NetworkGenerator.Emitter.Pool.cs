using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Pooling without padding, where every window lies inside the input: the window's taps are offsets
        /// fixed at generation time and the loops have constant bounds. (Padded pools call the runtime's
        /// general <c>PoolingKernels</c>, which clip each window.)
        /// </summary>
        internal static class PoolEmitter
        {
            public static void EmitForward(SourceWriter w, LayerSpec layer) => Emit(w, layer, backward: false);

            public static void EmitBackward(SourceWriter w, LayerSpec layer) => Emit(w, layer, backward: true);

            private static void Emit(SourceWriter w, LayerSpec layer, bool backward)
            {
                PoolOptions pool = layer.Get<PoolOptions>();
                bool max = pool.Max;
                // The common 2x2 / stride 2 max pool: the runtime's vectorised kernels, the same maxima and the same choices.
                bool runtimeKernel = max && pool.Image && pool.Kernel == 2 && pool.Stride == 2;
                int kernelHeight = pool.Image ? pool.Kernel : 1;
                int strideHeight = pool.Image ? pool.Stride : 1;
                Shape i = layer.Input, o = layer.Output;
                var taps = new System.Collections.Generic.List<int>();
                for (int kh = 0; kh < kernelHeight; kh++)
                    for (int kw = 0; kw < pool.Kernel; kw++) taps.Add(kh * i.Width + kw);

                if (backward)
                {
                    w.Line(max
                        ? "/// <summary>Adds each window's gradient to its first maximum, found again in x (ties and NaN as in the forward); dx starts zeroed.</summary>"
                        : "/// <summary>Adds each window's gradient, shared equally, to its positions; dx starts zeroed.</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock(max ? "public static void Backward(ref float x, ref float dy, ref float dx)" : "public static void Backward(ref float dy, ref float dx)");
                    if (runtimeKernel)
                    {
                        w.Line($"global::Dsl.Kernels.PoolingKernels.MaxPool2x2Backward(ref x, ref dy, ref dx, {i.Channels}, {i.Height}, {i.Width});");
                        w.CloseBlock();
                        return;
                    }
                }
                else
                {
                    w.Line(max
                        ? "/// <summary>Window maxima; the first of equal maxima wins and a NaN propagates, as in PyTorch.</summary>"
                        : $"/// <summary>Window means: sums times 1/{taps.Count}.</summary>");
                    w.Line("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
                    w.OpenBlock("public static void Forward(ref float x, ref float y)");
                    if (runtimeKernel)
                    {
                        w.Line($"global::Dsl.Kernels.PoolingKernels.MaxPool2x2(ref x, ref y, {i.Channels}, {i.Height}, {i.Width});");
                        w.CloseBlock();
                        return;
                    }
                }
                w.OpenBlock($"for (nuint c = 0; c < {i.Channels}; c++)");
                w.OpenBlock($"for (nuint r = 0; r < {o.Height}; r++)");
                w.Line($"nuint inputRow = c * {i.Spatial} + r * {strideHeight * i.Width};");
                w.Line($"nuint outputRow = (c * {o.Height} + r) * {o.Width};");
                w.OpenBlock($"for (nuint j = 0; j < {o.Width}; j++)");
                w.Line($"nuint window = inputRow + j{(pool.Stride == 1 ? "" : $" * {pool.Stride}")};");
                if (max)
                {
                    w.Line($"ref float taps = ref Unsafe.Add(ref x, window);");
                    w.Line("float best = taps;");
                    if (backward) w.Line("nuint at = 0;");
                    for (int t = 1; t < taps.Count; t++)
                    {
                        w.Line($"float v{t} = Unsafe.Add(ref taps, {taps[t]});");
                        // Forward needs only the value: MathF.Max is branch-free and propagates NaN. Backward needs the
                        // position of the first maximum, with the same NaN rule.
                        w.Line(backward
                            ? $"if (v{t} > best || float.IsNaN(v{t}) && !float.IsNaN(best)) {{ best = v{t}; at = {taps[t]}; }}"
                            : $"best = global::System.MathF.Max(best, v{t});");
                    }
                    w.Line(backward
                        ? "Unsafe.Add(ref dx, window + at) += Unsafe.Add(ref dy, outputRow + j);"
                        : "Unsafe.Add(ref y, outputRow + j) = best;");
                }
                else if (backward)
                {
                    w.Line($"float share = Unsafe.Add(ref dy, outputRow + j) * {SourceWriter.Float(1f / taps.Count)};");
                    w.Line("ref float taps = ref Unsafe.Add(ref dx, window);");
                    foreach (int tap in taps) w.Line($"Unsafe.Add(ref taps, {tap}) += share;");
                }
                else
                {
                    w.Line("ref float taps = ref Unsafe.Add(ref x, window);");
                    w.Line($"float sum = {string.Join(" + ", taps.ConvertAll(t => t == 0 ? "taps" : $"Unsafe.Add(ref taps, {t})"))};");
                    w.Line($"Unsafe.Add(ref y, outputRow + j) = sum * {SourceWriter.Float(1f / taps.Count)};");
                }
                w.CloseBlock();
                w.CloseBlock();
                w.CloseBlock();
                w.CloseBlock();
            }
        }
    }
}
