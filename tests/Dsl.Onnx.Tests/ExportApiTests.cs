using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl;
using Dsl.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace Dsl.Onnx.Tests;

/// <summary>The file API, the model's header, names and layouts, and the exporter's errors.</summary>
public sealed class ExportApiTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dsl-onnx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ExportOnnx_WritesAFileOnnxRuntimeLoadsFromThePath_AndReplacesAnOldOne()
    {
        INetwork network = OnnxHarness.Create(nameof(SampleVisionTransformer), seed: 5);
        float[] input = OnnxHarness.Inputs(network, seed: 6);
        float[] expected = OnnxHarness.Forward(network, input);
        string path = Path.Combine(_directory, "vit.onnx");
        File.WriteAllText(path, "an older file");

        network.ExportOnnx(path);

        Assert.Equal(network.ToOnnx(), File.ReadAllBytes(path));
        Assert.Equal(["vit.onnx"], Directory.GetFiles(_directory).Select(Path.GetFileName)); // no temporary file left
        using SessionOptions options = OnnxHarness.Options();
        using var session = new InferenceSession(path, options);
        Deviation d = OnnxHarness.Compare(expected, OnnxHarness.Run(session, network, input));
        Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"deviation {d.Scaled:E2}");
    }

    [Fact]
    public void ExportOnnx_RejectsBadPaths_WithClearExceptions()
    {
        INetwork network = OnnxHarness.Create(nameof(DenseRelu), seed: 1);

        Assert.Throws<ArgumentNullException>(() => network.ExportOnnx(null!));
        Assert.Throws<ArgumentException>(() => network.ExportOnnx(""));
        Assert.Throws<ArgumentException>(() => network.ExportOnnx("   "));
        var missing = Assert.Throws<DirectoryNotFoundException>(() => network.ExportOnnx(Path.Combine(_directory, "no", "such", "dir", "m.onnx")));
        Assert.Contains("does not exist", missing.Message);
        var directory = Assert.Throws<ArgumentException>(() => network.ExportOnnx(_directory));
        Assert.Contains("is a directory", directory.Message);
        Assert.Throws<ArgumentNullException>(() => ((INetwork)null!).ExportOnnx(Path.Combine(_directory, "m.onnx")));
        Assert.Throws<ArgumentNullException>(() => ((INetwork)null!).ToOnnx());
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public void Model_HasOpset17_IrVersion8_ABatchDimension_AndTheNetworksTensorsInPyTorchLayout()
    {
        var network = (SampleFashionCnn)OnnxHarness.Create(nameof(SampleFashionCnn), seed: 3);
        ModelProto model = ModelProto.Parser.ParseFrom(network.ToOnnx());

        Assert.Equal(8, model.IrVersion);
        OperatorSetIdProto opset = Assert.Single(model.OpsetImport);
        Assert.Equal(("", 17L), (opset.Domain, opset.Version));
        ValueInfoProto input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(["batch", "1", "28", "28"], input.Type.TensorType.Shape.Dim.Select(Dim));
        ValueInfoProto output = Assert.Single(model.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal(["batch", "10"], output.Type.TensorType.Shape.Dim.Select(Dim));

        // Every float tensor of the network under its own name and shape; the I64 counters are not needed.
        Dictionary<string, TensorProto> initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (TensorInfo t in network.Parameters.Tensors)
        {
            if (t.FileDType == TensorDType.I64)
            {
                Assert.DoesNotContain(t.Name, initializers.Keys);
                continue;
            }
            TensorProto tensor = initializers[t.Name];
            Assert.Equal(t.Shape.Select(d => (long)d), tensor.Dims);
            Assert.Equal((int)TensorProto.Types.DataType.Float, tensor.DataType);
            float[] values = MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
            var file = new float[t.Length];
            t.StoredToFile(network.Parameters.Value(t), file);
            Assert.Equal(file, values);
        }

        // PyTorch layout: fc1.weight is [out, in] = [128, 3136], while Dsl stores it input-major.
        float[] fc1 = MemoryMarshal.Cast<byte, float>(initializers["fc1.weight"].RawData.Span).ToArray();
        Assert.Equal(network.Fc1.GetWeight(5, 77), fc1[5 * 3136 + 77]);
        Assert.Equal(network.Fc1.GetWeight(127, 3000), fc1[127 * 3136 + 3000]);
    }

    [Fact]
    public void Model_RunsAtAnyBatchSize()
    {
        INetwork network = OnnxHarness.Create(nameof(EmbeddingLm), seed: 9);
        using SessionOptions options = OnnxHarness.Options();
        using var session = new InferenceSession(network.ToOnnx(), options);
        foreach (int batch in new[] { 1, 2, 7 })
        {
            float[] input = OnnxHarness.Inputs(network, seed: batch, batch);
            Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input, batch), OnnxHarness.Run(session, network, input, batch));
            Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"batch {batch}: deviation {d.Scaled:E2}");
        }
    }

    [Fact]
    public void UnknownStepKind_IsNotSupported()
    {
        var network = new DenseRelu(1);
        NetworkStep dense = network.Steps[0];
        var strange = new NetworkStep((StepKind)999, "strange", [16], [16], []);
        var e = Assert.Throws<NotSupportedException>(() => new WithSteps(network, [dense, strange]).ToOnnx());
        Assert.Contains("strange", e.Message);
    }

    [Fact]
    public void InconsistentSteps_AreReported()
    {
        var network = new DenseRelu(1);
        NetworkStep dense = network.Steps[0];

        var wrongShape = new NetworkStep(StepKind.Dense, "fc", [21], [16], ["fc.weight", "fc.bias"]) { Bias = true };
        Assert.Throws<InvalidOperationException>(() => new WithSteps(network, [wrongShape]).ToOnnx());

        var missingTensor = new NetworkStep(StepKind.Dense, "fc", [20], [16], ["fc.kernel", "fc.bias"]) { Bias = true };
        var e = Assert.Throws<InvalidOperationException>(() => new WithSteps(network, [missingTensor]).ToOnnx());
        Assert.Contains("weight", e.Message);

        var unknownTensor = new NetworkStep(StepKind.Dense, "fc", [20], [16], ["other.weight", "fc.bias"]) { Bias = true };
        e = Assert.Throws<InvalidOperationException>(() => new WithSteps(network, [unknownTensor]).ToOnnx());
        Assert.Contains("other.weight", e.Message);

        var danglingEnd = new NetworkStep(StepKind.ResidualEnd, "fc", [16], [16], []) { Skip = 0 };
        Assert.Throws<InvalidOperationException>(() => new WithSteps(network, [dense, danglingEnd]).ToOnnx());
    }

    private static string Dim(TensorShapeProto.Types.Dimension d) => d.HasDimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A network with another step list, to test the exporter's checks.</summary>
    private sealed class WithSteps(INetwork inner, IReadOnlyList<NetworkStep> steps) : INetwork
    {
        public int InputSize => inner.InputSize;
        public int OutputSize => inner.OutputSize;
        public Parameters Parameters => inner.Parameters;
        public string Summary => inner.Summary;
        public IReadOnlyList<NetworkStep> Steps => steps;
        public void Forward(ReadOnlySpan<float> input, Span<float> output) => inner.Forward(input, output);
        public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch) => inner.Forward(input, output, batch);
        public Workspace CreateWorkspace(int maxBatch) => inner.CreateWorkspace(maxBatch);
        public void ForwardTrain(ReadOnlySpan<float> input, Span<float> output, int batch, Workspace workspace) => inner.ForwardTrain(input, output, batch, workspace);
        public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Workspace workspace) => inner.Backward(outputGradient, inputGradient, batch, workspace);
        public void BackwardUpdatingWeights(ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, float learningRate) => inner.BackwardUpdatingWeights(outputGradient, batch, workspace, learningRate);
    }
}
