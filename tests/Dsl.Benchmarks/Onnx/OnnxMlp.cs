using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Dsl;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace Dsl.Benchmarks.Onnx;

/// <summary>
/// The ONNX Runtime peer: an ONNX model of the MLP (Gemm with transB=1 per layer, then its activation node,
/// opset 17, fp32 initializers) run on the CPU provider with one intra-op thread and every graph optimisation,
/// through an IOBinding of OrtValues that wrap pre-allocated managed buffers, so a call allocates nothing.
/// </summary>
public sealed class OnnxMlp : IDisposable
{
    private const string InputName = "x";
    private const string OutputName = "y";

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly OrtValue _inputValue;
    private readonly OrtValue _outputValue;
    private readonly OrtIoBinding _binding;

    /// <summary>Builds the model of <paramref name="layers"/> for a fixed <paramref name="batch"/> and binds its buffers.</summary>
    public OnnxMlp(IReadOnlyList<MlpLayer> layers, int batch)
    {
        byte[] model = BuildModel(layers, batch).ToByteArray();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _runOptions = new RunOptions();

        Input = new float[batch * layers[0].Inputs];
        Output = new float[batch * layers[^1].Units];
        _inputValue = OrtValue.CreateTensorValueFromMemory(Input, [batch, layers[0].Inputs]);
        _outputValue = OrtValue.CreateTensorValueFromMemory(Output, [batch, layers[^1].Units]);
        _binding = _session.CreateIoBinding();
        _binding.BindInput(InputName, _inputValue);
        _binding.BindOutput(OutputName, _outputValue);
    }

    /// <summary>The bound input buffer: write the samples here before <see cref="Run"/>.</summary>
    public float[] Input { get; }

    /// <summary>The bound output buffer <see cref="Run"/> fills.</summary>
    public float[] Output { get; }

    /// <summary>Runs the model on <see cref="Input"/> into <see cref="Output"/>.</summary>
    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    /// <summary>The ONNX Runtime native library's version.</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>The ModelProto: input x [batch, in], output y [batch, out].</summary>
    internal static ModelProto BuildModel(IReadOnlyList<MlpLayer> layers, int batch)
    {
        var graph = new GraphProto { Name = "mlp" };
        graph.Input.Add(FloatValue(InputName, batch, layers[0].Inputs));
        graph.Output.Add(FloatValue(OutputName, batch, layers[^1].Units));

        string x = InputName;
        for (int l = 0; l < layers.Count; l++)
        {
            MlpLayer layer = layers[l];
            bool last = l == layers.Count - 1;
            string w = $"fc{l}.weight", b = $"fc{l}.bias";
            graph.Initializer.Add(FloatTensor(w, layer.Weight, layer.Units, layer.Inputs));
            graph.Initializer.Add(FloatTensor(b, layer.Bias, layer.Units));

            string? op = layer.Activation switch
            {
                Activation.None => null,
                Activation.Relu => "Relu",
                Activation.Tanh => "Tanh",
                Activation.Sigmoid => "Sigmoid",
                _ => throw new NotSupportedException($"The ONNX peer has no {layer.Activation}."),
            };
            string z = last && op is null ? OutputName : $"fc{l}.z";
            var gemm = new NodeProto { Name = $"fc{l}", OpType = "Gemm", Input = { x, w, b }, Output = { z } };
            gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(gemm);
            x = z;
            if (op is not null)
            {
                string y = last ? OutputName : $"fc{l}.y";
                graph.Node.Add(new NodeProto { Name = $"fc{l}.{op.ToLowerInvariant()}", OpType = op, Input = { x }, Output = { y } });
                x = y;
            }
        }

        return new ModelProto
        {
            IrVersion = 8, // the IR version of opset 17 (ONNX 1.12)
            ProducerName = "Dsl.Benchmarks",
            ProducerVersion = "0.1.0",
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
            Graph = graph,
        };
    }

    private static ValueInfoProto FloatValue(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto FloatTensor(string name, float[] values, params long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("raw_data is little-endian.");
        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
        };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

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
