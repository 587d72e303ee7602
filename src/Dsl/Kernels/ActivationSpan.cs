using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// An activation applied over a whole span (a batch of layer outputs), for the steps that run after a kernel
/// rather than fused into it: backward, and forward where z must be kept or the layer has no kernel (batch
/// norm). Lengths are runtime (batch × width); both work in place, so tails narrow rather than overlap.
/// </summary>
public static class ActivationSpan
{
    /// <summary><c>y = f(z)</c> element-wise; <paramref name="y"/> may be <paramref name="z"/> itself (in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TActivation>(ReadOnlySpan<float> z, Span<float> y)
        where TActivation : struct, IActivation
    {
        if (y.Length != z.Length) throw new ArgumentException($"y holds {y.Length} floats, z {z.Length}.", nameof(y));
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float yr = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)z.Length;
        nuint i = 0;
        // In place, an overlapping last vector would apply f twice to the overlap, so the tail narrows instead.
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) Vector512.StoreUnsafe(TActivation.Invoke(Vector512.LoadUnsafe(ref zr, i)), ref yr, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.StoreUnsafe(TActivation.Invoke(Vector256.LoadUnsafe(ref zr, i)), ref yr, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4) Vector128.StoreUnsafe(TActivation.Invoke(Vector128.LoadUnsafe(ref zr, i)), ref yr, i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TActivation.Invoke(Unsafe.Add(ref zr, i));
    }

    /// <summary>
    /// In place <c>gradient = f'(.) * gradient</c>, where <paramref name="from"/> is the layer's output y or its
    /// pre-activation z, as <typeparamref name="TActivation"/>'s <c>BackwardFromOutput</c> says.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TActivation>(ReadOnlySpan<float> from, Span<float> gradient)
        where TActivation : struct, IActivation
    {
        if (from.Length != gradient.Length) throw new ArgumentException($"gradient holds {gradient.Length} floats, source {from.Length}.", nameof(gradient));
        ref float fr = ref MemoryMarshal.GetReference(from);
        ref float gr = ref MemoryMarshal.GetReference(gradient);
        nuint n = (nuint)from.Length;
        nuint i = 0;
        // In place, an overlapping last vector would apply f' twice to the overlap, so the tail is scalar here.
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) TActivation.Backward(Vector512.LoadUnsafe(ref fr, i), Vector512.LoadUnsafe(ref gr, i)).StoreUnsafe(ref gr, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) TActivation.Backward(Vector256.LoadUnsafe(ref fr, i), Vector256.LoadUnsafe(ref gr, i)).StoreUnsafe(ref gr, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4) TActivation.Backward(Vector128.LoadUnsafe(ref fr, i), Vector128.LoadUnsafe(ref gr, i)).StoreUnsafe(ref gr, i);
        for (; i < n; i++) Unsafe.Add(ref gr, i) = TActivation.Backward(Unsafe.Add(ref fr, i), Unsafe.Add(ref gr, i));
    }
}
