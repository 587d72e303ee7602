using System.Collections.Generic;
using System.Threading;
using Dsl.Generator.Layers;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>
    /// Walks a network's members in declaration order, into blocks and repeats, and flattens them into the
    /// list of steps the emitter runs: layers, with each residual connection as a begin marker (which keeps x),
    /// its optional pre-norm, the branch's layers, an end (the sum, projection or gate) and its optional
    /// post-norm. Shapes flow through in order, so every diagnostic is found with the shape that caused it.
    /// Also records, per member, how to build its view (layer, block instance or list) for the properties.
    /// </summary>
    internal sealed class Flattener
    {
        private const string ReadOnlyList = "System.Collections.Generic.IReadOnlyList<T>";

        // Every step is written out in the generated code, so the unrolled network must stay a size a compiler
        // handles in seconds: a repeat above this many copies, or a network above this many steps, is refused.
        private const int MaxRepeat = 1024;
        private const int MaxSteps = 8192;

        /// <summary>Type names as members declare them, nullable annotations included.</summary>
        internal static readonly SymbolDisplayFormat TypeFormat =
            SymbolDisplayFormat.FullyQualifiedFormat.AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);
        private readonly INamedTypeSymbol _network;
        private readonly List<DiagnosticInfo> _diagnostics;
        private readonly CancellationToken _cancellationToken;
        private readonly Dictionary<string, string> _ownerByWeightName = new();
        private readonly HashSet<string> _ids = new();
        private readonly List<INamedTypeSymbol> _blockStack = new();
        private Shape? _shape;

        public Flattener(INamedTypeSymbol network, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
        {
            _network = network;
            _diagnostics = diagnostics;
            _cancellationToken = cancellationToken;
        }

        public List<LayerSpec> Layers { get; } = new();

        /// <summary>The outermost [Repeat] members' steps: copy i is steps First + i * Steps ..</summary>
        public List<RepeatSpan> Repeats { get; } = new();

        private int _repeatDepth;

        /// <summary>True when a layer could not be parsed (reported, or an attribute the compiler reports): generate nothing.</summary>
        public bool Failed { get; private set; }

        public List<MemberView> Run(Shape? input)
        {
            _shape = input;
            var members = new List<MemberView>();
            foreach ((IPropertySymbol property, ViewNode node) in Members(_network, weightPrefix: "", idPrefix: "", nested: false))
                members.Add(new MemberView(property.Name, Parser.AccessibilityText(property.DeclaredAccessibility), property.Type.ToDisplayString(TypeFormat), node));
            return members;
        }

        /// <summary>The members of a network or block that take part (layers and blocks), in declaration order.</summary>
        internal static bool IsStepMember(ISymbol member) =>
            Parser.LayerAttributes(member).Count > 0 || HasAttribute(member, "Dsl.ResidualAttribute") || HasAttribute(member, "Dsl.RepeatAttribute") || HasAttribute(member, "Dsl.PrunedAttribute") ||
            HasAttribute(member, MixtureHandler.Attribute) ||
            (member is IPropertySymbol property && BlockType(ElementType(property.Type)) is not null);

        private List<(IPropertySymbol, ViewNode)> Members(INamedTypeSymbol type, string weightPrefix, string idPrefix, bool nested)
        {
            var result = new List<(IPropertySymbol, ViewNode)>();
            // [Block(Indexed = true)] names its members by position, as nn.Sequential does; a repeat takes one per copy.
            int? position = Attribute(type, "Dsl.BlockAttribute") is { } block && Parser.NamedBool(block, "Indexed") == true ? 0 : null;
            foreach (ISymbol member in type.GetMembers())
            {
                _cancellationToken.ThrowIfCancellationRequested();
                if (!IsStepMember(member)) continue;
                ViewNode? node = Member(type, member, weightPrefix, idPrefix, nested, position);
                if (position is int taken) position = taken + (node?.IsList == true ? node.Children.Count : 1);
                if (node is null)
                {
                    Failed = true;
                    _shape = null; // shapes after a broken member are unknown: report no follow-on errors
                    continue;
                }
                result.Add(((IPropertySymbol)member, node));
            }
            return result;
        }

        /// <summary>One member; <paramref name="position"/> is its index in an indexed block, which names it instead of its member name.</summary>
        private ViewNode? Member(INamedTypeSymbol owner, ISymbol member, string weightPrefix, string idPrefix, bool nested, int? position)
        {
            List<(AttributeData Attribute, LayerKind Kind)> layerAttributes = Parser.LayerAttributes(member);
            AttributeData? residual = Attribute(member, "Dsl.ResidualAttribute");
            AttributeData? repeat = Attribute(member, "Dsl.RepeatAttribute");
            AttributeData? pruned = Attribute(member, "Dsl.PrunedAttribute");
            AttributeData? mixture = Attribute(member, MixtureHandler.Attribute);
            AttributeData? first = layerAttributes.Count > 0 ? layerAttributes[0].Attribute : residual ?? repeat ?? pruned ?? mixture;
            // A block member may carry no attribute at all: then the member's name is where to point.
            LocationInfo? location = (first is null ? null : Parser.LocationOf(first)) ?? LocationInfo.From(member.Locations.Length > 0 ? member.Locations[0] : null);
            string weightName = weightPrefix + (position is int index ? SourceWriter.Int(index) : Parser.WeightName(member.Name));
            string display = nested ? weightName : member.Name;

            if (layerAttributes.Count > 1)
                return Report(DiagnosticDescriptors.MultipleLayerAttributes, Parser.LocationOf(layerAttributes[1].Attribute) ?? location, member.Name);
            if (!Parser.IsPartialGetOnlyProperty(member, out IPropertySymbol? property))
            {
                string what = layerAttributes.Count > 0 ? layerAttributes[0].Kind.ToString() : "block";
                return Report(DiagnosticDescriptors.LayerNotPartialProperty, location, member.Name, what);
            }
            if (!nested)
            {
                string? clash = Parser.GeneratedNameClash(owner, member.Name);
                if (clash is not null) return Report(DiagnosticDescriptors.ReservedLayerName, location, member.Name, clash);
            }

            // The element type: T of IReadOnlyList<T> when repeated.
            ITypeSymbol elementType = property.Type;
            int count = 1;
            if (repeat is not null)
            {
                if (repeat.ConstructorArguments.Length < 1 || repeat.ConstructorArguments[0].Value is not int n) { Failed = true; return null; }
                if (n <= 0) return Report(DiagnosticDescriptors.NonPositiveSize, Parser.LocationOf(repeat) ?? location, display, "repeat count", "positive", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (n > MaxRepeat)
                    return Report(DiagnosticDescriptors.InvalidMember, Parser.LocationOf(repeat) ?? location, display,
                        $"[Repeat({SourceWriter.Grouped(n)})] is more than the {SourceWriter.Grouped(MaxRepeat)} copies the generator writes out");
                if (property.Type is not INamedTypeSymbol { IsGenericType: true } list || list.ConstructedFrom.ToDisplayString() != ReadOnlyList)
                    return Report(DiagnosticDescriptors.InvalidMember, location, display, $"a [Repeat] member's type must be IReadOnlyList<T> of its layer or block type, not {property.Type.ToDisplayString()}");
                elementType = list.TypeArguments[0];
                count = n;
            }

            INamedTypeSymbol? block = null;
            LayerKind kind = default;
            AttributeData? layerAttribute = null;
            if (mixture is not null && layerAttributes.Count > 0)
                return Report(DiagnosticDescriptors.MixtureOption, Parser.LocationOf(mixture) ?? location, display,
                    $"a mixture's experts are a [Block] class of dense layers; it takes no [{layerAttributes[0].Kind}] of its own");
            if (layerAttributes.Count == 1)
            {
                (layerAttribute, kind) = layerAttributes[0];
                string expected = "Dsl." + kind;
                if (elementType.ToDisplayString() != expected)
                {
                    string expectedType = repeat is null ? expected : $"System.Collections.Generic.IReadOnlyList<{expected}>";
                    return Report(DiagnosticDescriptors.LayerTypeMismatch, location, member.Name, kind.ToString(), expectedType, property.Type.ToDisplayString());
                }
            }
            else
            {
                if (mixture is not null)
                {
                    block = elementType is INamedTypeSymbol { IsGenericType: true } generic && generic.ConstructedFrom.ToDisplayString() == MixtureHandler.MemberType
                        ? BlockType(generic.TypeArguments[0])
                        : null;
                    if (block is null)
                        return Report(DiagnosticDescriptors.MixtureOption, Parser.LocationOf(mixture) ?? location, display,
                            $"its member's type must be MixtureOfExperts<TBlock>, TBlock a [Block] class of dense layers (the expert), not {elementType.ToDisplayString()}");
                }
                else
                {
                    block = BlockType(elementType);
                }
                if (block is null && pruned is not null && residual is null && repeat is null)
                    return Report(DiagnosticDescriptors.PruningOption, Parser.LocationOf(pruned) ?? location, display,
                        "goes beside the layer's attribute, [Dense], [Conv1D] or [Conv2D], and this member has none");
                if (block is null)
                    return Report(DiagnosticDescriptors.InvalidMember, location, display, $"[Residual] and [Repeat] go on a layer (with its layer attribute) or on a member whose type is a [Block] class; {elementType.ToDisplayString()} is neither");
                if (_blockStack.Contains(block) || SymbolEqualityComparer.Default.Equals(block, _network))
                {
                    string chain = string.Join(" -> ", System.Linq.Enumerable.Select(_blockStack, b => b.Name)) + (_blockStack.Count > 0 ? " -> " : "") + block.Name;
                    return Report(DiagnosticDescriptors.BlockCycle, location, display, block.Name, chain);
                }
                // A static block could not be instantiated by the generated views (found by the fuzzer, seed 5610).
                if (!Parser.IsPartialEverywhere(block) || block.Arity > 0 || block.IsStatic)
                    return Report(DiagnosticDescriptors.InvalidMember, location, display, $"block class '{block.Name}' must be a non-generic, non-static partial class");
            }

            if (pruned is not null && block is not null)
                return Report(DiagnosticDescriptors.PruningOption, Parser.LocationOf(pruned) ?? location, display,
                    $"goes on a Dense, Conv1D or Conv2D layer, and '{block.Name}' is a block: put it on the block's layers to prune");

            var copies = new List<ViewNode>();
            int firstStep = Layers.Count;
            var copyStarts = new List<int>();
            if (repeat is not null) _repeatDepth++;
            for (int i = 0; i < count; i++)
            {
                copyStarts.Add(Layers.Count);
                string suffix = repeat is null ? "" : "." + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                string idSuffix = repeat is null ? "" : "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                // In an indexed block a repeat's copies are positions of their own: prefix.(position + i), not member.i.
                bool positioned = repeat is not null && position is not null;
                string copyName = positioned ? weightPrefix + SourceWriter.Int(position!.Value + i) : weightName;
                if (positioned) suffix = "";
                string path = copyName + suffix;
                string id = idPrefix + member.Name + idSuffix;
                string copyDisplay = (nested ? copyName : display) + suffix;
                ViewNode? copy = residual is null
                    ? Branch(block, layerAttribute, pruned, mixture, kind, property, path, id, copyDisplay, location)
                    : Residual(residual, block, layerAttribute, pruned, mixture, kind, property, copyName, suffix, path, id, copyDisplay, location);
                if (copy is null)
                {
                    if (repeat is not null) _repeatDepth--;
                    return null;
                }
                copies.Add(copy);
            }
            if (repeat is null) return copies[0];
            _repeatDepth--;
            // The outermost repeats, whose copies the emitter may run as a loop (the plan decides where it can).
            int stepsPerCopy = (Layers.Count - firstStep) / count;
            bool even = stepsPerCopy > 0;
            for (int i = 0; i < count; i++) even &= copyStarts[i] == firstStep + i * stepsPerCopy;
            // Copies named by position (an indexed block) are written out: a loop names its copies member.i.
            if (_repeatDepth == 0 && even && position is null)
                Repeats.Add(new RepeatSpan(firstStep, stepsPerCopy, count, weightName));
            string elementTypeName = elementType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            return new ViewNode("", elementTypeName, IsList: true, new EquatableArray<ViewNode>(copies));
        }

        /// <summary>The member's own computation: one layer, or a block's members in order.</summary>
        private ViewNode? Branch(INamedTypeSymbol? block, AttributeData? layerAttribute, AttributeData? pruned, AttributeData? mixture, LayerKind kind, IPropertySymbol property,
            string path, string id, string display, LocationInfo? location)
        {
            if (mixture is not null) return Mixture(block!, mixture, property, path, id, display, location);
            if (block is null)
            {
                if (LayerHandlers.For(kind).MustBeFirst && Layers.Count > 0)
                    return Report(DiagnosticDescriptors.MustBeFirst, location, display, kind.ToString(), "it reads the network's input as token ids, which only the input holds");
                LayerSpec? layer = Parser.ParseLayer(display, id, path, Parser.AccessibilityText(property.DeclaredAccessibility), layerAttribute!, kind, location, _shape, _diagnostics);
                if (layer is not null && pruned is not null) layer = Pruned(layer, pruned, display, location);
                if (layer is null) return null;
                return Add(layer, location, display) ? new ViewNode(layer.MemberName, "", IsList: false, EquatableArray<ViewNode>.Empty) : null;
            }
            _blockStack.Add(block);
            var children = new List<ViewNode>();
            bool failed = false;
            foreach ((IPropertySymbol _, ViewNode child) in Members(block, path + ".", id + "_", nested: true))
                children.Add(child);
            failed = Failed;
            _blockStack.RemoveAt(_blockStack.Count - 1);
            if (children.Count == 0 && !failed)
                return Report(DiagnosticDescriptors.InvalidMember, location, display, $"block '{block.Name}' declares no layers");
            return failed ? null : new ViewNode("", block.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), IsList: false, new EquatableArray<ViewNode>(children));
        }

        /// <summary>
        /// A mixture of experts: the block parsed as expert 0's layers (their shapes and diagnostics as in any block), then
        /// replaced by the one step that runs the router and every expert (<see cref="MixtureHandler"/>).
        /// </summary>
        private ViewNode? Mixture(INamedTypeSymbol block, AttributeData mixture, IPropertySymbol property, string path, string id, string display, LocationInfo? location)
        {
            LocationInfo? at = Parser.LocationOf(mixture) ?? location;
            Shape? x = _shape;
            var check = new LayerChecks(display, at, _diagnostics);
            if (!LayerHandlers.Mixture.CheckInput(x, check))
            {
                Failed = true;
                return null;
            }
            int first = Layers.Count;
            _blockStack.Add(block);
            List<(IPropertySymbol Member, ViewNode Node)> members = Members(block, path + ".experts.0.", id + "_experts0_", nested: true);
            _blockStack.RemoveAt(_blockStack.Count - 1);
            if (Failed) return null;
            List<LayerSpec> expert = Layers.GetRange(first, Layers.Count - first);
            Layers.RemoveRange(first, Layers.Count - first);
            _shape = x;
            if (members.Count == 0) return Report(DiagnosticDescriptors.InvalidMember, location, display, $"block '{block.Name}' declares no layers");
            foreach ((IPropertySymbol member, ViewNode node) in members)
                if (node.Layer.Length == 0)
                    return Report(DiagnosticDescriptors.MixtureOption, at, display, $"an expert is a chain of Dense layers declared in its block (a feed-forward block), and {block.Name}'s '{member.Name}' is {(node.IsList ? "a repeat" : "a block")}");
            LayerSpec? step = LayerHandlers.Mixture.Create(mixture, id, path, Parser.AccessibilityText(property.DeclaredAccessibility), x, expert,
                block.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), check);
            if (step is null)
            {
                Failed = true;
                return null;
            }
            return Add(step, at, display) ? new ViewNode(step.MemberName, "", IsList: false, EquatableArray<ViewNode>.Empty) : null;
        }

        private ViewNode? Residual(AttributeData residual, INamedTypeSymbol? block, AttributeData? layerAttribute, AttributeData? pruned, AttributeData? mixture, LayerKind kind, IPropertySymbol property, string weightName, string suffix,
            string path, string id, string display, LocationInfo? location)
        {
            var norm = (ResidualNorm)(Parser.NamedInt(residual, "Norm") ?? 0);
            LayerKind normKind = (Parser.NamedInt(residual, "NormKind") ?? 0) == 1 ? LayerKind.RMSNorm : LayerKind.LayerNorm;
            int shortcut = Parser.NamedInt(residual, "Shortcut") ?? 0; // Auto, Identity, Projection
            bool gated = Parser.NamedBool(residual, "Gated") ?? false;
            int activation = Parser.NamedInt(residual, "Activation") ?? 0;
            bool shortcutBatchNorm = Parser.NamedBool(residual, "ShortcutBatchNorm") ?? false;
            LocationInfo? residualLocation = Parser.LocationOf(residual) ?? location;
            if (norm is < ResidualNorm.None or > ResidualNorm.Post || shortcut is < 0 or > 2)
                return Report(DiagnosticDescriptors.InvalidMember, residualLocation, display, "Norm or Shortcut is not a member of its enum");
            if (Parser.ActivationProblem((ActivationKind)activation, LayerHandlers.For(LayerKind.ResidualEnd)) is (string value, string why))
                return Report(DiagnosticDescriptors.UnsupportedActivation, residualLocation, display, value, why);
            if (activation != 0 && norm == ResidualNorm.Post)
                return Report(DiagnosticDescriptors.InvalidOption, residualLocation, display,
                    "an activation after the sum and a post-norm would leave their order to guess: put the activation in the branch, or use Norm = Pre");
            if (gated && shortcut == 2)
                return Report(DiagnosticDescriptors.InvalidMember, residualLocation, display, "a gated (highway) residual carries x itself: it takes no projection shortcut");

            Shape? x = _shape;
            if (x is not null && norm != ResidualNorm.None && !x.IsRowMajor)
                return Report(DiagnosticDescriptors.ResidualShapeMismatch, residualLocation, display, x.ToString(), x.ToString(),
                    "but norms need a flat or token input (the identity shortcut, the projection and the gate work on any shape)");
            if (x is not null && shortcutBatchNorm && (x.IsRowMajor || shortcut == 1 || gated))
                return Report(DiagnosticDescriptors.InvalidOption, residualLocation, display,
                    "ShortcutBatchNorm follows the 1x1 convolution of a projection shortcut on images or channel-major sequences; this residual has none");
            LayerSpec begin = ResidualBeginHandler.Create(id + "_in", path, x ?? Shape.Flat(1));
            if (!Add(begin, residualLocation, display)) return null;
            string normName = weightName + "_norm" + suffix;
            if (norm == ResidualNorm.Pre && !AddNorm(normKind, id + "_norm", normName, display, residualLocation)) return null;

            ViewNode? node = Branch(block, layerAttribute, pruned, mixture, kind, property, path, id, display, location);
            if (node is null) return null;
            Shape? y = _shape;
            if (x is null || y is null) return node;

            bool same = x.Equals(y);
            bool projection = shortcut == 2 || (shortcut == 0 && !same);
            if (!projection && !same)
                return Report(DiagnosticDescriptors.ResidualShapeMismatch, residualLocation, display, x.ToString(), y.ToString(), "but the shortcut is the identity; use Shortcut = Shortcut.Projection (or Auto)");
            if (gated && !same)
                return Report(DiagnosticDescriptors.ResidualShapeMismatch, residualLocation, display, x.ToString(), y.ToString(), "but a gated residual mixes x and F(x) element by element: F must keep the shape");
            if (projection && !x.IsRowMajor)
                return Shortcut(x, y, shortcutBatchNorm, begin, (ActivationKind)activation, node, path, id, display, residualLocation);
            // The highway form on channel-major activations: its gate T = sigmoid(W_T * x + b_T) is a 1×1 convolution on
            // the path, named as the flat form's gate.
            if (gated && !x.IsRowMajor)
                return ShortcutPath(begin, x, x, gated: true, (ActivationKind)activation, node, path, id, display, residualLocation,
                    ConvolutionHandler.For(x).Gate(id + "_gate", weightName + "_gate" + suffix, x));
            if (shortcutBatchNorm)
                return Report(DiagnosticDescriptors.InvalidOption, residualLocation, display,
                    "ShortcutBatchNorm follows the 1x1 convolution of a projection shortcut, and this branch keeps the shape: use Shortcut = Shortcut.Projection");
            if (projection && !(y.IsRowMajor && x.Rows == y.Rows))
                return Report(DiagnosticDescriptors.ResidualShapeMismatch, residualLocation, display, x.ToString(), y.ToString(),
                    "and a projection shortcut on flat or token activations maps features only: both ends must be flat, or token sequences of the same length");
            string extra = projection ? weightName + "_shortcut" + suffix : gated ? weightName + "_gate" + suffix : "";
            LayerSpec end = ResidualEndHandler.Create(id + "_out", path, y, (ActivationKind)activation, new ResidualEndOptions(begin.MemberName, x, projection, gated, extra, path));
            if (!Add(end, residualLocation, display)) return null;
            if (norm == ResidualNorm.Post && !AddNorm(normKind, id + "_norm", normName, display, residualLocation)) return null;
            return node;
        }

        /// <summary>
        /// A projection shortcut on channel-major activations, as torchvision's <c>downsample</c>: a 1×1 convolution with
        /// the stride that maps x's extent to F's, then maybe a batch norm, named <c>{path}.downsample.0</c> and <c>.1</c>.
        /// </summary>
        private ViewNode? Shortcut(Shape x, Shape y, bool batchNorm, LayerSpec begin, ActivationKind activation, ViewNode node,
            string path, string id, string display, LocationInfo? location)
        {
            int stride = ConvolutionHandler.ProjectionStride(x.Width, y.Width);
            if (x.Rank != y.Rank || y.IsTokens || stride == 0 || (x.Rank == 3 && ConvolutionHandler.ProjectionStride(x.Height, y.Height) != stride))
                return Report(DiagnosticDescriptors.ResidualShapeMismatch, location, display, x.ToString(), y.ToString(),
                    "and no 1x1 convolution with one stride maps the one to the other: a projection shortcut on channel-major activations keeps the rank and scales every extent by the same stride");
            LayerSpec conv = ConvolutionHandler.For(x).Projection(id + "_downsample0", path + ".downsample.0", x, y, stride);
            LayerSpec[] steps = batchNorm ? new[] { conv, BatchNormHandler.For(y).Create(id + "_downsample1", path + ".downsample.1", y) } : new[] { conv };
            return ShortcutPath(begin, x, y, gated: false, activation, node, path, id, display, location, steps);
        }

        /// <summary>
        /// After the branch, a path of <paramref name="steps"/> reading x again (a projection, or with <paramref name="gated"/>
        /// a highway's gate), then the end, which adds the path's output to F(x) or mixes F(x) and x by it.
        /// </summary>
        private ViewNode? ShortcutPath(LayerSpec begin, Shape x, Shape y, bool gated, ActivationKind activation, ViewNode node,
            string path, string id, string display, LocationInfo? location, params LayerSpec[] steps)
        {
            if (!Add(ResidualShortcutHandler.Create(id + "_shortcut", path, begin.MemberName, y, x), location, display)) return null;
            foreach (LayerSpec step in steps)
                if (!Add(step, location, display)) return null;
            var options = new ResidualEndOptions(begin.MemberName, x, Projection: false, gated, "", path, ShortcutPath: true);
            return Add(ResidualEndHandler.Create(id + "_out", path, y, activation, options), location, display) ? node : null;
        }

        /// <summary>
        /// <paramref name="layer"/> with its [Pruned] declaration, checked: a sparsity in [0, 1), a block of 1, 4, 8 or 16
        /// that divides the outputs stored consecutively for one input, a kind that has such a weight.
        /// </summary>
        private LayerSpec? Pruned(LayerSpec layer, AttributeData pruned, string display, LocationInfo? location)
        {
            // A constructor argument of the wrong type leaves the attribute in error; the compiler reports that.
            if (pruned.ConstructorArguments.Length < 1 || pruned.ConstructorArguments[0].Value is not double sparsity)
            {
                Failed = true;
                return null;
            }
            int block = Parser.NamedInt(pruned, "Block") ?? DefaultPruningBlock;
            LocationInfo? at = Parser.LocationOf(pruned) ?? location;
            string? problem = null;
            if (layer.Handler.PrunableRun(layer) is not int run)
                problem = $"goes on a Dense, Conv1D or Conv2D layer; {layer.Kind} has no weight to prune";
            else if (!(sparsity >= 0 && sparsity < 1))
                problem = $"sparsity {sparsity.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} is not in [0, 1): it is the fraction of connections removed";
            else if (block is not (1 or 4 or 8 or 16))
                problem = $"Block = {SourceWriter.Int(block)} is not 1 (single weights), 4, 8 or 16 (runs of outputs a vector holds)";
            else if (run % block != 0)
                problem = $"Block = {SourceWriter.Int(block)} does not divide the {SourceWriter.Int(run)} outputs {(layer.Kind == LayerKind.Dense ? "of the layer" : "per group")}: a block is a run of consecutive outputs of one input";
            if (problem is not null)
            {
                Report(DiagnosticDescriptors.PruningOption, at, display, problem);
                return null;
            }
            return layer with { Pruning = new PruneSpec((float)sparsity, block) { SparseKernel = layer.Handler.HasSparseKernel(layer) } };
        }

        /// <summary>PrunedAttribute.Block's default, PruningTarget.DefaultBlock in the runtime.</summary>
        private const int DefaultPruningBlock = 16;

        private bool AddNorm(LayerKind kind, string id, string weightName, string display, LocationInfo? location)
        {
            var norm = (NormHandler)LayerHandlers.For(kind);
            return Add(norm.Create(id, weightName, _shape!), location, display);
        }

        /// <summary>Appends a step, checking that its generated identifier and its tensor names are its own.</summary>
        private bool Add(LayerSpec layer, LocationInfo? location, string display)
        {
            if (Layers.Count == MaxSteps)
            {
                Report(DiagnosticDescriptors.InvalidMember, location, display, $"the network would have more than the {SourceWriter.Grouped(MaxSteps)} steps the generator writes out");
                return false;
            }
            if (!_ids.Add(layer.MemberName))
            {
                Report(DiagnosticDescriptors.ReservedLayerName, location, display, layer.MemberName + " (another layer's generated name)");
                return false;
            }
            foreach (string name in new[] { layer.Handler.OwnsWeightName ? layer.WeightName : "", layer.Handler.ExtraWeightName(layer) })
            {
                if (name.Length == 0) continue;
                if (_ownerByWeightName.TryGetValue(name, out string? other))
                {
                    Report(DiagnosticDescriptors.DuplicateWeightName, location, display, name, other);
                    return false;
                }
                _ownerByWeightName.Add(name, display);
            }
            Layers.Add(layer);
            _shape = layer.Output;
            return true;
        }

        private ViewNode? Report(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments)
        {
            _diagnostics.Add(new DiagnosticInfo(descriptor.Id, location, new EquatableArray<string>(arguments)));
            Failed = true;
            return null;
        }

        private static ITypeSymbol ElementType(ITypeSymbol type) =>
            type is INamedTypeSymbol { IsGenericType: true } list && list.ConstructedFrom.ToDisplayString() == ReadOnlyList ? list.TypeArguments[0] : type;

        internal static INamedTypeSymbol? BlockType(ITypeSymbol type) =>
            type is INamedTypeSymbol named && HasAttribute(named, "Dsl.BlockAttribute") ? named : null;

        private static bool HasAttribute(ISymbol symbol, string name) => Attribute(symbol, name) is not null;

        private static AttributeData? Attribute(ISymbol symbol, string name)
        {
            foreach (AttributeData attribute in symbol.GetAttributes())
                if (attribute.AttributeClass?.ToDisplayString() == name) return attribute;
            return null;
        }

        private enum ResidualNorm
        {
            None,
            Pre,
            Post,
        }
    }
}
