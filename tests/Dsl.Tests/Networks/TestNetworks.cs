using Dsl;

namespace Dsl.Tests.Networks;

/// <summary>The example network.</summary>
[Network(Input = 784)]
public partial class FashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Every activation, with widths just around each vector size (3 is scalar, 7/15/17/63/100 have tails).</summary>
[Network(Input = 7)]
public partial class TailNet
{
    [Dense(17, Activation.Relu)] public partial Dense L1 { get; }
    [Dense(63, Activation.Tanh)] public partial Dense L2 { get; }
    [Dense(100, Activation.Sigmoid)] public partial Dense L3 { get; }
    [Dense(16, Activation.Silu)] public partial Dense L4 { get; }
    [Dense(15, Activation.Gelu)] public partial Dense L5 { get; }
    [Dense(3, Activation.Softmax)] public partial Dense L6 { get; }
    [Dense(1)] public partial Dense Out { get; }
}

/// <summary>Wide rows (784 outputs: many tiles, a loop over them) from one input, and a layer without bias.</summary>
[Network(Input = 1)]
public partial class WideNet
{
    [Dense(2, Activation.Tanh, Bias = false)] public partial Dense Expand { get; }
    [Dense(784, Activation.Sigmoid)] public partial Dense Wide { get; }
    [Dense(7, Activation.Softmax)] public partial Dense Classes { get; }
}

/// <summary>
/// The blocked batched kernel's packed weight panels: 300 inputs copy in chunks (256 + 44 with AVX2, 2 x 128 + 44 with
/// AVX-512), a 150-wide sigmoid layer ends in an overlapping tail vector whose partial sums go through y between chunks,
/// and a 40-wide layer without bias packs in one chunk.
/// </summary>
[Network(Input = 300)]
public partial class ChunkNet
{
    [Dense(150, Activation.Sigmoid)] public partial Dense Wide { get; }
    [Dense(40, Activation.Relu, Bias = false)] public partial Dense Narrow { get; }
    [Dense(3)] public partial Dense Out { get; }
}

/// <summary>
/// Batched inference over packed panels (Dsl.Kernels.PackedPanels): 1700 x 160 weights (1.1 MB) are more than one block
/// of the loops holds, so the inputs run in 2 blocks of 850 with AVX-512 and 3 of 567 with AVX2, partial sums going
/// through y between them; 160 outputs are five 32-wide AVX-512 panels (ten AVX2 panels of 16), 96 three (six); the last
/// layer is too narrow to read panels.
/// </summary>
[Network(Input = 1700)]
public partial class PanelNet
{
    [Dense(160, Activation.Silu)] public partial Dense Wide { get; }
    [Dense(96, Activation.Tanh)] public partial Dense Middle { get; }
    [Dense(5)] public partial Dense Out { get; }
}

/// <summary>Many inputs into odd widths: the weight-gradient row loop plus a 3-row tail (63 = 4*15 + 3).</summary>
[Network(Input = 63)]
public partial class OddNet
{
    [Dense(33, Activation.Gelu)] public partial Dense Hidden { get; }
    [Dense(8, Activation.Silu)] public partial Dense Narrow { get; }
    [Dense(5)] public partial Dense Out { get; }
}

/// <summary>Case T of the benchmarks: a tiny tanh MLP, small enough to unroll fully.</summary>
[Network(Input = 16)]
public partial class TinyMlp
{
    [Dense(64, Activation.Tanh)] public partial Dense Fc1 { get; }
    [Dense(64, Activation.Tanh)] public partial Dense Fc2 { get; }
    [Dense(4)] public partial Dense Out { get; }
}

/// <summary>
/// Layers of 256 or more inputs and fewer outputs than a vector, whose batch-1 kernel reads whole vectors across W's
/// rows: 10 outputs (8 rows a step with AVX-512; 300 inputs end in a lone group and 4 left over), 3 (16 rows; 520
/// inputs end in 8 left over; AVX2 takes it too), 14 (257 inputs: 1 left over), 4 (1000 inputs: two lone groups).
/// </summary>
[Network(Input = 300)]
public partial class NarrowNet
{
    [Dense(10, Activation.Tanh)] public partial Dense Ten { get; }
    [Dense(520, Activation.Relu)] public partial Dense Up1 { get; }
    [Dense(3, Activation.Sigmoid)] public partial Dense Three { get; }
    [Dense(257, Activation.Silu)] public partial Dense Up2 { get; }
    [Dense(14, Activation.Gelu)] public partial Dense Fourteen { get; }
    [Dense(1000, Activation.Relu)] public partial Dense Up3 { get; }
    [Dense(4)] public partial Dense Four { get; }
}

/// <summary>One output from 1000 inputs: a dot product (16 rows a step with AVX-512, 8 with AVX2), without bias.</summary>
[Network(Input = 1000)]
public partial class DotNet
{
    [Dense(1, Bias = false)] public partial Dense Dot { get; }
}
