using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Dsl.Kernels;

/// <summary>Writes a network's packed weight panels from its <see cref="Parameters.ReadOnlyValues"/>; generated per network.</summary>
public delegate void PanelPacker(ReadOnlySpan<float> values, Span<float> panels);

/// <summary>
/// A network's copy of its wide products' weights in the panels their batched micro-tiles read: each panel a few vectors
/// of outputs, input after input, contiguous. Packed on the first batched inference and again after the values change
/// (<see cref="Parameters.ValuesVersion"/>), so a batched forward reads its weights as one stream and copies nothing per
/// call, as ONNX Runtime pre-packs constant weights once per session. Costs a second copy of those weights; training
/// reads the values and packs per call.
/// </summary>
public sealed class PackedPanels
{
    private readonly object _packLock = new();
    private float[]? _image;
    private int _start;
    private long _version = -1;

    /// <summary>
    /// The panels of <paramref name="parameters"/>' current values, <paramref name="floats"/> of them, packed by
    /// <paramref name="pack"/> when they are missing or older than the values; a null reference when <paramref name="floats"/> is 0
    /// (no product packs on this machine's rung). Allocates once, on the first call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref float Get(Parameters parameters, int floats, PanelPacker pack)
    {
        if (floats == 0) return ref Unsafe.NullRef<float>();
        if (Volatile.Read(ref _version) != parameters.ValuesVersion) Pack(parameters, floats, pack);
        return ref _image![_start];
    }

    // Takes the version before reading the values, so a write access that comes in meanwhile makes the next call pack again.
    private void Pack(Parameters parameters, int floats, PanelPacker pack)
    {
        lock (_packLock)
        {
            long version = parameters.ValuesVersion;
            if (_version == version) return;
            if (_image is null) (_image, _start) = Parameters.AllocateAligned<float>(floats);
            pack(parameters.ReadOnlyValues, _image.AsSpan(_start, floats));
            Volatile.Write(ref _version, version);
        }
    }
}
