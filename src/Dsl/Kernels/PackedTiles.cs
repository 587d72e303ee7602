using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dsl.Kernels;

/// <summary>
/// The packed micro-tiles of every network's wide batched products (one partial sum per output): rows s.. of one panel
/// of 1 or 2 vectors from output o, over a chunk of inputs k0..k0+n-1, <c>TRows</c> rows at a time. The first tile of a
/// chunk reads W in place and copies the panel, as it reads it, into an L1 buffer (<see cref="PackPanel"/>); the later
/// tiles read the copy (<see cref="ReadPanel"/>), or the network's pre-packed panels. The tile is the same for every
/// product but for its sizes, so it is written once, here, generic over the product's <c>TShape</c>: the JIT (or
/// NativeAOT) compiles one instantiation per shape struct with its sizes as constants, and per rung, row count and pass,
/// folding every <c>if (TRows.Count &gt; r)</c> so each instantiation keeps just its rows.
/// </summary>
/// <remarks>
/// Each accumulator takes its inputs in order, one FMA per input from the bias (or from y's partial sums of the chunks
/// before), so a row's outputs are bit-identical to the generated <c>Forward1</c> (the batched-equals-batch-1 tests).
/// The input loop runs four inputs a pass: on the Intel Xeon of docs/benchmarks.md case C ran about 3 % faster than one
/// a pass (the loop's counter, branch and address arithmetic stop taking issue slots from the multiply-adds).
/// </remarks>
public static class PackedTiles
{
    /// <summary>An AVX-512 tile (up to 12 rows x <typeparamref name="TVectors"/> 512-bit vectors), fp32 W.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Tile512<TVectors, TShape, TActivation, TRows, TPass>(ref float w, ref float panel, ref float x, ref float b, ref float y, nuint s, nuint rows, nuint o, nuint k0, nuint n)
        where TVectors : struct, ITileVectors where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows where TPass : struct, IPanelPass =>
        Tile<Lanes512, Vector512<float>, float, TVectors, TShape, TActivation, TRows, TPass>(ref w, ref panel, ref x, ref b, ref y, s, rows, o, k0, n);

    /// <summary>An AVX-512 tile reading W in bfloat16 (it packs the panel as floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Tile512<TVectors, TShape, TActivation, TRows, TPass>(ref ushort w, ref float panel, ref float x, ref ushort b, ref float y, nuint s, nuint rows, nuint o, nuint k0, nuint n)
        where TVectors : struct, ITileVectors where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows where TPass : struct, IPanelPass =>
        Tile<Lanes512, Vector512<float>, ushort, TVectors, TShape, TActivation, TRows, TPass>(ref w, ref panel, ref x, ref b, ref y, s, rows, o, k0, n);

    /// <summary>An AVX2 tile (up to 8 rows x 1 or 6 rows x 2 256-bit vectors), fp32 W.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Tile256<TVectors, TShape, TActivation, TRows, TPass>(ref float w, ref float panel, ref float x, ref float b, ref float y, nuint s, nuint rows, nuint o, nuint k0, nuint n)
        where TVectors : struct, ITileVectors where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows where TPass : struct, IPanelPass =>
        Tile<Lanes256, Vector256<float>, float, TVectors, TShape, TActivation, TRows, TPass>(ref w, ref panel, ref x, ref b, ref y, s, rows, o, k0, n);

    /// <summary>An AVX2 tile reading W in bfloat16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Tile256<TVectors, TShape, TActivation, TRows, TPass>(ref ushort w, ref float panel, ref float x, ref ushort b, ref float y, nuint s, nuint rows, nuint o, nuint k0, nuint n)
        where TVectors : struct, ITileVectors where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows where TPass : struct, IPanelPass =>
        Tile<Lanes256, Vector256<float>, ushort, TVectors, TShape, TActivation, TRows, TPass>(ref w, ref panel, ref x, ref b, ref y, s, rows, o, k0, n);

