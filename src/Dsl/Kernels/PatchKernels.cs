using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dsl.Kernels;

/// <summary>
/// A convolution's input copies, called by generated code with the sizes as arguments: the zero-bordered copy of a
/// padded input (<see cref="Pad"/>), its border alone where the step before wrote the interior
/// (<see cref="ClearBorder"/>), and im2col from it for machines without Vector128 (<see cref="Copy"/>: a padded
/// convolution whose kernel rows are 2 to 4 taps wide, undilated, has its generated <c>Im2Col</c> copy each row of
/// taps as one vector, and calls this otherwise), written once as the other fallback rungs are
/// (<see cref="FallbackKernels"/>).
/// </summary>
public static class PatchKernels
{
    /// <summary>
    /// <c>padded[c, top + h, left + w] = x[c, h, w]</c> inside a zero border: <paramref name="top"/> rows above and below
    /// each channel's plane, <paramref name="left"/> and <paramref name="right"/> columns beside each row. Only the border
    /// is cleared; each row is one span copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pad(ref float x, ref float padded, int channels, int height, int width, int top, int left, int right)
    {
        ClearBorder(ref padded, channels, height, width, top, left, right);
        nuint rowFloats = (nuint)(left + width + right), planeFloats = (nuint)(height + 2 * top) * rowFloats;
        for (nuint c = 0; c < (nuint)channels; c++)
            for (nuint h = 0; h < (nuint)height; h++)
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref x, (c * (nuint)height + h) * (nuint)width), width)
                    .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref padded, c * planeFloats + (h + (nuint)top) * rowFloats + (nuint)left), width));
    }

    /// <summary>
    /// Zeroes the border of <paramref name="channels"/> planes laid out as <see cref="Pad"/> lays out its copy (the rows
    /// above and below, the columns left and right) and leaves the interior alone: a convolution that writes its output
    /// straight into the next convolution's bordered input clears the border with this, in place of the copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ClearBorder(ref float padded, int channels, int height, int width, int top, int left, int right)
    {
        nuint rowFloats = (nuint)(left + width + right), h0 = (nuint)top;
        int border = top * (int)rowFloats;
        for (nuint c = 0; c < (nuint)channels; c++)
        {
            ref float plane = ref Unsafe.Add(ref padded, c * (nuint)(height + 2 * top) * rowFloats);
            MemoryMarshal.CreateSpan(ref plane, border).Clear();
            for (nuint h = 0; h < (nuint)height; h++)
            {
                ref float row = ref Unsafe.Add(ref plane, (h + h0) * rowFloats);
                for (int k = 0; k < left; k++) Unsafe.Add(ref row, k) = 0f;
                for (int k = 0; k < right; k++) Unsafe.Add(ref row, left + width + k) = 0f;
            }
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref plane, ((nuint)height + h0) * rowFloats), border).Clear();
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
