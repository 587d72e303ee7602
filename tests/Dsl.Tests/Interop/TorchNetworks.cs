using System.Collections.Generic;
using Dsl;

namespace Dsl.Tests.Interop;

// Networks whose member names are the module names of a PyTorch model, so their tensors are named as in its
// state_dict. PyTorchInteropTests writes files for them the way safetensors.torch.save_file would.

/// <summary>
/// <c>conv1 = Conv2d(2, 4, 3, padding=1, bias=False)</c>, <c>bn1 = BatchNorm2d(4)</c> + ReLU (folded into conv1 for
/// inference), <c>conv2 = Conv2d(4, 6, 3, stride=2, padding=1, groups=2)</c> + tanh, <c>flat = Flatten()</c>,
/// <c>fc = Linear(54, 5)</c> + sigmoid, <c>head = Linear(5, 3)</c>, on a 2×6×6 image.
/// </summary>
[Network(Channels = 2, Height = 6, Width = 6)]
public partial class TorchConvNet
{
    [Conv2D(4, 3, Padding = 1, Bias = false)] public partial Conv2D conv1 { get; }
    [BatchNorm2D(Activation = Activation.Relu)] public partial BatchNorm2D bn1 { get; }
    [Conv2D(6, 3, Stride = 2, Padding = 1, Groups = 2, Activation = Activation.Tanh)] public partial Conv2D conv2 { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(5, Activation.Sigmoid)] public partial Dense fc { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>
/// A small pre-norm transformer over 5 token ids: <c>embed = Embedding(11, 8)</c>, <c>pos = Embedding(5, 8)</c>
/// indexed by position, two blocks of <c>x + attn(attn_norm(x))</c> (<c>MultiheadAttention(8, 2, batch_first=True)</c>,
/// LayerNorm) and <c>x + mlp(mlp_norm(x))</c> (RMSNorm, Linear(8, 16) + exact GELU, Linear(16, 8)), then
/// <c>norm = LayerNorm(8)</c>, the mean over tokens and <c>head = Linear(8, 3)</c>.
/// </summary>
[Network(Input = 5)]
public partial class TorchTransformer
{
    [Embedding(11, 8)] public partial Embedding embed { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos { get; }
    [Repeat(2)] public partial IReadOnlyList<Block> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(3)] public partial Dense head { get; }

    /// <summary>Pre-norm encoder block.</summary>
    [Block]
    public partial class Block
    {
        [Residual(Norm = ResidualNorm.Pre)][MultiHeadSelfAttention(2)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre, NormKind = NormKind.RMSNorm)] public partial Mlp mlp { get; }
    }

    /// <summary>fc1 → GELU → fc2, per token.</summary>
    [Block]
    public partial class Mlp
    {
        [Dense(16, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dense(8)] public partial Dense fc2 { get; }
    }
}

/// <summary>samples/FashionMnist's FashionCnn, member for member, for the names and shapes docs/pytorch.md promises.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class DocFashionCnn
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

/// <summary>samples/TinyTransformer's VisionTransformer, member for member, for the names and shapes docs/pytorch.md promises.</summary>
[Network(Channels = 1, Height = 28, Width = 28)]
public partial class DocVisionTransformer
{
    [Conv2D(64, 7, Stride = 7)] public partial Conv2D patch_embed { get; }
    [Tokens] public partial Tokens tokens { get; }
    [PositionalEmbedding] public partial PositionalEmbedding pos_embed { get; }
    [Repeat(4)] public partial IReadOnlyList<EncoderBlock> blocks { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [GlobalAvgPool] public partial GlobalAvgPool pool { get; }
    [Dense(10)] public partial Dense head { get; }

    /// <summary>Pre-norm encoder block.</summary>
    [Block]
    public partial class EncoderBlock
    {
        [Residual(Norm = ResidualNorm.Pre)] [MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention attn { get; }
        [Residual(Norm = ResidualNorm.Pre)] public partial FeedForward mlp { get; }
    }

    /// <summary>The position-wise feed-forward network.</summary>
    [Block]
    public partial class FeedForward
    {
        [Dense(128, Activation.Gelu)] public partial Dense fc1 { get; }
        [Dropout(0.1)] public partial Dropout drop1 { get; }
        [Dense(64)] public partial Dense fc2 { get; }
        [Dropout(0.1)] public partial Dropout drop2 { get; }
    }
}
