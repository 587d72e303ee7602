using System.Collections.Generic;
using Dsl;

namespace Dsl.Tests.Networks;

// Mixture-of-experts networks for MixtureOfExpertsTests: flat and token inputs, both gates, one to three expert
// layers, inside residuals and repeats. Member names are lower case so the tensor names are the member paths.

/// <summary>The feed-forward expert: d → 16 → d, ReLU between.</summary>
[Block]
public partial class Expert12
{
    [Dense(16, Activation.Relu)] public partial Dense fc1 { get; }

    [Dense(12)] public partial Dense fc2 { get; }
}

/// <summary>A smooth expert d → 16 → d (SiLU, z kept): gradient checks through many routed rows meet no ReLU kinks.</summary>
[Block]
public partial class SmoothExpert12
{
    [Dense(16, Activation.Silu)] public partial Dense fc1 { get; }

    [Dense(12)] public partial Dense fc2 { get; }
}

/// <summary>A GELU expert (z kept for the derivative) of three layers, no bias on the last.</summary>
[Block]
public partial class GeluExpert
{
    [Dense(10, Activation.Gelu)] public partial Dense fc1 { get; }

    [Dense(7, Activation.Tanh)] public partial Dense fc2 { get; }

    [Dense(12, Bias = false)] public partial Dense fc3 { get; }
}

/// <summary>One dense layer as the expert (no hidden layer), changing the width.</summary>
[Block]
public partial class LinearExpert
{
    [Dense(5)] public partial Dense proj { get; }
}

/// <summary>Flat input of 12, 4 experts, top-2, Switch gates, then a head.</summary>
[Network(Input = 12)]
public partial class FlatMixtureNet
{
    [MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<Expert12> moe { get; }

    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Flat, 6 experts, top-3, Mixtral's renormalised gates, a router bias, GELU experts, the balancing loss weighted up.</summary>
[Network(Input = 12)]
public partial class RenormalizedMixtureNet
{
    [MixtureOfExperts(Experts = 6, TopK = 3, Gate = MixtureGate.TopKSoftmax, RouterBias = true, BalanceWeight = 0.5f)]
    public partial MixtureOfExperts<GeluExpert> moe { get; }
}

/// <summary>Top-1 of 3 (Switch), single-layer experts 12 → 5, first step of the network.</summary>
[Network(Input = 12)]
public partial class SwitchMixtureNet
{
    [MixtureOfExperts(Experts = 3, TopK = 1, BalanceWeight = 0.1f)] public partial MixtureOfExperts<LinearExpert> moe { get; }
}

/// <summary>Tokens: 6 tokens of 12, pre-norm residual around a mixture of 4 top-2, as a transformer block's feed-forward.</summary>
[Network(Length = 6, Features = 12)]
public partial class TokenMixtureNet
{
    [Dense(12, Activation.Tanh)] public partial Dense embed { get; }

    [Residual(Norm = ResidualNorm.Pre), MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<SmoothExpert12> moe { get; }

    [Dense(2)] public partial Dense head { get; }
}

/// <summary>A transformer-style block with a mixture feed-forward, repeated three times (the copies run as a loop).</summary>
[Block]
public partial class MixtureBlock
{
    [Residual(Norm = ResidualNorm.Pre), MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }

    [Residual(Norm = ResidualNorm.Pre), MixtureOfExperts(Experts = 4, TopK = 2, Gate = MixtureGate.TopKSoftmax)] public partial MixtureOfExperts<SmoothExpert12> moe { get; }
}

/// <summary>Three mixture blocks over 5 tokens of 12.</summary>
[Network(Length = 5, Features = 12)]
public partial class RepeatedMixtureNet
{
    [Dense(12)] public partial Dense embed { get; }

    [Repeat(3)] public partial IReadOnlyList<MixtureBlock> blocks { get; }

    [Dense(3)] public partial Dense head { get; }
}

/// <summary>A capacity factor of 1 on 4 experts top-2: in a training batch an expert takes at most rows · 2 / 4 assignments.</summary>
[Network(Input = 12)]
public partial class CapacityMixtureNet
{
    [Residual, MixtureOfExperts(Experts = 4, TopK = 2, CapacityFactor = 1f)] public partial MixtureOfExperts<Expert12> moe { get; }
}

/// <summary>Only a mixture on 6 tokens of 12: each token routed on its own.</summary>
[Network(Length = 6, Features = 12)]
public partial class TokenOnlyMixtureNet
{
    [MixtureOfExperts(Experts = 5, TopK = 2, RouterBias = true)] public partial MixtureOfExperts<Expert12> moe { get; }
}

/// <summary>Mixtral's gates with k = 1: the gate is always 1, so only the balancing loss (off here) could move the router.</summary>
[Network(Input = 12)]
public partial class RenormalizedTop1Net
{
    [MixtureOfExperts(Experts = 4, TopK = 1, Gate = MixtureGate.TopKSoftmax, BalanceWeight = 0f)] public partial MixtureOfExperts<Expert12> moe { get; }
}

/// <summary>A classifier with a mixture in the middle: 16 → 16 ReLU → mixture of 4 (top 2) → 4 classes.</summary>
[Network(Input = 16)]
public partial class ClassifierMixtureNet
{
    [Dense(16, Activation.Relu)] public partial Dense fc { get; }

    [Residual, MixtureOfExperts(Experts = 4, TopK = 2)] public partial MixtureOfExperts<Expert16> moe { get; }

    [Dense(4)] public partial Dense head { get; }
}

/// <summary>The classifier's expert: 16 → 24 → 16.</summary>
[Block]
public partial class Expert16
{
    [Dense(24, Activation.Relu)] public partial Dense fc1 { get; }

    [Dense(16)] public partial Dense fc2 { get; }
}

/// <summary>[Repeat] on the mixture member itself: three residual mixtures in a row (moe.0, moe.1, moe.2), the middle copies run as a loop.</summary>
[Network(Input = 12)]
public partial class RepeatedMemberMixtureNet
{
    [Repeat(3), Residual, MixtureOfExperts(Experts = 3, TopK = 2)] public partial IReadOnlyList<MixtureOfExperts<SmoothExpert12>> moe { get; }

    [Dense(2)] public partial Dense head { get; }
}
