using System;
using System.IO;
using Google.Protobuf;

namespace Dsl.Onnx;

/// <summary>
/// Exports any generated network as an ONNX model (opset 17 of the default <c>ai.onnx</c> domain, IR version 8)
/// for inference: graph input <c>input</c> of shape <c>[batch, …]</c> with the network's per-sample input shape,
/// graph output <c>output</c> likewise, the batch a symbolic dimension. The network's tensors become float32
/// initializers with their Dsl (PyTorch <c>state_dict</c>) names and PyTorch layouts; batch norms use their
/// running statistics. See docs/onnx.md for the operator mapping.
/// </summary>
public static class OnnxExport
{
    /// <summary>The <c>ai.onnx</c> operator set the model imports.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (that of ONNX 1.12, which introduced opset 17).</summary>
    public const int IrVersion = 8;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph output.</summary>
    public const string OutputName = "output";

    /// <summary>Name of the symbolic batch dimension of the input and output.</summary>
    public const string BatchDimension = "batch";

    /// <summary>The ONNX model of <paramref name="network"/> with its current weights, serialised.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> is null.</exception>
    /// <exception cref="NotSupportedException">The network has a step the exporter cannot express (none of the current step kinds).</exception>
    /// <exception cref="InvalidOperationException">The network's step list is inconsistent with its shapes or tensors.</exception>
    public static byte[] ToOnnx(this INetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return StepTranslator.Translate(network).ToByteArray();
    }

    /// <summary>
    /// Writes the ONNX model of <paramref name="network"/> to <paramref name="path"/>, replacing an existing file.
    /// The model is written to a temporary file in the same directory and then renamed over
    /// <paramref name="path"/>, so readers never see a partial file.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> or <paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, blank, or names a directory.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">Writing or renaming failed (the temporary file is removed).</exception>
    public static void ExportOnnx(this INetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"Cannot write the ONNX model to '{path}': it is a directory.", nameof(path));
        string directory = Path.GetDirectoryName(full)
            ?? throw new ArgumentException($"Cannot write the ONNX model to '{path}': it names no file.", nameof(path));
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot write the ONNX model to '{path}': the directory '{directory}' does not exist.");

        byte[] model = network.ToOnnx();
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(model);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
