using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Onnx.Proto;

namespace Dsl.Onnx;

/// <summary>
/// Turns a network's <see cref="INetwork.Steps"/> into ONNX nodes, one step after the other. Every value carries
/// the batch as its first dimension and then the step's per-sample shape, so Dsl's flat row-major spans and the
/// ONNX tensors hold the same numbers in the same order. Intermediate values and nodes are named after the step
/// (<c>fc1/Gemm</c>), initializers after the Dsl tensors (<c>fc1.weight</c>).
/// </summary>
internal sealed class StepTranslator
{
    /// <summary>How a value's per-sample dimensions are read; a rank-2 shape alone does not tell [C, L] from [L, D].</summary>
    private enum Layout
    {
        /// <summary><c>[n]</c>.</summary>
        Flat,
        /// <summary><c>[C, L]</c> or <c>[C, H, W]</c>.</summary>
        ChannelMajor,
        /// <summary><c>[L, D]</c>.</summary>
        Tokens,
    }

    private readonly IReadOnlyList<NetworkStep> _steps;
    private readonly GraphBuilder _g;
    private readonly Dictionary<int, string> _skips = new();
    private readonly Dictionary<int, string> _branches = new(); // F(x) of residuals whose shortcut is a path of steps

    private StepTranslator(IReadOnlyList<NetworkStep> steps, GraphBuilder graph)
    {
        _steps = steps;
        _g = graph;
    }

