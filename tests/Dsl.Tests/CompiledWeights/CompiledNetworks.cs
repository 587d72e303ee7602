using Dsl;

namespace Dsl.Tests.CompiledWeights;

// Twins of test networks with their weights compiled in. The files are the seeded twins' Save output
// (CompiledWeightsTests.CheckedInFiles_AreTheSeededTwinsSave rebuilds them; DSL_REGENERATE_WEIGHTS=1 rewrites them).

/// <summary><see cref="Networks.ConvNet"/> compiled in: grouped, dilated and pointwise convolutions (weights stored per group input-major), a batch norm with its buffers and I64 count, dense layers.</summary>
[Network(Channels = 2, Height = 9, Width = 8, Weights = "CompiledWeights/conv-net.safetensors")]
public partial class CompiledConvNet
{
    [Conv2D(6, 3, Padding = 1, Activation = Activation.Relu)] public partial Conv2D C1 { get; }
    [Conv2D(4, 3, Stride = 2, Padding = 2, Dilation = 2, Groups = 2)] public partial Conv2D C2 { get; }
    [BatchNorm2D(Activation = Activation.Tanh)] public partial BatchNorm2D Bn { get; }
    [MaxPool2D(2, Stride = 1)] public partial MaxPool2D Pool { get; }
    [Conv2D(5, 1, Bias = false)] public partial Conv2D Pointwise { get; }
    [AvgPool2D(2, Padding = 1)] public partial AvgPool2D Average { get; }
    [Flatten] public partial Flatten Flat { get; }
    [Dense(7, Activation.Silu)] public partial Dense Fc { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary><see cref="Networks.PrunedMlp"/> compiled in: its all-zero blocks become its masks, as after Load.</summary>
[Network(Input = 24, Weights = "CompiledWeights/pruned-mlp.safetensors")]
public partial class CompiledPrunedMlp
{
    [Dense(64, Activation.Relu)][Pruned(0.75)] public partial Dense Hidden { get; }
    [Dense(16, Activation.Tanh)][Pruned(0.5, Block = 1)] public partial Dense Second { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary><see cref="Networks.TinyGpt"/> compiled in: embeddings, RMSNorm, causal attention, the decode step.</summary>
[Network(Input = 8, Weights = "CompiledWeights/tiny-gpt.safetensors")]
public partial class CompiledTinyGpt
{
    [Embedding(7, 16)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][MultiHeadSelfAttention(2, Causal = true)] public partial MultiHeadSelfAttention attn { get; }
    [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)][Dense(16, Activation.Gelu)] public partial Dense ff { get; }
    [RMSNorm] public partial RMSNorm norm { get; }
    [Dense(7)] public partial Dense head { get; }
}
