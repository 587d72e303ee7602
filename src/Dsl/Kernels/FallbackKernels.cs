using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

// The kernels a machine without AVX2 runs (Vector128, or scalar with the hardware intrinsics switched off).
// Generated code writes its unrolled kernels for AVX-512 and AVX2 only and calls these for the narrower rungs:
// they are written once, generic over a shape struct whose static abstract constants the JIT and NativeAOT
// fold into each specialisation, so every network does not carry its own copy. Each output sums its inputs in
// one fixed order whatever the row count, so a batched row stays bit-identical to batch 1 on these rungs too.

/// <summary>The constants of one matrix product <c>y = act(b + x W)</c>, W input-major <c>[Inputs, Outputs]</c>.</summary>
public interface IGemmShape
{
    /// <summary>Values per input row.</summary>
    static abstract int Inputs { get; }
    /// <summary>Values per output row.</summary>
    static abstract int Outputs { get; }
    /// <summary>Whether the forward adds the bias b.</summary>
    static abstract bool Bias { get; }
}

/// <summary>
/// The constants of one direct convolution of a channel-major sample, stride 1: the input is already padded
/// (<see cref="InputWidth"/> and <see cref="InputPlane"/> are the padded row and plane), W is input-major
/// <c>[(ci, ky, kx), co]</c>.
/// </summary>
public interface IDirectConvolutionShape
{
    /// <summary>Input channels.</summary>
    static abstract int InputChannels { get; }
    /// <summary>Output channels.</summary>
    static abstract int OutputChannels { get; }
    /// <summary>Output rows.</summary>
    static abstract int OutputHeight { get; }
    /// <summary>Output columns.</summary>
    static abstract int OutputWidth { get; }
    /// <summary>Kernel rows.</summary>
    static abstract int KernelHeight { get; }
    /// <summary>Kernel columns.</summary>
    static abstract int KernelWidth { get; }
    /// <summary>Input rows between a kernel's taps.</summary>
    static abstract int DilationHeight { get; }
    /// <summary>Input columns between a kernel's taps.</summary>
    static abstract int DilationWidth { get; }
    /// <summary>Floats per (padded) input row.</summary>
    static abstract int InputWidth { get; }
    /// <summary>Floats per (padded) input channel.</summary>
    static abstract int InputPlane { get; }
    /// <summary>Whether the bias b is added.</summary>
    static abstract bool Bias { get; }
    /// <summary>Floats per output row: <see cref="OutputWidth"/>, or the bordered row of the next convolution's input when the output is written inside its zero border.</summary>
    static abstract int OutputRowFloats { get; }
    /// <summary>Floats per output channel.</summary>
    static abstract int OutputPlane { get; }
    /// <summary>Where output position (0, 0) of channel 0 lies.</summary>
    static abstract int OutputOrigin { get; }
}