    /// <summary>Builds the ONNX model of <paramref name="network"/>.</summary>
    public static ModelProto Translate(INetwork network)
    {
        IReadOnlyList<NetworkStep> steps = network.Steps
            ?? throw new InvalidOperationException($"{network.GetType().Name} has no Steps to export.");
        string networkName = network.GetType().Name;
        if (steps.Count == 0) throw new NotSupportedException($"{networkName} has no steps; there is nothing to export.");
        CheckSizes(networkName, network, steps);

        var graph = new GraphBuilder(network.Parameters, networkName);
        graph.Reserve(OnnxExport.InputName);
        graph.Reserve(OnnxExport.OutputName);
        graph.Graph.Input.Add(GraphBuilder.BatchedFloat(OnnxExport.InputName, steps[0].InputShape));
        graph.Graph.Output.Add(GraphBuilder.BatchedFloat(OnnxExport.OutputName, steps[^1].OutputShape));

        var translator = new StepTranslator(steps, graph);
        string last = translator.Run();
        translator.NameOutput(last);

        var model = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion,
            ProducerName = "Dsl",
            ProducerVersion = typeof(INetwork).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = network.Summary,
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExport.Opset });
        return model;
    }

    private static void CheckSizes(string networkName, INetwork network, IReadOnlyList<NetworkStep> steps)
    {
        for (int i = 1; i < steps.Count; i++)
            if (!steps[i].InputShape.SequenceEqual(steps[i - 1].OutputShape))
                throw new InvalidOperationException(
                    $"{networkName}: step {i} ({steps[i]}) does not take the output shape [{string.Join(", ", steps[i - 1].OutputShape)}] of step {i - 1}; the step list is inconsistent.");
        if (Product(steps[0].InputShape) != network.InputSize || Product(steps[^1].OutputShape) != network.OutputSize)
            throw new InvalidOperationException(
                $"{networkName}: the steps map [{string.Join(", ", steps[0].InputShape)}] to [{string.Join(", ", steps[^1].OutputShape)}], but the network has {network.InputSize} inputs and {network.OutputSize} outputs.");
    }

    private static long Product(IReadOnlyList<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    private string Run()
    {
        string x = OnnxExport.InputName;
        Layout layout = InputLayout();
        for (int i = 0; i < _steps.Count; i++)
            (x, layout) = Step(i, _steps[i], x, layout);
        return x;
    }

    /// <summary>The output of the last node becomes the graph output "output" (through an Identity when no node produced it).</summary>
    private void NameOutput(string last)
    {
        GraphProto graph = _g.Graph;
        NodeProto? producer = graph.Node.LastOrDefault(n => n.Output.Contains(last));
        bool consumed = graph.Node.Any(n => n.Input.Contains(last));
        if (producer is null || consumed)
        {
            graph.Node.Add(new NodeProto { Name = _g.Reserve("output/Identity"), OpType = "Identity", Input = { last }, Output = { OnnxExport.OutputName } });
            return;
        }
        producer.Output[producer.Output.IndexOf(last)] = OnnxExport.OutputName;
    }

    /// <summary>The network input's layout: flat for rank 1, channel-major for rank 3; rank 2 is tokens or a channel-major sequence, as the first step says.</summary>
    private Layout InputLayout()
    {
        NetworkStep first = _steps[0];
        return first.InputShape.Count == 1 ? Layout.Flat : first.InputIsTokens ? Layout.Tokens : Layout.ChannelMajor;
    }

    private (string Output, Layout Layout) Step(int index, NetworkStep step, string x, Layout layout)
    {
        string n = step.Name;
        switch (step.Kind)
        {
            case StepKind.Dense:
                return (Activation(step, Dense(step, x, layout)), layout);

            case StepKind.Conv2D:
            case StepKind.Conv1D:
                return (Activation(step, Conv(step, x)), Layout.ChannelMajor);

            case StepKind.MaxPool2D:
            case StepKind.AvgPool2D:
            case StepKind.MaxPool1D:
                return (Pool(step, x), Layout.ChannelMajor);

            case StepKind.GlobalAvgPool:
                if (layout == Layout.Tokens)
                    return (_g.Node("ReduceMean", $"{n}/ReduceMean", [x], GraphBuilder.Ints("axes", 1), GraphBuilder.Int("keepdims", 0)), Layout.Flat);
                string pooled = _g.Node("GlobalAveragePool", $"{n}/GlobalAveragePool", [x]);
                return (_g.Node("Flatten", $"{n}/Flatten", [pooled], GraphBuilder.Int("axis", 1)), Layout.Flat);

            case StepKind.Flatten:
                return (step.InputShape.Count == 1 ? x : _g.Node("Flatten", $"{n}/Flatten", [x], GraphBuilder.Int("axis", 1)), Layout.Flat);

            case StepKind.BatchNorm2D:
            case StepKind.BatchNorm1D:
            {
                // Inference mode (training_mode = 0): the running statistics, as Dsl's Forward uses them.
                string y = _g.Node("BatchNormalization", $"{n}/BatchNormalization",
                    [x, Tensor(step, "weight"), Tensor(step, "bias"), Tensor(step, "running_mean"), Tensor(step, "running_var")],
                    GraphBuilder.Float("epsilon", step.Epsilon));
                return (Activation(step, y), layout);
            }

            case StepKind.Tokens:
            {
                IReadOnlyList<int> s = step.InputShape;
                string sequence = s.Count == 2 ? x : _g.Node("Reshape", $"{n}/Reshape", [x, _g.Int64s(-1, s[0], s[1] * s[2])]);
                return (_g.Node("Transpose", $"{n}/Transpose", [sequence], GraphBuilder.Ints("perm", 0, 2, 1)), Layout.Tokens);
            }

            case StepKind.LayerNorm:
                return (_g.Node("LayerNormalization", $"{n}/LayerNormalization", [x, Tensor(step, "weight"), Tensor(step, "bias")],
                    GraphBuilder.Int("axis", -1), GraphBuilder.Float("epsilon", step.Epsilon)), layout);

            case StepKind.RMSNorm:
                return (RmsNorm(step, x), layout);

            case StepKind.MultiHeadSelfAttention:
                return (Attention(step, x), Layout.Tokens);

            case StepKind.Embedding:
            {
                // Ids arrive as floats holding integers; Cast truncates towards zero, as Dsl's (int) conversion.
                string ids = _g.Node("Cast", $"{n}/Cast", [x], GraphBuilder.Int("to", (long)TensorProto.Types.DataType.Int64));
                return (_g.Node("Gather", $"{n}/Gather", [Tensor(step, "weight"), ids], GraphBuilder.Int("axis", 0)), Layout.Tokens);
            }

            case StepKind.PositionalEmbedding:
                return (_g.Node("Add", $"{n}/Add", [x, Tensor(step, "weight")]), Layout.Tokens);

            case StepKind.ResidualBegin:
                _skips[index] = x;
                return (x, layout);

            case StepKind.ResidualEnd:
                return (Activation(step, ResidualEnd(step, x)), layout);

            case StepKind.ResidualShortcut:
                // F(x) waits for the end; the shortcut's steps read x.
                _branches[step.Skip] = x;
                return (Skipped(step), layout);

            case StepKind.MixtureOfExperts:
                return (MixtureOfExperts(step, x, layout), layout);

            case StepKind.Dropout:
                // Inference semantics: the identity. No node, as for a flat Flatten: the next step reads x, and
                // NameOutput adds an Identity if x would otherwise be the graph output.
                return (x, layout);

            default:
                throw new NotSupportedException($"Step '{n}': the ONNX exporter does not know step kind {step.Kind}.");
        }
    }

    /// <summary><c>y = x Wᵀ + b</c>: Gemm with transB = 1 on a flat input; on tokens, MatMul by the transposed weight over [N, L, in], then the bias.</summary>
    private string Dense(NetworkStep step, string x, Layout layout)
    {
        string n = step.Name;
        string w = Tensor(step, "weight");
        if (layout == Layout.Flat)
        {
            string[] inputs = step.Bias ? [x, w, Tensor(step, "bias")] : [x, w];
            return _g.Node("Gemm", $"{n}/Gemm", inputs, GraphBuilder.Int("transB", 1));
        }
        string y = MatMulTransposed(n, x, w);
        return step.Bias ? _g.Node("Add", $"{n}/Add", [y, Tensor(step, "bias")]) : y;
    }

    /// <summary>
    /// A mixture of experts per row (sample or token): <c>logits = x W_rᵀ (+ b_r)</c>, the top-k experts by logit
    /// (TopK with largest = 1 and sorted = 1 puts the lower index first among equal values, as Dsl's routing), the
    /// gates from <c>p = Softmax(logits)</c>: the chosen experts' p, divided by their sum for
    /// <see cref="MixtureGate.TopKSoftmax"/>, scattered into an otherwise zero [.., N] gate matrix, and
    /// <c>y = Σ_e gate[.., e] · E_e(x)</c>. Static graphs cannot run each expert on its own rows only, so every
    /// expert runs on every row and the zero gates mask the ones not chosen: N/k times the expert work of Dsl's
    /// routed kernels, the same function (inference never drops rows).
    /// </summary>
    private string MixtureOfExperts(NetworkStep step, string x, Layout layout)
    {
        string n = step.Name;
        if (step.Experts < 2 || step.TopK < 1 || step.TopK > step.Experts || step.Expert.Count == 0)
            throw new InvalidOperationException($"Step '{n}': a mixture of {step.Experts} experts, top-{step.TopK}, with {step.Expert.Count} expert layers is inconsistent.");

        // The router is a dense layer without activation over the last axis, in the step's layout.
        int[] logitsShape = [.. step.InputShape.SkipLast(1), step.Experts];
        string[] routerTensors = step.Bias ? [$"{n}.router.weight", $"{n}.router.bias"] : [$"{n}.router.weight"];
        var router = new NetworkStep(StepKind.Dense, $"{n}.router", [.. step.InputShape], logitsShape, routerTensors) { Bias = step.Bias };
        string logits = Dense(router, x, layout);

        string probabilities = _g.Node("Softmax", $"{n}/Softmax", [logits], GraphBuilder.Int("axis", -1));
        string[] top = _g.Node("TopK", $"{n}/TopK", [logits, _g.Int64s(step.TopK)], 2,
            GraphBuilder.Int("axis", -1), GraphBuilder.Int("largest", 1), GraphBuilder.Int("sorted", 1));
        string chosen = top[1]; // [.., k] int64 expert indices
        string gates = _g.Node("GatherElements", $"{n}/GatherElements", [probabilities, chosen], GraphBuilder.Int("axis", -1));
        if (step.Gate == MixtureGate.TopKSoftmax)
        {
            // softmax over the chosen logits = their probabilities over their sum
            string sum = _g.Node("ReduceSum", $"{n}/gates/ReduceSum", [gates, _g.Int64s(-1)], GraphBuilder.Int("keepdims", 1));
            gates = _g.Node("Div", $"{n}/gates/Div", [gates, sum]);
        }
        string zeros = _g.Node("ConstantOfShape", $"{n}/gates/Zeros", [_g.Node("Shape", $"{n}/gates/Shape", [probabilities])]);
        string gateMatrix = _g.Node("ScatterElements", $"{n}/gates/ScatterElements", [zeros, chosen, gates], GraphBuilder.Int("axis", -1));
        string[] gateColumns = _g.Node("Split", $"{n}/gates/Split", [gateMatrix, _g.Int64s(Enumerable.Repeat(1L, step.Experts).ToArray())],
            step.Experts, GraphBuilder.Int("axis", -1));

        var weighted = new string[step.Experts];
        for (int e = 0; e < step.Experts; e++)
        {
            string h = x;
            foreach (NetworkStep layer in step.Expert)
            {
                if (layer.Kind != StepKind.Dense)
                    throw new NotSupportedException($"Step '{layer.Name}': the ONNX exporter knows experts of dense layers, not {layer.Kind}.");
                NetworkStep expertLayer = ExpertLayer(step, layer, e);
                h = Activation(expertLayer, Dense(expertLayer, h, layout));
            }
            weighted[e] = _g.Node("Mul", $"{n}.experts.{e}/Gate", [h, gateColumns[e]]);
        }
        return _g.Node("Sum", $"{n}/Sum", weighted);
    }

    /// <summary>Expert <paramref name="expert"/>'s copy of a layer that <see cref="NetworkStep.Expert"/> names as expert 0's.</summary>
    private static NetworkStep ExpertLayer(NetworkStep mixture, NetworkStep layer, int expert)
    {
        string first = mixture.Name + ".experts.0.", own = $"{mixture.Name}.experts.{expert}.";
        string Rename(string name) => name.StartsWith(first, StringComparison.Ordinal)
            ? own + name[first.Length..]
            : throw new InvalidOperationException($"Step '{mixture.Name}': the expert layer name '{name}' does not start with '{first}'.");
        return new NetworkStep(layer.Kind, Rename(layer.Name), [.. layer.InputShape], [.. layer.OutputShape], layer.Tensors.Select(Rename).ToArray())
        {
            Activation = layer.Activation,
            Bias = layer.Bias,
            InputIsTokens = layer.InputIsTokens,
            OutputIsTokens = layer.OutputIsTokens,
        };
    }

    /// <summary><c>x Wᵀ</c> for x of any rank: MatMul by a Transpose of the PyTorch-layout weight, which ONNX Runtime folds into a constant.</summary>
    private string MatMulTransposed(string n, string x, string weight)
    {
        string wt = _g.Node("Transpose", $"{n}/{Last(weight)}/Transpose", [weight], GraphBuilder.Ints("perm", 1, 0));
        return _g.Node("MatMul", $"{n}/MatMul", [x, wt]);
    }

    private static string Last(string tensorName) => tensorName[(tensorName.LastIndexOf('.') + 1)..];

    private string Conv(NetworkStep step, string x)
    {
        int k = step.Kernel, s = step.Stride, d = step.Dilation, p = step.Padding;
        bool twoD = step.Kind == StepKind.Conv2D;
        long[] pads = twoD ? [p, p, p, p] : step.Causal ? [(k - 1L) * d, 0] : [p, p];
        string[] inputs = step.Bias ? [x, Tensor(step, "weight"), Tensor(step, "bias")] : [x, Tensor(step, "weight")];
        return _g.Node("Conv", $"{step.Name}/Conv", inputs,
            GraphBuilder.Ints("kernel_shape", twoD ? [k, k] : [k]),
            GraphBuilder.Ints("strides", twoD ? [s, s] : [s]),
            GraphBuilder.Ints("dilations", twoD ? [d, d] : [d]),
            GraphBuilder.Ints("pads", pads),
            GraphBuilder.Int("group", step.Groups));
    }

    private string Pool(NetworkStep step, string x)
    {
        int k = step.Kernel, s = step.Stride, p = step.Padding;
        bool twoD = step.Kind != StepKind.MaxPool1D;
        var attributes = new List<AttributeProto>
        {
            GraphBuilder.Ints("kernel_shape", twoD ? [k, k] : [k]),
            GraphBuilder.Ints("strides", twoD ? [s, s] : [s]),
            GraphBuilder.Ints("pads", twoD ? [p, p, p, p] : [p, p]),
        };
        string op = step.Kind == StepKind.AvgPool2D ? "AveragePool" : "MaxPool";
        // Dsl divides by the whole window even where it overlaps the padding, as PyTorch's default.
        if (op == "AveragePool") attributes.Add(GraphBuilder.Int("count_include_pad", 1));
        return _g.Node(op, $"{step.Name}/{op}", [x], attributes.ToArray());
    }

    /// <summary><c>y = γ x / sqrt(mean(x²) + ε)</c> over the last axis, decomposed (opset 17 has no RMSNormalization).</summary>
    private string RmsNorm(NetworkStep step, string x)
    {
        string n = step.Name;
        string square = _g.Node("Mul", $"{n}/Square", [x, x]);
        string mean = _g.Node("ReduceMean", $"{n}/ReduceMean", [square], GraphBuilder.Ints("axes", -1), GraphBuilder.Int("keepdims", 1));
        string shifted = _g.Node("Add", $"{n}/AddEpsilon", [mean, _g.Scalar(step.Epsilon)]);
        string root = _g.Node("Sqrt", $"{n}/Sqrt", [shifted]);
        string inverse = _g.Node("Reciprocal", $"{n}/Reciprocal", [root]);
        string normalised = _g.Node("Mul", $"{n}/Normalize", [x, inverse]);
        return _g.Node("Mul", $"{n}/Scale", [normalised, Tensor(step, "weight")]);
    }

    /// <summary>
    /// nn.MultiheadAttention's self-attention, decomposed: <c>[Q K V] = x W_inᵀ + b_in</c>, split, heads as
    /// [N, H, L, dh], <c>softmax(Q Kᵀ / sqrt(dh) + mask) V</c>, heads joined back to [N, L, D], <c>W_outᵀ + b_out</c>.
    /// </summary>
    private string Attention(NetworkStep step, string x)
    {
        string n = step.Name;
        int length = step.InputShape[0], dim = step.InputShape[1], heads = step.Heads;
        if (heads <= 0 || dim % heads != 0)
            throw new InvalidOperationException($"Step '{n}': {heads} heads do not divide the model dimension {dim}.");
        int headDim = dim / heads;

        string qkv = MatMulTransposed(n + "/in_proj", x, Tensor(step, "in_proj_weight"));
        if (step.Bias) qkv = _g.Node("Add", $"{n}/in_proj/Add", [qkv, Tensor(step, "in_proj_bias")]);
        string[] parts = _g.Node("Split", $"{n}/Split", [qkv, _g.Int64s(dim, dim, dim)], 3, GraphBuilder.Int("axis", -1));
        string headShape = _g.Int64s(-1, length, heads, headDim);
        string Heads(string value, string label, params long[] perm) =>
            _g.Node("Transpose", $"{n}/{label}/Transpose", [_g.Node("Reshape", $"{n}/{label}/Reshape", [value, headShape])], GraphBuilder.Ints("perm", perm));
        string q = Heads(parts[0], "q", 0, 2, 1, 3); // [N, H, L, dh]
        string kt = Heads(parts[1], "k", 0, 2, 3, 1); // [N, H, dh, L]
        string v = Heads(parts[2], "v", 0, 2, 1, 3); // [N, H, L, dh]

        string scores = _g.Node("MatMul", $"{n}/scores/MatMul", [q, kt]); // [N, H, L, L]
        scores = _g.Node("Mul", $"{n}/scores/Scale", [scores, _g.Scalar(1f / MathF.Sqrt(headDim))]);
        if (step.Causal) scores = _g.Node("Add", $"{n}/scores/CausalMask", [scores, CausalMask(length)]);
        string weights = _g.Node("Softmax", $"{n}/Softmax", [scores], GraphBuilder.Int("axis", -1));
        string heads4 = _g.Node("MatMul", $"{n}/context/MatMul", [weights, v]); // [N, H, L, dh]
        string joined = _g.Node("Transpose", $"{n}/context/Transpose", [heads4], GraphBuilder.Ints("perm", 0, 2, 1, 3));
        string context = _g.Node("Reshape", $"{n}/context/Reshape", [joined, _g.Int64s(-1, length, dim)]);

        string y = MatMulTransposed(n + "/out_proj", context, Tensor(step, "out_proj.weight"));
        return step.Bias ? _g.Node("Add", $"{n}/out_proj/Add", [y, Tensor(step, "out_proj.bias")]) : y;
    }

    /// <summary>[L, L]: 0 on and below the diagonal, −∞ above it (token i sees tokens j ≤ i), broadcast over batch and heads.</summary>
    private string CausalMask(int length)
    {
        var mask = new float[length * length];
        for (int i = 0; i < length; i++)
            for (int j = i + 1; j < length; j++)
                mask[i * length + j] = float.NegativeInfinity;
        return _g.FloatConstant($"const.causal_mask[{length}]", mask, length, length);
    }

    /// <summary>The x a residual step reads: the input of the residual begin at its <see cref="NetworkStep.Skip"/>.</summary>
    private string Skipped(NetworkStep step) =>
        step.Skip >= 0 && _skips.TryGetValue(step.Skip, out string? x)
            ? x
            : throw new InvalidOperationException($"Step '{step.Name}': a residual connection's {step.Kind}, but step {step.Skip} is not a residual begin seen before it.");

    private string ResidualEnd(NetworkStep step, string f)
    {
        string n = step.Name;
        string x = Skipped(step);
        // After a shortcut path, f is its output and F(x) is what the path's start kept: y = F(x) + S(x), or behind a
        // gate path (f = T) the highway mix y = T F(x) + (1 − T) x.
        if (_branches.TryGetValue(step.Skip, out string? branch))
            return step.Gated ? Highway(n, f, branch, x) : _g.Node("Add", $"{n}/Add", [branch, f]);
        if (step.Projection)
        {
            // y = x W_sᵀ + F(x)
            string shortcut = MatMulTransposed($"{n}/shortcut", x, Tensor(step, "weight"));
            return _g.Node("Add", $"{n}/Add", [shortcut, f]);
        }
        if (step.Gated)
        {
            // y = T F(x) + (1 − T) x with T = sigmoid(x W_Tᵀ + b_T)
            string z = _g.Node("Add", $"{n}/gate/Add", [MatMulTransposed($"{n}/gate", x, Tensor(step, "weight")), Tensor(step, "bias")]);
            return Highway(n, _g.Node("Sigmoid", $"{n}/gate/Sigmoid", [z]), f, x);
        }
        return _g.Node("Add", $"{n}/Add", [x, f]);
    }

    /// <summary><c>T F + (1 − T) x</c>.</summary>
    private string Highway(string n, string t, string f, string x)
    {
        string carry = _g.Node("Sub", $"{n}/gate/OneMinus", [_g.Scalar(1f), t]);
        string transformed = _g.Node("Mul", $"{n}/gate/Transform", [t, f]);
        string carried = _g.Node("Mul", $"{n}/gate/Carry", [carry, x]);
        return _g.Node("Add", $"{n}/Add", [transformed, carried]);
    }

    private string Activation(NetworkStep step, string z)
    {
        string n = step.Name;
        switch (step.Activation)
        {
            case Dsl.Activation.None:
                return z;
            case Dsl.Activation.Relu:
                return _g.Node("Relu", $"{n}/Relu", [z]);
            case Dsl.Activation.Tanh:
                return _g.Node("Tanh", $"{n}/Tanh", [z]);
            case Dsl.Activation.Sigmoid:
                return _g.Node("Sigmoid", $"{n}/Sigmoid", [z]);
            case Dsl.Activation.Silu:
                return _g.Node("Mul", $"{n}/Silu", [z, _g.Node("Sigmoid", $"{n}/Sigmoid", [z])]);
            case Dsl.Activation.Softmax:
                if (step.Kind != StepKind.Dense)
                    throw new NotSupportedException($"Step '{n}': softmax is only defined on a dense layer (over each token's or the sample's outputs).");
                return _g.Node("Softmax", $"{n}/Softmax", [z], GraphBuilder.Int("axis", -1));
            case Dsl.Activation.Gelu:
            {
                // 0.5 z (1 + erf(z / sqrt 2))
                string erf = _g.Node("Erf", $"{n}/Erf", [_g.Node("Div", $"{n}/DivSqrt2", [z, _g.Scalar(MathF.Sqrt(2f))])]);
                return HalfTimesOnePlus(n, z, erf);
            }
            case Dsl.Activation.GeluTanh:
            {
                // 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z³)))
                string cube = _g.Node("Mul", $"{n}/Cube", [_g.Node("Mul", $"{n}/Square", [z, z]), z]);
                string inner = _g.Node("Add", $"{n}/Inner", [z, _g.Node("Mul", $"{n}/CubeScale", [cube, _g.Scalar(0.044715f)])]);
                string tanh = _g.Node("Tanh", $"{n}/Tanh", [_g.Node("Mul", $"{n}/TanhScale", [inner, _g.Scalar(MathF.Sqrt(2f / MathF.PI))])]);
                return HalfTimesOnePlus(n, z, tanh);
            }
            default:
                throw new NotSupportedException($"Step '{n}': the ONNX exporter does not know activation {step.Activation}.");
        }
    }

    private string HalfTimesOnePlus(string n, string z, string value)
    {
        string onePlus = _g.Node("Add", $"{n}/OnePlus", [value, _g.Scalar(1f)]);
        return _g.Node("Mul", $"{n}/Half", [_g.Node("Mul", $"{n}/TimesInput", [z, onePlus]), _g.Scalar(0.5f)]);
    }

    /// <summary>The step's tensor whose name ends in <c>.{suffix}</c>.</summary>
    private string Tensor(NetworkStep step, string suffix)
    {
        foreach (string name in step.Tensors)
            if (name.EndsWith("." + suffix, StringComparison.Ordinal))
                return _g.Tensor(step.Name, name);
        throw new InvalidOperationException($"Step '{step.Name}' ({step.Kind}) lists no tensor '*.{suffix}' (it has {(step.Tensors.Count == 0 ? "none" : string.Join(", ", step.Tensors))}).");
    }
}
