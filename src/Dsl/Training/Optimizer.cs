using System;

namespace Dsl;

/// <summary>
/// Updates <see cref="Parameters.Values"/> from <see cref="Parameters.Gradients"/>, element by element, so the
/// stored layout (transposed weights, alignment padding) does not matter: padding has zero value and zero
/// gradient and stays zero under every update here. Non-trainable buffers (<see cref="Parameters.Buffers"/>, e.g.
/// BatchNorm running statistics) live elsewhere and are never touched. An optimiser keeps per-element state (momentum, moments)
/// for one <see cref="Parameters"/> instance, allocated at the first <see cref="Step"/>; use a new optimiser
/// for another network.
/// </summary>
public abstract class Optimizer
{
    private Parameters? _parameters;
    private float _learningRate;
    private int _maskVersion;

    /// <summary>Sets the initial <see cref="LearningRate"/>.</summary>
    protected Optimizer(float learningRate) => LearningRate = learningRate;

    /// <summary>Step size. Settable between steps, which is how learning-rate schedules are applied.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, infinite or NaN.</exception>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            CheckNonNegative(value, nameof(LearningRate));
            _learningRate = value;
        }
    }

    /// <summary>Steps taken so far (the <c>t</c> of bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update using the gradients currently in <paramref name="parameters"/>.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="parameters"/> is not the instance this optimiser's state belongs to.</exception>
    public void Step(Parameters parameters)
    {
        long step = BeginStep(parameters);
        UpdateSlice(parameters, 0, parameters.Size, step);
    }

    /// <summary>
    /// The checks and the step count of <see cref="Step"/>; the update itself then runs in slices, one per thread
    /// (<see cref="UpdateSlice"/>), each after its slice of the gradients is complete. Returns the step number.
    /// </summary>
    internal long BeginStep(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (_parameters is null)
        {
            CreateState(parameters.Size);
            _parameters = parameters;
        }
        else if (!ReferenceEquals(_parameters, parameters))
        {
            throw new InvalidOperationException(
                "This optimiser's state belongs to another Parameters instance; create one optimiser per network.");
        }
        if (parameters.Pruning is { } pruning)
        {
            // The values move: inference runs dense until the compact forms are rebuilt (Pruning.Compact).
            pruning.DropCompact();
            // A mask that grew since the last step takes the state of its removed weights with it.
            if (pruning.Version != _maskVersion)
            {
                ClearRemovedState(pruning);
                _maskVersion = pruning.Version;
            }
        }
        return ++StepCount;
    }

    /// <summary>
    /// Updates elements <c>[start, start + length)</c> for step <paramref name="step"/> of <see cref="BeginStep"/>;
    /// removed connections (<see cref="Parameters.Pruning"/>) get a zero gradient before the update and a zero value after it.
    /// </summary>
    internal void UpdateSlice(Parameters parameters, int start, int length, long step)
    {
        Span<float> values = parameters.Values.Slice(start, length), gradients = parameters.Gradients.Slice(start, length);
        parameters.Pruning?.ClearRemoved(gradients, start);
        Update(values, gradients, start, step);
        parameters.Pruning?.ClearRemoved(values, start);
    }

    /// <summary>
    /// Zeroes the per-element state of the connections <paramref name="pruning"/> removes (with
    /// <see cref="Pruning.ClearRemoved(Span{float})"/>), so momentum cannot move a removed weight; called at the
    /// first step after a mask changes. An optimiser without per-element state does nothing.
    /// </summary>
    protected virtual void ClearRemovedState(Pruning pruning)
    {
    }

    /// <summary>Allocates per-element state for <paramref name="size"/> floats (<see cref="Parameters.Size"/>); called once, before the first <see cref="Update"/>.</summary>
    protected abstract void CreateState(int size);

    /// <summary>
    /// Updates <paramref name="values"/> in place, elements <paramref name="offset"/>.. of the parameters (so the
    /// slice of per-element state to use); <paramref name="step"/> is 1 on the first step. Every element's update
    /// depends on that element alone: a data-parallel <see cref="Trainer"/> updates slices on different threads.
    /// </summary>
    protected abstract void Update(Span<float> values, ReadOnlySpan<float> gradients, int offset, long step);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="value"/> is finite and not negative.</summary>
    protected static void CheckNonNegative(float value, string name)
    {
        if (!(value >= 0f) || float.IsPositiveInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, "Must be finite and not negative.");
    }
}

