using System;

namespace Dsl;

/// <summary>Element-wise function applied to a layer's output.</summary>
public enum Activation
{
    /// <summary>Identity: <c>y = z</c>.</summary>
    None,
    /// <summary><c>y = max(0, z)</c>.</summary>
    Relu,
    /// <summary><c>y = tanh(z)</c>.</summary>
    Tanh,
    /// <summary><c>y = 1 / (1 + e^-z)</c>.</summary>
    Sigmoid,
    /// <summary><c>y = z * sigmoid(z)</c> (also called swish).</summary>
    Silu,
    /// <summary>GELU, exact (erf) form as PyTorch's <c>nn.GELU()</c>: <c>y = z Φ(z) = 0.5 z (1 + erf(z / sqrt 2))</c>.</summary>
    Gelu,
    /// <summary>
    /// <c>y_j = e^(z_j) / sum_k e^(z_k)</c> over the layer's outputs (over each token's outputs when the layer
    /// runs per token).
    /// </summary>
    Softmax,
    /// <summary>GELU, tanh approximation as PyTorch's <c>nn.GELU(approximate="tanh")</c>: <c>y = 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))</c>.</summary>
    GeluTanh,
}

/// <summary>
/// How a network's inference reads its weights (<see cref="NetworkAttribute.WeightType"/>). Training always keeps
/// and updates fp32 master weights (<see cref="Parameters.Values"/>); the weight type only chooses what the
/// inference kernels stream.
/// </summary>
public enum WeightType
{
    /// <summary>IEEE single precision, 4 bytes a weight: inference reads <see cref="Parameters.ReadOnlyValues"/>.</summary>
    Float32,
    /// <summary>
    /// bfloat16 (the high 16 bits of a float: 8 exponent bits, 7 mantissa bits), 2 bytes a weight: inference reads
    /// <see cref="Parameters.BFloat16Values"/>, the fp32 values rounded to nearest even, widens each weight to fp32 in
    /// registers and accumulates in fp32. Half the bytes of fp32 for a batch-1 forward that is bound by reading the
    /// weights; about three significant decimal digits per weight. Dense layers (and dropout) only, today.
    /// </summary>
    BFloat16,
}

/// <summary>
/// Marks a <c>partial</c> class as a network. Its layers are the members marked with a layer attribute,
/// run in declaration order; the source generator emits forward, backward and parameter plumbing.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>Number of input features per sample, for a flat input (when none of <see cref="Channels"/>, <see cref="Height"/>, <see cref="Width"/> and <see cref="Length"/> is set).</summary>
    public int Input { get; set; }

    /// <summary>
    /// Input channels: with <see cref="Height"/> and <see cref="Width"/>, the input is an image of
    /// <c>Channels × Height × Width</c> floats per sample (PyTorch's NCHW without N: channel after channel, each
    /// row-major); with <see cref="Length"/>, a sequence of <c>Channels × Length</c> (PyTorch's NCL without N).
    /// </summary>
    public int Channels { get; set; }

    /// <summary>Image height (rows) of a <c>Channels × Height × Width</c> input; set with <see cref="Width"/> and <see cref="Channels"/>.</summary>
    public int Height { get; set; }

    /// <summary>Image width (columns, the contiguous dimension) of a <c>Channels × Height × Width</c> input.</summary>
    public int Width { get; set; }

    /// <summary>
    /// Sequence length: with <see cref="Channels"/>, a channel-major <c>Channels × Length</c> input for 1-D
    /// convolutions (the positions contiguous); with <see cref="Features"/>, a token-major sequence of
    /// <c>Length</c> tokens of <c>Features</c> values each (PyTorch's batch-first <c>[B, L, D]</c> without B).
    /// </summary>
    public int Length { get; set; }

    /// <summary>Values per token of a <c>Length × Features</c> token sequence, the input of attention and per-token layers; set with <see cref="Length"/>.</summary>
    public int Features { get; set; }

    /// <summary>
    /// A safetensors file (its path relative to the project) compiled into the assembly: the generator checks its
    /// tensors' names, dtypes and shapes against the declaration at build time (a mismatch is DSL0014, a file the
    /// build does not hand over DSL0013) and writes the weights as static data, and the class gets a static
    /// <c>Pretrained()</c> that returns a network reading them in place, with no file, parsing or copy at run time.
    /// The project lists the file as <c>&lt;DslWeights Include="…" /&gt;</c>. <c>new</c> still gives a seeded initialisation.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>
    /// The weights inference reads (default <see cref="Dsl.WeightType.Float32"/>). With
    /// <see cref="Dsl.WeightType.BFloat16"/> the forward kernels stream dense layers' weights and biases as bfloat16
    /// (rounded from the fp32 master values, which training keeps and updates as usual); compiled-in
    /// <see cref="Weights"/> are then stored as bfloat16 too. Only dense and dropout layers support it (DSL0015 otherwise).
    /// </summary>
    public WeightType WeightType { get; set; }
}

