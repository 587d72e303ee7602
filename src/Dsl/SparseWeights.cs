using System;

namespace Dsl;

/// <summary>
/// The compact form of a pruned weight W, stored input-major [Inputs, Outputs] with blocks of <see cref="Block"/>
/// consecutive outputs: per run of <see cref="Block"/> outputs (a column of blocks), the inputs whose block is kept
/// and those blocks' values, one after the other, so a kernel reads only the kept weights and keeps each run's sums
/// in registers. Immutable: <see cref="Pruning"/> builds a new one and publishes it whole, so inference on other
/// threads sees the old form or the new one, never a half-built one.
/// </summary>
public sealed class SparseWeights
{
    private readonly float[] _values;
    private readonly int _valuesStart;

    /// <summary>Builds the compact form of <paramref name="stored"/> (Inputs × Outputs, input-major) keeping the blocks <paramref name="removed"/> does not mark.</summary>
    internal SparseWeights(ReadOnlySpan<float> stored, int inputs, int outputs, int block, ReadOnlySpan<bool> removed)
    {
        Inputs = inputs;
        Outputs = outputs;
        Block = block;
        int columns = outputs / block, kept = 0;
        foreach (bool r in removed) if (!r) kept++;
        KeptBlocks = kept;
        Starts = new int[columns + 1];
        Indices = new int[kept];
        (_values, _valuesStart) = Parameters.AllocateAligned<float>(kept * block);
        Span<float> values = Values;
        int k = 0;
        for (int c = 0; c < columns; c++)
        {
            Starts[c] = k;
            for (int i = 0; i < inputs; i++)
            {
                // Block (i, c) is block i * columns + c of the stored layout.
                if (removed[i * columns + c]) continue;
                Indices[k] = i;
                stored.Slice(i * outputs + c * block, block).CopyTo(values.Slice(k * block, block));
                k++;
            }
        }
        Starts[columns] = k;
    }

    /// <summary>Inputs of the product.</summary>
    public int Inputs { get; }

    /// <summary>Outputs of the product.</summary>
    public int Outputs { get; }

    /// <summary>Consecutive outputs per block.</summary>
    public int Block { get; }

    /// <summary>Blocks kept.</summary>
    public int KeptBlocks { get; }

    /// <summary>The fraction of the blocks kept.</summary>
    public float Density => (float)KeptBlocks * Block / ((long)Inputs * Outputs);

    /// <summary>Per column of blocks c, its kept blocks are <c>Starts[c] .. Starts[c + 1] − 1</c>.</summary>
    internal int[] Starts { get; }

    /// <summary>The input of each kept block.</summary>
    internal int[] Indices { get; }

    /// <summary>The kept blocks' values, <see cref="Block"/> floats each, 64-byte aligned.</summary>
    internal Span<float> Values => _values.AsSpan(_valuesStart, KeptBlocks * Block);
}
