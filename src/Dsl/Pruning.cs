using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;

namespace Dsl;

/// <summary>
/// What a <see cref="PrunedAttribute"/> declares for a weight tensor: the fraction of its connections to remove and
/// how many consecutive stored outputs are removed together (<see cref="Block"/>).
/// </summary>
public sealed class PruningTarget
{
    /// <summary>The block of <see cref="PrunedAttribute.Block"/> when the declaration does not say: one 512-bit vector of outputs.</summary>
    public const int DefaultBlock = 16;

    /// <summary>Describes a prunable tensor; generated code creates these.</summary>
    /// <param name="sparsity">The declared fraction of connections to remove, in [0, 1).</param>
    /// <param name="block">Consecutive stored outputs removed together.</param>
    /// <param name="sparseKernel">Whether the layer's inference has a sparse kernel (a dense or one-group convolution layer's), so the runtime builds the weight's compact form.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sparsity"/> is outside [0, 1) or <paramref name="block"/> is not positive.</exception>
    public PruningTarget(float sparsity, int block, bool sparseKernel = false)
    {
        Dsl.Pruning.CheckSparsity(sparsity, nameof(sparsity));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(block);
        Sparsity = sparsity;
        Block = block;
        SparseKernel = sparseKernel;
    }

    /// <summary>Whether inference has a sparse kernel for this weight: only then does <see cref="Pruning.Compact()"/> build its compact form.</summary>
    public bool SparseKernel { get; }

    /// <summary>The declared fraction of connections to remove, in [0, 1).</summary>
    public float Sparsity { get; }

    /// <summary>Consecutive stored elements (outputs of one input) removed together; 1 for single weights.</summary>
    public int Block { get; }
}

/// <summary>Whether a pruning step ranks each tensor's blocks on their own or all prunable tensors' blocks together.</summary>
public enum PruningScope
{
    /// <summary>Each tensor reaches its own sparsity (its declared target, or the one asked for).</summary>
    PerLayer,
    /// <summary>
    /// One magnitude threshold over every prunable tensor: the removed connections add up to the asked fraction of all
    /// prunable connections, and layers with smaller weights lose more.
    /// </summary>
    Global,
}

/// <summary>
/// The masks of a network's prunable weights (<see cref="PrunedAttribute"/>): which blocks of connections are removed.
/// Removed weights are zero and stay zero: every optimiser step zeroes their gradients before the update and their
/// values after it, and the optimiser's state (momentum, moments) for them is cleared when a mask grows, so neither
/// weight decay nor momentum brings one back. Masks only grow (a removed block stays removed) until
/// <see cref="Reset"/> or a load (<see cref="MaskFromZeros"/>). Blocks are ranked by the sum of squares of their
/// weights. Not thread-safe: prune between steps, from the training thread (as <see cref="MagnitudePruning"/> does).
/// </summary>
public sealed class Pruning
{
    private readonly Parameters _parameters;
    private readonly TensorInfo[] _tensors;
    private readonly bool[][] _removed; // per tensor, per block of its stored layout
    private readonly int[] _removedCount;
    private readonly SparseWeights?[] _sparse; // published whole: readers take the reference once per call

    internal Pruning(Parameters parameters, TensorInfo[] tensors)
    {
        _parameters = parameters;
        _tensors = tensors;
        _removed = new bool[tensors.Length][];
        _removedCount = new int[tensors.Length];
        _sparse = new SparseWeights?[tensors.Length];
        for (int i = 0; i < tensors.Length; i++) _removed[i] = new bool[tensors[i].Length / tensors[i].Pruning!.Block];
    }

    /// <summary>
    /// The compact form the sparse kernel of prunable tensor <paramref name="index"/> (of <see cref="Tensors"/>) runs on,
    /// or null when the dense kernel runs: before pruning, where the sparse kernel would not be faster, and between an
    /// optimiser step and the next <see cref="Compact()"/>. Generated inference calls this once per layer and call.
    /// </summary>
    public SparseWeights? Sparse(int index) => Volatile.Read(ref _sparse[index]);

    /// <summary>
    /// <see cref="Sparse"/> for a call of several rows (batched inference, a token sequence): the sparse kernel runs
    /// them one by one while the dense one shares each weight read between rows, so it pays only at a lower density
    /// (<see cref="SparseKernelPaysBatched"/>).
    /// </summary>
    public SparseWeights? SparseBatched(int index) =>
        Volatile.Read(ref _sparse[index]) is { } form && SparseKernelPaysBatched(form.Block, form.Density) ? form : null;

