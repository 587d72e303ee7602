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

/// <summary>6 rows per tile.</summary>
public readonly struct Rows6 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 6;
}

/// <summary>8 rows per tile.</summary>
public readonly struct Rows8 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 8;
}

/// <summary>12 rows per tile.</summary>
public readonly struct Rows12 : ITileRows
{
    /// <inheritdoc/>
    public static int Count => 12;
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
