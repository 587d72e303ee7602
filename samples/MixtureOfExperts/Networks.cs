using Dsl;

namespace MixtureSample;

// Four Fashion-MNIST classifiers that differ only in their feed-forward block: 784 → 256 (ReLU), then a residual
// feed-forward of width 256, then the head. The dense block of the mixture's active width, the mixture, the dense
// block of the mixture's total width, and the mixture without its balancing loss.

/// <summary>A mixture's expert: 256 → 64 (ReLU) → 256, 33,088 parameters.</summary>
[Block]
public partial class Expert
{
    [Dense(64, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(256)] public partial Dense fc2 { get; }
}

/// <summary>The dense feed-forward block of the mixture's active width: 256 → 128 → 256 (two experts' worth).</summary>
[Block]
public partial class FeedForward128
{
    [Dense(128, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(256)] public partial Dense fc2 { get; }
}

/// <summary>The dense feed-forward block of the mixture's total width: 256 → 512 → 256 (eight experts' worth).</summary>
[Block]
public partial class FeedForward512
{
    [Dense(512, Activation.Relu)] public partial Dense fc1 { get; }
    [Dense(256)] public partial Dense fc2 { get; }
}

/// <summary>Dense, the mixture's active parameters per input: 269,450 parameters, all of them used per image.</summary>
[Network(Input = 784)]
public partial class DenseActive
{
    [Dense(256, Activation.Relu)] public partial Dense fc { get; }
    [Residual] public partial FeedForward128 ffn { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>8 experts, top-2 (Switch gates, balancing loss 0.01): 470,282 parameters, 271,754 used per image (the router's 2,048 and a second fc2 bias besides the dense model's).</summary>
[Network(Input = 784)]
public partial class MixtureMlp
{
    [Dense(256, Activation.Relu)] public partial Dense fc { get; }
    [Residual, MixtureOfExperts(Experts = 8, TopK = 2)] public partial MixtureOfExperts<Expert> moe { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>The same mixture trained without the balancing loss.</summary>
[Network(Input = 784)]
public partial class UnbalancedMixture
{
    [Dense(256, Activation.Relu)] public partial Dense fc { get; }
    [Residual, MixtureOfExperts(Experts = 8, TopK = 2, BalanceWeight = 0f)] public partial MixtureOfExperts<Expert> moe { get; }
    [Dense(10)] public partial Dense head { get; }
}

/// <summary>Dense, the mixture's total parameters: 466,442 parameters, all used per image.</summary>
[Network(Input = 784)]
public partial class DenseTotal
{
    [Dense(256, Activation.Relu)] public partial Dense fc { get; }
    [Residual] public partial FeedForward512 ffn { get; }
    [Dense(10)] public partial Dense head { get; }
}
