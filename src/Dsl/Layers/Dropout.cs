using System;
using System.Globalization;

namespace Dsl;

/// <summary>
/// Inverted dropout (see <see cref="DropoutAttribute"/>, PyTorch's <c>nn.Dropout(p)</c>): input and output the
/// same shape, flat, channel-major or tokens. In training each value is kept with probability <c>1 − P</c> and
/// scaled by <c>1 / (1 − P)</c>, else zeroed; at inference the identity. No parameters.
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Created by generated network code; <paramref name="shape"/> is the input (and output) shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1) (NaN included).</exception>
    /// <exception cref="ArgumentException">The shape is empty or has a dimension that is not positive.</exception>
    public Dropout(string name, int[] shape, float p)
        : base(name, shape, shape)
    {
        // Written so that NaN fails too; p = 1 would drop everything and scale by 1/0.
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Layer '{name}': the dropout probability must be in [0, 1), got {p.ToString(CultureInfo.InvariantCulture)}.");
        P = p;
    }

    /// <summary>Probability of zeroing a value in training.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Dropout {FormatShape(InputShape)}, p {P.ToString(CultureInfo.InvariantCulture)}";
}
