using System.Globalization;
using Dsl;

namespace PackageConsumer;

/// <summary>
/// The network of the package tests' consumer app: compiled there against the packed Dsl package, here against the
/// repository's projects, so both sides run the same declaration and print its outputs the same way.
/// </summary>
[Network(Input = 4)]
public partial class Tiny
{
    // 32 wide so the 512-bit rung has a kernel to run; 3 is below every vector width.
    [Dense(32, Activation.Relu)] public partial Dense Hidden { get; }
    [Dense(3)] public partial Dense Head { get; }

    /// <summary>The outputs for two fixed inputs, as round-trip floats on one line.</summary>
    public static string Outputs(int seed = 1) => Outputs(new Tiny(seed));

    /// <summary>The outputs of <paramref name="net"/> for the two fixed inputs.</summary>
    public static string Outputs(INetwork net)
    {
        var y = new float[net.OutputSize];
        var parts = new System.Collections.Generic.List<string>();
        foreach (float[] x in new[] { new float[] { 1, 2, 3, 4 }, new float[] { -0.5f, 0.25f, 3, -2 } })
        {
            net.Forward(x, y);
            foreach (float v in y) parts.Add(v.ToString("R", CultureInfo.InvariantCulture));
        }
        return string.Join(" ", parts);
    }
}
