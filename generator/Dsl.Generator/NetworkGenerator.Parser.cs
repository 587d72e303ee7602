using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>What parsing one [Network] class produced: a spec when the declaration is valid, and diagnostics.</summary>
    internal sealed record ParseResult(NetworkSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics)
    {
        /// <summary>Where the attribute's <c>Weights</c> argument is, for the compiled-in weights' diagnostics.</summary>
        public LocationInfo? WeightsLocation { get; init; }

        /// <summary>When the declaration has DSL errors: stubs for its partial members (see <see cref="ErrorStubs"/>).</summary>
        public ErrorStubs? Stubs { get; init; }
    }

    /// <summary>
    /// A network class whose declaration has DSL errors, and its partial properties as
    /// <c>accessibility partial type name</c>: each gets an implementation that throws, so the compiler reports the
    /// DSL error alone rather than one CS9248 ("partial property must have an implementation part") per member too.
    /// </summary>
    internal sealed record ErrorStubs(string? Namespace, EquatableArray<string> ContainingTypes, string ClassName, EquatableArray<string> Members)
    {
        public string HintName => (Namespace is null ? "" : Namespace + ".") + string.Concat(System.Linq.Enumerable.Select(ContainingTypes, t => t.Substring(t.LastIndexOf(' ') + 1) + ".")) + ClassName;
    }

    /// <summary>Turns a [Network] class symbol into a <see cref="NetworkSpec"/>, reporting what is wrong instead of throwing.</summary>
    internal static class Parser
    {

        /// <summary><see cref="Parse"/>, with a generator bug reported as DSL0011 on the class instead of thrown.</summary>
        public static ParseResult ParseOrReport(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            try
            {
                return Parse(context, cancellationToken);
            }
            catch (System.Exception e) when (e is not System.OperationCanceledException)
            {
                var declaration = (ClassDeclarationSyntax)context.TargetNode;
                DiagnosticInfo failure = Failure(context.TargetSymbol.Name, LocationInfo.From(declaration.Identifier.GetLocation()), e);
                return new ParseResult(null, new EquatableArray<DiagnosticInfo>(new[] { failure }));
            }
        }

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
            // A member may not share its class's name (CS0542), and the generator adds these members to every network.
            if (Names.IsNetworkMember(type.Name))
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.UnsupportedNetworkClass, classLocation, type.Name,
                    $"'{type.Name}' is the name of a member the generator adds to every network; rename the class"));
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
            string? weights = NamedString(networkAttribute, "Weights");
            LocationInfo? weightsLocation = LocationInfo.From(NamedArgumentLocation(networkAttribute, "Weights")) ?? networkLocation;
            if (weights is not null && weights.Trim().Length == 0)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.WeightsFileMissing, weightsLocation, type.Name, weights));

            var flattener = new Flattener(type, diagnostics, cancellationToken);
            List<MemberView> members = flattener.Run(input);
            List<LayerSpec> layers = flattener.Layers;
            bool layerFailed = flattener.Failed;

            // WeightType.BFloat16 (1): every step must have bfloat16 kernels, or say so on the attribute.
            bool bfloat16 = NamedInt(networkAttribute, "WeightType") == 1;
            if (bfloat16)
            {
                LocationInfo? weightTypeLocation = LocationInfo.From(NamedArgumentLocation(networkAttribute, "WeightType")) ?? networkLocation;
                var reported = new HashSet<string>(System.StringComparer.Ordinal);
                foreach (LayerSpec layer in layers)
                    if (!layer.Handler.SupportsBFloat16(layer) && reported.Add(layer.MemberName))
                        diagnostics.Add(Diagnostic(DiagnosticDescriptors.BFloat16Unsupported, weightTypeLocation, type.Name, layer.MemberName, layer.Kind.ToString()));
            }

            // Layers whose names derive the same local in the generated methods (e.g. 'Head' and 'DHead': dHead).
            var localOwner = new Dictionary<string, string>();
            foreach (LayerSpec layer in layers)
            {
                foreach (string local in Names.DerivedLocals(layer.MemberName))
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
                    new EquatableArray<MemberView>(members))
                {
                    Repeats = new EquatableArray<RepeatSpan>(flattener.Repeats),
                    Weights = weights ?? "",
                    BFloat16 = bfloat16,
                };
            // Stubs only where the class itself is sound: a non-partial or unsupported class gets the compiler's errors.
            bool classSound = !diagnostics.Exists(d => d.Id == DiagnosticDescriptors.NotPartial.Id || d.Id == DiagnosticDescriptors.UnsupportedNetworkClass.Id);
            ErrorStubs? stubs = spec is null && classSound
                ? new ErrorStubs(
                    type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                    new EquatableArray<string>(ContainingTypeDeclarations(type)),
                    type.Name,
                    new EquatableArray<string>(type.GetMembers().OfType<IPropertySymbol>()
                        .Where(p => IsPartialGetOnlyProperty(p, out _) && p.PartialImplementationPart is null)
                        .Select(p => $"{AccessibilityText(p.DeclaredAccessibility)} partial {p.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)} {p.Name}")
                        .ToArray()))
                : null;
            return new ParseResult(spec, new EquatableArray<DiagnosticInfo>(diagnostics)) { Stubs = stubs, WeightsLocation = weights is null ? null : weightsLocation };
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
        /// <paramref name="weightName"/> in tensor names. The member's type was checked by the caller; the kind's
        /// handler reads its options and infers its shape.
        /// </summary>
        internal static LayerSpec? ParseLayer(string display, string id, string weightName, string accessibility, AttributeData attribute, LayerKind kind, LocationInfo? location, Shape? input, List<DiagnosticInfo> diagnostics)
        {
            Layers.LayerHandler handler = Layers.LayerHandlers.For(kind);
            // A constructor argument of the wrong type leaves the attribute in error; the compiler reports that.
            if (attribute.ConstructorArguments.Length < handler.RequiredArguments) return null;
            for (int i = 0; i < handler.RequiredArguments; i++)
                if (attribute.ConstructorArguments[i].Value is not int) return null;

            var check = new Layers.LayerChecks(display, location, diagnostics);
            var spec = new LayerSpec(id, accessibility, weightName, kind, input ?? Shape.Flat(1), Shape.Flat(1),
                (ActivationKind)handler.ActivationArgument(attribute), NamedBool(attribute, "Bias") ?? true, NoOptions.Instance);
            return handler.Parse(new Layers.LayerDeclaration(attribute, spec, input, check));
        }

        // Limits of what the generator plans for: offsets are ints, and a batch-1 activation must fit in memory
        // many times over. 2^26 values = 256 MB per sample; 2^28 values = 1 GB for one weight.
        internal const long MaxActivationValues = 1L << 26;
        internal const long MaxTensorValues = 1L << 28;

        /// <summary>Why <paramref name="handler"/>'s kind cannot take <paramref name="activation"/> (the value as written, the reason), or null when it can.</summary>
        internal static (string Value, string Why)? ActivationProblem(ActivationKind activation, Layers.LayerHandler handler)
        {
            if (activation < ActivationKind.None || activation > ActivationKind.GeluTanh)
                return (((int)activation).ToString(System.Globalization.CultureInfo.InvariantCulture), "it is not a member of Dsl.Activation");
            if (activation != ActivationKind.None && !handler.TakesActivation)
                return (activation.ToString(), $"{handler.Kind} has no activation");
            if (activation == ActivationKind.Softmax && !handler.AllowsSoftmax)
                return ("Softmax", "softmax runs over a flat vector: put it on a Dense layer");
            return null;
        }

        /// <summary>Checks the activation, then infers the output shape when the input shape is known and the options are valid.</summary>
        internal static LayerSpec? Finish(LayerSpec spec, Shape? input, Layers.LayerChecks check, System.Func<Shape, Shape?> infer)
        {
            Layers.LayerHandler handler = spec.Handler;
            if (ActivationProblem(spec.Activation, handler) is (string value, string why)) check.Activation(value, why);
            if (check.Failed || input is null) return null;
            Shape? output = infer(input);
            if (output is null || check.Failed) return null;
            check.Size("the output", (long)output.Channels * output.Height * output.Width, MaxActivationValues);
            if (check.Failed) return null;
            check.Size("the weight", handler.WeightValues(spec, input, output), MaxTensorValues);
            if (check.Failed) return null;
            handler.CheckOutput(spec, output, check);
            if (check.Failed) return null;
            return spec with { Input = input, Output = output };
        }

        internal static string? GeneratedNameClash(INamedTypeSymbol type, string layerName) =>
            Names.NetworkMemberClash(layerName, name => type.GetMembers(name).Length > 0);

        internal static List<(AttributeData Attribute, LayerKind Kind)> LayerAttributes(ISymbol member)
        {
            var result = new List<(AttributeData Attribute, LayerKind Kind)>();
            foreach (AttributeData attribute in member.GetAttributes())
            {
                string? name = attribute.AttributeClass?.ToDisplayString();
                if (name is not null && Layers.LayerHandlers.ByAttribute.TryGetValue(name, out LayerKind kind))
                    result.Add((attribute, kind));
            }
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

        internal static string? NamedString(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is string value) return value;
            return null;
        }

        // The location of `name = value` in the attribute's source, or null.
        private static Location? NamedArgumentLocation(AttributeData attribute, string name)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax() is not AttributeSyntax { ArgumentList: { } arguments }) return null;
            foreach (AttributeArgumentSyntax argument in arguments.Arguments)
                if (argument.NameEquals?.Name.Identifier.ValueText == name) return argument.GetLocation();
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