    /// <summary>
    /// Builds the compact form of each prunable weight whose sparse kernel is faster than the dense one at its
    /// sparsity and block (<see cref="SparseKernelPays"/>), from the current values and masks, and publishes each whole.
    /// Called when the masks change (pruning, a load) and when <see cref="Trainer.Fit"/> returns; an optimiser step
    /// drops the forms (the values moved), so inference runs dense until the next call. After writing weights by hand,
    /// call it again.
    /// </summary>
    public void Compact() => Compact(always: false);

    /// <summary><see cref="Compact()"/>; with <paramref name="always"/>, whether or not the sparse kernel pays (to measure where it does).</summary>
    internal void Compact(bool always)
    {
        for (int i = 0; i < _tensors.Length; i++)
        {
            TensorInfo t = _tensors[i];
            int block = t.Pruning!.Block;
            SparseWeights? form = null;
            if (t.Pruning.SparseKernel && (always || SparseKernelPays(block, 1f - (float)_removedCount[i] / _removed[i].Length)))
                form = new SparseWeights(_parameters.ReadOnlyValue(t), t.Length / t.Shape[0], t.Shape[0], block, _removed[i]);
            Volatile.Write(ref _sparse[i], form);
        }
    }

    /// <summary>
    /// Whether the sparse kernel beats the dense one on weights that keep <paramref name="density"/> of their blocks of
    /// <paramref name="block"/>. Both read the weights at the cache's bandwidth; the sparse kernel adds an index and a
    /// broadcast per block, which a block of 16 or 8 outputs hides and single weights do not. Measured on case B's
    /// MLP (Pruning_Crossover, docs/pruning.md): blocks of 16 are 1.45x faster than dense already at density 0.7,
    /// blocks of 8 1.2x, blocks of 4 break even at 0.5 and single weights at about 0.15 there; but on the FashionMlp,
    /// whose weights sit in L2, single weights were 2x slower than dense at density 0.1 and, after gradual pruning,
    /// at 0.05 (the sample's sweeps), so their threshold is 0.03. The others keep a margin.
    /// </summary>
    public static bool SparseKernelPays(int block, float density) => density <= block switch
    {
        16 => 0.7f,
        8 => 0.7f,
        4 => 0.4f,
        _ => 0.03f,
    };

    /// <summary>
    /// <see cref="SparseKernelPays"/> for batched calls, where the dense kernel reuses each weight for up to 64 rows.
    /// Measured for blocks of 16 (Pruning_Forward, docs/pruning.md: at density 0.5 the sparse kernel is 6-11 % slower
    /// than the dense one on 64 rows, at 0.3 it is 1.6x faster); the other blocks' thresholds are scaled from their
    /// batch-1 ones by the same factor, not measured.
    /// </summary>
    public static bool SparseKernelPaysBatched(int block, float density) => density <= block switch
    {
        16 => 0.4f,
        8 => 0.4f,
        4 => 0.2f,
        _ => 0.015f,
    };

    /// <summary>Drops the compact forms: the values are about to change.</summary>
    internal void DropCompact()
    {
        for (int i = 0; i < _sparse.Length; i++)
            if (_sparse[i] is not null) Volatile.Write(ref _sparse[i], null);
    }

