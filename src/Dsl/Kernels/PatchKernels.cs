using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

/// <summary>
/// Im2col from a zero-bordered input for machines without Vector128: a padded convolution whose kernel rows are 2 to 4
/// taps wide (undilated) has its generated <c>Im2Col</c> copy each row of taps as one vector, and calls this otherwise.
/// Written once with the sizes as arguments, as the other fallback rungs are (<see cref="FallbackKernels"/>).
/// </summary>
public static class PatchKernels
{
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
