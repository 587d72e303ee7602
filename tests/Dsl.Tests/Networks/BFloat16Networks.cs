using Dsl;

namespace Dsl.Tests.Networks;

/// <summary>The benchmark's MLP with bfloat16 weights: packed panels when batched, the ReLU-skipping batch-1 kernel, the interleaved 10-wide head.</summary>
[Network(Input = 784, WeightType = WeightType.BFloat16)]
public partial class HalfMlp784
{
    [Dense(512, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary><see cref="HalfMlp784"/> in fp32: the same tensors, so the same initial weights for a seed.</summary>
[Network(Input = 784)]
public partial class FullMlp784
{
    [Dense(512, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(512, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Odd widths in bfloat16: tails on every rung (17, 300), a 300 -> 6 interleaved head without bias, a softmax.</summary>
[Network(Input = 37, WeightType = WeightType.BFloat16)]
public partial class HalfOdd
{
    [Dense(17, Activation.Gelu)] public partial Dense A { get; }
    [Dense(300, Activation.Relu)] public partial Dense B { get; }
    [Dense(6, Activation.Softmax, Bias = false)] public partial Dense C { get; }
}

/// <summary>Compiled-in bfloat16 weights (Data/bf16-compiled.safetensors, F32, rounded by the build), with a dropout.</summary>
[Network(Input = 20, WeightType = WeightType.BFloat16, Weights = "Data/bf16-compiled.safetensors")]
public partial class HalfCompiled
{
    [Dense(33, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dropout(0.25)] public partial Dropout Drop { get; }
    [Dense(7, Activation.Tanh)] public partial Dense Out { get; }
}

/// <summary><see cref="HalfCompiled"/> in fp32, loading the same file at run time.</summary>
[Network(Input = 20)]
public partial class FullCompiledTwin
{
    [Dense(33, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dropout(0.25)] public partial Dropout Drop { get; }
    [Dense(7, Activation.Tanh)] public partial Dense Out { get; }
}
