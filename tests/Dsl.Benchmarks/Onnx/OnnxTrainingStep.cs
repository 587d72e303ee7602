using System;
using System.Collections.Generic;
using Dsl;
using Dsl.Onnx;
using Dsl.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace Dsl.Benchmarks.Onnx;

/// <summary>
/// The ONNX Runtime peer of a training step: one SGD step of an MLP (ReLU hidden layers, linear output) with
/// softmax cross-entropy (mean over the batch) as a hand-derived ONNX inference graph, opset 17. Graph inputs
/// are the batch <c>x</c>, its one-hot labels <c>y</c> and the weights; outputs are the loss and the updated
/// weights. Forward: <c>Z = Gemm(A, W, b, transB=1)</c>, <c>Relu</c>. Loss: <c>-ReduceSum(y * LogSoftmax(Z)) / B</c>.
/// Backward: <c>dZ = (Exp(LogSoftmax(Z)) - y) / B</c>; per layer <c>W' = Gemm(dZ, A, W, alpha=-lr, beta=1, transA=1)</c>
/// (dW = dZ^T A and the update W - lr dW in one Gemm), <c>b' = b - lr ReduceSum(dZ, axis 0)</c>,
/// <c>dA = MatMul(dZ, W)</c>, <c>dZ_below = Where(Z_below &gt; 0, dA, 0)</c>; no input gradient.
/// Two weight sets are bound, one as input and the other as output, and swap roles each step (two IOBindings
/// over pre-allocated managed arrays), so a step allocates nothing and training continues across calls.
/// </summary>
public sealed class OnnxTrainingStep : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly List<OrtValue> _values = [];
    private readonly OrtIoBinding[] _bindings = new OrtIoBinding[2];
    private readonly float[][][] _weights;   // [set][2 l] = W_l [out, in], [set][2 l + 1] = b_l
    private readonly float[] _loss = new float[1];
    private int _current;

    /// <summary>
    /// Builds the graph for <paramref name="layers"/> (their current values are the starting weights, copied),
    /// a batch of <paramref name="batch"/> rows of <paramref name="input"/> with one-hot labels
    /// <paramref name="oneHot"/> (both copied and bound once), and learning rate <paramref name="learningRate"/>.
    /// </summary>
    public OnnxTrainingStep(IReadOnlyList<MlpLayer> layers, int batch, float learningRate, ReadOnlySpan<float> input, ReadOnlySpan<float> oneHot)
    {
        for (int l = 0; l < layers.Count; l++)
        {
            Activation expected = l == layers.Count - 1 ? Activation.None : Activation.Relu;
            if (layers[l].Activation != expected)
                throw new NotSupportedException($"The ONNX training graph has ReLU hidden layers and a linear output; layer {l} is {layers[l].Activation}.");
        }
        _session = OnnxPeer.CreateSession(BuildModel(layers, batch, learningRate).ToByteArray());
        _runOptions = new RunOptions();

        int classes = layers[^1].Units;
        float[] x = input.ToArray(), y = oneHot.ToArray();
        if (x.Length != batch * layers[0].Inputs || y.Length != batch * classes)
            throw new ArgumentException("The input and the labels must hold exactly one batch.");
        OrtValue xValue = Tensor(x, batch, layers[0].Inputs);
        OrtValue yValue = Tensor(y, batch, classes);
        OrtValue lossValue = Tensor(_loss);

        _weights = new float[2][][];
        var weightValues = new OrtValue[2][];
        for (int set = 0; set < 2; set++)
        {
            _weights[set] = new float[2 * layers.Count][];
            weightValues[set] = new OrtValue[2 * layers.Count];
            for (int l = 0; l < layers.Count; l++)
            {
                MlpLayer layer = layers[l];
                _weights[set][2 * l] = set == 0 ? (float[])layer.Weight.Clone() : new float[layer.Weight.Length];
                _weights[set][2 * l + 1] = set == 0 ? (float[])layer.Bias.Clone() : new float[layer.Bias.Length];
                weightValues[set][2 * l] = Tensor(_weights[set][2 * l], layer.Units, layer.Inputs);
                weightValues[set][2 * l + 1] = Tensor(_weights[set][2 * l + 1], layer.Units);
            }
        }

        for (int set = 0; set < 2; set++)
        {
            OrtIoBinding binding = _session.CreateIoBinding();
            binding.BindInput("x", xValue);
            binding.BindInput("y", yValue);
            binding.BindOutput("loss", lossValue);
            for (int l = 0; l < layers.Count; l++)
            {
                binding.BindInput($"W{l}", weightValues[set][2 * l]);
                binding.BindInput($"b{l}", weightValues[set][2 * l + 1]);
                binding.BindOutput($"W{l}_new", weightValues[1 - set][2 * l]);
                binding.BindOutput($"b{l}_new", weightValues[1 - set][2 * l + 1]);
            }
            _bindings[set] = binding;
        }
    }

    /// <summary>The loss of the last <see cref="Step"/>, before its update.</summary>
    public float Loss => _loss[0];

    /// <summary>Layer <paramref name="layer"/>'s weight [out, in] as of the last step (the set written last).</summary>
    public ReadOnlySpan<float> Weight(int layer) => _weights[_current][2 * layer];

    /// <summary>Layer <paramref name="layer"/>'s bias as of the last step.</summary>
    public ReadOnlySpan<float> Bias(int layer) => _weights[_current][2 * layer + 1];

    /// <summary>One SGD step: reads the current weight set, writes the other, which becomes current; returns the loss.</summary>
    public float Step()
    {
        _session.RunWithBinding(_runOptions, _bindings[_current]);
        _current ^= 1;
        return _loss[0];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (OrtIoBinding binding in _bindings) binding?.Dispose();
        foreach (OrtValue value in _values) value.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private OrtValue Tensor(float[] data, params long[] shape)
    {
        OrtValue value = OrtValue.CreateTensorValueFromMemory(data, shape);
        _values.Add(value);
        return value;
    }

    /// <summary>The training-step model (see the class summary), ONNX IR version 8, opset 17.</summary>
    internal static ModelProto BuildModel(IReadOnlyList<MlpLayer> layers, int batch, float learningRate)
    {
        int n = layers.Count, classes = layers[^1].Units;
        var g = new GraphBuilder(new Parameters([]), "mlp_sgd_step");
        foreach (string name in (string[])["x", "y", "loss"]) g.Reserve(name);
        g.Graph.Input.Add(FloatInfo("x", batch, layers[0].Inputs));
        g.Graph.Input.Add(FloatInfo("y", batch, classes));
        for (int l = 0; l < n; l++)
        {
            g.Reserve($"W{l}");
            g.Reserve($"b{l}");
            g.Graph.Input.Add(FloatInfo($"W{l}", layers[l].Units, layers[l].Inputs));
            g.Graph.Input.Add(FloatInfo($"b{l}", layers[l].Units));
        }

        // Forward, keeping each layer's input A_l and pre-activation Z_l.
        var a = new string[n];
        var z = new string[n];
        string current = "x";
        for (int l = 0; l < n; l++)
        {
            a[l] = current;
            z[l] = g.Node("Gemm", $"fc{l}/Gemm", [current, $"W{l}", $"b{l}"], GraphBuilder.Int("transB", 1));
            current = l < n - 1 ? g.Node("Relu", $"fc{l}/Relu", [z[l]]) : z[l];
        }

        // Softmax cross-entropy, mean over the batch, and its gradient (softmax - y) / B.
        string logp = g.Node("LogSoftmax", "loss/LogSoftmax", [current], GraphBuilder.Int("axis", 1));
        string picked = g.Node("Mul", "loss/Mul", ["y", logp]);
        string total = g.Node("ReduceSum", "loss/ReduceSum", [picked], GraphBuilder.Int("keepdims", 0));
        g.Graph.Node.Add(new NodeProto { Name = g.Reserve("loss/Scale"), OpType = "Mul", Input = { total, g.Scalar(-1f / batch) }, Output = { "loss" } });
        string p = g.Node("Exp", "grad/Softmax", [logp]);
        string dz = g.Node("Mul", "grad/dZ", [g.Node("Sub", "grad/Sub", [p, "y"]), g.Scalar(1f / batch)]);

        // Backward from the top layer down: the updated weight and bias of each layer, and dZ of the one below.
        string axis0 = g.Int64s(0);
        string zero = g.Scalar(0f);
        for (int l = n - 1; l >= 0; l--)
        {
            g.Reserve($"W{l}_new");
            g.Reserve($"b{l}_new");
            g.Graph.Node.Add(new NodeProto
            {
                Name = g.Reserve($"fc{l}/UpdateW"), OpType = "Gemm", Input = { dz, a[l], $"W{l}" }, Output = { $"W{l}_new" },
                Attribute = { GraphBuilder.Int("transA", 1), GraphBuilder.Float("alpha", -learningRate), GraphBuilder.Float("beta", 1f) },
            });
            string db = g.Node("ReduceSum", $"fc{l}/db", [dz, axis0], GraphBuilder.Int("keepdims", 0));
            string step = g.Node("Mul", $"fc{l}/lr_db", [db, g.Scalar(-learningRate)]);
            g.Graph.Node.Add(new NodeProto { Name = g.Reserve($"fc{l}/UpdateB"), OpType = "Add", Input = { $"b{l}", step }, Output = { $"b{l}_new" } });
            g.Graph.Output.Add(FloatInfo($"W{l}_new", layers[l].Units, layers[l].Inputs));
            g.Graph.Output.Add(FloatInfo($"b{l}_new", layers[l].Units));
            if (l == 0) break;
            string da = g.Node("MatMul", $"fc{l}/dA", [dz, $"W{l}"]);
            string mask = g.Node("Greater", $"fc{l - 1}/ReluMask", [z[l - 1], zero]);
            dz = g.Node("Where", $"fc{l - 1}/dZ", [mask, da, zero]);
        }
        g.Graph.Output.Insert(0, FloatInfo("loss"));

        var model = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion,
            ProducerName = "Dsl.Benchmarks",
            Graph = g.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExport.Opset });
        return model;
    }

    // A float tensor of fixed shape (a scalar for no dimensions).
    private static ValueInfoProto FloatInfo(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
