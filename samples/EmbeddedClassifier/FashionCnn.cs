using Dsl;

namespace EmbeddedClassifier;

/// <summary>
/// samples/FashionMnist's convolutional network (two 3×3 convolution + batch norm + ReLU + 2×2 max-pool blocks,
/// then dense 3136 → 128 → 10) with the weights that sample trained compiled in.
/// </summary>
[Network(Channels = 1, Height = 28, Width = 28, Weights = "weights/fashion-cnn.safetensors")]
public partial class FashionCnn
{
    [Conv2D(32, 3, Padding = 1, Bias = false)]  public partial Conv2D Conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn1 { get; }
    [MaxPool2D(2)]                              public partial MaxPool2D Pool1 { get; }
    [Conv2D(64, 3, Padding = 1, Bias = false)]  public partial Conv2D Conv2 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D Bn2 { get; }
    [MaxPool2D(2)]                              public partial MaxPool2D Pool2 { get; }
    [Flatten]                                   public partial Flatten Flat { get; }
    [Dense(128, Activation.Relu)]               public partial Dense Fc1 { get; }
    [Dense(10)]                                 public partial Dense Head { get; }
}
