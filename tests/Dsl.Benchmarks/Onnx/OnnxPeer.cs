using System;
using System.Linq;
using Dsl;
using Dsl.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Dsl.Benchmarks.Onnx;

/// <summary>
/// The ONNX Runtime peer: the network's own ONNX export (<see cref="OnnxExport.ToOnnx"/>, opset 17, its current
/// weights) run on the CPU provider with one intra-op thread and every graph optimisation, through an IOBinding
/// of OrtValues that wrap pre-allocated managed buffers, so a call allocates nothing.
/// </summary>
public sealed class OnnxPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly OrtValue _inputValue;
    private readonly OrtValue _outputValue;
    private readonly OrtIoBinding _binding;

    /// <summary>Exports <paramref name="network"/> and binds buffers for <paramref name="batch"/> samples; <paramref name="threads"/> intra-op threads.</summary>
    public OnnxPeer(INetwork network, int batch, int threads = 1)
    {
        _session = CreateSession(network.ToOnnx(), threads);
        _runOptions = new RunOptions();

        Input = new float[batch * network.InputSize];
        Output = new float[batch * network.OutputSize];
        long[] inputShape = [batch, .. network.Steps[0].InputShape.Select(d => (long)d)];
        long[] outputShape = [batch, .. network.Steps[^1].OutputShape.Select(d => (long)d)];
        _inputValue = OrtValue.CreateTensorValueFromMemory(Input, inputShape);
        _outputValue = OrtValue.CreateTensorValueFromMemory(Output, outputShape);
        _binding = _session.CreateIoBinding();
        _binding.BindInput(OnnxExport.InputName, _inputValue);
        _binding.BindOutput(OnnxExport.OutputName, _outputValue);
    }

    /// <summary>The bound input buffer: write the samples here before <see cref="Run"/>.</summary>
    public float[] Input { get; }

    /// <summary>The bound output buffer <see cref="Run"/> fills.</summary>
    public float[] Output { get; }

    /// <summary>Runs the model on <see cref="Input"/> into <see cref="Output"/>.</summary>
    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    /// <summary>A session on <paramref name="model"/>: CPU provider, <paramref name="threads"/> intra-op threads (default one) and one inter-op thread, sequential, every graph optimisation.</summary>
    public static InferenceSession CreateSession(byte[] model, int threads = 1)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        return new InferenceSession(model, options);
    }

    /// <summary>The ONNX Runtime native library's version.</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <inheritdoc/>
    public void Dispose()
    {
        _binding.Dispose();
        _inputValue.Dispose();
        _outputValue.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
