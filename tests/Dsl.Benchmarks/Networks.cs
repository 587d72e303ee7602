using Dsl;

namespace Dsl.Benchmarks;

// The benchmarked networks, declared here with the same attributes a user writes, so the generator emits
// their kernels into this assembly (see obj/<Configuration>/net10.0/generated).

/// <summary>Case F: the Fashion-MNIST MLP, 784-256-128-10. 939 KB of fp32 weights.</summary>
[Network(Input = 784)]
public partial class FashionMlp
{
    [Dense(256, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(128, Activation.Relu)] public partial Dense Fc2 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Case A: MLP 784-128-10, the row of PERFORMANCE.md with a 2.33 us L2 bound. 406 KB of fp32 weights.</summary>
[Network(Input = 784)]
public partial class MlpA
{
    [Dense(128, Activation.Relu)] public partial Dense Fc1 { get; }
    [Dense(10)] public partial Dense Head { get; }
}

/// <summary>Case T: a tiny tanh MLP 16-64-64-4, where per-call overhead dominates.</summary>
[Network(Input = 16)]
public partial class TinyMlp
{
    [Dense(64, Activation.Tanh)] public partial Dense Fc1 { get; }
    [Dense(64, Activation.Tanh)] public partial Dense Fc2 { get; }
    [Dense(4)] public partial Dense Out { get; }
}
