using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// The forward of a pruned product <c>y = act(b + x W)</c> over its kept blocks only (<see cref="SparseWeights"/>):
/// for each run of <c>B</c> outputs, the sums stay in registers while the kernel walks that run's kept inputs,
/// broadcasting <c>x[i]</c> and multiplying it into the block's <c>B</c> weights, four blocks in flight so the
/// multiply-adds do not wait on each other. What it reads is the kept weights, one index per block and the inputs
/// they name: at 90 % sparsity about a tenth of the dense kernel's bytes. Generated code calls it with its shape
/// struct, so the constants fold as in the dense fallback kernels; the loop does not depend on the shape otherwise,
/// so it is written once here. Each output adds its kept inputs in increasing order, four partial sums interleaved,
/// so the result differs from the dense kernel's by float rounding only.
/// </summary>
public static class SparseKernels
{
    /// <summary><c>y[r, :] = act(b + x[r, :] W)</c> for <paramref name="rows"/> rows, W the kept blocks of <paramref name="w"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y, nuint rows)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        for (nuint r = 0; r < rows; r++)
        {
            ref float xr = ref Unsafe.Add(ref x, r * (nuint)TShape.Inputs);
            ref float yr = ref Unsafe.Add(ref y, r * (nuint)TShape.Outputs);
            switch (w.Block)
            {
                case 16: Block16<TShape, TActivation>(ref xr, w, ref b, ref yr); break;
                case 8: Block8<TShape, TActivation>(ref xr, w, ref b, ref yr); break;
                case 4: Block4<TShape, TActivation>(ref xr, w, ref b, ref yr); break;
                default: Scalar<TShape, TActivation>(ref xr, w, ref b, ref yr); break;
            }
        }
    }

    private static void Block16<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Narrow<TShape, TActivation>(ref x, w, ref b, ref y);
            return;
        }
        ref int starts = ref MemoryMarshal.GetArrayDataReference(w.Starts);
        ref int indices = ref MemoryMarshal.GetArrayDataReference(w.Indices);
        ref float values = ref MemoryMarshal.GetReference(w.Values);
        nuint columns = (nuint)TShape.Outputs / 16;
        for (nuint c = 0; c < columns; c++)
        {
            nuint k = (nuint)Unsafe.Add(ref starts, c), end = (nuint)Unsafe.Add(ref starts, c + 1);
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> a0 = TShape.Bias ? Vector512.LoadUnsafe(ref b, c * 16) : Vector512<float>.Zero;
                Vector512<float> a1 = Vector512<float>.Zero, a2 = Vector512<float>.Zero, a3 = Vector512<float>.Zero;
                for (; k + 4 <= end; k += 4)
                {
                    a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref values, k * 16), Vector512.Create(Input(ref x, ref indices, k)), a0);
                    a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref values, (k + 1) * 16), Vector512.Create(Input(ref x, ref indices, k + 1)), a1);
                    a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref values, (k + 2) * 16), Vector512.Create(Input(ref x, ref indices, k + 2)), a2);
                    a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref values, (k + 3) * 16), Vector512.Create(Input(ref x, ref indices, k + 3)), a3);
                }
                for (; k < end; k++)
                    a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref values, k * 16), Vector512.Create(Input(ref x, ref indices, k)), a0);
                TActivation.Invoke((a0 + a1) + (a2 + a3)).StoreUnsafe(ref y, c * 16);
            }
            else
            {
                // Two 256-bit halves per block, two blocks in flight.
                Vector256<float> a0 = TShape.Bias ? Vector256.LoadUnsafe(ref b, c * 16) : Vector256<float>.Zero;
                Vector256<float> h0 = TShape.Bias ? Vector256.LoadUnsafe(ref b, c * 16 + 8) : Vector256<float>.Zero;
                Vector256<float> a1 = Vector256<float>.Zero, h1 = Vector256<float>.Zero;
                for (; k + 2 <= end; k += 2)
                {
                    var x0 = Vector256.Create(Input(ref x, ref indices, k));
                    var x1 = Vector256.Create(Input(ref x, ref indices, k + 1));
                    a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 16), x0, a0);
                    h0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 16 + 8), x0, h0);
                    a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, (k + 1) * 16), x1, a1);
                    h1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, (k + 1) * 16 + 8), x1, h1);
                }
                if (k < end)
                {
                    var x0 = Vector256.Create(Input(ref x, ref indices, k));
                    a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 16), x0, a0);
                    h0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 16 + 8), x0, h0);
                }
                TActivation.Invoke(a0 + a1).StoreUnsafe(ref y, c * 16);
                TActivation.Invoke(h0 + h1).StoreUnsafe(ref y, c * 16 + 8);
            }
        }
    }

    private static void Block8<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Narrow<TShape, TActivation>(ref x, w, ref b, ref y);
            return;
        }
        ref int starts = ref MemoryMarshal.GetArrayDataReference(w.Starts);
        ref int indices = ref MemoryMarshal.GetArrayDataReference(w.Indices);
        ref float values = ref MemoryMarshal.GetReference(w.Values);
        nuint columns = (nuint)TShape.Outputs / 8;
        for (nuint c = 0; c < columns; c++)
        {
            nuint k = (nuint)Unsafe.Add(ref starts, c), end = (nuint)Unsafe.Add(ref starts, c + 1);
            Vector256<float> a0 = TShape.Bias ? Vector256.LoadUnsafe(ref b, c * 8) : Vector256<float>.Zero;
            Vector256<float> a1 = Vector256<float>.Zero, a2 = Vector256<float>.Zero, a3 = Vector256<float>.Zero;
            for (; k + 4 <= end; k += 4)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 8), Vector256.Create(Input(ref x, ref indices, k)), a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, (k + 1) * 8), Vector256.Create(Input(ref x, ref indices, k + 1)), a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, (k + 2) * 8), Vector256.Create(Input(ref x, ref indices, k + 2)), a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, (k + 3) * 8), Vector256.Create(Input(ref x, ref indices, k + 3)), a3);
            }
            for (; k < end; k++)
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref values, k * 8), Vector256.Create(Input(ref x, ref indices, k)), a0);
            TActivation.Invoke((a0 + a1) + (a2 + a3)).StoreUnsafe(ref y, c * 8);
        }
    }

    private static void Block4<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Scalar<TShape, TActivation>(ref x, w, ref b, ref y);
            return;
        }
        ref int starts = ref MemoryMarshal.GetArrayDataReference(w.Starts);
        ref int indices = ref MemoryMarshal.GetArrayDataReference(w.Indices);
        ref float values = ref MemoryMarshal.GetReference(w.Values);
        nuint columns = (nuint)TShape.Outputs / 4;
        for (nuint c = 0; c < columns; c++)
        {
            nuint k = (nuint)Unsafe.Add(ref starts, c), end = (nuint)Unsafe.Add(ref starts, c + 1);
            Vector128<float> a0 = TShape.Bias ? Vector128.LoadUnsafe(ref b, c * 4) : Vector128<float>.Zero;
            Vector128<float> a1 = Vector128<float>.Zero, a2 = Vector128<float>.Zero, a3 = Vector128<float>.Zero;
            for (; k + 4 <= end; k += 4)
            {
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, k * 4), Vector128.Create(Input(ref x, ref indices, k)), a0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, (k + 1) * 4), Vector128.Create(Input(ref x, ref indices, k + 1)), a1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, (k + 2) * 4), Vector128.Create(Input(ref x, ref indices, k + 2)), a2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, (k + 3) * 4), Vector128.Create(Input(ref x, ref indices, k + 3)), a3);
            }
            for (; k < end; k++)
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, k * 4), Vector128.Create(Input(ref x, ref indices, k)), a0);
            TActivation.Invoke((a0 + a1) + (a2 + a3)).StoreUnsafe(ref y, c * 4);
        }
    }

    /// <summary>
    /// Blocks of 16 or 8 on machines without AVX2: each block as 128-bit vectors (4 or 2), two blocks in flight; the
    /// scalar loop without SIMD.
    /// </summary>
    private static void Narrow<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Scalar<TShape, TActivation>(ref x, w, ref b, ref y);
            return;
        }
        ref int starts = ref MemoryMarshal.GetArrayDataReference(w.Starts);
        ref int indices = ref MemoryMarshal.GetArrayDataReference(w.Indices);
        ref float values = ref MemoryMarshal.GetReference(w.Values);
        nuint block = (nuint)w.Block, columns = (nuint)TShape.Outputs / block;
        for (nuint c = 0; c < columns; c++)
        {
            nuint first = (nuint)Unsafe.Add(ref starts, c), end = (nuint)Unsafe.Add(ref starts, c + 1);
            // One quarter or half of the block at a time, so the sums of two blocks fit the 16 registers.
            for (nuint lane = 0; lane < block; lane += 4)
            {
                nuint o = c * block + lane, k = first;
                Vector128<float> a0 = TShape.Bias ? Vector128.LoadUnsafe(ref b, o) : Vector128<float>.Zero, a1 = Vector128<float>.Zero;
                for (; k + 2 <= end; k += 2)
                {
                    a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, k * block + lane), Vector128.Create(Input(ref x, ref indices, k)), a0);
                    a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, (k + 1) * block + lane), Vector128.Create(Input(ref x, ref indices, k + 1)), a1);
                }
                if (k < end)
                    a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref values, k * block + lane), Vector128.Create(Input(ref x, ref indices, k)), a0);
                TActivation.Invoke(a0 + a1).StoreUnsafe(ref y, o);
            }
        }
    }

    /// <summary>Any block size, one output at a time: single weights (B = 1), and every block size without SIMD.</summary>
    private static void Scalar<TShape, TActivation>(ref float x, SparseWeights w, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        ref int starts = ref MemoryMarshal.GetArrayDataReference(w.Starts);
        ref int indices = ref MemoryMarshal.GetArrayDataReference(w.Indices);
        ref float values = ref MemoryMarshal.GetReference(w.Values);
        nuint block = (nuint)w.Block, columns = (nuint)TShape.Outputs / block;
        for (nuint c = 0; c < columns; c++)
        {
            nuint first = (nuint)Unsafe.Add(ref starts, c), end = (nuint)Unsafe.Add(ref starts, c + 1);
            for (nuint lane = 0; lane < block; lane++)
            {
                nuint o = c * block + lane, k = first;
                float s0 = TShape.Bias ? Unsafe.Add(ref b, o) : 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                for (; k + 4 <= end; k += 4)
                {
                    s0 += Input(ref x, ref indices, k) * Unsafe.Add(ref values, k * block + lane);
                    s1 += Input(ref x, ref indices, k + 1) * Unsafe.Add(ref values, (k + 1) * block + lane);
                    s2 += Input(ref x, ref indices, k + 2) * Unsafe.Add(ref values, (k + 2) * block + lane);
                    s3 += Input(ref x, ref indices, k + 3) * Unsafe.Add(ref values, (k + 3) * block + lane);
                }
                for (; k < end; k++) s0 += Input(ref x, ref indices, k) * Unsafe.Add(ref values, k * block + lane);
                Unsafe.Add(ref y, o) = TActivation.Invoke((s0 + s1) + (s2 + s3));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Input(ref float x, ref int indices, nuint k) => Unsafe.Add(ref x, (nuint)(uint)Unsafe.Add(ref indices, k));
}