/// <summary>Matrix products and direct convolutions for machines without AVX2 (see the file's comment).</summary>
public static class FallbackKernels
{
    /// <summary><c>y[r, :] = act(b + x[r, :] W)</c> for <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TShape, TActivation>(ref float x, ref float w, ref float b, ref float y, nuint rows)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        nuint s = 0;
        if (Vector128.IsHardwareAccelerated)
            for (; s + 4 <= rows; s += 4)
            {
                ref float xs = ref Unsafe.Add(ref x, s * inputs);
                ref float ys = ref Unsafe.Add(ref y, s * outputs);
                nuint o = 0;
                for (; o + 8 <= outputs; o += 8) ForwardFourRows<TShape, TActivation>(ref xs, ref w, ref b, ref ys, o);
                for (nuint r = 0; r < 4; r++) ForwardRow<TShape, TActivation>(ref Unsafe.Add(ref xs, r * inputs), ref w, ref b, ref Unsafe.Add(ref ys, r * outputs), o);
            }
        for (; s < rows; s++) ForwardRow<TShape, TActivation>(ref Unsafe.Add(ref x, s * inputs), ref w, ref b, ref Unsafe.Add(ref y, s * outputs), 0);
    }

    // Outputs from..Outputs-1 of one row. Every path sums an output's inputs in order in one chain, so a column comes out
    // the same whichever tile computes it.
    private static void ForwardRow<TShape, TActivation>(ref float xs, ref float w, ref float b, ref float ys, nuint from)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        nuint o = from;
        if (Vector128.IsHardwareAccelerated)
        {
            for (; o + 16 <= outputs; o += 16) ForwardVectors4<TShape, TActivation>(ref xs, ref w, ref b, ref ys, o);
            for (; o + 4 <= outputs; o += 4) ForwardVector<TShape, TActivation>(ref xs, ref w, ref b, ref ys, o);
        }
        for (; o + 4 <= outputs; o += 4) ForwardScalars4<TShape, TActivation>(ref xs, ref w, ref b, ref ys, o);
        for (; o < outputs; o++)
        {
            float acc = TShape.Bias ? Unsafe.Add(ref b, o) : 0f;
            for (nuint i = 0; i < inputs; i++) acc = Unsafe.Add(ref xs, i) * Unsafe.Add(ref w, i * outputs + o) + acc;
            Unsafe.Add(ref ys, o) = TActivation.Invoke(acc);
        }
    }

    // Outputs o..o+7 of four rows: each weight load serves four rows; 4 x 2 accumulators, two weights and a broadcast
    // fit the 16 vector registers of x64 without AVX-512.
    private static void ForwardFourRows<TShape, TActivation>(ref float xs, ref float w, ref float b, ref float ys, nuint o)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        Vector128<float> b0 = TShape.Bias ? Vector128.LoadUnsafe(ref b, o) : Vector128<float>.Zero;
        Vector128<float> b1 = TShape.Bias ? Vector128.LoadUnsafe(ref b, o + 4) : Vector128<float>.Zero;
        Vector128<float> a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
        for (nuint i = 0; i < inputs; i++)
        {
            ref float wi = ref Unsafe.Add(ref w, i * outputs + o);
            Vector128<float> w0 = Vector128.LoadUnsafe(ref wi), w1 = Vector128.LoadUnsafe(ref wi, 4);
            var x0 = Vector128.Create(Unsafe.Add(ref xs, i));
            a00 = Vector128.MultiplyAddEstimate(w0, x0, a00);
            a01 = Vector128.MultiplyAddEstimate(w1, x0, a01);
            var x1 = Vector128.Create(Unsafe.Add(ref xs, inputs + i));
            a10 = Vector128.MultiplyAddEstimate(w0, x1, a10);
            a11 = Vector128.MultiplyAddEstimate(w1, x1, a11);
            var x2 = Vector128.Create(Unsafe.Add(ref xs, 2 * inputs + i));
            a20 = Vector128.MultiplyAddEstimate(w0, x2, a20);
            a21 = Vector128.MultiplyAddEstimate(w1, x2, a21);
            var x3 = Vector128.Create(Unsafe.Add(ref xs, 3 * inputs + i));
            a30 = Vector128.MultiplyAddEstimate(w0, x3, a30);
            a31 = Vector128.MultiplyAddEstimate(w1, x3, a31);
        }
        Vector128.StoreUnsafe(TActivation.Invoke(a00), ref ys, o);
        Vector128.StoreUnsafe(TActivation.Invoke(a01), ref ys, o + 4);
        Vector128.StoreUnsafe(TActivation.Invoke(a10), ref ys, outputs + o);
        Vector128.StoreUnsafe(TActivation.Invoke(a11), ref ys, outputs + o + 4);
        Vector128.StoreUnsafe(TActivation.Invoke(a20), ref ys, 2 * outputs + o);
        Vector128.StoreUnsafe(TActivation.Invoke(a21), ref ys, 2 * outputs + o + 4);
        Vector128.StoreUnsafe(TActivation.Invoke(a30), ref ys, 3 * outputs + o);
        Vector128.StoreUnsafe(TActivation.Invoke(a31), ref ys, 3 * outputs + o + 4);
    }

    // Outputs o..o+15 of one row: four vectors of accumulators, one broadcast per input.
    private static void ForwardVectors4<TShape, TActivation>(ref float xs, ref float w, ref float b, ref float ys, nuint o)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        Vector128<float> acc0 = Vector128<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        if (TShape.Bias)
        {
            acc0 = Vector128.LoadUnsafe(ref b, o);
            acc1 = Vector128.LoadUnsafe(ref b, o + 4);
            acc2 = Vector128.LoadUnsafe(ref b, o + 8);
            acc3 = Vector128.LoadUnsafe(ref b, o + 12);
        }
        for (nuint i = 0; i < inputs; i++)
        {
            ref float wi = ref Unsafe.Add(ref w, i * outputs + o);
            var xi = Vector128.Create(Unsafe.Add(ref xs, i));
            acc0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref wi), xi, acc0);
            acc1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref wi, 4), xi, acc1);
            acc2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref wi, 8), xi, acc2);
            acc3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref wi, 12), xi, acc3);
        }
        Vector128.StoreUnsafe(TActivation.Invoke(acc0), ref ys, o);
        Vector128.StoreUnsafe(TActivation.Invoke(acc1), ref ys, o + 4);
        Vector128.StoreUnsafe(TActivation.Invoke(acc2), ref ys, o + 8);
        Vector128.StoreUnsafe(TActivation.Invoke(acc3), ref ys, o + 12);
    }

    private static void ForwardVector<TShape, TActivation>(ref float xs, ref float w, ref float b, ref float ys, nuint o)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        Vector128<float> acc = TShape.Bias ? Vector128.LoadUnsafe(ref b, o) : Vector128<float>.Zero;
        for (nuint i = 0; i < inputs; i++)
            acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w, i * outputs + o), Vector128.Create(Unsafe.Add(ref xs, i)), acc);
        Vector128.StoreUnsafe(TActivation.Invoke(acc), ref ys, o);
    }

    // Scalar: four outputs at a time, so each weight row is read contiguously.
    private static void ForwardScalars4<TShape, TActivation>(ref float xs, ref float w, ref float b, ref float ys, nuint o)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        float acc0 = 0f, acc1 = 0f, acc2 = 0f, acc3 = 0f;
        if (TShape.Bias)
        {
            acc0 = Unsafe.Add(ref b, o);
            acc1 = Unsafe.Add(ref b, o + 1);
            acc2 = Unsafe.Add(ref b, o + 2);
            acc3 = Unsafe.Add(ref b, o + 3);
        }
        for (nuint i = 0; i < inputs; i++)
        {
            ref float wi = ref Unsafe.Add(ref w, i * outputs + o);
            float xi = Unsafe.Add(ref xs, i);
            acc0 = xi * wi + acc0;
            acc1 = xi * Unsafe.Add(ref wi, 1) + acc1;
            acc2 = xi * Unsafe.Add(ref wi, 2) + acc2;
            acc3 = xi * Unsafe.Add(ref wi, 3) + acc3;
        }
        Unsafe.Add(ref ys, o) = TActivation.Invoke(acc0);
        Unsafe.Add(ref ys, o + 1) = TActivation.Invoke(acc1);
        Unsafe.Add(ref ys, o + 2) = TActivation.Invoke(acc2);
        Unsafe.Add(ref ys, o + 3) = TActivation.Invoke(acc3);
    }

    /// <summary><c>dL/dW[i, :] += Σ_s x[s, i] g[s, :]</c> over <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient<TShape>(ref float x, ref float g, nuint rows, ref float gw)
        where TShape : struct, IGemmShape
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        nuint i = 0;
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= inputs; i += 4)
            {
                nuint o = 0;
                for (; o + 8 <= outputs; o += 8) WeightGradientFourInputs<TShape>(ref x, ref g, rows, ref gw, i, o);
                for (nuint r = 0; r < 4; r++) WeightGradientInput<TShape>(ref x, ref g, rows, ref gw, i + r, o);
            }
        for (; i < inputs; i++) WeightGradientInput<TShape>(ref x, ref g, rows, ref gw, i, 0);
    }

    // Row i of dL/dW from output `from` on, each element adding its rows in order.
    private static void WeightGradientInput<TShape>(ref float x, ref float g, nuint rows, ref float gw, nuint i, nuint from)
        where TShape : struct, IGemmShape
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        nuint vectorEnd = Vector128.IsHardwareAccelerated ? outputs / 4 * 4 : 0;
        ref float gwi = ref Unsafe.Add(ref gw, i * outputs);
        for (nuint s = 0; s < rows; s++)
        {
            ref float gs = ref Unsafe.Add(ref g, s * outputs);
            float xsi = Unsafe.Add(ref x, s * inputs + i);
            nuint o = from;
            if (Vector128.IsHardwareAccelerated)
            {
                var xv = Vector128.Create(xsi);
                for (; o < vectorEnd; o += 4)
                    Vector128.StoreUnsafe(Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref gs, o), xv, Vector128.LoadUnsafe(ref gwi, o)), ref gwi, o);
            }
            for (; o < outputs; o++) Unsafe.Add(ref gwi, o) = Unsafe.Add(ref gs, o) * xsi + Unsafe.Add(ref gwi, o);
        }
    }

    // Rows i..i+3 of dL/dW at outputs o..o+7, held in registers over all the rows: each load of dL/dz serves four inputs.
    private static void WeightGradientFourInputs<TShape>(ref float x, ref float g, nuint rows, ref float gw, nuint i, nuint o)
        where TShape : struct, IGemmShape
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        ref float gwi = ref Unsafe.Add(ref gw, i * outputs + o);
        Vector128<float> a00 = Vector128.LoadUnsafe(ref gwi), a01 = Vector128.LoadUnsafe(ref gwi, 4);
        Vector128<float> a10 = Vector128.LoadUnsafe(ref gwi, outputs), a11 = Vector128.LoadUnsafe(ref gwi, outputs + 4);
        Vector128<float> a20 = Vector128.LoadUnsafe(ref gwi, 2 * outputs), a21 = Vector128.LoadUnsafe(ref gwi, 2 * outputs + 4);
        Vector128<float> a30 = Vector128.LoadUnsafe(ref gwi, 3 * outputs), a31 = Vector128.LoadUnsafe(ref gwi, 3 * outputs + 4);
        for (nuint s = 0; s < rows; s++)
        {
            ref float gs = ref Unsafe.Add(ref g, s * outputs + o);
            ref float xs = ref Unsafe.Add(ref x, s * inputs + i);
            Vector128<float> g0 = Vector128.LoadUnsafe(ref gs), g1 = Vector128.LoadUnsafe(ref gs, 4);
            var x0 = Vector128.Create(xs);
            a00 = Vector128.MultiplyAddEstimate(g0, x0, a00);
            a01 = Vector128.MultiplyAddEstimate(g1, x0, a01);
            var x1 = Vector128.Create(Unsafe.Add(ref xs, 1));
            a10 = Vector128.MultiplyAddEstimate(g0, x1, a10);
            a11 = Vector128.MultiplyAddEstimate(g1, x1, a11);
            var x2 = Vector128.Create(Unsafe.Add(ref xs, 2));
            a20 = Vector128.MultiplyAddEstimate(g0, x2, a20);
            a21 = Vector128.MultiplyAddEstimate(g1, x2, a21);
            var x3 = Vector128.Create(Unsafe.Add(ref xs, 3));
            a30 = Vector128.MultiplyAddEstimate(g0, x3, a30);
            a31 = Vector128.MultiplyAddEstimate(g1, x3, a31);
        }
        Vector128.StoreUnsafe(a00, ref gwi);
        Vector128.StoreUnsafe(a01, ref gwi, 4);
        Vector128.StoreUnsafe(a10, ref gwi, outputs);
        Vector128.StoreUnsafe(a11, ref gwi, outputs + 4);
        Vector128.StoreUnsafe(a20, ref gwi, 2 * outputs);
        Vector128.StoreUnsafe(a21, ref gwi, 2 * outputs + 4);
        Vector128.StoreUnsafe(a30, ref gwi, 3 * outputs);
        Vector128.StoreUnsafe(a31, ref gwi, 3 * outputs + 4);
    }

    /// <summary>
    /// <c>y[co, oh, ow] = b[co] + Σ_(ci, ky, kx) W[(ci, ky, kx), co] x[ci, oh + ky·dh, ow + kx·dw]</c> for one sample,
    /// then the activation when it is inline; otherwise the caller applies it over the stored sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Direct<TShape, TActivation>(ref float x, ref float w, ref float b, ref float y)
        where TShape : struct, IDirectConvolutionShape where TActivation : struct, IActivation
    {
        nuint outWidth = (nuint)TShape.OutputWidth, plane = (nuint)TShape.OutputPlane, rowFloats = (nuint)TShape.OutputRowFloats;
        y = ref Unsafe.Add(ref y, (nuint)TShape.OutputOrigin);
        for (nuint co = 0; co < (nuint)TShape.OutputChannels; co++)
        {
            float bias = TShape.Bias ? Unsafe.Add(ref b, co) : 0f;
            for (nuint oh = 0; oh < (nuint)TShape.OutputHeight; oh++)
            {
                ref float xr = ref Unsafe.Add(ref x, oh * (nuint)TShape.InputWidth);
                ref float yr = ref Unsafe.Add(ref y, co * plane + oh * rowFloats);
                nuint ow = 0;
                if (Vector128.IsHardwareAccelerated)
                    for (; ow + 4 <= outWidth; ow += 4)
                    {
                        Vector128<float> acc = Vector128.Create(bias);
                        for (nuint ci = 0; ci < (nuint)TShape.InputChannels; ci++)
                            for (nuint ky = 0; ky < (nuint)TShape.KernelHeight; ky++)
                                for (nuint kx = 0; kx < (nuint)TShape.KernelWidth; kx++)
                                    acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref xr, Tap<TShape>(ci, ky, kx) + ow), Vector128.Create(Weight<TShape>(ref w, ci, ky, kx, co)), acc);
                        Vector128.StoreUnsafe(TActivation.Inline ? TActivation.Invoke(acc) : acc, ref yr, ow);
                    }
                for (; ow < outWidth; ow++)
                {
                    float acc = bias;
                    for (nuint ci = 0; ci < (nuint)TShape.InputChannels; ci++)
                        for (nuint ky = 0; ky < (nuint)TShape.KernelHeight; ky++)
                            for (nuint kx = 0; kx < (nuint)TShape.KernelWidth; kx++)
                                acc = Unsafe.Add(ref xr, Tap<TShape>(ci, ky, kx) + ow) * Weight<TShape>(ref w, ci, ky, kx, co) + acc;
                    Unsafe.Add(ref yr, ow) = TActivation.Inline ? TActivation.Invoke(acc) : acc;
                }
            }
        }
    }

    // The input offset of tap (ky, kx) of channel ci from an output row's first position.
    private static nuint Tap<TShape>(nuint ci, nuint ky, nuint kx) where TShape : struct, IDirectConvolutionShape =>
        ci * (nuint)TShape.InputPlane + ky * (nuint)(TShape.DilationHeight * TShape.InputWidth) + kx * (nuint)TShape.DilationWidth;

    private static float Weight<TShape>(ref float w, nuint ci, nuint ky, nuint kx, nuint co) where TShape : struct, IDirectConvolutionShape =>
        Unsafe.Add(ref w, ((ci * (nuint)TShape.KernelHeight + ky) * (nuint)TShape.KernelWidth + kx) * (nuint)TShape.OutputChannels + co);
}
