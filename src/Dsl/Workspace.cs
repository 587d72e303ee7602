using System;

namespace Dsl;

/// <summary>
/// Training scratch of one network for batches of up to <see cref="MaxBatch"/> samples: the activations a
/// forward pass keeps for backward, and the gradients flowing between layers (per sample, see
/// <see cref="Region"/>), plus a shared area of <see cref="SharedFloats"/> floats used once per batch (see
/// <see cref="Shared"/>: im2col scratch, per-channel batch statistics). One per training thread.
/// </summary>
public sealed class Workspace
{
    private readonly float[] _buffer;
    private readonly float[] _shared;
    private readonly int _sharedStart;

    /// <summary>
    /// Allocates <paramref name="floatsPerSample"/> × <paramref name="maxBatch"/> floats of per-sample scratch and
    /// <paramref name="sharedFloats"/> floats of shared scratch; generated networks call this.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="floatsPerSample"/> or <paramref name="maxBatch"/> is not positive, or <paramref name="sharedFloats"/> is negative.</exception>
    /// <exception cref="OverflowException">The per-sample area would exceed <see cref="int.MaxValue"/> floats.</exception>
    public Workspace(int floatsPerSample, int maxBatch, int sharedFloats = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(floatsPerSample);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegative(sharedFloats);
        FloatsPerSample = floatsPerSample;
        MaxBatch = maxBatch;
        SharedFloats = sharedFloats;
        _buffer = GC.AllocateArray<float>(checked(floatsPerSample * maxBatch), pinned: true);
        (_shared, _sharedStart) = Parameters.AllocateAligned<float>(sharedFloats);
    }

    /// <summary>Largest batch this workspace holds.</summary>
    public int MaxBatch { get; }

    /// <summary>Floats kept per sample.</summary>
    public int FloatsPerSample { get; }

    /// <summary>Floats of the shared (per-batch, not per-sample) area, which starts 64-byte aligned.</summary>
    public int SharedFloats { get; }

    /// <summary>Batch size of the last <see cref="INetwork.ForwardTrain"/>, or 0 before any.</summary>
    public int Batch { get; internal set; }

    /// <summary>The region of <paramref name="perSampleOffset"/>..+<paramref name="perSampleLength"/> per sample, for <paramref name="batch"/> samples, laid out sample after sample.</summary>
    public Span<float> Region(int perSampleOffset, int perSampleLength, int batch) =>
        _buffer.AsSpan(perSampleOffset * MaxBatch, perSampleLength * batch);

