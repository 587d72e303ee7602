namespace Dsl.Generator;

/// <summary>
/// One rung of the instruction-set ladder the generated code dispatches over, and how to spell vector
/// operations at its width. Width 1 is the scalar fallback, spelled with plain float arithmetic.
/// </summary>
internal sealed class Isa
{
    // Generated files alias these names to their global:: types at the top, so kernels stay readable.
    private const string Unsafe = "Unsafe";

    public static readonly Isa V512 = new("512", 16, "Vector512");
    public static readonly Isa V256 = new("256", 8, "Vector256");
    public static readonly Isa V128 = new("128", 4, "Vector128");
    public static readonly Isa Scalar = new("Scalar", 1, "");

    /// <summary>The dispatch ladder, widest first.</summary>
    public static readonly Isa[] Ladder = { V512, V256, V128, Scalar };

    /// <summary>The names of <c>DslInstructionSets</c> (MSBuild), by rung.</summary>
    public static string PropertyName(Isa rung) => rung == V512 ? "avx512" : rung == V256 ? "avx2" : rung == V128 ? "vector128" : "scalar";

    /// <summary>
    /// The rungs a network's kernels are written for, widest first: those named in <c>DslInstructionSets</c> (by
    /// <see cref="PropertyName"/>), or the whole ladder when it names none. Null when a name is unknown.
    /// </summary>
    public static Isa[]? Select(string property, out string unknown)
    {
        unknown = "";
        var chosen = new System.Collections.Generic.List<Isa>();
        foreach (string part in property.Split(new[] { ',', ';', ' ' }, System.StringSplitOptions.RemoveEmptyEntries))
        {
            Isa? rung = System.Array.Find(Ladder, r => string.Equals(PropertyName(r), part, System.StringComparison.OrdinalIgnoreCase));
            if (rung is null)
            {
                unknown = part;
                return null;
            }
            if (!chosen.Contains(rung)) chosen.Add(rung);
        }
        return chosen.Count == 0 ? Ladder : System.Array.FindAll(Ladder, chosen.Contains);
    }

    /// <summary>
    /// The distinct kernels a row of <paramref name="length"/> outputs needs on <paramref name="ladder"/>: one per
    /// vector width that fits it, each called when the narrowest rung that uses it is accelerated (a wider rung
    /// implies the narrower ones); the last is called unconditionally.
    /// </summary>
    public static System.Collections.Generic.List<(Isa Target, string Condition)> Dispatch(System.Collections.Generic.IReadOnlyList<Isa> ladder, int length)
    {
        var result = new System.Collections.Generic.List<(Isa, string)>();
        foreach (Isa rung in ladder)
        {
            Isa target = rung.NarrowedTo(length);
            string condition = rung.IsScalar ? "" : rung.IsAccelerated;
            if (result.Count > 0 && result[result.Count - 1].Item1 == target) result[result.Count - 1] = (target, condition);
            else result.Add((target, condition));
        }
        return result;
    }

    /// <summary>
    /// <see cref="Dispatch"/> split in two: the kernels a network writes out, those an AVX-512 or AVX2 machine runs
    /// (a prefix of the dispatch), and whether the rest, which only machines without AVX2 run, are left to the
    /// runtime's <c>FallbackKernels</c>, written once for every shape.
    /// </summary>
    public static System.Collections.Generic.List<(Isa Target, string Condition)> Written(System.Collections.Generic.IReadOnlyList<Isa> ladder, int length, out bool fallback)
    {
        var dispatch = Dispatch(ladder, length);
        var wide = new System.Collections.Generic.List<Isa>();
        foreach (Isa rung in ladder)
            if (rung == V512 || rung == V256) wide.Add(rung.NarrowedTo(length));
        var written = dispatch.FindAll(d => wide.Contains(d.Item1));
        fallback = written.Count < dispatch.Count;
        return written;
    }

    private Isa(string suffix, int width, string vector)
    {
        Suffix = suffix;
        Width = width;
        Vector = vector;
    }

    public string Suffix { get; }

    /// <summary>Floats per vector.</summary>
    public int Width { get; }

    /// <summary>The static vector class, e.g. <c>Vector512</c>; empty for scalar.</summary>
    public string Vector { get; }

    public bool IsScalar => Width == 1;

