using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using Dsl.Onnx.Proto;
using Google.Protobuf;

namespace Dsl.Onnx;

/// <summary>
/// Appends nodes and initializers to one ONNX graph: unique value names, the network's tensors as PyTorch-layout
/// float initializers (each added once, under its Dsl name), small constants, and attributes.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly Parameters _parameters;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tensorsAdded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    public GraphBuilder(Parameters parameters, string graphName)
    {
        _parameters = parameters;
        Graph = new GraphProto { Name = graphName };
    }

    public GraphProto Graph { get; }

    /// <summary>Reserves a name no value, node or initializer of the graph has yet: <paramref name="wanted"/>, or it with a counter.</summary>
    public string Reserve(string wanted)
    {
        if (_names.Add(wanted)) return wanted;
        for (int i = 1; ; i++)
        {
            string candidate = string.Create(CultureInfo.InvariantCulture, $"{wanted}_{i}");
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Adds a node with one output, named after <paramref name="name"/>, and returns the output's name.</summary>
    public string Node(string opType, string name, IReadOnlyList<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, name, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs (<c>{name}:0</c>, <c>{name}:1</c>, …) and returns their names.</summary>
    public string[] Node(string opType, string name, IReadOnlyList<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        string nodeName = Reserve(name);
        var node = new NodeProto { Name = nodeName, OpType = opType };
        node.Input.AddRange(inputs);
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            names[i] = outputs == 1 ? nodeName : Reserve(string.Create(CultureInfo.InvariantCulture, $"{nodeName}:{i}"));
            node.Output.Add(names[i]);
        }
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>
    /// The network tensor <paramref name="tensorName"/> as an initializer of the same name, in PyTorch's layout
    /// (<see cref="TensorInfo.StoredToFile"/>) and shape; added on first use.
    /// </summary>
    public string Tensor(string stepName, string tensorName)
    {
        if (_tensorsAdded.Contains(tensorName)) return tensorName;
        TensorInfo info = _parameters.Find(tensorName)
            ?? throw new InvalidOperationException($"Step '{stepName}' names the tensor '{tensorName}', which the network's parameters do not hold.");
        if (!_names.Add(tensorName))
            throw new InvalidOperationException($"Step '{stepName}': the tensor name '{tensorName}' is already used by another value of the graph.");
        var values = new float[info.Length];
        info.StoredToFile(_parameters.ReadOnlyValue(info), values);
        // A bfloat16 network's inference reads its weights rounded to bfloat16: export those (as floats, exactly), so ONNX
        // Runtime computes what Dsl does; the fp32 master weights are what Save writes.
        if (_parameters.WeightType == WeightType.BFloat16)
            for (int i = 0; i < values.Length; i++) values[i] = BFloat16.RoundTrip(values[i]);
        var dims = new long[info.Shape.Length];
        for (int i = 0; i < dims.Length; i++) dims[i] = info.Shape[i];
        Graph.Initializer.Add(FloatTensor(tensorName, values, dims));
        _tensorsAdded.Add(tensorName);
        return tensorName;
    }

    /// <summary>A float constant of shape <paramref name="dims"/> (a scalar for none), shared by every use of the same name.</summary>
    public string FloatConstant(string name, float[] values, params long[] dims)
    {
        if (_constants.TryGetValue(name, out string? existing)) return existing;
        string reserved = Reserve(name);
        Graph.Initializer.Add(FloatTensor(reserved, values, dims));
        _constants.Add(name, reserved);
        return reserved;
    }

    /// <summary>A float scalar constant, named after its value so equal scalars are shared.</summary>
    public string Scalar(float value) =>
        FloatConstant("const." + value.ToString("R", CultureInfo.InvariantCulture), [value]);

    /// <summary>A 1-D int64 constant (shapes, split sizes), named after its values so equal ones are shared.</summary>
    public string Int64s(params long[] values)
    {
        string name = "const.i64[" + string.Join(",", values) + "]";
        if (_constants.TryGetValue(name, out string? existing)) return existing;
        string reserved = Reserve(name);
        var tensor = new TensorProto
        {
            Name = reserved,
            DataType = (int)TensorProto.Types.DataType.Int64,
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
        };
        tensor.Dims.Add(values.Length);
        Graph.Initializer.Add(tensor);
        _constants.Add(name, reserved);
        return reserved;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A tensor value description: float, shape <c>[batch, …dims]</c> with a symbolic batch dimension.</summary>
    public static ValueInfoProto BatchedFloat(string name, IReadOnlyList<int> dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = OnnxExport.BatchDimension });
        foreach (int d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto FloatTensor(string name, float[] values, long[] dims)
    {
        // raw_data is little-endian by the ONNX specification; MemoryMarshal gives the machine's order.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export writes raw_data from memory and needs a little-endian machine.");
        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
        };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
