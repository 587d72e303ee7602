using System.Collections.Generic;
using System.Text;
using System.Threading;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>What parsing one [Network] class produced: a spec when the declaration is valid, and diagnostics.</summary>
    internal sealed record ParseResult(NetworkSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);

    /// <summary>Turns a [Network] class symbol into a <see cref="NetworkSpec"/>, reporting what is wrong instead of throwing.</summary>
    internal static class Parser
    {

        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
            if (!IsFirstAttributedPart(type, declaration, "Dsl.NetworkAttribute")) return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
            LocationInfo? classLocation = LocationInfo.From(declaration.Identifier.GetLocation());
            AttributeData networkAttribute = context.Attributes[0];
            LocationInfo? networkLocation = LocationOf(networkAttribute) ?? classLocation;

            if (!IsPartialEverywhere(type))
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.NotPartial, classLocation, type.Name));
            // Arity, not IsGenericType: that is also true for a class nested in a generic type, reported below.
            if (type.Arity > 0 || type.IsStatic || type.IsAbstract)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.UnsupportedNetworkClass, classLocation, type.Name,
                    type.Arity > 0 ? "generic classes are not supported" : "the class must be a concrete, non-static class"));
            for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (!IsPartialEverywhere(outer) || outer.Arity > 0)
                {
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.UnsupportedNetworkClass, classLocation, type.Name,
                        $"its containing type '{outer.Name}' must be a non-generic partial type"));
                    break;
                }
            }

            Shape? input = InputShape(type.Name, networkAttribute, networkLocation, diagnostics);

            var flattener = new Flattener(type, diagnostics, cancellationToken);
            List<MemberView> members = flattener.Run(input);
            List<LayerSpec> layers = flattener.Layers;
            bool layerFailed = flattener.Failed;

            // Layers whose names derive the same local in the generated methods (e.g. 'Head' and 'DHead': dHead).
            var localOwner = new Dictionary<string, string>();
            foreach (LayerSpec layer in layers)
            {
                foreach (string local in Emitter.DerivedLocals(layer.MemberName))
                {
                    if (localOwner.TryGetValue(local.TrimStart('@'), out string? other) && other != layer.MemberName)
                    {
                        diagnostics.Add(Diagnostic(DiagnosticDescriptors.ReservedLayerName, LocationInfo.From(MemberLocation(type, layer.MemberName)) ?? classLocation, layer.MemberName, $"{local.TrimStart('@')} (derived from layer '{other}')"));
                        break;
                    }
                    localOwner[local.TrimStart('@')] = layer.MemberName;
                }
            }

            if (layers.Count == 0 && diagnostics.Count == 0 && !layerFailed)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.NoLayers, classLocation, type.Name));

            NetworkSpec? spec = diagnostics.Count > 0 || layerFailed || input is null
                ? null
                : new NetworkSpec(
                    type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                    new EquatableArray<string>(ContainingTypeDeclarations(type)),
                    type.Name,
                    input!,
                    new EquatableArray<LayerSpec>(layers),
                    new EquatableArray<MemberView>(members));
            return new ParseResult(spec, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        private static Shape? InputShape(string network, AttributeData attribute, LocationInfo? location, List<DiagnosticInfo> diagnostics)
        {
            int flat = NamedInt(attribute, "Input") ?? 0;
            int channels = NamedInt(attribute, "Channels") ?? 0;
            int height = NamedInt(attribute, "Height") ?? 0;
            int width = NamedInt(attribute, "Width") ?? 0;
            int length = NamedInt(attribute, "Length") ?? 0;
            int features = NamedInt(attribute, "Features") ?? 0;
            string Text(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

            Shape? shape = null;
            if (features != 0 && (channels != 0 || height != 0 || width != 0))
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.InputShapeConflict, location, network, "Features (token sequences) goes with Length only, not with Channels, Height or Width"));
            else if (features != 0)
            {
                if (features <= 0 || length <= 0)
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.MissingInput, location, network, $"Length = {Text(length)}, Features = {Text(features)}"));
                else shape = Shape.Tokens(length, features);
            }
            else if ((height != 0 || width != 0) && length != 0)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.InputShapeConflict, location, network, "set Height and Width for an image or Length for a sequence, not both"));
            else if (height != 0 || width != 0)
            {
                if (height <= 0 || width <= 0 || channels < 0)
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.MissingInput, location, network, $"Channels = {Text(channels)}, Height = {Text(height)}, Width = {Text(width)}"));
                else shape = Shape.Image(channels == 0 ? 1 : channels, height, width);
            }
            else if (length != 0)
            {
                if (length <= 0 || channels < 0)
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.MissingInput, location, network, $"Channels = {Text(channels)}, Length = {Text(length)}"));
                else shape = Shape.Sequence(channels == 0 ? 1 : channels, length);
            }
            else if (channels != 0)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.InputShapeConflict, location, network, "Channels needs Height and Width (an image) or Length (a sequence); for flat features use Input"));
            else if (flat <= 0)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.MissingInput, location, network, Text(flat)));
            else
                shape = Shape.Flat(flat);

            if (shape is not null && (long)shape.Channels * shape.Height * shape.Width > MaxActivationValues)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.TooLarge, location, network, "the input",
                    SourceWriter.Grouped((long)shape.Channels * shape.Height * shape.Width), SourceWriter.Grouped(MaxActivationValues)));
                return null;
            }
            if (shape is not null && flat != 0 && shape.Rank > 1 && flat != shape.Size)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.InputShapeConflict, location, network, $"Input = {Text(flat)} differs from the {shape} = {Text(shape.Size)} values of the declared shape"));
                shape = null;
            }
            return shape;
        }

        /// <summary>
        /// One layer: <paramref name="display"/> names it in diagnostics, <paramref name="id"/> in generated code,
        /// <paramref name="weightName"/> in tensor names. The member's type was checked by the caller.
        /// </summary>
        internal static LayerSpec? ParseLayer(string display, string id, string weightName, string accessibility, AttributeData attribute, LayerKind kind, LocationInfo? location, Shape? input, List<DiagnosticInfo> diagnostics)
        {
            string kindName = kind.ToString();
            // A constructor argument of the wrong type leaves the attribute in error; the compiler reports that.
            int required = kind switch
            {
                LayerKind.GlobalAvgPool or LayerKind.Flatten or LayerKind.BatchNorm2D or LayerKind.BatchNorm1D or LayerKind.Tokens or LayerKind.LayerNorm or LayerKind.RMSNorm or LayerKind.PositionalEmbedding => 0,
                LayerKind.Dense or LayerKind.MaxPool2D or LayerKind.AvgPool2D or LayerKind.MaxPool1D or LayerKind.MultiHeadSelfAttention => 1,
                _ => 2,
            };
            if (attribute.ConstructorArguments.Length < required) return null;
            for (int i = 0; i < required; i++)
                if (attribute.ConstructorArguments[i].Value is not int) return null;

            int Argument(int index) => (int)attribute.ConstructorArguments[index].Value!;
            int activationValue = kind == LayerKind.Dense
                ? (attribute.ConstructorArguments.Length > 1 && attribute.ConstructorArguments[1].Value is int a ? a : 0)
                : NamedInt(attribute, "Activation") ?? 0;
            var check = new Checks(display, location, diagnostics);
            var spec = new LayerSpec(id, accessibility, weightName, kind,
                input ?? Shape.Flat(1), Shape.Flat(1), (ActivationKind)activationValue, NamedBool(attribute, "Bias") ?? true);

            switch (kind)
            {
                case LayerKind.Dense:
                    check.Positive("units", Argument(0));
                    return Finish(spec, input, check, s => s.IsRowMajor ? s.WithFeatures(Argument(0)) : Fail(check.DenseNeedsFlatten(s)));

                case LayerKind.Tokens:
                    spec = spec with { HasBias = false };
                    return Finish(spec, input, check, s => s.Rank >= 2 && !s.IsTokens ? Shape.Tokens(s.Spatial, s.Channels) : Fail(check.WrongRank(kindName, 0, s)));

                case LayerKind.LayerNorm:
                case LayerKind.RMSNorm:
                {
                    int declared = attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is int f ? f : 0;
                    spec = spec with { HasBias = kind == LayerKind.LayerNorm, Epsilon = NamedFloat(attribute, "Epsilon") ?? (kind == LayerKind.LayerNorm ? 1e-5f : 1.1920929e-7f) };
                    check.NotNegative("features", declared);
                    check.Epsilon(spec.Epsilon);
                    return Finish(spec, input, check, s =>
                    {
                        if (!s.IsRowMajor) return Fail(check.NormDimension($"{kindName} normalises each token's features (or a flat vector), but the input has channel-major shape {s}; add [Tokens] or [Flatten] first"));
                        if (declared != 0 && declared != s.Features) return Fail(check.NormDimension($"declared over {declared} features, but the input has {s.Features} per {(s.IsTokens ? "token" : "sample")}"));
                        return s;
                    });
                }

                case LayerKind.MultiHeadSelfAttention:
                {
                    spec = spec with { Heads = Argument(0), Causal = NamedBool(attribute, "Causal") ?? false };
                    int modelDim = NamedInt(attribute, "ModelDim") ?? 0;
                    check.Positive("heads", spec.Heads);
                    check.NotNegative("model dimension", modelDim);
                    return Finish(spec, input, check, s =>
                    {
                        if (!s.IsTokens) return Fail(spec.Causal ? check.CausalNeedsSequence(s) : check.WrongRank(kindName, 4, s));
                        if (modelDim != 0 && modelDim != s.Channels) return Fail(check.NormDimension($"ModelDim = {modelDim}, but the input has {s.Channels} features per token"));
                        if (s.Channels % spec.Heads != 0) return Fail(check.HeadsDoNotDivide(s.Channels, spec.Heads));
                        return s;
                    });
                }

                case LayerKind.Embedding:
                {
                    spec = spec with { Vocabulary = Argument(0), HasBias = false };
                    int dimension = Argument(1);
                    check.Positive("vocabulary", spec.Vocabulary);
                    check.Positive("dimension", dimension);
                    return Finish(spec, input, check, s => s.Rank == 1 ? Shape.Tokens(s.Size, dimension) : Fail(check.WrongRank(kindName, 1, s)));
                }

                case LayerKind.PositionalEmbedding:
                    spec = spec with { HasBias = false };
                    return Finish(spec, input, check, s => s.IsTokens ? s : Fail(check.WrongRank(kindName, 4, s)));

                case LayerKind.Conv2D:
                case LayerKind.Conv1D:
                {
                    spec = spec with
                    {
                        Kernel = Argument(1),
                        Stride = NamedInt(attribute, "Stride") ?? 1,
                        Padding = NamedInt(attribute, "Padding") ?? 0,
                        Dilation = NamedInt(attribute, "Dilation") ?? 1,
                        Groups = NamedInt(attribute, "Groups") ?? 1,
                        Causal = NamedBool(attribute, "Causal") ?? false,
                    };
                    int outChannels = Argument(0);
                    check.Positive("output channels", outChannels);
                    check.Positive("kernel", spec.Kernel);
                    check.Positive("stride", spec.Stride);
                    check.Positive("dilation", spec.Dilation);
                    check.Positive("groups", spec.Groups);
                    check.NotNegative("padding", spec.Padding);
                    if (spec.Causal && spec.Padding != 0) check.Invalid("Causal pads (kernel - 1) * dilation on the left by itself; leave Padding at 0");
                    int rank = kind == LayerKind.Conv2D ? 3 : 2;
                    return Finish(spec, input, check, s =>
                    {
                        if (s.Rank != rank || s.IsTokens) return Fail(check.WrongRank(kindName, rank, s));
                        if (s.Channels % spec.Groups != 0) return Fail(check.Groups("input", s.Channels, spec.Groups));
                        if (outChannels % spec.Groups != 0) return Fail(check.Groups("output", outChannels, spec.Groups));
                        if (!check.PaddedFits(s, spec.PadLeft + (spec.Causal ? 0 : spec.Padding), rank == 3 ? 2 * spec.Padding : 0)) return null;
                        int outWidth = check.Extent(s.Width, spec.Kernel, spec.Stride, spec.PadLeft + (spec.Causal ? 0 : spec.Padding), spec.Dilation, rank == 3 ? "width" : "length");
                        int outHeight = rank == 3 ? check.Extent(s.Height, spec.Kernel, spec.Stride, 2 * spec.Padding, spec.Dilation, "height") : 1;
                        if (outWidth < 1 || outHeight < 1) return null;
                        return rank == 3 ? Shape.Image(outChannels, outHeight, outWidth) : Shape.Sequence(outChannels, outWidth);
                    });
                }

                case LayerKind.MaxPool2D:
                case LayerKind.AvgPool2D:
                case LayerKind.MaxPool1D:
                {
                    int kernel = Argument(0);
                    int stride = NamedInt(attribute, "Stride") ?? 0;
                    spec = spec with { Kernel = kernel, Stride = stride == 0 ? kernel : stride, Padding = NamedInt(attribute, "Padding") ?? 0, HasBias = false };
                    check.Positive("kernel", kernel);
                    if (stride < 0) check.Positive("stride", stride);
                    check.NotNegative("padding", spec.Padding);
                    if (kernel > 0 && spec.Padding * 2 > kernel) check.Invalid($"padding {spec.Padding} is more than half the kernel {kernel} (PyTorch rejects it too)");
                    int rank = kind == LayerKind.MaxPool1D ? 2 : 3;
                    return Finish(spec, input, check, s =>
                    {
                        if (s.Rank != rank || s.IsTokens) return Fail(check.WrongRank(kindName, rank, s));
                        if (!check.PaddedFits(s, 2 * spec.Padding, rank == 3 ? 2 * spec.Padding : 0)) return null;
                        int outWidth = check.Extent(s.Width, kernel, spec.Stride, 2 * spec.Padding, 1, rank == 3 ? "width" : "length");
                        int outHeight = rank == 3 ? check.Extent(s.Height, kernel, spec.Stride, 2 * spec.Padding, 1, "height") : 1;
                        if (outWidth < 1 || outHeight < 1) return null;
                        return rank == 3 ? Shape.Image(s.Channels, outHeight, outWidth) : Shape.Sequence(s.Channels, outWidth);
                    });
                }

                case LayerKind.GlobalAvgPool:
                    spec = spec with { HasBias = false };
                    return Finish(spec, input, check, s => s.Rank >= 2 ? Shape.Flat(s.Channels) : Fail(check.WrongRank(kindName, 0, s))); // tokens: mean over tokens

                case LayerKind.Flatten:
                    spec = spec with { HasBias = false };
                    return Finish(spec, input, check, s => Shape.Flat(s.Size));

                default: // batch norms
                    spec = spec with { Momentum = NamedFloat(attribute, "Momentum") ?? 0.1f, Epsilon = NamedFloat(attribute, "Epsilon") ?? 1e-5f };
                    if (!(spec.Momentum >= 0f && spec.Momentum <= 1f)) check.Invalid($"momentum must lie in [0, 1], but is {spec.Momentum.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                    // Infinity too: sqrt(var + inf) normalises everything to beta, and the emitter cannot write it as a float literal.
                    check.Epsilon(spec.Epsilon);
                    return Finish(spec, input, check, s =>
                        kind == LayerKind.BatchNorm2D
                            ? (s.Rank == 3 ? s : Fail(check.WrongRank(kindName, 3, s)))
                            : (s.Rank <= 2 && !s.IsTokens ? s : Fail(check.WrongRank(kindName, -2, s))));
            }
        }

        private static Shape? Fail(bool _) => null;

        // Limits of what the generator plans for: offsets are ints, and a batch-1 activation must fit in memory
        // many times over. 2^26 values = 256 MB per sample; 2^28 values = 1 GB for one weight.
        private const long MaxActivationValues = 1L << 26;
        private const long MaxTensorValues = 1L << 28;

        /// <summary>Checks the activation, then infers the output shape when the input shape is known and the options are valid.</summary>
        private static LayerSpec? Finish(LayerSpec spec, Shape? input, Checks check, System.Func<Shape, Shape?> infer)
        {
            int activation = (int)spec.Activation;
            if (activation < (int)ActivationKind.None || activation > (int)ActivationKind.GeluTanh)
                check.Activation(activation.ToString(System.Globalization.CultureInfo.InvariantCulture), "it is not a member of Dsl.Activation");
            else if (spec.Activation != ActivationKind.None && spec.Kind is not (LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv1D or LayerKind.BatchNorm2D or LayerKind.BatchNorm1D))
                check.Activation(spec.Activation.ToString(), $"{spec.Kind} has no activation");
            else if (spec.Activation == ActivationKind.Softmax && spec.Kind != LayerKind.Dense)
                check.Activation("Softmax", "softmax runs over a flat vector: put it on a Dense layer");
            if (check.Failed || input is null) return null;
            Shape? output = infer(input);
            if (output is null || check.Failed) return null;
            check.Size("the output", (long)output.Channels * output.Height * output.Width, MaxActivationValues);
            if (check.Failed) return null;
            long weights = spec.Kind switch
            {
                LayerKind.Dense => (long)input.Features * output.Features,
                LayerKind.MultiHeadSelfAttention => 3L * input.Channels * input.Channels,
                LayerKind.Embedding => (long)spec.Vocabulary * output.Channels,
                LayerKind.Conv2D or LayerKind.Conv1D => (long)output.Channels * (input.Channels / spec.Groups) * spec.Kernel * (spec.Kind == LayerKind.Conv2D ? spec.Kernel : 1),
                _ => 0,
            };
            check.Size("the weight", weights, MaxTensorValues);
            if (check.Failed) return null;
            if (spec.Kind == LayerKind.Dense && spec.Activation == ActivationKind.Softmax && output.Features == 1)
            {
                check.Activation("Softmax", "softmax over a single unit is always 1; use Sigmoid for one output");
                return null;
            }
            return spec with { Input = input, Output = output };
        }

        /// <summary>Reports a layer's problems with its name and location, and remembers whether any was found.</summary>
        private sealed class Checks
        {
            private readonly string _layer;
            private readonly LocationInfo? _location;
            private readonly List<DiagnosticInfo> _diagnostics;

            public Checks(string layer, LocationInfo? location, List<DiagnosticInfo> diagnostics)
            {
                _layer = layer;
                _location = location;
                _diagnostics = diagnostics;
            }

            public bool Failed { get; private set; }

            public void Positive(string what, int value)
            {
                if (value <= 0) Report(DiagnosticDescriptors.NonPositiveSize, what, "positive", Text(value));
            }

            public void NotNegative(string what, int value)
            {
                if (value < 0) Report(DiagnosticDescriptors.NonPositiveSize, what, "zero or positive", Text(value));
            }

            public void Invalid(string message) => Report(DiagnosticDescriptors.InvalidOption, message);

            public void Activation(string activation, string why) => Report(DiagnosticDescriptors.UnsupportedActivation, activation, why);

            public bool DenseNeedsFlatten(Shape input) => Report(DiagnosticDescriptors.DenseNeedsFlatten, input.ToString());

            public void Epsilon(float epsilon)
            {
                // Infinity too: sqrt(var + inf) normalises everything away, and the emitter cannot write it as a float literal.
                if (!(epsilon > 0f) || float.IsPositiveInfinity(epsilon)) Invalid($"epsilon must be positive and finite, but is {epsilon.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }

            public bool NormDimension(string message) => Report(DiagnosticDescriptors.NormDimensionMismatch, message);

            public bool HeadsDoNotDivide(int dimension, int heads) => Report(DiagnosticDescriptors.HeadsDoNotDivide, Text(dimension), Text(heads));

            public bool CausalNeedsSequence(Shape input) => Report(DiagnosticDescriptors.CausalNeedsSequence, input.ToString());

            // rank: 3, 2 or 1 for exactly that rank; -2 for at most 2 (BatchNorm1D); 0 for at least 2 (GlobalAvgPool, Tokens); 4 for tokens.
            public bool WrongRank(string kind, int rank, Shape input) =>
                Report(DiagnosticDescriptors.WrongInputRank, kind, rank switch { 3 => "a CxHxW", 2 => "a CxL", -2 => "a flat or CxL", 1 => "a flat", 4 => "a token sequence (L tokens x D)", _ => "a CxL or CxHxW" }, input.ToString());

            public bool Groups(string side, int channels, int groups) => Report(DiagnosticDescriptors.GroupsDoNotDivide, $"{Text(channels)} {side}", Text(groups));

            /// <summary>Output length along one axis, reporting when the dilated kernel does not fit the padded input.</summary>
            public int Extent(int size, int kernel, int stride, int padding, int dilation, string axis)
            {
                // In long: a dilation or padding near int.MaxValue must not wrap into a plausible size.
                long span = (long)dilation * (kernel - 1) + 1;
                long padded = (long)size + padding;
                long output = padded >= span ? (padded - span) / stride + 1 : 0;
                if (output < 1)
                    Report(DiagnosticDescriptors.KernelTooLarge, $"{SourceWriter.Grouped(span)} along the {axis}", SourceWriter.Grouped(padded), SourceWriter.Grouped(output));
                return (int)System.Math.Min(output, int.MaxValue);
            }

            /// <summary>The zero-bordered copy of the input must be addressable too (this also bounds kernel sizes).</summary>
            public bool PaddedFits(Shape input, int widthPadding, int heightPadding)
            {
                long values = (long)input.Channels * (input.Height + (long)heightPadding) * (input.Width + (long)widthPadding);
                Size("the padded input", values, MaxActivationValues);
                return !Failed;
            }

            /// <summary>Reports sizes past what the generated code addresses with int offsets and plans memory for.</summary>
            public void Size(string what, long values, long limit)
            {
                if (values > limit) Report(DiagnosticDescriptors.TooLarge, what, SourceWriter.Grouped(values), SourceWriter.Grouped(limit));
            }

            private bool Report(DiagnosticDescriptor descriptor, params string[] arguments)
            {
                var all = new string[arguments.Length + 1];
                all[0] = _layer;
                arguments.CopyTo(all, 1);
                _diagnostics.Add(new DiagnosticInfo(descriptor.Id, _location, new EquatableArray<string>(all)));
                Failed = true;
                return true;
            }

            private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        // Members the emitter adds to every network, and the per-layer names it derives from each layer's name.
        private static readonly HashSet<string> s_generatedMembers = new()
        {
            "InputSize", "OutputSize", "ParameterCount", "ParameterBufferSize", "Parameters", "Summary", "Forward", "ForwardOne",
            "ForwardBlock", "ForwardTrain", "Backward", "CreateWorkspace", "CheckWorkspace", "WorkspaceFloatsPerSample",
            "WorkspaceSharedFloats", "InputSlot", "GradientSlotA", "GradientSlotB", "ResidualCount", "ResidualName", "ResidualOutput", "Steps",
            "ResidualOutputGradient",
        };

        internal static string? GeneratedNameClash(INamedTypeSymbol type, string layerName)
        {
            if (s_generatedMembers.Contains(layerName)) return layerName;
            foreach (string suffix in new[] { "Kernels", "OutputSlot", "PreActivationSlot", "StatisticsSlot" })
                if (type.GetMembers(layerName + suffix).Length > 0 || s_generatedMembers.Contains(layerName + suffix))
                    return layerName + suffix;
            return null;
        }

        internal static List<(AttributeData Attribute, LayerKind Kind)> LayerAttributes(ISymbol member)
        {
            var result = new List<(AttributeData Attribute, LayerKind Kind)>();
            foreach (AttributeData attribute in member.GetAttributes())
            {
                string? name = attribute.AttributeClass?.ToDisplayString();
                if (name is not null && s_kindByAttribute.TryGetValue(name, out LayerKind kind))
                    result.Add((attribute, kind));
            }
            return result;
        }

        private static readonly Dictionary<string, LayerKind> s_kindByAttribute = KindsByAttribute();

        private static Dictionary<string, LayerKind> KindsByAttribute()
        {
            var result = new Dictionary<string, LayerKind>();
            foreach (LayerKind kind in (LayerKind[])System.Enum.GetValues(typeof(LayerKind)))
                if (kind < LayerKind.ResidualBegin) result.Add($"Dsl.{kind}Attribute", kind);
            return result;
        }

        internal static bool IsPartialGetOnlyProperty(ISymbol member, out IPropertySymbol property)
        {
            property = (member as IPropertySymbol)!;
            return property is { IsStatic: false, IsPartialDefinition: true, GetMethod: not null, SetMethod: null, IsIndexer: false };
        }

        /// <summary>
        /// With the attribute repeated on two parts of one class (the compiler reports CS0579), the generator runs once
        /// per part: only the part carrying the first one generates, so no file is added twice.
        /// </summary>
        internal static bool IsFirstAttributedPart(INamedTypeSymbol type, ClassDeclarationSyntax declaration, string attributeName)
        {
            foreach (AttributeData attribute in type.GetAttributes())
            {
                if (attribute.AttributeClass?.ToDisplayString() != attributeName || attribute.ApplicationSyntaxReference is null) continue;
                SyntaxNode? node = attribute.ApplicationSyntaxReference.GetSyntax();
                while (node is not null && node is not ClassDeclarationSyntax) node = node.Parent;
                return node == declaration;
            }
            return true;
        }

        internal static bool IsPartialEverywhere(INamedTypeSymbol type)
        {
            foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax() is not TypeDeclarationSyntax syntax) return false;
                bool isPartial = false;
                foreach (var modifier in syntax.Modifiers)
                    isPartial |= modifier.Text == "partial";
                if (!isPartial) return false;
            }
            return true;
        }

        internal static List<string> ContainingTypeDeclarations(INamedTypeSymbol type)
        {
            var result = new List<string>();
            for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                string keyword = outer.IsRecord
                    ? (outer.TypeKind == TypeKind.Struct ? "record struct" : "record")
                    : outer.TypeKind switch { TypeKind.Struct => "struct", TypeKind.Interface => "interface", _ => "class" };
                result.Insert(0, $"partial {keyword} {outer.Name}");
            }
            return result;
        }

        /// <summary>PascalCase member name to the snake_case weight prefix PyTorch code would use: <c>Fc1</c> → <c>fc1</c>, <c>OutProj</c> → <c>out_proj</c>.</summary>
        internal static string WeightName(string memberName)
        {
            var builder = new StringBuilder(memberName.Length + 4);
            for (int i = 0; i < memberName.Length; i++)
            {
                char c = memberName[i];
                if (char.IsUpper(c))
                {
                    bool afterLowerOrDigit = i > 0 && (char.IsLower(memberName[i - 1]) || char.IsDigit(memberName[i - 1]));
                    bool acronymEnd = i > 0 && char.IsUpper(memberName[i - 1]) && i + 1 < memberName.Length && char.IsLower(memberName[i + 1]);
                    if ((afterLowerOrDigit || acronymEnd) && builder.Length > 0 && builder[builder.Length - 1] != '_')
                        builder.Append('_');
                    builder.Append(char.ToLowerInvariant(c));
                }
                else
                {
                    builder.Append(c);
                }
            }
            return builder.ToString().TrimStart('_');
        }

        internal static string AccessibilityText(Accessibility accessibility) => accessibility switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => "private",
        };

        internal static int? NamedInt(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is int value) return value;
            return null;
        }

        internal static float? NamedFloat(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is float value) return value;
            return null;
        }

        internal static bool? NamedBool(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is bool value) return value;
            return null;
        }

        private static Location? MemberLocation(INamedTypeSymbol type, string member)
        {
            foreach (ISymbol symbol in type.GetMembers(member))
                foreach (AttributeData attribute in symbol.GetAttributes())
                    if (attribute.ApplicationSyntaxReference is { } reference) return reference.GetSyntax().GetLocation();
            return null;
        }

        internal static LocationInfo? LocationOf(AttributeData attribute) =>
            LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation());

        private static DiagnosticInfo Diagnostic(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            new(descriptor.Id, location, new EquatableArray<string>(arguments));
    }
}