/// <summary>
/// Stochastic gradient descent with PyTorch's <c>torch.optim.SGD</c> semantics (dampening 0): per element,
/// <c>g = grad + weightDecay·p</c>; with momentum, <c>buf = momentum·buf + g</c> (buf starts at zero, so the
/// first step gives <c>buf = g</c> as in PyTorch) and <c>g = nesterov ? g + momentum·buf : buf</c>; then
/// <c>p −= lr·g</c>. Weight decay here is L2 added to the gradient, not decoupled.
/// </summary>
public sealed class Sgd : Optimizer
{
    private float[] _momentumBuffer = [];

    /// <summary>Creates the optimiser.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is negative or not finite.</exception>
    /// <exception cref="ArgumentException"><paramref name="nesterov"/> without momentum.</exception>
    public Sgd(float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(learningRate)
    {
        CheckNonNegative(momentum, nameof(momentum));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && momentum == 0f)
            throw new ArgumentException("Nesterov momentum needs a non-zero momentum.", nameof(nesterov));
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor; 0 for plain SGD.</summary>
    public float Momentum { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the Nesterov form of momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void CreateState(int size)
    {
        if (Momentum != 0f) _momentumBuffer = new float[size];
    }

    /// <inheritdoc/>
    protected override void ClearRemovedState(Pruning pruning)
    {
        if (Momentum != 0f) pruning.ClearRemoved(_momentumBuffer);
    }

    /// <inheritdoc/>
    protected override void Update(Span<float> values, ReadOnlySpan<float> gradients, int offset, long step) =>
        OptimizerKernels.Sgd(values, gradients, Momentum != 0f ? _momentumBuffer.AsSpan(offset, values.Length) : default, LearningRate, Momentum, WeightDecay, Nesterov);
}

/// <summary>
/// Adam with decoupled weight decay, as PyTorch's <c>torch.optim.AdamW</c> (amsgrad off): per element,
/// <c>p −= lr·weightDecay·p</c>; <c>m = β1·m + (1−β1)·g</c>; <c>v = β2·v + (1−β2)·g²</c>;
/// <c>p −= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + ε)</c>, with <c>t</c> the step number from 1.
/// Use <c>weightDecay: 0</c> for plain Adam without weight decay.
/// </summary>
public sealed class AdamW : Optimizer
{
    private float[] _m = [];
    private float[] _v = [];

    /// <summary>Creates the optimiser with PyTorch's defaults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range: betas must be in [0, 1), epsilon and weight decay finite and not negative.</exception>
    public AdamW(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0.01f)
        : base(learningRate)
    {
        CheckBeta(beta1, nameof(beta1));
        CheckBeta(beta2, nameof(beta2));
        CheckNonNegative(epsilon, nameof(epsilon));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    /// <summary>Decay rate of the first-moment (mean) estimate.</summary>
    public float Beta1 { get; }

    /// <summary>Decay rate of the second-moment (uncentred variance) estimate.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public float Epsilon { get; }

    /// <summary>Decoupled weight decay coefficient (multiplied by the learning rate).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    protected override void CreateState(int size)
    {
        _m = new float[size];
        _v = new float[size];
    }

    /// <inheritdoc/>
    protected override void ClearRemovedState(Pruning pruning)
    {
        pruning.ClearRemoved(_m);
        pruning.ClearRemoved(_v);
    }

    /// <inheritdoc/>
    protected override void Update(Span<float> values, ReadOnlySpan<float> gradients, int offset, long step)
    {
        // Scalars in double as PyTorch does (Python floats); only the per-element work is float.
        double biasCorrection1 = 1.0 - Math.Pow(Beta1, step);
        double biasCorrection2 = 1.0 - Math.Pow(Beta2, step);
        float stepSize = (float)(LearningRate / biasCorrection1);
        float biasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2);
        float decay = (float)(1.0 - (double)LearningRate * WeightDecay);
        OptimizerKernels.AdamW(values, gradients, _m.AsSpan(offset, values.Length), _v.AsSpan(offset, values.Length), decay, Beta1, Beta2, Epsilon, stepSize, biasCorrection2Sqrt);
    }

    private static void CheckBeta(float beta, string name)
    {
        if (!(beta >= 0f && beta < 1f))
            throw new ArgumentOutOfRangeException(name, beta, "Must be in [0, 1).");
    }
}
