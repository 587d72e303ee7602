using System;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Dsl.Kernels;

/// <summary>
/// Embedding lookup, called by generated code. Token ids arrive as floats (a network's input is a float span),
/// one per position; the table is PyTorch's <c>[vocabulary, dimension]</c>, row <c>id</c> at
/// <c>id·dimension</c>. Every id is checked to be an integer in <c>[0, vocabulary)</c> before it addresses
/// memory: generated kernels elsewhere use unchecked references, so a bad id must never reach them.
/// </summary>
public static class EmbeddingKernels
{
    /// <summary>
    /// <c>y[t] = table[ids[t]]</c>: for each position t, copies row <c>ids[t]</c> of the table to
    /// <c>y[t·dimension ..]</c>. All ids are validated before anything is written.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not an integer in <c>[0, vocabulary)</c>; the message names its position and value.</exception>
    /// <exception cref="ArgumentException">A size is not positive or a span has the wrong length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather(ReadOnlySpan<float> ids, ReadOnlySpan<float> table, Span<float> y, int vocabulary, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabulary);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        BatchNormKernels.CheckLength(table.Length, checked(vocabulary * dimension), nameof(table));
        BatchNormKernels.CheckLength(y.Length, checked(ids.Length * dimension), nameof(y));
        CheckIds(ids, vocabulary);
        for (int t = 0; t < ids.Length; t++)
            table.Slice((int)ids[t] * dimension, dimension).CopyTo(y.Slice(t * dimension, dimension));
    }

    /// <summary>
    /// The table's gradient: <c>tableGradient[ids[t]] += dy[t]</c>, row by row (a repeated id accumulates).
    /// The ids are those <see cref="Gather"/> accepted; they are checked again against the table's rows, which
    /// costs one comparison per position.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not an integer row of the table.</exception>
    /// <exception cref="ArgumentException"><paramref name="dimension"/> is not positive or a span has the wrong length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScatterAdd(ReadOnlySpan<float> ids, ReadOnlySpan<float> dy, Span<float> tableGradient, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        BatchNormKernels.CheckLength(dy.Length, checked(ids.Length * dimension), nameof(dy));
        if (tableGradient.Length % dimension != 0)
            throw new ArgumentException($"tableGradient holds {tableGradient.Length} floats, not a whole number of rows of {dimension}.", nameof(tableGradient));
        CheckIds(ids, tableGradient.Length / dimension);
        ref float dr = ref SpanMath.Ref(dy);
        ref float tr = ref SpanMath.Ref(tableGradient);
        for (int t = 0; t < ids.Length; t++)
        {
            ref float row = ref Unsafe.Add(ref tr, (nuint)ids[t] * (nuint)dimension);
            SequenceKernels.Add(ref row, ref Unsafe.Add(ref dr, (nuint)t * (nuint)dimension), ref row, (nuint)dimension);
        }
    }

    private static void CheckIds(ReadOnlySpan<float> ids, int vocabulary)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            float id = ids[t];
            // Written so that NaN fails too: every comparison with NaN is false.
            if (!(id >= 0f && id < vocabulary && id == MathF.Floor(id)))
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id at position {t} is {id.ToString(CultureInfo.InvariantCulture)}, not an integer in 0..{vocabulary - 1} (vocabulary {vocabulary}).");
        }
    }
}
