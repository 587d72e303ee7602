using Dsl;

namespace PackageConsumer;

/// <summary><see cref="Tiny"/> with the weights of weights/tiny.safetensors compiled in (the project lists it as DslWeights).</summary>
[Network(Input = 4, Weights = "weights/tiny.safetensors")]
public partial class CompiledTiny
{
    [Dense(32, Activation.Relu)] public partial Dense Hidden { get; }
    [Dense(3)] public partial Dense Head { get; }
}
