using Dsl;

namespace Dsl.Tests.Networks;

// Dropout on each kind of activation, checked by DropoutNumericTests. Member names are lower case so the tensor
// names are exactly the member paths.

/// <summary>Dropout between two dense layers of a flat network.</summary>
[Network(Input = 6)]
public partial class DropoutMlp
{
    [Dense(8, Activation.Tanh)] public partial Dense hidden { get; }
    [Dropout(0.3)] public partial Dropout drop { get; }
    [Dense(4)] public partial Dense head { get; }
}

/// <summary>Dropout on a channel-major image, then flattened.</summary>
[Network(Channels = 2, Height = 4, Width = 4)]
public partial class DropoutCnn
{
    [Conv2D(3, 3, Padding = 1, Activation = Activation.Tanh)] public partial Conv2D conv { get; }
    [Dropout(0.25)] public partial Dropout drop { get; }
    [Flatten] public partial Flatten flat { get; }
    [Dense(3)] public partial Dense head { get; }
}

/// <summary>Dropout on a token sequence, and as the last step (the output itself is dropped in training).</summary>
[Network(Length = 5, Features = 6)]
public partial class DropoutTokens
{
    [Dense(6, Activation.Tanh)] public partial Dense fc { get; }
    [Dropout(0.5)] public partial Dropout drop { get; }
    [LayerNorm] public partial LayerNorm norm { get; }
    [Dense(2)] public partial Dense head { get; }
    [Dropout(0.2)] public partial Dropout last { get; }
}
