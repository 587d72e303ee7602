using Dsl;

namespace EmbeddedClassifier;

/// <summary>
/// samples/FashionMnist's 784 → 256 → 128 → 10 perceptron with the weights that sample trained compiled in:
/// <c>FashionMlp.Pretrained()</c> reads them from the executable's static data.
/// </summary>
[Network(Input = 784, Weights = "weights/fashion-mlp.safetensors")]
public partial class FashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)]                   public partial Dense Head { get; }
}
