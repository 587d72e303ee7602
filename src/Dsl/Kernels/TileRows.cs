using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// The row count of a generated micro-tile method, as a type: the method is written once for its largest tile, each
/// row past the first under <c>if (TRows.Count &gt; r)</c>, and the JIT (or NativeAOT) folds the constant, so each
/// instantiation keeps just its rows, as if written out.
/// </summary>
public interface ITileRows
{
    /// <summary>Rows per tile.</summary>
    static abstract int Count { get; }
}

/// <summary>1 row per tile.</summary>
public readonly struct Rows1 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 1;
}

/// <summary>2 rows per tile.</summary>
public readonly struct Rows2 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 2;
}

/// <summary>3 rows per tile.</summary>
public readonly struct Rows3 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 3;
}

/// <summary>4 rows per tile.</summary>
public readonly struct Rows4 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 4;
}

/// <summary>5 rows per tile.</summary>
public readonly struct Rows5 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 5;
}

/// <summary>6 rows per tile.</summary>
public readonly struct Rows6 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 6;
}

/// <summary>7 rows per tile.</summary>
public readonly struct Rows7 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 7;
}

/// <summary>8 rows per tile.</summary>
public readonly struct Rows8 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 8;
}

/// <summary>
/// Whether a packed micro-tile of a batched dense kernel also packs its weight panel: the first tile of a chunk
/// reads the panel from W in place and writes the packed copy as it goes (the copy's stores ride along the
/// arithmetic instead of a pass of their own), the other tiles read the copy. The JIT keeps one path per pass.
/// </summary>
public interface IPanelPass
{
    /// <summary>True for the tile that packs the panel.</summary>
    static abstract bool Packs { get; }
}

/// <summary>The first tile of a chunk: reads W, writes the packed panel.</summary>
public readonly struct PackPanel : IPanelPass
{
    /// <inheritdoc/>
    public static bool Packs => true;
}

/// <summary>The other tiles: read the packed panel.</summary>
public readonly struct ReadPanel : IPanelPass
{
    /// <inheritdoc/>
    public static bool Packs => false;
}

/// <summary>What the generated micro-tiles share, written once here (a short name: generated code calls it in every tile).</summary>
public static class Tile
{
    /// <summary>
    /// <c>target[offset..] += scale · sums</c> for one vector: the end of a generated weight-gradient tile, which adds
    /// its sums to the gradient (scale 1, exact) or takes a fused SGD step on the weight (scale −lr).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(Vector512<float> sums, Vector512<float> scale, ref float target, nuint offset) =>
        Vector512.StoreUnsafe(Vector512.MultiplyAddEstimate(sums, scale, Vector512.LoadUnsafe(ref target, offset)), ref target, offset);

    /// <inheritdoc cref="AddScaled(Vector512{float}, Vector512{float}, ref float, nuint)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(Vector256<float> sums, Vector256<float> scale, ref float target, nuint offset) =>
        Vector256.StoreUnsafe(Vector256.MultiplyAddEstimate(sums, scale, Vector256.LoadUnsafe(ref target, offset)), ref target, offset);

    /// <inheritdoc cref="AddScaled(Vector512{float}, Vector512{float}, ref float, nuint)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(Vector128<float> sums, Vector128<float> scale, ref float target, nuint offset) =>
        Vector128.StoreUnsafe(Vector128.MultiplyAddEstimate(sums, scale, Vector128.LoadUnsafe(ref target, offset)), ref target, offset);

    /// <inheritdoc cref="AddScaled(Vector512{float}, Vector512{float}, ref float, nuint)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(float sums, float scale, ref float target, nuint offset) =>
        Unsafe.Add(ref target, offset) = sums * scale + Unsafe.Add(ref target, offset);
}