    // Rows s.. of outputs o.. (TVectors vectors) of TShape over its inputs k0..k0+n-1; returns the first row left over.
    // The first chunk starts from the bias, later ones from y's partial sums; the last applies the activation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static nuint Tile<TLanes, TVector, TWeight, TVectors, TShape, TActivation, TRows, TPass>(ref TWeight w, ref float panel, ref float x, ref TWeight b, ref float y, nuint s, nuint rows, nuint o, nuint k0, nuint n)
        where TLanes : struct, ITileLanes<TVector> where TVector : struct where TWeight : unmanaged
        where TVectors : struct, ITileVectors where TShape : struct, IGemmShape where TActivation : struct, IActivation where TRows : struct, ITileRows where TPass : struct, IPanelPass
    {
        nuint inputs = (nuint)TShape.Inputs, outputs = (nuint)TShape.Outputs, width = (nuint)TLanes.Width;
        bool first = k0 == 0, last = k0 + n == inputs, activate = last && TActivation.Inline;
        TVector bias0 = TShape.Bias ? LoadWeight<TLanes, TVector, TWeight>(ref b, o) : TLanes.Zero;
        TVector bias1 = TShape.Bias && TVectors.Count > 1 ? LoadWeight<TLanes, TVector, TWeight>(ref b, o + width) : TLanes.Zero;
        for (; s + (nuint)TRows.Count <= rows; s += (nuint)TRows.Count)
        {
            ref float xs = ref Unsafe.Add(ref x, s * inputs + k0);
            ref float ys = ref Unsafe.Add(ref y, s * outputs + o);
            Accumulators<TVector> a = default;
            a.Start<TLanes, TVectors, TRows>(bias0, bias1, ref ys, outputs, first);
            nuint i = 0;
            for (; i + 4 <= n; i += 4)
            {
                a.Input<TLanes, TWeight, TVectors, TRows, TPass>(ref w, ref panel, ref xs, inputs, outputs, o, k0, n, i, last);
                a.Input<TLanes, TWeight, TVectors, TRows, TPass>(ref w, ref panel, ref xs, inputs, outputs, o, k0, n, i + 1, last);
                a.Input<TLanes, TWeight, TVectors, TRows, TPass>(ref w, ref panel, ref xs, inputs, outputs, o, k0, n, i + 2, last);
                a.Input<TLanes, TWeight, TVectors, TRows, TPass>(ref w, ref panel, ref xs, inputs, outputs, o, k0, n, i + 3, last);
            }
            for (; i < n; i++) a.Input<TLanes, TWeight, TVectors, TRows, TPass>(ref w, ref panel, ref xs, inputs, outputs, o, k0, n, i, last);
            a.Store<TLanes, TActivation, TVectors, TRows>(ref ys, outputs, activate);
            if (last && !TActivation.Inline)
            {
                // Activations that call exp run over the stored rows, so no accumulator is live across a call.
                for (nuint r = 0; r < (nuint)TRows.Count; r++)
                {
                    ref float row = ref Unsafe.Add(ref ys, r * outputs);
                    TLanes.Store(TLanes.Activate<TActivation>(TLanes.Load(ref row, 0)), ref row, 0);
                    if (TVectors.Count > 1) TLanes.Store(TLanes.Activate<TActivation>(TLanes.Load(ref row, width)), ref row, width);
                }
            }
        }
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector LoadWeight<TLanes, TVector, TWeight>(ref TWeight source, nuint offset)
        where TLanes : struct, ITileLanes<TVector> where TVector : struct where TWeight : unmanaged =>
        typeof(TWeight) == typeof(float)
            ? TLanes.Load(ref Unsafe.As<TWeight, float>(ref source), offset)
            : TLanes.LoadBFloat16(ref Unsafe.As<TWeight, ushort>(ref source), offset);

    // How far ahead, in inputs, a tile reading a packed panel asks for its rows: 2 KB with AVX-512's 2 vectors. Case C's
    // products on the Intel Xeon of docs/benchmarks.md ran 8-13 % faster with it (0.5-2 KB ahead measured alike).
    private const int PanelPrefetchInputs = 16;

    /// <summary>
    /// A tile's accumulators, row r's vectors <c>R{r}V0</c> and <c>R{r}V1</c>: a local the JIT promotes field by field
    /// into registers (the methods below are inlined into the tile), so the tile's steps are written once each.
    /// </summary>
    private struct Accumulators<TVector> where TVector : struct
    {
        private TVector R0V0, R0V1, R1V0, R1V1, R2V0, R2V1, R3V0, R3V1, R4V0, R4V1, R5V0, R5V1;
        private TVector R6V0, R6V1, R7V0, R7V1, R8V0, R8V1, R9V0, R9V1, R10V0, R10V1, R11V0, R11V1;

        // From the bias on the first chunk, else from y's partial sums.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Start<TLanes, TVectors, TRows>(TVector bias0, TVector bias1, ref float ys, nuint outputs, bool first)
            where TLanes : struct, ITileLanes<TVector> where TVectors : struct, ITileVectors where TRows : struct, ITileRows
        {
            R0V0 = R1V0 = R2V0 = R3V0 = R4V0 = R5V0 = R6V0 = R7V0 = R8V0 = R9V0 = R10V0 = R11V0 = bias0;
            R0V1 = R1V1 = R2V1 = R3V1 = R4V1 = R5V1 = R6V1 = R7V1 = R8V1 = R9V1 = R10V1 = R11V1 = bias1;
            if (first) return;
            Load<TLanes, TVectors>(ref R0V0, ref R0V1, ref ys);
            if (TRows.Count > 1) Load<TLanes, TVectors>(ref R1V0, ref R1V1, ref Unsafe.Add(ref ys, outputs));
            if (TRows.Count > 2) Load<TLanes, TVectors>(ref R2V0, ref R2V1, ref Unsafe.Add(ref ys, 2 * outputs));
            if (TRows.Count > 3) Load<TLanes, TVectors>(ref R3V0, ref R3V1, ref Unsafe.Add(ref ys, 3 * outputs));
            if (TRows.Count > 4) Load<TLanes, TVectors>(ref R4V0, ref R4V1, ref Unsafe.Add(ref ys, 4 * outputs));
            if (TRows.Count > 5) Load<TLanes, TVectors>(ref R5V0, ref R5V1, ref Unsafe.Add(ref ys, 5 * outputs));
            if (TRows.Count > 6) Load<TLanes, TVectors>(ref R6V0, ref R6V1, ref Unsafe.Add(ref ys, 6 * outputs));
            if (TRows.Count > 7) Load<TLanes, TVectors>(ref R7V0, ref R7V1, ref Unsafe.Add(ref ys, 7 * outputs));
            if (TRows.Count > 8) Load<TLanes, TVectors>(ref R8V0, ref R8V1, ref Unsafe.Add(ref ys, 8 * outputs));
            if (TRows.Count > 9) Load<TLanes, TVectors>(ref R9V0, ref R9V1, ref Unsafe.Add(ref ys, 9 * outputs));
            if (TRows.Count > 10) Load<TLanes, TVectors>(ref R10V0, ref R10V1, ref Unsafe.Add(ref ys, 10 * outputs));
            if (TRows.Count > 11) Load<TLanes, TVectors>(ref R11V0, ref R11V1, ref Unsafe.Add(ref ys, 11 * outputs));
        }

        // Input i of the chunk: its weight vectors (the PackPanel pass reads them from W, stores them into the panel and
        // asks for the next chunk's row to come into L2; the ReadPanel pass reads the panel and asks for the row
        // PanelPrefetchInputs ahead to come into L1), multiplied into every row.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Input<TLanes, TWeight, TVectors, TRows, TPass>(ref TWeight w, ref float panel, ref float xs, nuint inputs, nuint outputs, nuint o, nuint k0, nuint n, nuint i, bool last)
            where TLanes : struct, ITileLanes<TVector> where TWeight : unmanaged where TVectors : struct, ITileVectors where TRows : struct, ITileRows where TPass : struct, IPanelPass
        {
            nuint width = (nuint)TLanes.Width, stride = (nuint)TVectors.Count * width;
            ref float wi = ref Unsafe.Add(ref panel, i * stride);
            TVector w0, w1 = default;
            if (TPass.Packs)
            {
                ref TWeight wr = ref Unsafe.Add(ref w, (k0 + i) * outputs + o);
                w0 = LoadWeight<TLanes, TVector, TWeight>(ref wr, 0);
                TLanes.Store(w0, ref wi, 0);
                if (TVectors.Count > 1)
                {
                    w1 = LoadWeight<TLanes, TVector, TWeight>(ref wr, width);
                    TLanes.Store(w1, ref wi, width);
                }
                if (!last)
                {
                    // A 64-byte line: 16 floats or 32 bfloat16.
                    ref TWeight next = ref Unsafe.Add(ref wr, n * outputs);
                    for (nuint line = 0; line < stride; line += (nuint)(64 / Unsafe.SizeOf<TWeight>())) DenseKernels.PrefetchToL2(ref Unsafe.Add(ref next, line));
                }
            }
            else
            {
                DenseKernels.PrefetchToL1(ref Unsafe.Add(ref wi, PanelPrefetchInputs * stride));
                w0 = TLanes.Load(ref wi, 0);
                if (TVectors.Count > 1) w1 = TLanes.Load(ref wi, width);
            }
            Fma<TLanes, TVectors>(ref R0V0, ref R0V1, w0, w1, Unsafe.Add(ref xs, i));
            if (TRows.Count > 1) Fma<TLanes, TVectors>(ref R1V0, ref R1V1, w0, w1, Unsafe.Add(ref xs, i + inputs));
            if (TRows.Count > 2) Fma<TLanes, TVectors>(ref R2V0, ref R2V1, w0, w1, Unsafe.Add(ref xs, i + 2 * inputs));
            if (TRows.Count > 3) Fma<TLanes, TVectors>(ref R3V0, ref R3V1, w0, w1, Unsafe.Add(ref xs, i + 3 * inputs));
            if (TRows.Count > 4) Fma<TLanes, TVectors>(ref R4V0, ref R4V1, w0, w1, Unsafe.Add(ref xs, i + 4 * inputs));
            if (TRows.Count > 5) Fma<TLanes, TVectors>(ref R5V0, ref R5V1, w0, w1, Unsafe.Add(ref xs, i + 5 * inputs));
            if (TRows.Count > 6) Fma<TLanes, TVectors>(ref R6V0, ref R6V1, w0, w1, Unsafe.Add(ref xs, i + 6 * inputs));
            if (TRows.Count > 7) Fma<TLanes, TVectors>(ref R7V0, ref R7V1, w0, w1, Unsafe.Add(ref xs, i + 7 * inputs));
            if (TRows.Count > 8) Fma<TLanes, TVectors>(ref R8V0, ref R8V1, w0, w1, Unsafe.Add(ref xs, i + 8 * inputs));
            if (TRows.Count > 9) Fma<TLanes, TVectors>(ref R9V0, ref R9V1, w0, w1, Unsafe.Add(ref xs, i + 9 * inputs));
            if (TRows.Count > 10) Fma<TLanes, TVectors>(ref R10V0, ref R10V1, w0, w1, Unsafe.Add(ref xs, i + 10 * inputs));
            if (TRows.Count > 11) Fma<TLanes, TVectors>(ref R11V0, ref R11V1, w0, w1, Unsafe.Add(ref xs, i + 11 * inputs));
        }

        // Every row to y, through the activation when it is inline and this is the last chunk.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store<TLanes, TActivation, TVectors, TRows>(ref float ys, nuint outputs, bool activate)
            where TLanes : struct, ITileLanes<TVector> where TActivation : struct, IActivation where TVectors : struct, ITileVectors where TRows : struct, ITileRows
        {
            Store<TLanes, TActivation, TVectors>(R0V0, R0V1, ref ys, activate);
            if (TRows.Count > 1) Store<TLanes, TActivation, TVectors>(R1V0, R1V1, ref Unsafe.Add(ref ys, outputs), activate);
            if (TRows.Count > 2) Store<TLanes, TActivation, TVectors>(R2V0, R2V1, ref Unsafe.Add(ref ys, 2 * outputs), activate);
            if (TRows.Count > 3) Store<TLanes, TActivation, TVectors>(R3V0, R3V1, ref Unsafe.Add(ref ys, 3 * outputs), activate);
            if (TRows.Count > 4) Store<TLanes, TActivation, TVectors>(R4V0, R4V1, ref Unsafe.Add(ref ys, 4 * outputs), activate);
            if (TRows.Count > 5) Store<TLanes, TActivation, TVectors>(R5V0, R5V1, ref Unsafe.Add(ref ys, 5 * outputs), activate);
            if (TRows.Count > 6) Store<TLanes, TActivation, TVectors>(R6V0, R6V1, ref Unsafe.Add(ref ys, 6 * outputs), activate);
            if (TRows.Count > 7) Store<TLanes, TActivation, TVectors>(R7V0, R7V1, ref Unsafe.Add(ref ys, 7 * outputs), activate);
            if (TRows.Count > 8) Store<TLanes, TActivation, TVectors>(R8V0, R8V1, ref Unsafe.Add(ref ys, 8 * outputs), activate);
            if (TRows.Count > 9) Store<TLanes, TActivation, TVectors>(R9V0, R9V1, ref Unsafe.Add(ref ys, 9 * outputs), activate);
            if (TRows.Count > 10) Store<TLanes, TActivation, TVectors>(R10V0, R10V1, ref Unsafe.Add(ref ys, 10 * outputs), activate);
            if (TRows.Count > 11) Store<TLanes, TActivation, TVectors>(R11V0, R11V1, ref Unsafe.Add(ref ys, 11 * outputs), activate);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Load<TLanes, TVectors>(ref TVector v0, ref TVector v1, ref float row)
            where TLanes : struct, ITileLanes<TVector> where TVectors : struct, ITileVectors
        {
            v0 = TLanes.Load(ref row, 0);
            if (TVectors.Count > 1) v1 = TLanes.Load(ref row, (nuint)TLanes.Width);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Fma<TLanes, TVectors>(ref TVector v0, ref TVector v1, TVector w0, TVector w1, float x)
            where TLanes : struct, ITileLanes<TVector> where TVectors : struct, ITileVectors
        {
            TVector xv = TLanes.Broadcast(x);
            v0 = TLanes.MultiplyAdd(w0, xv, v0);
            if (TVectors.Count > 1) v1 = TLanes.MultiplyAdd(w1, xv, v1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store<TLanes, TActivation, TVectors>(TVector v0, TVector v1, ref float row, bool activate)
            where TLanes : struct, ITileLanes<TVector> where TActivation : struct, IActivation where TVectors : struct, ITileVectors
        {
            TLanes.Store(activate ? TLanes.Activate<TActivation>(v0) : v0, ref row, 0);
            if (TVectors.Count > 1) TLanes.Store(activate ? TLanes.Activate<TActivation>(v1) : v1, ref row, (nuint)TLanes.Width);
        }
    }
}

/// <summary>The vector operations of one rung, for kernels written once for several (<see cref="PackedTiles"/>).</summary>
public interface ITileLanes<TVector> where TVector : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }
    /// <summary>All lanes 0.</summary>
    static abstract TVector Zero { get; }
    /// <summary>The floats at <paramref name="source"/> + <paramref name="offset"/>.</summary>
    static abstract TVector Load(ref float source, nuint offset);
    /// <summary>The bfloat16 at <paramref name="source"/> + <paramref name="offset"/>, widened to floats.</summary>
    static abstract TVector LoadBFloat16(ref ushort source, nuint offset);
    /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/> + <paramref name="offset"/>.</summary>
    static abstract void Store(TVector value, ref float destination, nuint offset);
    /// <summary><paramref name="value"/> in every lane.</summary>
    static abstract TVector Broadcast(float value);
    /// <summary><c>a * b + c</c>, fused where the machine has FMA.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
    /// <summary>The activation, lane by lane.</summary>
    static abstract TVector Activate<TActivation>(TVector z) where TActivation : struct, IActivation;
}

/// <summary>AVX-512's 512-bit vectors.</summary>
public readonly struct Lanes512 : ITileLanes<Vector512<float>>
{
    /// <inheritdoc/>
    public static int Width => Vector512<float>.Count;
    /// <inheritdoc/>
    public static Vector512<float> Zero => Vector512<float>.Zero;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadBFloat16(ref ushort source, nuint offset) => BFloat16Kernels.Load512(ref source, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Activate<TActivation>(Vector512<float> z) where TActivation : struct, IActivation => TActivation.Invoke(z);
}

/// <summary>AVX2's 256-bit vectors.</summary>
public readonly struct Lanes256 : ITileLanes<Vector256<float>>
{
    /// <inheritdoc/>
    public static int Width => Vector256<float>.Count;
    /// <inheritdoc/>
    public static Vector256<float> Zero => Vector256<float>.Zero;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadBFloat16(ref ushort source, nuint offset) => BFloat16Kernels.Load256(ref source, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Activate<TActivation>(Vector256<float> z) where TActivation : struct, IActivation => TActivation.Invoke(z);
}

/// <summary>The vectors of a packed micro-tile's panel, as a type (see <see cref="ITileRows"/>).</summary>
public interface ITileVectors
{
    /// <summary>Vectors per row.</summary>
    static abstract int Count { get; }
}

/// <summary>A panel of 1 vector.</summary>
public readonly struct Vectors1 : ITileVectors
{
    /// <inheritdoc/>
    public static int Count => 1;
}

/// <summary>A panel of 2 vectors.</summary>
public readonly struct Vectors2 : ITileVectors
{
    /// <inheritdoc/>
    public static int Count => 2;
}
