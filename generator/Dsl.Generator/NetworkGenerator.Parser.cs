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
        private const string DenseAttributeName = "Dsl.DenseAttribute";
        private const string DenseTypeName = "Dsl.Dense";

        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
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

            int input = NamedInt(networkAttribute, "Input") ?? 0;
            if (input <= 0)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.MissingInput, networkLocation, type.Name, input.ToString(System.Globalization.CultureInfo.InvariantCulture)));

            var layers = new List<LayerSpec>();
            bool layerFailed = false;
            var layerByWeightName = new Dictionary<string, string>();
            int width = input;
            foreach (ISymbol member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                List<AttributeData> layerAttributes = LayerAttributes(member);
                if (layerAttributes.Count == 0) continue;
                AttributeData attribute = layerAttributes[0];
                LocationInfo? location = LocationOf(attribute) ?? LocationInfo.From(member.Locations.Length > 0 ? member.Locations[0] : null);
                if (layerAttributes.Count > 1)
                {
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.MultipleLayerAttributes, LocationOf(layerAttributes[1]) ?? location, member.Name));
                    continue;
                }

                string? clash = GeneratedNameClash(type, member.Name);
                if (clash is not null)
                {
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.ReservedLayerName, location, member.Name, clash));
                    layerFailed = true;
                    continue;
                }

                LayerSpec? layer = ParseDense(member, attribute, location, width, diagnostics);
                if (layer is null)
                {
                    // Reported above, or an attribute whose arguments the compiler could not bind (it reports those):
                    // either way the network is incomplete, so generate nothing rather than a network missing layers.
                    layerFailed = true;
                    width = 0; // shapes after a broken layer are unknown; don't report follow-on errors
                    continue;
                }
                if (layerByWeightName.TryGetValue(layer.WeightName, out string? first))
                    diagnostics.Add(Diagnostic(DiagnosticDescriptors.DuplicateWeightName, location, member.Name, layer.WeightName, first));
                else
                    layerByWeightName.Add(layer.WeightName, member.Name);
                layers.Add(layer);
                width = layer.Outputs;
            }

            if (layers.Count == 0 && diagnostics.Count == 0 && !layerFailed)
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.NoLayers, classLocation, type.Name));

            NetworkSpec? spec = diagnostics.Count > 0 || layerFailed
                ? null
                : new NetworkSpec(
                    type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                    new EquatableArray<string>(ContainingTypeDeclarations(type)),
                    type.Name,
                    input,
                    new EquatableArray<LayerSpec>(layers));
            return new ParseResult(spec, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        private static LayerSpec? ParseDense(ISymbol member, AttributeData attribute, LocationInfo? location, int inputs, List<DiagnosticInfo> diagnostics)
        {
            if (!IsPartialGetOnlyProperty(member, out IPropertySymbol? property))
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.LayerNotPartialProperty, location, member.Name, "Dense"));
                return null;
            }
            if (property.Type.ToDisplayString() != DenseTypeName)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.LayerTypeMismatch, location, member.Name, "Dense", DenseTypeName, property.Type.ToDisplayString()));
                return null;
            }
            // A constructor argument of the wrong type leaves the attribute in error; the compiler reports that.
            if (attribute.ConstructorArguments.Length < 1 || attribute.ConstructorArguments[0].Value is not int units)
                return null;
            int activationValue = attribute.ConstructorArguments.Length > 1 && attribute.ConstructorArguments[1].Value is int a ? a : 0;
            bool hasBias = NamedBool(attribute, "Bias") ?? true;

            bool ok = true;
            if (units <= 0)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.NonPositiveSize, location, member.Name, "units", units.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                ok = false;
            }
            if (activationValue < (int)ActivationKind.None || activationValue > (int)ActivationKind.Softmax)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.UnsupportedActivation, location, member.Name, activationValue.ToString(System.Globalization.CultureInfo.InvariantCulture), "it is not a member of Dsl.Activation"));
                ok = false;
            }
            else if (activationValue == (int)ActivationKind.Softmax && units == 1)
            {
                diagnostics.Add(Diagnostic(DiagnosticDescriptors.UnsupportedActivation, location, member.Name, "Softmax", "softmax over a single unit is always 1; use Sigmoid for one output"));
                ok = false;
            }
            if (!ok || inputs <= 0) return null;

            return new LayerSpec(member.Name, AccessibilityText(property.DeclaredAccessibility), WeightName(member.Name),
                LayerKind.Dense, inputs, units, (ActivationKind)activationValue, hasBias);
        }

        // Members the emitter adds to every network, and the per-layer kernel class it adds for each layer.
        private static readonly HashSet<string> s_generatedMembers = new()
        {
            "InputSize", "OutputSize", "ParameterCount", "ParameterBufferSize", "Parameters", "Summary", "Forward", "ForwardOne",
            "ForwardFour", "ForwardTrain", "Backward", "CreateWorkspace", "CheckWorkspace", "WorkspaceFloatsPerSample",
            "InputSlot", "GradientSlotA", "GradientSlotB",
        };

        private static string? GeneratedNameClash(INamedTypeSymbol type, string layerName)
        {
            if (s_generatedMembers.Contains(layerName)) return layerName;
            foreach (string suffix in new[] { "Kernels", "OutputSlot", "PreActivationSlot" })
                if (type.GetMembers(layerName + suffix).Length > 0 || s_generatedMembers.Contains(layerName + suffix))
                    return layerName + suffix;
            return null;
        }

        private static List<AttributeData> LayerAttributes(ISymbol member)
        {
            var result = new List<AttributeData>();
            foreach (AttributeData attribute in member.GetAttributes())
            {
                if (attribute.AttributeClass?.ToDisplayString() == DenseAttributeName)
                    result.Add(attribute);
            }
            return result;
        }

        private static bool IsPartialGetOnlyProperty(ISymbol member, out IPropertySymbol property)
        {
            property = (member as IPropertySymbol)!;
            return property is { IsStatic: false, IsPartialDefinition: true, GetMethod: not null, SetMethod: null, IsIndexer: false };
        }

        private static bool IsPartialEverywhere(INamedTypeSymbol type)
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

        private static List<string> ContainingTypeDeclarations(INamedTypeSymbol type)
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

        private static string AccessibilityText(Accessibility accessibility) => accessibility switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => "private",
        };

        private static int? NamedInt(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is int value) return value;
            return null;
        }

        private static bool? NamedBool(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Value is bool value) return value;
            return null;
        }

        private static LocationInfo? LocationOf(AttributeData attribute) =>
            LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation());

        private static DiagnosticInfo Diagnostic(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            new(descriptor.Id, location, new EquatableArray<string>(arguments));
    }
}