    /// <summary>The prunable tensors, in declaration order.</summary>
    public IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <summary>Counts the changes to the masks, so a reader (an optimiser's state, a compact inference form) knows when to catch up.</summary>
    public int Version { get; private set; }

    /// <summary>The fraction of <paramref name="tensor"/>'s connections its mask removes.</summary>
    public float Sparsity(TensorInfo tensor)
    {
        int i = IndexOf(tensor);
        return (float)_removedCount[i] / _removed[i].Length;
    }

    /// <summary>Whether block <paramref name="block"/> of <paramref name="tensor"/> (stored elements <c>block·B ..</c>) is removed.</summary>
    public bool IsRemoved(TensorInfo tensor, int block) => _removed[IndexOf(tensor)][block];

    /// <summary>The fraction of all prunable connections the masks remove.</summary>
    public float TotalSparsity
    {
        get
        {
            long removed = 0, total = 0;
            for (int i = 0; i < _tensors.Length; i++)
            {
                removed += (long)_removedCount[i] * _tensors[i].Pruning!.Block;
                total += _tensors[i].Length;
            }
            return total == 0 ? 0f : (float)removed / total;
        }
    }

    /// <summary>
    /// One-shot magnitude pruning: every prunable tensor to <paramref name="sparsity"/>, or to its declared
    /// <see cref="PruningTarget.Sparsity"/> when null, removing its smallest blocks (already removed ones stay removed).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sparsity"/> is outside [0, 1).</exception>
    public void Prune(float? sparsity = null, PruningScope scope = PruningScope.PerLayer)
    {
        if (sparsity is float s) CheckSparsity(s, nameof(sparsity));
        Prune(t => sparsity ?? t.Pruning!.Sparsity, scope);
    }

    /// <summary>Removes <paramref name="tensor"/>'s smallest blocks until <paramref name="sparsity"/> of its connections are removed.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sparsity"/> is outside [0, 1).</exception>
    public void Prune(TensorInfo tensor, float sparsity)
    {
        CheckSparsity(sparsity, nameof(sparsity));
        if (Grow(IndexOf(tensor), sparsity)) MasksChanged();
    }

    /// <summary>
    /// Every prunable tensor to <paramref name="sparsityOf"/> its own: each on its own, or (<see cref="PruningScope.Global"/>)
    /// with one threshold whose removed connections add up to those sparsities weighted by the tensors' sizes.
    /// </summary>
    internal void Prune(Func<TensorInfo, float> sparsityOf, PruningScope scope)
    {
        bool changed = false;
        if (scope == PruningScope.Global)
        {
            long goal = 0;
            foreach (TensorInfo t in _tensors) goal += (long)Math.Round((double)sparsityOf(t) * t.Length);
            changed = GrowGlobally(goal);
        }
        else
        {
            for (int i = 0; i < _tensors.Length; i++) changed |= Grow(i, sparsityOf(_tensors[i]));
        }
        if (changed) MasksChanged();
    }

    /// <summary>Keeps every connection again (the values of removed ones stay zero until trained).</summary>
    public void Reset()
    {
        for (int i = 0; i < _tensors.Length; i++)
        {
            Array.Clear(_removed[i]);
            _removedCount[i] = 0;
        }
        Version++;
        DropCompact();
    }

    /// <summary>
    /// Sets each mask to the tensor's blocks that are entirely zero: how a pruned model's file (dense, with zeros, as
    /// PyTorch writes it after <c>prune.remove</c>) brings its pattern back. <see cref="SafeTensors.Load(Parameters, string)"/> calls it.
    /// </summary>
    public void MaskFromZeros()
    {
        for (int i = 0; i < _tensors.Length; i++)
        {
            ReadOnlySpan<float> values = _parameters.ReadOnlyValue(_tensors[i]);
            int block = _tensors[i].Pruning!.Block, count = 0;
            bool[] removed = _removed[i];
            for (int b = 0; b < removed.Length; b++)
            {
                removed[b] = !values.Slice(b * block, block).ContainsAnyExcept(0f);
                if (removed[b]) count++;
            }
            _removedCount[i] = count;
        }
        Version++;
        Compact();
    }

    /// <summary>
    /// Zeroes the removed connections in <paramref name="laidOutLikeValues"/>, a span laid out like
    /// <see cref="Parameters.Values"/> (the values, the gradients, an optimiser's per-element state).
    /// </summary>
    /// <exception cref="ArgumentException">The span is not <see cref="Parameters.Size"/> long.</exception>
    public void ClearRemoved(Span<float> laidOutLikeValues)
    {
        if (laidOutLikeValues.Length != _parameters.Size)
            throw new ArgumentException($"The span holds {laidOutLikeValues.Length} floats; one laid out like Parameters.Values holds {_parameters.Size}.", nameof(laidOutLikeValues));
        ClearRemoved(laidOutLikeValues, 0);
    }

    /// <summary>Zeroes the removed connections in <paramref name="slice"/>, elements <paramref name="start"/>.. of a span laid out like <see cref="Parameters.Values"/>.</summary>
    internal void ClearRemoved(Span<float> slice, int start)
    {
        int end = start + slice.Length;
        for (int i = 0; i < _tensors.Length; i++)
        {
            if (_removedCount[i] == 0) continue;
            TensorInfo t = _tensors[i];
            int block = t.Pruning!.Block;
            int first = Math.Max(start, t.Offset), last = Math.Min(end, t.Offset + t.Length);
            if (first >= last) continue;
            bool[] removed = _removed[i];
            // A slice edge may cut a block: clear only the part inside the slice.
            for (int b = (first - t.Offset) / block; b <= (last - 1 - t.Offset) / block; b++)
            {
                if (!removed[b]) continue;
                int from = Math.Max(first, t.Offset + b * block), to = Math.Min(last, t.Offset + (b + 1) * block);
                slice.Slice(from - start, to - from).Clear();
            }
        }
    }

    /// <summary>Connections (non-zero weights) and parameters per prunable tensor, and in total, as a table.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"pruned weight",-34} {"block",5} {"parameters",12} {"connections",12} {"sparsity",9}");
        long parameters = 0, connections = 0;
        foreach (TensorInfo t in _tensors)
        {
            long kept = Connections(t);
            parameters += t.Length;
            connections += kept;
            text.AppendLine(CultureInfo.InvariantCulture, $"{t.Name,-34} {t.Pruning!.Block,5} {t.Length,12:N0} {kept,12:N0} {100 * (1 - (double)kept / t.Length),7:F1} %");
        }
        long all = _parameters.Connections();
        text.Append(CultureInfo.InvariantCulture,
            $"connections: {all:N0} of {_parameters.ParameterCount:N0} parameters ({100.0 * all / _parameters.ParameterCount:F1} %); prunable weights {connections:N0} of {parameters:N0}");
        return text.ToString();
    }

