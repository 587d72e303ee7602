using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// A convolution's input copies, called by generated code with the sizes as arguments: the zero-bordered copy of a
/// padded input (<see cref="Pad"/>), and im2col from it for machines without Vector128 (<see cref="Copy"/>: a padded
/// convolution whose kernel rows are 2 to 4 taps wide, undilated, has its generated <c>Im2Col</c> copy each row of
/// taps as one vector, and calls this otherwise), written once as the other fallback rungs are
/// (<see cref="FallbackKernels"/>).
/// </summary>
public static class PatchKernels
{
    /// <summary>
    /// <c>padded[c, top + h, left + w] = x[c, h, w]</c> inside a zero border: <paramref name="top"/> rows above and below
    /// each channel's plane, <paramref name="left"/> and <paramref name="right"/> columns beside each row. Only the border
    /// is cleared; rows are copied by whole vectors, the last overlapping the one before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pad(ref float x, ref float padded, int channels, int height, int width, int top, int left, int right)
    {
        nuint rowFloats = (nuint)(left + width + right), n = (nuint)width, h0 = (nuint)top;
        int border = top * (int)rowFloats;
        for (nuint c = 0; c < (nuint)channels; c++)
        {
            ref float plane = ref Unsafe.Add(ref padded, c * (nuint)(height + 2 * top) * rowFloats);
            MemoryMarshal.CreateSpan(ref plane, border).Clear();
            for (nuint h = 0; h < (nuint)height; h++)
            {
                ref float row = ref Unsafe.Add(ref plane, (h + h0) * rowFloats);
                for (int k = 0; k < left; k++) Unsafe.Add(ref row, k) = 0f;
                CopyRow(ref Unsafe.Add(ref x, (c * (nuint)height + h) * n), ref Unsafe.Add(ref row, left), n);
                for (int k = 0; k < right; k++) Unsafe.Add(ref row, left + width + k) = 0f;
            }
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref plane, ((nuint)height + h0) * rowFloats), border).Clear();
        }
    }

    // dst[0..n) = src[0..n) for spans that do not overlap, by the widest vector that fits n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref float src, ref float dst, nuint n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            for (nuint j = 0; j + 16 <= n; j += 16) Vector512.LoadUnsafe(ref src, j).StoreUnsafe(ref dst, j);
            Vector512.LoadUnsafe(ref src, n - 16).StoreUnsafe(ref dst, n - 16);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            for (nuint j = 0; j + 8 <= n; j += 8) Vector256.LoadUnsafe(ref src, j).StoreUnsafe(ref dst, j);
            Vector256.LoadUnsafe(ref src, n - 8).StoreUnsafe(ref dst, n - 8);
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            for (nuint j = 0; j + 4 <= n; j += 4) Vector128.LoadUnsafe(ref src, j).StoreUnsafe(ref dst, j);
            Vector128.LoadUnsafe(ref src, n - 4).StoreUnsafe(ref dst, n - 4);
        }
        else
        {
            for (nuint j = 0; j < n; j++) Unsafe.Add(ref dst, j) = Unsafe.Add(ref src, j);
        }
    }

    /// <summary><c>cols[p, (c·KH + kh)·KW + kw] = padded[c, oh·sh + kh, ow·sw + kw]</c> for every output pixel p = (oh, ow), a float at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Copy(ref float padded, ref float cols, int outHeight, int outWidth, int strideHeight, int stride,
        int paddedWidth, int plane, int channels, int kernelHeight, int kernelWidth)
    {
        nint tap = 0;
        for (int oh = 0; oh < outHeight; oh++)
        {
            for (int ow = 0; ow < outWidth; ow++)
            {
                ref float origin = ref Unsafe.Add(ref padded, (nint)oh * strideHeight * paddedWidth + ow * stride);
                for (int c = 0; c < channels; c++)
                    for (int kh = 0; kh < kernelHeight; kh++)
                        for (int kw = 0; kw < kernelWidth; kw++)
                            Unsafe.Add(ref cols, tap++) = Unsafe.Add(ref origin, (nint)c * plane + kh * paddedWidth + kw);
            }
        }
    }
}
