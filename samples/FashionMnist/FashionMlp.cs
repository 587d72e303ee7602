using Dsl;

namespace FashionMnist;

/// <summary>
/// A 784 → 256 → 128 → 10 multilayer perceptron for 28×28 grey images in 10 classes. The generator adds
/// the constructor <c>FashionMlp(int seed = 0)</c>, <c>Forward</c>, <c>ForwardTrain</c>, <c>Backward</c>,
/// <c>Parameters</c> and <c>Summary</c>; the head outputs logits (the loss applies the softmax).
/// </summary>
[Network(Input = 784)]
public partial class FashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)]                   public partial Dense Head { get; }
}

/// <summary>
/// <see cref="FashionMlp"/> with bfloat16 weights: inference reads the weights rounded to bfloat16 (half the bytes).
/// The sample copies the trained fp32 weights into it and prints its test accuracy beside the fp32 one.
/// </summary>
[Network(Input = 784, WeightType = WeightType.BFloat16)]
public partial class FashionMlpBFloat16
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)]                   public partial Dense Head { get; }
}