    /// <summary>Non-zero values of <paramref name="tensor"/>: the connections it keeps (a kept weight may also be exactly zero).</summary>
    public long Connections(TensorInfo tensor) => Parameters.CountNonZero(_parameters.ReadOnlyValue(tensor));

    /// <summary>Marks tensor <paramref name="i"/>'s smallest kept blocks removed until <paramref name="sparsity"/> of them are; false when none had to be.</summary>
    private bool Grow(int i, float sparsity)
    {
        bool[] removed = _removed[i];
        int goal = (int)Math.Round((double)sparsity * removed.Length);
        int more = goal - _removedCount[i];
        if (more <= 0) return false;
        TensorInfo t = _tensors[i];
        int block = t.Pruning!.Block;
        ReadOnlySpan<float> values = _parameters.ReadOnlyValue(t);
        var scores = new float[removed.Length - _removedCount[i]];
        var blocks = new int[scores.Length];
        for (int b = 0, k = 0; b < removed.Length; b++)
        {
            if (removed[b]) continue;
            scores[k] = SumOfSquares(values.Slice(b * block, block));
            blocks[k++] = b;
        }
        // Ties (equal scores) go to the lower block index, so pruning is deterministic.
        Array.Sort(scores, blocks);
        SortTiesByIndex(scores, blocks, more);
        for (int k = 0; k < more; k++) removed[blocks[k]] = true;
        _removedCount[i] = goal;
        return true;
    }

    /// <summary>
    /// Marks the smallest kept blocks across all prunable tensors (mean square per weight) removed until
    /// <paramref name="goalWeights"/> connections are; false when none had to be.
    /// </summary>
    private bool GrowGlobally(long goalWeights)
    {
        long removedWeights = 0;
        var candidates = new List<(float Score, int Tensor, int Block)>();
        for (int i = 0; i < _tensors.Length; i++)
        {
            TensorInfo t = _tensors[i];
            int block = t.Pruning!.Block;
            removedWeights += (long)_removedCount[i] * block;
            ReadOnlySpan<float> values = _parameters.ReadOnlyValue(t);
            for (int b = 0; b < _removed[i].Length; b++)
                if (!_removed[i][b]) candidates.Add((SumOfSquares(values.Slice(b * block, block)) / block, i, b));
        }
        if (removedWeights >= goalWeights) return false;
        // Mean square per weight, so blocks of different sizes compare; ties by tensor, then block.
        candidates.Sort((a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : a.Tensor != b.Tensor ? a.Tensor.CompareTo(b.Tensor) : a.Block.CompareTo(b.Block));
        foreach ((float _, int i, int b) in candidates)
        {
            if (removedWeights >= goalWeights) break;
            _removed[i][b] = true;
            _removedCount[i]++;
            removedWeights += _tensors[i].Pruning!.Block;
        }
        return true;
    }

    /// <summary>After masks grew: zeroes the removed weights and their gradients, and rebuilds the compact forms once.</summary>
    private void MasksChanged()
    {
        ClearRemoved(_parameters.Values);
        ClearRemoved(_parameters.Gradients);
        Version++;
        Compact();
    }

    // Array.Sort is not stable: within the run of scores equal to the last removed one, take the lowest indices.
    private static void SortTiesByIndex(float[] scores, int[] blocks, int count)
    {
        if (count >= scores.Length) return;
        float edge = scores[count - 1];
        int from = count - 1, to = count;
        while (from > 0 && scores[from - 1] == edge) from--;
        while (to < scores.Length && scores[to] == edge) to++;
        Array.Sort(blocks, from, to - from);
    }

    private static float SumOfSquares(ReadOnlySpan<float> values)
    {
        float sum = 0f;
        foreach (float v in values) sum += v * v;
        return sum;
    }

    private int IndexOf(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int i = Array.IndexOf(_tensors, tensor);
        if (i < 0) throw new ArgumentException($"Tensor '{tensor.Name}' is not prunable here: declare its layer [Pruned].", nameof(tensor));
        return i;
    }

    /// <summary>Throws unless <paramref name="sparsity"/>, the argument <paramref name="name"/>, is a fraction of connections removed, in [0, 1).</summary>
    internal static void CheckSparsity(float sparsity, string name)
    {
        if (!(sparsity >= 0f && sparsity < 1f))
            throw new ArgumentOutOfRangeException(name, sparsity, "Sparsity is the fraction of connections removed, in [0, 1).");
    }
}
