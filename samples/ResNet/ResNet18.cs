using System.Collections.Generic;
using Dsl;

namespace ResNet;

/// <summary>
/// torchvision's <c>resnet18()</c> for 3×224×224 images, declared so that its <c>state_dict</c> loads as it is: the
/// stem <c>conv1</c>, <c>bn1</c>, <c>maxpool</c>; four stages <c>layer1</c> .. <c>layer4</c> of two basic blocks
/// each, indexed like <c>nn.Sequential</c> (<c>layer2.0.conv1</c>); stages 2 to 4 open with a block that halves the
/// resolution and doubles the channels, its shortcut a strided 1×1 convolution and a batch norm
/// (<c>layer2.0.downsample.0</c>, <c>layer2.0.downsample.1</c>); then <c>avgpool</c> and <c>fc</c>. Each block is
/// <c>relu(shortcut(x) + bn2(conv2(relu(bn1(conv1(x))))))</c>, ResNet v1.
/// </summary>
[Network(Channels = 3, Height = 224, Width = 224)]
public partial class ResNet18
{
    [Conv2D(64, 7, Stride = 2, Padding = 3, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [MaxPool2D(3, Stride = 2, Padding = 1)] public partial MaxPool2D maxpool { get; }
    public partial Stage1 layer1 { get; }
    public partial Stage2 layer2 { get; }
    public partial Stage3 layer3 { get; }
    public partial Stage4 layer4 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool avgpool { get; }
    [Dense(1000)] public partial Dense fc { get; }

    /// <summary>layer1: two identity blocks at 64 channels, 56×56.</summary>
    [Block(Indexed = true)]
    public partial class Stage1
    {
        [Repeat(2)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<Basic64> blocks { get; }
    }

    /// <summary>layer2: 64×56×56 → 128×28×28, then an identity block.</summary>
    [Block(Indexed = true)]
    public partial class Stage2
    {
        [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Down128 down { get; }
        [Residual(Activation = Activation.Relu)] public partial Basic128 block { get; }
    }

    /// <summary>layer3: 128×28×28 → 256×14×14, then an identity block.</summary>
    [Block(Indexed = true)]
    public partial class Stage3
    {
        [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Down256 down { get; }
        [Residual(Activation = Activation.Relu)] public partial Basic256 block { get; }
    }

    /// <summary>layer4: 256×14×14 → 512×7×7, then an identity block.</summary>
    [Block(Indexed = true)]
    public partial class Stage4
    {
        [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Down512 down { get; }
        [Residual(Activation = Activation.Relu)] public partial Basic512 block { get; }
    }

    /// <summary>A basic block's branch keeping 64 channels.</summary>
    [Block]
    public partial class Basic64
    {
        [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A basic block's branch keeping 128 channels.</summary>
    [Block]
    public partial class Basic128
    {
        [Conv2D(128, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(128, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A basic block's branch keeping 256 channels.</summary>
    [Block]
    public partial class Basic256
    {
        [Conv2D(256, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(256, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A basic block's branch keeping 512 channels.</summary>
    [Block]
    public partial class Basic512
    {
        [Conv2D(512, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(512, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A downsampling block's branch: stride 2, 64 → 128 channels.</summary>
    [Block]
    public partial class Down128
    {
        [Conv2D(128, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(128, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A downsampling block's branch: stride 2, 128 → 256 channels.</summary>
    [Block]
    public partial class Down256
    {
        [Conv2D(256, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(256, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A downsampling block's branch: stride 2, 256 → 512 channels.</summary>
    [Block]
    public partial class Down512
    {
        [Conv2D(512, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(512, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }
}
