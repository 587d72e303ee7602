using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator;

/// <summary>
/// The catalogue of Dsl diagnostics. Ids are stable: DSL00xx declarations, DSL01xx shapes,
/// DSL02xx performance advice. Messages name the layer and what was expected and found.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Declaration = "Dsl.Declaration";
    private const string Shape = "Dsl.Shape";

    public static readonly DiagnosticDescriptor NotPartial = Error("DSL0001", Declaration,
        "Network class must be partial",
        "Network '{0}' must be declared 'partial' so the generator can add its forward and backward code");

    public static readonly DiagnosticDescriptor NoLayers = Error("DSL0002", Declaration,
        "Network declares no layers",
        "Network '{0}' declares no layers: add members such as '[Dense(10)] public partial Dense Head {{ get; }}'");

    public static readonly DiagnosticDescriptor LayerNotPartialProperty = Error("DSL0003", Declaration,
        "Layer must be a partial get-only property",
        "Layer '{0}' must be an instance property declared 'partial' with only a getter, e.g. 'public partial {1} {0} {{ get; }}'");

    public static readonly DiagnosticDescriptor LayerTypeMismatch = Error("DSL0004", Declaration,
        "Layer member type does not match its attribute",
        "Layer '{0}' is marked [{1}] so its type must be '{2}', but it is '{3}'");

    public static readonly DiagnosticDescriptor DuplicateWeightName = Error("DSL0005", Declaration,
        "Duplicate layer weight name",
        "Layer '{0}' has weight name '{1}', which layer '{2}' already uses");

    public static readonly DiagnosticDescriptor MultipleLayerAttributes = Error("DSL0006", Declaration,
        "Member has more than one layer attribute",
        "Member '{0}' has more than one layer attribute; a member declares exactly one layer");

    public static readonly DiagnosticDescriptor UnsupportedNetworkClass = Error("DSL0007", Declaration,
        "Network class kind not supported",
        "Network '{0}' cannot be generated: {1}");

    public static readonly DiagnosticDescriptor ReservedLayerName = Error("DSL0008", Declaration,
        "Layer name clashes with a generated member",
        "Layer '{0}' clashes with the generated member '{1}'; rename the layer");

    public static readonly DiagnosticDescriptor MissingInput = Error("DSL0101", Shape,
        "Network input size missing or not positive",
        "Network '{0}' needs a positive input size, e.g. [Network(Input = 784)], but found {1}");

    public static readonly DiagnosticDescriptor NonPositiveSize = Error("DSL0102", Shape,
        "Layer size or option out of range",
        "Layer '{0}': {1} must be {2}, but is {3}");

    public static readonly DiagnosticDescriptor UnsupportedActivation = Error("DSL0103", Shape,
        "Activation not supported on this layer",
        "Layer '{0}': activation {1} is not supported here: {2}");

    public static readonly DiagnosticDescriptor DenseNeedsFlatten = Error("DSL0104", Shape,
        "Dense layer after a multi-dimensional output",
        "Layer '{0}': Dense needs a flat input, but the previous output has shape {1}; add a [Flatten] layer before it");

    public static readonly DiagnosticDescriptor WrongInputRank = Error("DSL0105", Shape,
        "Layer input has the wrong number of dimensions",
        "Layer '{0}': {1} expects {2} input, but gets shape {3}");

    public static readonly DiagnosticDescriptor GroupsDoNotDivide = Error("DSL0106", Shape,
        "Channels not divisible by groups",
        "Layer '{0}': {1} channels are not divisible by groups = {2}");

    public static readonly DiagnosticDescriptor KernelTooLarge = Error("DSL0107", Shape,
        "Kernel larger than the padded input",
        "Layer '{0}': the kernel spans {1} but the padded input is {2}; output would be {3}");

    public static readonly DiagnosticDescriptor InvalidOption = Error("DSL0108", Shape,
        "Layer options contradict each other",
        "Layer '{0}': {1}");

    public static readonly DiagnosticDescriptor InputShapeConflict = Error("DSL0109", Shape,
        "Network input shape is ambiguous",
        "Network '{0}': {1}");

    public static readonly DiagnosticDescriptor TooLarge = Error("DSL0110", Shape,
        "Layer too large",
        "'{0}': {1} has {2} values, more than the {3} the generator supports");

    public static readonly DiagnosticDescriptor BlockCycle = Error("DSL0009", Declaration,
        "Block contains itself",
        "Member '{0}': block '{1}' contains itself ({2}); a block cannot run inside itself");

    public static readonly DiagnosticDescriptor InvalidMember = Error("DSL0010", Declaration,
        "Residual, repeat or block member declared wrongly",
        "Member '{0}': {1}");

    public static readonly DiagnosticDescriptor HeadsDoNotDivide = Error("DSL0111", Shape,
        "Model dimension not divisible by the heads",
        "Layer '{0}': the model dimension {1} is not divisible by {2} heads");

    public static readonly DiagnosticDescriptor ResidualShapeMismatch = Error("DSL0112", Shape,
        "Residual branch changes the shape",
        "Residual '{0}': the branch maps {1} to {2}, {3}");

    public static readonly DiagnosticDescriptor CausalNeedsSequence = Error("DSL0113", Shape,
        "Causal mask on a non-sequence input",
        "Layer '{0}': a causal mask needs a token sequence (L tokens x D), but the input has shape {1}");

    public static readonly DiagnosticDescriptor NormDimensionMismatch = Error("DSL0114", Shape,
        "Normalisation over a mismatched dimension",
        "Layer '{0}': {1}");

    public static readonly DiagnosticDescriptor DropoutProbability = Error("DSL0115", Shape,
        "Dropout probability out of range",
        "Layer '{0}': dropout probability {1} is not in [0, 1): p is the chance of zeroing a value, and p = 1 would zero everything");

    public static readonly DiagnosticDescriptor PruningOption = Error("DSL0116", Shape,
        "Invalid pruning declaration",
        "Layer '{0}': [Pruned] {1}");

    public static readonly DiagnosticDescriptor AttentionWidth = Error("DSL0117", Shape,
        "Attention model dimension differs from the input's features",
        "Layer '{0}': ModelDim = {1}, but the input has {2} features per token; attention keeps the width, so leave ModelDim out or make it {2}");

    public static readonly DiagnosticDescriptor MustBeFirst = Error("DSL0118", Shape,
        "Layer must be the network's first",
        "Layer '{0}': {1} must be the first layer: {2}");

    public static readonly DiagnosticDescriptor MixtureOption = Error("DSL0119", Shape,
        "Invalid mixture-of-experts declaration",
        "Mixture '{0}': {1}");

    public static readonly DiagnosticDescriptor UnknownInstructionSet = Error("DSL0012", Declaration,
        "Unknown instruction set in DslInstructionSets",
        "DslInstructionSets names '{0}', which is not one of avx512, avx2, vector128, scalar (the value was '{1}')");

    public static readonly DiagnosticDescriptor WeightsFileMissing = Error("DSL0013", Declaration,
        "Weights file not in the build",
        "Network '{0}': the weights file '{1}' is not among the project's DslWeights items; add <DslWeights Include=\"{1}\" /> to the project file (the path relative to it), which the Dsl package's build step turns into data the generator reads");

    public static readonly DiagnosticDescriptor WeightsFileInvalid = Error("DSL0014", Declaration,
        "Weights file does not fit the network",
        "Network '{0}': weights file '{1}' {2}");

    public static readonly DiagnosticDescriptor BFloat16Unsupported = Error("DSL0015", Declaration,
        "Layer cannot read bfloat16 weights",
        "Network '{0}': layer '{1}' ({2}) cannot read bfloat16 weights; WeightType.BFloat16 covers dense layers on a flat input (not pruned) and dropout today; declare the network without it");

    public static readonly DiagnosticDescriptor GeneratorFailure = Error("DSL0011", Declaration,
        "The generator failed on this declaration",
        "The Dsl generator failed on '{0}' ({1}); this is a bug in Dsl.Generator, please report it with the declaration");

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = new()
    {
        [DropoutProbability.Id] = DropoutProbability,
        [PruningOption.Id] = PruningOption,
        [AttentionWidth.Id] = AttentionWidth,
        [MustBeFirst.Id] = MustBeFirst,
        [MixtureOption.Id] = MixtureOption,
        [UnknownInstructionSet.Id] = UnknownInstructionSet,
        [WeightsFileMissing.Id] = WeightsFileMissing,
        [WeightsFileInvalid.Id] = WeightsFileInvalid,
        [BFloat16Unsupported.Id] = BFloat16Unsupported,
        [GeneratorFailure.Id] = GeneratorFailure,
        [BlockCycle.Id] = BlockCycle,
        [InvalidMember.Id] = InvalidMember,
        [HeadsDoNotDivide.Id] = HeadsDoNotDivide,
        [ResidualShapeMismatch.Id] = ResidualShapeMismatch,
        [CausalNeedsSequence.Id] = CausalNeedsSequence,
        [NormDimensionMismatch.Id] = NormDimensionMismatch,
        [NotPartial.Id] = NotPartial,
        [NoLayers.Id] = NoLayers,
        [LayerNotPartialProperty.Id] = LayerNotPartialProperty,
        [LayerTypeMismatch.Id] = LayerTypeMismatch,
        [DuplicateWeightName.Id] = DuplicateWeightName,
        [MultipleLayerAttributes.Id] = MultipleLayerAttributes,
        [UnsupportedNetworkClass.Id] = UnsupportedNetworkClass,
        [ReservedLayerName.Id] = ReservedLayerName,
        [MissingInput.Id] = MissingInput,
        [NonPositiveSize.Id] = NonPositiveSize,
        [UnsupportedActivation.Id] = UnsupportedActivation,
        [DenseNeedsFlatten.Id] = DenseNeedsFlatten,
        [WrongInputRank.Id] = WrongInputRank,
        [GroupsDoNotDivide.Id] = GroupsDoNotDivide,
        [KernelTooLarge.Id] = KernelTooLarge,
        [InvalidOption.Id] = InvalidOption,
        [InputShapeConflict.Id] = InputShapeConflict,
        [TooLarge.Id] = TooLarge,
    };

    public static DiagnosticDescriptor ById(string id) => s_byId[id];

    private static DiagnosticDescriptor Error(string id, string category, string title, string message) =>
        new(id, title, message, category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