/// <summary>
/// A fully connected layer: <c>y = act(x W^T + b)</c> with <c>W</c> of shape [units, inputs] (PyTorch's
/// <c>nn.Linear</c>). Put it on a <c>public partial Dense Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class DenseAttribute : Attribute
{
    /// <summary>Declares a dense layer with <paramref name="units"/> outputs.</summary>
    public DenseAttribute(int units, Activation activation = Activation.None)
    {
        Units = units;
        Activation = activation;
    }

    /// <summary>Number of outputs.</summary>
    public int Units { get; }

    /// <summary>Activation fused into the layer.</summary>
    public Activation Activation { get; }

    /// <summary>Whether the layer has a bias (default true).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// A 2-D convolution over a <c>C × H × W</c> input, PyTorch's
/// <c>nn.Conv2d(C, outChannels, kernel, stride, padding, dilation, groups, bias)</c> followed by the activation:
/// <c>y[o, i, j] = act(b[o] + sum over c &lt; C/groups, kh, kw of W[o, c, kh, kw] · x[g·C/groups + c, i·s − p + kh·d, j·s − p + kw·d])</c>
/// with <c>g = o / (outChannels/groups)</c> the group of o and x zero outside the input, with output size <c>floor((H + 2p − d(k − 1) − 1) / s) + 1</c> (likewise W).
/// The weight has PyTorch's shape <c>[outChannels, C/groups, kernel, kernel]</c> (named <c>{name}.weight</c>,
/// Kaiming-uniform initialised), the bias <c>[outChannels]</c>. Put it on a
/// <c>public partial Conv2D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class Conv2DAttribute : Attribute
{
    /// <summary>Declares a convolution with <paramref name="outChannels"/> output channels and a square <paramref name="kernel"/> × <paramref name="kernel"/> window.</summary>
    public Conv2DAttribute(int outChannels, int kernel)
    {
        OutChannels = outChannels;
        Kernel = kernel;
    }

    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows, in both directions (default 1).</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Zeros added on each side of each spatial dimension (default 0).</summary>
    public int Padding { get; set; }

    /// <summary>Spacing between window taps (default 1, a dense window).</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Channel groups (default 1): input and output channels are split into this many groups, each output group seeing only its input group. Must divide both channel counts; equal to both for a depthwise convolution.</summary>
    public int Groups { get; set; } = 1;

    /// <summary>Activation fused into the layer (default none).</summary>
    public Activation Activation { get; set; }

    /// <summary>Whether the layer has a bias (default true; turn off before a BatchNorm, which has its own shift).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// A 1-D convolution over a <c>C × L</c> sequence, PyTorch's
/// <c>nn.Conv1d(C, outChannels, kernel, stride, padding, dilation, groups, bias)</c> followed by the activation:
/// <c>y[o, t] = act(b[o] + sum over c &lt; C/groups, k of W[o, c, k] · x[g·C/groups + c, t·s − p + k·d])</c> with g the
/// group of o and x zero outside the input, output length <c>floor((L + 2p − d(kernel − 1) − 1) / s) + 1</c>. With <see cref="Causal"/> the
/// padding is <c>(kernel − 1)·d</c> zeros on the left only, so <c>y[t]</c> sees no input after <c>t·s</c> and,
/// for stride 1, the output is as long as the input (PyTorch: <c>F.pad(x, ((kernel−1)·d, 0))</c> then the
/// convolution with padding 0). The weight has PyTorch's shape <c>[outChannels, C/groups, kernel]</c>.
/// Put it on a <c>public partial Conv1D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class Conv1DAttribute : Attribute
{
    /// <summary>Declares a convolution with <paramref name="outChannels"/> output channels and a window of <paramref name="kernel"/> taps.</summary>
    public Conv1DAttribute(int outChannels, int kernel)
    {
        OutChannels = outChannels;
        Kernel = kernel;
    }

    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }

    /// <summary>Window length.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows (default 1).</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Zeros added on each side (default 0); must stay 0 with <see cref="Causal"/>.</summary>
    public int Padding { get; set; }

    /// <summary>Spacing between window taps (default 1).</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Channel groups (default 1); must divide both channel counts.</summary>
    public int Groups { get; set; } = 1;

    /// <summary>Left padding of <c>(Kernel − 1)·Dilation</c> zeros and none on the right, so no output sees the future (default false).</summary>
    public bool Causal { get; set; }

    /// <summary>Activation fused into the layer (default none).</summary>
    public Activation Activation { get; set; }

    /// <summary>Whether the layer has a bias (default true).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// 2-D max pooling, PyTorch's <c>nn.MaxPool2d(kernel, stride, padding)</c>: <c>y[c, i, j] = max over the
/// kernel × kernel window at (i·s − p, j·s − p) of x[c, ., .]</c>, padding counting as −∞, output size
/// <c>floor((H + 2p − kernel) / s) + 1</c>. The gradient goes to the first maximal input of each window
/// (row-major), as PyTorch does on CPU. Padding must be at most kernel / 2. Put it on a
/// <c>public partial MaxPool2D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MaxPool2DAttribute : Attribute
{
    /// <summary>Declares max pooling over <paramref name="kernel"/> × <paramref name="kernel"/> windows.</summary>
    public MaxPool2DAttribute(int kernel) => Kernel = kernel;

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows; 0 (the default) means <see cref="Kernel"/>, non-overlapping windows, as in PyTorch.</summary>
    public int Stride { get; set; }

    /// <summary>−∞ added on each side of each spatial dimension (default 0); at most <c>Kernel / 2</c>.</summary>
    public int Padding { get; set; }
}

/// <summary>
/// 2-D average pooling, PyTorch's <c>nn.AvgPool2d(kernel, stride, padding)</c> with its default
/// <c>count_include_pad=True</c>: <c>y[c, i, j] = (sum over the kernel × kernel window of x, padding counting as 0) / kernel²</c>,
/// always divided by the full window size even where the window overlaps the padding. Output size
/// <c>floor((H + 2p − kernel) / s) + 1</c>. Padding must be at most kernel / 2. Put it on a
/// <c>public partial AvgPool2D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class AvgPool2DAttribute : Attribute
{
    /// <summary>Declares average pooling over <paramref name="kernel"/> × <paramref name="kernel"/> windows.</summary>
    public AvgPool2DAttribute(int kernel) => Kernel = kernel;

    /// <summary>Window height and width.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows; 0 (the default) means <see cref="Kernel"/>.</summary>
    public int Stride { get; set; }

    /// <summary>Zeros added on each side of each spatial dimension (default 0); at most <c>Kernel / 2</c>.</summary>
    public int Padding { get; set; }
}

/// <summary>
/// 1-D max pooling over a <c>C × L</c> sequence, PyTorch's <c>nn.MaxPool1d(kernel, stride, padding)</c>:
/// <c>y[c, t] = max of x[c, t·s − p .. t·s − p + kernel − 1]</c>, padding counting as −∞, output length
/// <c>floor((L + 2p − kernel) / s) + 1</c>; gradient to the first maximal input. Put it on a
/// <c>public partial MaxPool1D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MaxPool1DAttribute : Attribute
{
    /// <summary>Declares max pooling over windows of <paramref name="kernel"/> steps.</summary>
    public MaxPool1DAttribute(int kernel) => Kernel = kernel;

    /// <summary>Window length.</summary>
    public int Kernel { get; }

    /// <summary>Step between windows; 0 (the default) means <see cref="Kernel"/>.</summary>
    public int Stride { get; set; }

    /// <summary>−∞ added on each side (default 0); at most <c>Kernel / 2</c>.</summary>
    public int Padding { get; set; }
}

/// <summary>
/// Global average pooling: <c>y[c] = mean over all positions of x[c, ...]</c>, from <c>C × H × W</c> (or
/// <c>C × L</c>) to a flat <c>[C]</c> — PyTorch's <c>nn.AdaptiveAvgPool2d(1)</c> (or <c>AdaptiveAvgPool1d(1)</c>)
/// followed by <c>nn.Flatten()</c>. No parameters. Put it on a <c>public partial GlobalAvgPool Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class GlobalAvgPoolAttribute : Attribute
{
}

/// <summary>
/// Reshapes a <c>C × H × W</c> (or <c>C × L</c>) activation to a flat vector of <c>C·H·W</c> features in the
/// same (channel-major, row-major) order, PyTorch's <c>nn.Flatten()</c>, so a dense layer can follow a
/// convolution and its weights match PyTorch's. No parameters, no computation. Put it on a
/// <c>public partial Flatten Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class FlattenAttribute : Attribute
{
}

/// <summary>
/// Batch normalisation over the channels of a <c>C × H × W</c> activation, PyTorch's
/// <c>nn.BatchNorm2d(C, eps=Epsilon, momentum=Momentum)</c> followed by the activation:
/// <c>y = act(γ[c] · (x − μ[c]) / sqrt(σ²[c] + ε) + β[c])</c>. In training, μ and σ² are the mean and biased
/// variance of channel c over the batch and all positions, and the running statistics move towards them:
/// <c>running_mean = (1 − momentum)·running_mean + momentum·μ</c>,
/// <c>running_var = (1 − momentum)·running_var + momentum·σ²·n/(n − 1)</c> (unbiased, n = batch·H·W), and
/// <c>num_batches_tracked</c> counts batches. In inference, μ and σ² are the running statistics. Tensors, as in
/// PyTorch's state_dict: <c>{name}.weight</c> (γ, ones), <c>{name}.bias</c> (β, zeros), and the buffers
/// <c>{name}.running_mean</c> (zeros), <c>{name}.running_var</c> (ones), <c>{name}.num_batches_tracked</c>
/// (I64 scalar). Put it on a <c>public partial BatchNorm2D Name { get; }</c> property, typically right after a
/// convolution without bias: <c>Conv → BN → ReLU</c> is a Conv2D with Bias = false and a BatchNorm2D with
/// Activation = Relu.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class BatchNorm2DAttribute : Attribute
{
    /// <summary>Weight of the current batch in the running statistics (default 0.1, as PyTorch).</summary>
    public float Momentum { get; set; } = 0.1f;

    /// <summary>Added to the variance before the square root (default 1e-5, as PyTorch).</summary>
    public float Epsilon { get; set; } = 1e-5f;

    /// <summary>Activation applied after the normalisation (default none).</summary>
    public Activation Activation { get; set; }
}

/// <summary>
/// Batch normalisation over the channels of a <c>C × L</c> sequence or the features of a flat <c>[C]</c>
/// activation, PyTorch's <c>nn.BatchNorm1d(C, eps=Epsilon, momentum=Momentum)</c> followed by the activation:
/// the same maths and tensors as <see cref="BatchNorm2DAttribute"/>, with statistics over the batch and the L
/// positions (n = batch·L, or n = batch for a flat input). Put it on a
/// <c>public partial BatchNorm1D Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class BatchNorm1DAttribute : Attribute
{
    /// <summary>Weight of the current batch in the running statistics (default 0.1, as PyTorch).</summary>
    public float Momentum { get; set; } = 0.1f;

    /// <summary>Added to the variance before the square root (default 1e-5, as PyTorch).</summary>
    public float Epsilon { get; set; } = 1e-5f;

    /// <summary>Activation applied after the normalisation (default none).</summary>
    public Activation Activation { get; set; }
}

/// <summary>
/// Turns a channel-major <c>C × H × W</c> image or <c>C × L</c> sequence into a token-major sequence of
/// <c>H·W</c> (or <c>L</c>) tokens of <c>C</c> features, PyTorch's <c>x.flatten(2).transpose(1, 2)</c> as
/// after a ViT's patch-embedding convolution. Dense layers after it run per token. No parameters. Put it on a
/// <c>public partial Tokens Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class TokensAttribute : Attribute
{
}

/// <summary>
/// Layer normalisation over the features of each token (or of a flat activation), PyTorch's
/// <c>nn.LayerNorm(D, eps=Epsilon)</c>: <c>y = γ (x − mean) / sqrt(var + ε) + β</c> with the mean and biased
/// variance of the token's D values. Tensors <c>{name}.weight</c> (γ, ones) and <c>{name}.bias</c> (β, zeros),
/// shape [D]. Put it on a <c>public partial LayerNorm Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class LayerNormAttribute : Attribute
{
    /// <summary>Normalises over the incoming features; their count is inferred.</summary>
    public LayerNormAttribute()
    {
    }

    /// <summary>Normalises over <paramref name="features"/> values, which must be the incoming feature count (checked at build time).</summary>
    public LayerNormAttribute(int features) => Features = features;

    /// <summary>The declared feature count, or 0 to infer it.</summary>
    public int Features { get; }

    /// <summary>Added to the variance before the square root (default 1e-5, as PyTorch).</summary>
    public float Epsilon { get; set; } = 1e-5f;
}

/// <summary>
/// Root-mean-square normalisation over the features of each token (or of a flat activation), PyTorch's
/// <c>nn.RMSNorm(D, eps=Epsilon)</c>: <c>y = γ x / sqrt(mean(x²) + ε)</c>. Tensor <c>{name}.weight</c> (γ,
/// ones), shape [D]. Put it on a <c>public partial RMSNorm Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class RMSNormAttribute : Attribute
{
    /// <summary>Normalises over the incoming features; their count is inferred.</summary>
    public RMSNormAttribute()
    {
    }

    /// <summary>Normalises over <paramref name="features"/> values, which must be the incoming feature count (checked at build time).</summary>
    public RMSNormAttribute(int features) => Features = features;

    /// <summary>The declared feature count, or 0 to infer it.</summary>
    public int Features { get; }

    /// <summary>Added to the mean square (default 1.1920929e-7, float's machine epsilon, which is what PyTorch uses when eps is None).</summary>
    public float Epsilon { get; set; } = 1.1920929e-7f;
}

/// <summary>
/// Multi-head self-attention over a token sequence <c>[L, D]</c>, PyTorch's
/// <c>nn.MultiheadAttention(D, heads, batch_first=True)</c> called as <c>attn(x, x, x)</c>:
/// <c>[Q K V] = x W_in^T + b_in</c>; per head h (columns <c>h·D/heads</c> onward of each),
/// <c>O_h = softmax(Q_h K_h^T / sqrt(D/heads) + mask) V_h</c>; <c>y = [O_1 … O_heads] W_out^T + b_out</c>.
/// With <see cref="Causal"/>, token i attends to tokens j ≤ i only. Tensors as in PyTorch's state_dict:
/// <c>{name}.in_proj_weight</c> [3D, D] (Q, K, V rows in that order), <c>{name}.in_proj_bias</c> [3D],
/// <c>{name}.out_proj.weight</c> [D, D], <c>{name}.out_proj.bias</c> [D]. Put it on a
/// <c>public partial MultiHeadSelfAttention Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MultiHeadSelfAttentionAttribute : Attribute
{
    /// <summary>Declares attention with <paramref name="heads"/> heads; the model dimension D is the incoming feature count and must divide by it.</summary>
    public MultiHeadSelfAttentionAttribute(int heads) => Heads = heads;

    /// <summary>Number of heads.</summary>
    public int Heads { get; }

    /// <summary>The model dimension D, checked against the incoming feature count at build time; 0 (default) infers it.</summary>
    public int ModelDim { get; set; }

    /// <summary>Apply a causal mask: each token attends only to itself and earlier tokens.</summary>
    public bool Causal { get; set; }

    /// <summary>Whether the projections have biases (default true).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// A lookup table for token inputs, PyTorch's <c>nn.Embedding(vocabulary, dimension)</c>: each input value is
/// a token id (an integer stored in a float, 0 ≤ id &lt; vocabulary) and becomes row <c>id</c> of
/// <c>{name}.weight</c> [vocabulary, dimension] (initialised N(0, 1) as PyTorch). A flat input of L ids gives
/// L tokens of <c>dimension</c> features. Must be the first layer: ids have no gradient. Put it on a
/// <c>public partial Embedding Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class EmbeddingAttribute : Attribute
{
    /// <summary>Declares a table of <paramref name="vocabulary"/> rows of <paramref name="dimension"/> values.</summary>
    public EmbeddingAttribute(int vocabulary, int dimension)
    {
        Vocabulary = vocabulary;
        Dimension = dimension;
    }

    /// <summary>Number of distinct token ids.</summary>
    public int Vocabulary { get; }

    /// <summary>Features per token.</summary>
    public int Dimension { get; }
}

/// <summary>
/// Learned positional embedding for a token sequence <c>[L, D]</c>: <c>y[t] = x[t] + P[t]</c> with
/// <c>{name}.weight</c> P of shape [L, D] (as an <c>nn.Embedding(L, D)</c> indexed by position, initialised
/// N(0, 0.02²) as in GPT-2 and ViT). Put it on a <c>public partial PositionalEmbedding Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class PositionalEmbeddingAttribute : Attribute
{
}

/// <summary>
/// Inverted dropout, PyTorch's <c>nn.Dropout(p)</c>: in training each value is kept with probability
/// <c>1 − p</c> and scaled by <c>1 / (1 − p)</c>, else set to 0, <c>y = x · m / (1 − p)</c> with m a 0/1 mask,
/// and backward applies the same mask and scale to the gradient; at inference (<c>Forward</c>, and ONNX export)
/// it is the identity. The mask is not drawn from a stream but hashed from
/// <see cref="Workspace.Seed"/>, <see cref="Workspace.Step"/>, the layer and the global sample index
/// (<see cref="Workspace.SampleOffset"/> plus the row), so training is bit-for-bit reproducible on every SIMD
/// path and does not change when a batch is split across threads (see <see cref="Kernels.DropoutKernels"/>).
/// Works on flat, channel-major and token activations alike (every value is dropped on its own, as
/// <c>nn.Dropout</c>); no tensors. Put it on a <c>public partial Dropout Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class DropoutAttribute : Attribute
{
    /// <summary>Declares dropout that zeroes each value with probability <paramref name="p"/>, in [0, 1).</summary>
    public DropoutAttribute(double p) => P = p;

    /// <summary>Probability of zeroing a value in training, in [0, 1) (checked at build time).</summary>
    public double P { get; }
}

/// <summary>
/// Marks a <c>partial</c> class as a block: a reusable group of layer (and block) members, run in declaration
/// order. A network member whose type is the block runs it; its tensors are named
/// <c>{member}.{layer}.weight</c>. Blocks compose: a block may contain other blocks, but not itself.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class BlockAttribute : Attribute
{
    /// <summary>
    /// Names the members by their position, 0, 1, …, as <c>nn.Sequential</c> does, instead of by member name: a
    /// torchvision stage <c>layer2</c> whose first block differs from the rest is a block with a member for the
    /// first and a <c>[Repeat]</c> for the rest, named <c>layer2.0.…</c>, <c>layer2.1.…</c>. A repeated member's
    /// copies take one position each (and are written out, not run as a loop).
    /// </summary>
    public bool Indexed { get; set; }
}

/// <summary>
/// Declares <see cref="Count"/> copies of a member, each with its own weights, run one after the other (a
/// deep stack without <see cref="Count"/> declarations). The member's type is
/// <c>IReadOnlyList&lt;T&gt;</c> of the layer or block type T; tensors are named
/// <c>{member}.{index}.…</c> like an <c>nn.ModuleList</c>. With <see cref="ResidualAttribute"/>, every copy
/// is its own residual block.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class RepeatAttribute : Attribute
{
    /// <summary>Declares <paramref name="count"/> copies.</summary>
    public RepeatAttribute(int count) => Count = count;

    /// <summary>Number of copies.</summary>
    public int Count { get; }
}

/// <summary>Where a residual connection normalises.</summary>
public enum ResidualNorm
{
    /// <summary><c>y = x + F(x)</c>.</summary>
    None,
    /// <summary>Pre-norm, as in GPT-2 and ViT: <c>y = x + F(Norm(x))</c>.</summary>
    Pre,
    /// <summary>Post-norm, as in the original transformer and PyTorch's default encoder layer: <c>y = Norm(x + F(x))</c>.</summary>
    Post,
}

/// <summary>Which normalisation a residual connection uses.</summary>
public enum NormKind
{
    /// <summary><see cref="LayerNormAttribute"/>.</summary>
    LayerNorm,
    /// <summary><see cref="RMSNormAttribute"/>.</summary>
    RMSNorm,
}

/// <summary>The skip path of a residual connection.</summary>
public enum Shortcut
{
    /// <summary>Identity when the branch keeps the shape, a projection when it changes it (default).</summary>
    Auto,
    /// <summary>Always the identity <c>x</c>; a branch that changes the shape is a build error.</summary>
    Identity,
    /// <summary>
    /// Always a learned projection: <c>x W_s</c> on flat activations and token sequences (a dense layer without bias,
    /// per token); on images <c>[C, H, W]</c> and sequences <c>[C, L]</c> a 1×1 convolution without bias, with the
    /// branch's stride (ResNet's option B), followed by a batch norm with <see cref="ResidualAttribute.ShortcutBatchNorm"/>.
    /// </summary>
    Projection,
}

/// <summary>
/// Wraps a member (a layer or a block, call it F) in a residual connection: <c>y = x + F(x)</c>, so the
/// gradient reaches x directly as well as through F. Options: <see cref="Norm"/> for pre-norm
/// <c>x + F(Norm(x))</c> or post-norm <c>Norm(x + F(x))</c> (the norm's tensors are <c>{member}_norm.*</c>);
/// <see cref="Shortcut"/> for a projection <c>x W_s + F(x)</c> when F changes the shape
/// (<c>{member}_shortcut.weight</c>; on channel-major activations a strided 1×1 convolution and, with
/// <see cref="ShortcutBatchNorm"/>, a batch norm: <c>{member}.downsample.0.*</c> and <c>{member}.downsample.1.*</c>,
/// torchvision's names); <see cref="Gated"/> for the highway form
/// <c>T(x)·F(x) + (1 − T(x))·x</c> with <c>T(x) = sigmoid(x W_T + b_T)</c> (<c>{member}_gate.*</c>, the bias
/// starting at −1 so the block first carries x through; on channel-major activations <c>T(x)</c> is a 1×1
/// convolution with a sigmoid, <c>{member}_gate.weight</c> of shape [C, C, 1, 1]); <see cref="Activation"/> for
/// <c>act(x + F(x))</c>. Shortcuts, gates and the activation work on any shape; norms on flat activations and token
/// sequences.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ResidualAttribute : Attribute
{
    /// <summary>Where to normalise (default none).</summary>
    public ResidualNorm Norm { get; set; }

    /// <summary>The normalisation used by <see cref="Norm"/> (default LayerNorm).</summary>
    public NormKind NormKind { get; set; }

    /// <summary>The skip path (default: identity, or a projection when F changes the shape).</summary>
    public Shortcut Shortcut { get; set; }

    /// <summary>Use the gated highway form.</summary>
    public bool Gated { get; set; }

    /// <summary>
    /// An activation after the sum, <c>y = act(x + F(x))</c>: ResNet v1's <c>relu(F(x) + x)</c> (default none).
    /// Element by element, so not <see cref="Dsl.Activation.Softmax"/>; not with <see cref="ResidualNorm.Post"/>.
    /// </summary>
    public Activation Activation { get; set; }

    /// <summary>
    /// A batch norm after the projection shortcut's 1×1 convolution, as torchvision's <c>downsample</c> (default
    /// false). Only for a projection on images or channel-major sequences; it folds into the convolution at inference.
    /// </summary>
    public bool ShortcutBatchNorm { get; set; }
}

/// <summary>
/// Declares a <see cref="DenseAttribute"/>, <see cref="Conv1DAttribute"/> or <see cref="Conv2DAttribute"/> layer's
/// weight prunable: training can remove its smallest connections down to <see cref="Sparsity"/> (the fraction removed)
/// with a mask the runtime keeps (<see cref="Parameters.Pruning"/>, <see cref="MagnitudePruning"/>). Connections are
/// removed <see cref="Block"/> at a time: a run of that many consecutive outputs of one input in the stored
/// input-major layout (output channels of one input channel and kernel tap for a convolution), which is what lets
/// the inference kernels skip them a SIMD vector at a time; <c>Block = 1</c> removes single weights (unstructured).
/// Put it on the layer's property beside its layer attribute: <c>[Dense(256, Activation.Relu)] [Pruned(0.9)]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class PrunedAttribute : Attribute
{
    /// <summary>Declares the layer prunable to <paramref name="sparsity"/>, in [0, 1).</summary>
    public PrunedAttribute(double sparsity) => Sparsity = sparsity;

    /// <summary>The fraction of the weight's connections to remove, in [0, 1) (checked at build time).</summary>
    public double Sparsity { get; }

    /// <summary>
    /// Consecutive outputs removed together: 1 (single weights), 4, 8 or 16 (default 16, one 512-bit vector), and it
    /// must divide the layer's outputs (per group for a grouped convolution).
    /// </summary>
    public int Block { get; set; } = PruningTarget.DefaultBlock;
}

/// <summary>
/// A mixture-of-experts layer: a router <c>Dense(d → N)</c> and a softmax pick the top <see cref="TopK"/> of
/// <see cref="Experts"/> experts for each input (each sample of flat activations, each token of a sequence), only
/// those experts run, and their outputs are added up weighted by their gates. The expert is a [Block] class of dense
/// layers (a feed-forward block); declare the member as <c>MixtureOfExperts&lt;TBlock&gt;</c>:
/// <c>[MixtureOfExperts(Experts = 8, TopK = 2)] public partial MixtureOfExperts&lt;FeedForward&gt; Moe { get; }</c>.
/// It goes inside <see cref="ResidualAttribute"/> and <see cref="RepeatAttribute"/> like any block. Tensors are named
/// <c>moe.router.weight</c> and <c>moe.experts.3.fc1.weight</c>. Training adds the balancing loss
/// weight · N · Σ f_e P_e (f_e the expert's share of the batch's assignments, P_e its mean router probability) to the
/// loss and its gradient to the router; <see cref="INetwork.Mixture"/> reports the routing of the last training batch.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MixtureOfExpertsAttribute : Attribute
{
    /// <summary>Experts, N: at least 2, at most 256.</summary>
    public int Experts { get; set; }

    /// <summary>Experts each input runs, k in [1, N] (default 2).</summary>
    public int TopK { get; set; } = 2;

    /// <summary>How the chosen experts' outputs are weighted (default <see cref="MixtureGate.Softmax"/>, Switch Transformer's).</summary>
    public MixtureGate Gate { get; set; }

    /// <summary>Whether the router has a bias (default false, as Switch Transformer and Mixtral).</summary>
    public bool RouterBias { get; set; }

    /// <summary>The balancing loss's weight α (default 0.01); 0 turns it off.</summary>
    public float BalanceWeight { get; set; } = 0.01f;

    /// <summary>
    /// Expert capacity in training batches, as Switch Transformer: an expert takes at most ceil(factor · rows · k / N)
    /// of a batch's assignments, in row order, and drops the rest (they add nothing: the input passes on through the
    /// residual around the layer, if any). Default 0: no limit. Inference never drops.
    /// </summary>
    public float CapacityFactor { get; set; }
}

/// <summary>How a mixture-of-experts layer weights its chosen experts' outputs.</summary>
public enum MixtureGate
{
    /// <summary>The chosen expert's softmax probability over all N (Switch Transformer); the router learns from the task even with k = 1.</summary>
    Softmax,

    /// <summary>The softmax over the k chosen logits only, so the gates sum to 1 (Mixtral); with k = 1 the gate is 1 and the router learns only from the balancing loss.</summary>
    TopKSoftmax,
}
