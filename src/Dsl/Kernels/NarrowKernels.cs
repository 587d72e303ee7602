using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsl.Kernels;

/// <summary>
/// The batched forward of a product 9 to 15 outputs wide (a classifier's head) on AVX-512. Generated code narrows such a
/// layer to AVX2's 8 lanes and covers it with two overlapping vectors, each a pass of its own over the rows, so every
/// input is broadcast twice and multiplied into 16 lanes of which 10 are kept. Here one 512-bit vector holds a row's
/// outputs: half the multiply-adds and broadcasts. The layer is too narrow for a vector to hold W's row alone, so a load
/// takes the row and the first floats of the next (lanes the stores drop); W's last row is put together from two 256-bit
/// loads so nothing past W is read, and y is written as two overlapping 256-bit stores so nothing past a row is written.
/// </summary>
/// <remarks>
/// The sums are those of the generated 256-bit tile, lane for lane: four rows at a time, four partial sums per output
/// (input i feeds sum i % 4, the first starting from the bias) added as (s0 + s1) + (s2 + s3), the activation applied to
/// 256-bit vectors. So a row's outputs are bit-identical to the AVX2 kernel's, and to Forward1 where that is the
/// ladder's kernel (the batched-equals-batch-1 tests). <see cref="Forward1Blocked{TShape, TActivation}"/>, a batch-1
/// forward of 8 to 16 outputs over a packed copy of W, is the other kernel of a few outputs here.
/// </remarks>
public static class NarrowKernels
{
    /// <summary><c>y[r, :] = act(b + x[r, :] W)</c> for <paramref name="rows"/> rows; W input-major, 9 to 15 outputs; AVX-512 only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TShape, TActivation>(ref float x, ref float w, ref float b, ref float y, nuint rows)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint s = Tiles<TShape, TActivation, Rows4>(ref x, ref w, ref b, ref y, 0, rows);
        if (rows - s >= 2) s = Tiles<TShape, TActivation, Rows2>(ref x, ref w, ref b, ref y, s, rows);
        if (rows - s >= 1) Tiles<TShape, TActivation, Rows1>(ref x, ref w, ref b, ref y, s, rows);
    }

    // The `outputs` floats from `offset` as a vector's lanes 0..outputs-1, reading nothing past them: lanes 0-7, and lanes
    // 8.. taken from the 8 floats that end at the last one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadEnd(ref float source, nuint offset, nuint outputs, Vector256<int> fromEnd) =>
        Vector512.Create(Vector256.LoadUnsafe(ref source, offset), Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref source, offset + outputs - 8), fromEnd));

    /// <summary>Floats of the packed copy of W that <see cref="Forward1Blocked{TShape, TActivation}"/> reads.</summary>
    public static int BlockFloats<TShape>() where TShape : struct, IGemmShape => TShape.Inputs * TShape.Outputs;

    /// <summary>
    /// W (input-major) packed for <see cref="Forward1Blocked{TShape, TActivation}"/>: per block of 16 inputs, each output's
    /// 16 weights as one vector, <c>blocks[(k / 16 · outputs + o) · 16 + k % 16] = W[k, o]</c>.
    /// </summary>
    public static void PackBlocks<TShape>(ref float w, ref float blocks) where TShape : struct, IGemmShape
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        for (nuint k = 0; k < inputs; k++)
            for (nuint o = 0; o < outputs; o++)
                Unsafe.Add(ref blocks, (k / 16 * outputs + o) * 16 + k % 16) = Unsafe.Add(ref w, k * outputs + o);
    }

    /// <summary>
    /// <c>y = act(b + x W)</c> for one row of a product of 8 to 16 outputs and a multiple of 16 inputs, over W packed by
    /// <see cref="PackBlocks{TShape}"/> (AVX-512 only). Each output sums its inputs in 16 lanes (input k in lane k % 16) in
    /// one register, ten loads and ten multiply-adds per 16 inputs for 10 outputs, and no permutes: the generated
    /// batch-1 kernel reads W in place and permutes x for every vector of it, a second port-5 operation per multiply-add.
    /// A 12544 → 10 head inside case D ran 12.91 → 12.62 µs with it on the Intel Xeon of docs/benchmarks.md. Another
    /// order of sums than the batched kernels', as the generated batch-1 kernel's is: they agree to float rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward1Blocked<TShape, TActivation>(ref float x, ref float blocks, ref float b, ref float y)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (nuint i = 0; i < inputs; i += 16)
        {
            ref float wb = ref Unsafe.Add(ref blocks, i * outputs);
            Vector512<float> xv = Vector512.LoadUnsafe(ref x, i);
            a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 0), xv, a0);
            a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 16), xv, a1);
            a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 32), xv, a2);
            a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 48), xv, a3);
            a4 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 64), xv, a4);
            a5 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 80), xv, a5);
            a6 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 96), xv, a6);
            a7 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 112), xv, a7);
            if (TShape.Outputs > 8) a8 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 128), xv, a8);
            if (TShape.Outputs > 9) a9 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 144), xv, a9);
            if (TShape.Outputs > 10) a10 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 160), xv, a10);
            if (TShape.Outputs > 11) a11 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 176), xv, a11);
            if (TShape.Outputs > 12) a12 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 192), xv, a12);
            if (TShape.Outputs > 13) a13 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 208), xv, a13);
            if (TShape.Outputs > 14) a14 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 224), xv, a14);
            if (TShape.Outputs > 15) a15 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref wb, 240), xv, a15);
        }
        // Each output's lanes summed, plus its bias, into one vector (the lanes past the outputs 0); the activation on
        // the whole vector, as every other kernel applies it; then the outputs.
        Span<float> sums = stackalloc float[16];
        sums[0] = Vector512.Sum(a0); sums[1] = Vector512.Sum(a1); sums[2] = Vector512.Sum(a2); sums[3] = Vector512.Sum(a3);
        sums[4] = Vector512.Sum(a4); sums[5] = Vector512.Sum(a5); sums[6] = Vector512.Sum(a6); sums[7] = Vector512.Sum(a7);
        sums[8] = Vector512.Sum(a8); sums[9] = Vector512.Sum(a9); sums[10] = Vector512.Sum(a10); sums[11] = Vector512.Sum(a11);
        sums[12] = Vector512.Sum(a12); sums[13] = Vector512.Sum(a13); sums[14] = Vector512.Sum(a14); sums[15] = Vector512.Sum(a15);
        ref float t = ref MemoryMarshal.GetReference(sums);
        if (TShape.Bias)
            for (nuint o = 0; o < outputs; o++) Unsafe.Add(ref t, o) += Unsafe.Add(ref b, o);
        Vector512.StoreUnsafe(TActivation.Invoke(Vector512.LoadUnsafe(ref t)), ref t);
        sums[..(int)outputs].CopyTo(MemoryMarshal.CreateSpan(ref y, (int)outputs));
    }

    // Rows s.. in tiles of TRows rows; returns the first row left over.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static nuint Tiles<TShape, TActivation, TRows>(ref float x, ref float w, ref float b, ref float y, nuint s, nuint rows)
        where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs;
        // Lane m of the 8 floats ending a row is output (outputs - 8 + m): the permutes between it and lanes 8.. of the row.
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        Vector256<int> fromEnd = (lanes + Vector256.Create(16 - (int)outputs)) & Vector256.Create(7);
        Vector512<int> toEnd = Vector512.Create(lanes, lanes) + Vector512.Create((int)outputs - 8);
        Vector512<float> bias = TShape.Bias ? LoadEnd(ref b, 0, outputs, fromEnd) : Vector512<float>.Zero;
        Vector512<float> lastRow = LoadEnd(ref w, (inputs - 1) * outputs, outputs, fromEnd);
        // Inputs before `whole` go four at a time; the 1-4 after it, the last among them, one by one.
        nuint whole = (inputs - 1) / 4 * 4;
        for (; s + (nuint)TRows.Count <= rows; s += (nuint)TRows.Count)
        {
            ref float xs = ref Unsafe.Add(ref x, s * inputs);
            Vector512<float> a00 = bias, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = bias, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = bias, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = bias, a31 = default, a32 = default, a33 = default;
            for (nuint i = 0; i < whole; i += 4)
            {
                ref float wi = ref Unsafe.Add(ref w, i * outputs);
                Step<TRows>(Vector512.LoadUnsafe(ref wi), ref Unsafe.Add(ref xs, i), inputs, ref a00, ref a10, ref a20, ref a30);
                Step<TRows>(Vector512.LoadUnsafe(ref wi, outputs), ref Unsafe.Add(ref xs, i + 1), inputs, ref a01, ref a11, ref a21, ref a31);
                Step<TRows>(Vector512.LoadUnsafe(ref wi, 2 * outputs), ref Unsafe.Add(ref xs, i + 2), inputs, ref a02, ref a12, ref a22, ref a32);
                Step<TRows>(Vector512.LoadUnsafe(ref wi, 3 * outputs), ref Unsafe.Add(ref xs, i + 3), inputs, ref a03, ref a13, ref a23, ref a33);
            }
            // The 1-4 inputs left over, W's last row among them, feed the partial sums their index picks, as in the loop.
            nuint left = inputs - whole;
            Step<TRows>(left == 1 ? lastRow : Vector512.LoadUnsafe(ref w, whole * outputs), ref Unsafe.Add(ref xs, whole), inputs, ref a00, ref a10, ref a20, ref a30);
            if (left >= 2) Step<TRows>(left == 2 ? lastRow : Vector512.LoadUnsafe(ref w, (whole + 1) * outputs), ref Unsafe.Add(ref xs, whole + 1), inputs, ref a01, ref a11, ref a21, ref a31);
            if (left >= 3) Step<TRows>(left == 3 ? lastRow : Vector512.LoadUnsafe(ref w, (whole + 2) * outputs), ref Unsafe.Add(ref xs, whole + 2), inputs, ref a02, ref a12, ref a22, ref a32);
            if (left >= 4) Step<TRows>(lastRow, ref Unsafe.Add(ref xs, whole + 3), inputs, ref a03, ref a13, ref a23, ref a33);
            ref float ys = ref Unsafe.Add(ref y, s * outputs);
            Store<TActivation>((a00 + a01) + (a02 + a03), ref ys, outputs, toEnd);
            if (TRows.Count > 1) Store<TActivation>((a10 + a11) + (a12 + a13), ref Unsafe.Add(ref ys, outputs), outputs, toEnd);
            if (TRows.Count > 2) Store<TActivation>((a20 + a21) + (a22 + a23), ref Unsafe.Add(ref ys, 2 * outputs), outputs, toEnd);
            if (TRows.Count > 3) Store<TActivation>((a30 + a31) + (a32 + a33), ref Unsafe.Add(ref ys, 3 * outputs), outputs, toEnd);
            if (!TActivation.Inline)
                for (nuint r = 0; r < (nuint)TRows.Count; r++) Activate<TActivation>(ref Unsafe.Add(ref ys, r * outputs), outputs);
        }
        return s;
    }

    // One input's row of W times each row's x for that input (xi, then `inputs` floats apart), into one partial sum per row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TRows>(Vector512<float> wi, ref float xi, nuint inputs, ref Vector512<float> r0, ref Vector512<float> r1, ref Vector512<float> r2, ref Vector512<float> r3)
        where TRows : struct, ITileRows
    {
        r0 = Vector512.MultiplyAddEstimate(wi, Vector512.Create(xi), r0);
        if (TRows.Count > 1) r1 = Vector512.MultiplyAddEstimate(wi, Vector512.Create(Unsafe.Add(ref xi, inputs)), r1);
        if (TRows.Count > 2) r2 = Vector512.MultiplyAddEstimate(wi, Vector512.Create(Unsafe.Add(ref xi, 2 * inputs)), r2);
        if (TRows.Count > 3) r3 = Vector512.MultiplyAddEstimate(wi, Vector512.Create(Unsafe.Add(ref xi, 3 * inputs)), r3);
    }

    // Outputs 0-7 and the 8 ending the row, as two 256-bit stores, each activated from the sums (TActivation.Inline), the
    // last 8 first: the lanes they share are written again by the first 8, with the same values.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TActivation>(Vector512<float> sum, ref float ys, nuint outputs, Vector512<int> toEnd) where TActivation : struct, IActivation
    {
        Vector256<float> end = Avx512F.PermuteVar16x32(sum, toEnd).GetLower(), start = sum.GetLower();
        Vector256.StoreUnsafe(TActivation.Inline ? TActivation.Invoke(end) : end, ref ys, outputs - 8);
        Vector256.StoreUnsafe(TActivation.Inline ? TActivation.Invoke(start) : start, ref ys);
    }

    // A costly activation (it calls exp) applied after the sums are stored, so no accumulator is live across its call.
    private static void Activate<TActivation>(ref float ys, nuint outputs) where TActivation : struct, IActivation
    {
        Vector256<float> start = Vector256.LoadUnsafe(ref ys), end = Vector256.LoadUnsafe(ref ys, outputs - 8);
        Vector256.StoreUnsafe(TActivation.Invoke(end), ref ys, outputs - 8);
        Vector256.StoreUnsafe(TActivation.Invoke(start), ref ys);
    }
}