    /// <summary>The rung's member of the runtime's <c>Dsl.InstructionSet</c> enum.</summary>
    public string InstructionSetName => this == V512 ? "Avx512" : this == V256 ? "Avx2" : this == V128 ? "Vector128" : "Scalar";

    public string IsAccelerated => Vector + ".IsHardwareAccelerated";

    /// <summary>The widest rung, no wider than this one, whose vector fits in <paramref name="length"/> floats (scalar below 4).</summary>
    public Isa NarrowedTo(int length)
    {
        Isa isa = this;
        while (isa.Width > length && !isa.IsScalar)
            isa = isa == V512 ? V256 : isa == V256 ? V128 : Scalar;
        return isa;
    }

    public string Load(string reference, string offset) =>
        IsScalar ? $"{Unsafe}.Add(ref {reference}, {offset})" : $"{Vector}.LoadUnsafe(ref {reference}, {offset})";

    /// <summary>
    /// A vector of this rung's width of bfloat16 weights at <paramref name="reference"/> (a <c>ref ushort</c>) +
    /// <paramref name="offset"/>, widened to floats (zero-extend, shift left by 16; the runtime's <c>BFloat16Kernels</c>).
    /// </summary>
    public string LoadBFloat16(string reference, string offset) =>
        $"global::Dsl.Kernels.BFloat16Kernels.Load{(IsScalar ? "" : Suffix)}(ref {reference}, {offset})";

    public string Store(string value, string reference, string offset) =>
        IsScalar ? $"{Unsafe}.Add(ref {reference}, {offset}) = {value};" : $"{Vector}.StoreUnsafe({value}, ref {reference}, {offset});";

    public string Broadcast(string scalar) => IsScalar ? scalar : $"{Vector}.Create({scalar})";

    /// <summary><c>a * b + c</c>, fused where the hardware has FMA (MultiplyAddEstimate never falls back to slow software FMA).</summary>
    public string MultiplyAdd(string a, string b, string c) => IsScalar ? $"{a} * {b} + {c}" : $"{Vector}.MultiplyAddEstimate({a}, {b}, {c})";

    public string Zero => IsScalar ? "0f" : $"{Vector}.Create(0f)";

    /// <summary>The lanes of <paramref name="value"/> that the int vector <paramref name="indices"/> picks, across the whole vector (AVX-512 and AVX2 rungs).</summary>
    public string Permute(string value, string indices) =>
        this == V512 ? $"global::System.Runtime.Intrinsics.X86.Avx512F.PermuteVar16x32({value}, {indices})"
        : this == V256 ? $"global::System.Runtime.Intrinsics.X86.Avx2.PermuteVar8x32({value}, {indices})"
        : throw new System.InvalidOperationException($"No cross-lane permute is written for the {Suffix} rung.");

    /// <summary>An int vector of <paramref name="lanes"/>, e.g. permute indices.</summary>
    public string Ints(int[] lanes) => $"{Vector}.Create({string.Join(", ", System.Array.ConvertAll(lanes, l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)))})";

    /// <summary>
    /// <paramref name="floats"/> consecutive floats (a power of two from 4 to <see cref="Width"/>) in the low lanes of a
    /// vector of this rung, reading no further; the lanes above are undefined.
    /// </summary>
    public string LoadLow(string reference, string offset, int floats)
    {
        if (floats == Width) return Load(reference, offset);
        if (floats == 8 && this == V512) return $"Vector256.ToVector512Unsafe(Vector256.LoadUnsafe(ref {reference}, {offset}))";
        if (floats == 4 && this == V512) return $"Vector256.ToVector512Unsafe(Vector128.ToVector256Unsafe(Vector128.LoadUnsafe(ref {reference}, {offset})))";
        if (floats == 4 && this == V256) return $"Vector128.ToVector256Unsafe(Vector128.LoadUnsafe(ref {reference}, {offset}))";
        throw new System.ArgumentOutOfRangeException(nameof(floats), $"{floats} floats into a {Suffix} vector");
    }

    /// <summary>A vector of all-ones bits in lanes <paramref name="firstKept"/>.. and zero bits before, as floats, for AND-masking an overlapping tail vector.</summary>
    public string TailMask(int firstKept)
    {
        var lanes = new string[Width];
        for (int i = 0; i < Width; i++) lanes[i] = i < firstKept ? "0u" : "uint.MaxValue";
        return $"{Vector}.AsSingle({Vector}.Create({string.Join(", ", lanes)}))";
    }
}
