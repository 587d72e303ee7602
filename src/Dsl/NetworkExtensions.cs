using System;

namespace Dsl;

/// <summary>Saving and loading a network's weights as safetensors (see <see cref="SafeTensors"/>).</summary>
public static class NetworkExtensions
{
    /// <summary>Writes the network's parameters to <paramref name="path"/> as safetensors, atomically.</summary>
    /// <exception cref="System.IO.IOException">The file could not be written; an existing file at <paramref name="path"/> is left as it was.</exception>
    public static void Save(this INetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        SafeTensors.Save(network.Parameters, path);
    }

    /// <summary>Reads the network's parameters from the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="SafeTensorsException">The file is malformed or does not match the network; the network is left unchanged.</exception>
    public static void Load(this INetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        SafeTensors.Load(network.Parameters, path);
    }
}
