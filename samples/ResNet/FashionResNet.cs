using System.Collections.Generic;
using Dsl;

namespace ResNet;

/// <summary>
/// A small ResNet v1 for 1×28×28 Fashion-MNIST images, CIFAR-style (He et al. 2015, section 4.2): a 3×3 stem, then
/// three stages of two basic blocks at 16, 32 and 64 channels (28×28, 14×14, 7×7), each later stage opening with a
/// block that halves the resolution and doubles the channels (its shortcut a strided 1×1 convolution and a batch
/// norm), then global average pooling and the classifier. Every block is <c>relu(shortcut(x) + bn2(conv2(relu(bn1(conv1(x))))))</c>;
/// the names are torchvision's (<c>layer2.0.downsample.0.weight</c>).
/// </summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class FashionResNet
{
    [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    public partial Stage1 layer1 { get; }
    public partial Stage2 layer2 { get; }
    public partial Stage3 layer3 { get; }
    [GlobalAvgPool] public partial GlobalAvgPool avgpool { get; }
    [Dense(10)] public partial Dense fc { get; }

    /// <summary>layer1: two identity blocks, 16×28×28.</summary>
    [Block(Indexed = true)]
    public partial class Stage1
    {
        [Repeat(2)][Residual(Activation = Activation.Relu)] public partial IReadOnlyList<Basic16> blocks { get; }
    }

    /// <summary>layer2: 16×28×28 → 32×14×14, then an identity block.</summary>
    [Block(Indexed = true)]
    public partial class Stage2
    {
        [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Down32 down { get; }
        [Residual(Activation = Activation.Relu)] public partial Basic32 block { get; }
    }

    /// <summary>layer3: 32×14×14 → 64×7×7, then an identity block.</summary>
    [Block(Indexed = true)]
    public partial class Stage3
    {
        [Residual(Activation = Activation.Relu, ShortcutBatchNorm = true)] public partial Down64 down { get; }
        [Residual(Activation = Activation.Relu)] public partial Basic64 block { get; }
    }

    /// <summary>A basic block's branch keeping 16 channels.</summary>
    [Block]
    public partial class Basic16
    {
        [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(16, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A basic block's branch keeping 32 channels.</summary>
    [Block]
    public partial class Basic32
    {
        [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
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

    /// <summary>A downsampling block's branch: stride 2, 16 → 32 channels.</summary>
    [Block]
    public partial class Down32
    {
        [Conv2D(32, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(32, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }

    /// <summary>A downsampling block's branch: stride 2, 32 → 64 channels.</summary>
    [Block]
    public partial class Down64
    {
        [Conv2D(64, 3, Stride = 2, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
        [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
        [Conv2D(64, 3, Padding = 1, Bias = false)] public partial Conv2D conv2 { get; }
        [BatchNorm2D] public partial BatchNorm2D bn2 { get; }
    }
}
