using Dsl;

namespace FashionMnist;

/// <summary>
/// A small convolutional network for 1×28×28 grey images in 10 classes: two blocks of a 3×3 convolution
/// (padding 1, no bias), batch norm with ReLU and 2×2 max pooling (28×28 → 14×14 → 7×7), then a 128-unit
/// dense layer and the 10-logit head. PyTorch equivalent:
/// <c>Conv2d(1, 32, 3, padding=1, bias=False), BatchNorm2d(32), ReLU, MaxPool2d(2),
/// Conv2d(32, 64, 3, padding=1, bias=False), BatchNorm2d(64), ReLU, MaxPool2d(2),
/// Flatten, Linear(3136, 128), ReLU, Linear(128, 10)</c>. Each batch norm follows a convolution without
/// activation, so inference folds it into that convolution.
/// </summary>
[Network(Channels = 1, Height = 28, Width = 28)]
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