    /// <summary>
    /// Floats <paramref name="offset"/>..+<paramref name="length"/> of the shared area: scratch that exists
    /// once per workspace whatever the batch (im2col columns, per-channel batch statistics). Its contents are
    /// whatever was last written there.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside 0..<see cref="SharedFloats"/>.</exception>
    public Span<float> Shared(int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > SharedFloats)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Shared range [{offset}, {(long)offset + length}) is outside this workspace's {SharedFloats} shared floats.");
        return _shared.AsSpan(_sharedStart + offset, length);
    }

    /// <summary>
    /// Opt-in numeric check for training: when set, <see cref="INetwork.ForwardTrain"/> checks every step's output
    /// and <see cref="INetwork.Backward"/> every step's input gradient, and throws a
    /// <see cref="NonFiniteException"/> naming the first step that produced a NaN or an infinity. Off by
    /// default: then the passes test this flag once per step and do nothing else.
    /// </summary>
    public bool CheckFinite { get; set; }

    /// <summary>Called by generated code when <see cref="CheckFinite"/> is set.</summary>
    /// <exception cref="NonFiniteException"><paramref name="values"/> holds a NaN or an infinity.</exception>
    public void ThrowIfNotFinite(ReadOnlySpan<float> values, string step, bool gradient)
    {
        int at = FirstNonFinite(values);
        if (at >= 0) throw NotFinite(values, at, step, gradient);
    }

    /// <summary>
    /// The same for a step of a repeated block run as a loop, named <c>{prefix}{copy}{suffix}</c> (<c>blocks.</c>, 3,
    /// <c>.attn</c>): the name is built only when it throws, so a clean pass allocates nothing.
    /// </summary>
    /// <exception cref="NonFiniteException"><paramref name="values"/> holds a NaN or an infinity.</exception>
    public void ThrowIfNotFinite(ReadOnlySpan<float> values, string prefix, int copy, string suffix, bool gradient)
    {
        int at = FirstNonFinite(values);
        if (at >= 0) throw NotFinite(values, at, prefix + copy.ToString(System.Globalization.CultureInfo.InvariantCulture) + suffix, gradient);
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    private NonFiniteException NotFinite(ReadOnlySpan<float> values, int at, string step, bool gradient)
    {
        int perSample = Batch > 0 ? values.Length / Batch : values.Length;
        // The sample's index in the whole batch, also when this workspace holds one thread's share of it.
        int sample = (int)SampleOffset + (perSample > 0 ? at / perSample : 0);
        return new NonFiniteException(step, gradient, sample, perSample > 0 ? at % perSample : at, values[at]);
    }

    /// <summary>
    /// Keys the random masks of stochastic layers (dropout, see <see cref="Kernels.DropoutKernels"/>) together
    /// with <see cref="Step"/>, the layer and the sample; default 0. <see cref="Trainer.Fit"/> sets it from its seed.
    /// </summary>
    public ulong Seed { get; set; }

    /// <summary>
    /// The step the next <see cref="INetwork.ForwardTrain"/> keys its masks on; each ForwardTrain advances it by
    /// one (wrapping at <see cref="long.MaxValue"/>). Starts at 0; set it to replay or pin a step's masks.
    /// </summary>
    public long Step { get; set; }

    /// <summary>The step the last <see cref="INetwork.ForwardTrain"/> keyed its masks on; <see cref="INetwork.Backward"/> replays them.</summary>
    public long ForwardStep { get; private set; }

    /// <summary>
    /// Global index of the batch's first sample, which keys the masks with the row (0 unless a batch is split
    /// across threads: then each thread's workspace holds the index of its first sample, and the masks are
    /// those of the whole batch).
    /// </summary>
    public long SampleOffset { get; set; }

    /// <summary>
    /// The gradient buffer <see cref="INetwork.Backward"/> accumulates into when given this workspace: the
    /// parameters' own <see cref="Parameters.Gradients"/>, unless the workspace belongs to a helper thread of a
    /// data-parallel batch, which has a buffer of its own that <see cref="Trainer"/> adds in afterwards.
    /// </summary>
    public Span<float> Gradients(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (_gradients is null) return parameters.Gradients;
        if (_gradients.Length != parameters.Size)
            throw new ArgumentException($"This workspace's gradient buffer holds {_gradients.Length} floats, but the parameters hold {parameters.Size}.", nameof(parameters));
        return _gradients.AsSpan();
    }

    /// <summary>
    /// Whether this workspace's ForwardTrain updates the network's shared state (batch normalisation's running
    /// statistics and batch count): true unless it belongs to a helper thread of a data-parallel batch, so the
    /// state is updated once per batch, from the whole batch's statistics.
    /// </summary>
    public bool IsPrimary => GroupIndex == 0;

    /// <summary>The threads sharing this workspace's batch, or null when one thread runs it whole.</summary>
    internal BatchGroup? Group { get; private set; }

    /// <summary><see cref="Group"/> when the current batch is split across two or more threads, else null.</summary>
    internal BatchGroup? SplitGroup => Group is { Active: > 1 } group ? group : null;

    /// <summary>This workspace's thread within <see cref="Group"/> (0 without one).</summary>
    internal int GroupIndex { get; private set; }

    private float[]? _gradients;

    /// <summary>Makes this workspace thread <paramref name="index"/> of <paramref name="group"/>; threads past 0 accumulate gradients into <paramref name="gradients"/>.</summary>
    internal void JoinGroup(BatchGroup group, int index, float[]? gradients)
    {
        Group = group;
        GroupIndex = index;
        _gradients = gradients;
    }

    /// <summary>
    /// Checks <paramref name="batch"/> fits and records it, then takes the masks' step: <see cref="ForwardStep"/>
    /// becomes <see cref="Step"/> and <see cref="Step"/> advances. Generated ForwardTrain calls this.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is not in 1..<see cref="MaxBatch"/>; nothing changes.</exception>
    public void BeginForward(int batch)
    {
        if (batch <= 0 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"Batch must be in 1..{MaxBatch} for this workspace.");
        Batch = batch;
        ForwardStep = Step;
        Step = unchecked(Step + 1);
    }

    /// <summary>Checks a backward pass matches the last forward; generated Backward calls this.</summary>
    public void BeginBackward(int batch)
    {
        if (Batch == 0)
            throw new InvalidOperationException("Backward called before ForwardTrain on this workspace.");
        if (batch != Batch)
            throw new ArgumentException($"Backward batch {batch} differs from the last ForwardTrain batch {Batch}.", nameof(batch));
    }
}
