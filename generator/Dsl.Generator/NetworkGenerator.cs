using System;
using System.Collections.Immutable;
using Dsl.Generator.Weights;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator;

/// <summary>
/// Emits forward, backward and parameter plumbing for every <c>[Network]</c> class.
/// Pipeline: attribute lookup → <see cref="Parser"/> (symbols to a plain, equatable spec) → two outputs:
/// diagnostics, and source emitted from the spec alone, so an edit that leaves the spec equal (a comment,
/// an unrelated member, a moved line) re-emits nothing. The source output plans the spec once
/// (<see cref="Plan"/>) and writes both files from that plan.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class NetworkGenerator : IIncrementalGenerator
{
    internal const string ParseStep = "Parse";
    internal const string SpecStep = "Spec";
    internal const string WeightsStep = "Weights";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "Dsl.NetworkAttribute",
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                transform: static (ctx, ct) => Parser.ParseOrReport(ctx, ct))
            .WithTrackingName(ParseStep);

        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Diagnostics), static (spc, diagnostics) =>
        {
            foreach (var diagnostic in diagnostics)
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
        });

        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Stubs), static (spc, stubs) =>
        {
            if (stubs is { Members.Count: > 0 }) spc.AddSource(stubs.HintName + ".g.cs", Emitter.EmitErrorStubs(stubs));
        });

        // DslInstructionSets (an MSBuild property, made visible to the compiler by CompilerVisibleProperty): the
        // instruction sets whose kernels are written; unset, every rung. An unknown name is DSL0012, and all rungs.
        IncrementalValueProvider<string> instructionSets = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => options.GlobalOptions.TryGetValue("build_property.DslInstructionSets", out string? value) ? value.Trim() : "");
        context.RegisterSourceOutput(instructionSets, static (spc, value) =>
        {
            if (Isa.Select(value, out string unknown) is null)
                spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnknownInstructionSet, Location.None, unknown, value));
        });

        // AllowUnsafeBlocks: [SkipLocalsInit] needs it (CS0227), so only then does the generated code skip zeroing its
        // stack scratch. Only the flag leaves the compilation, so the spec stays equal across unrelated edits.
        IncrementalValueProvider<bool> allowUnsafe = context.CompilationProvider
            .Select(static (compilation, _) => compilation.Options is Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions { AllowUnsafe: true });

        IncrementalValuesProvider<Model.NetworkSpec> specs = parsed
            .Select(static (r, _) => r.Spec!)
            .Where(static spec => spec is not null)
            .Combine(instructionSets)
            .Combine(allowUnsafe)
            .Select(static (pair, ct) => pair.Left.Left with
            {
                InstructionSets = Isa.Select(pair.Left.Right, out _) is null ? "" : pair.Left.Right,
                SkipLocalsInit = pair.Right,
            })
            .WithTrackingName(SpecStep);

        context.RegisterSourceOutput(specs, static (spc, spec) =>
        {
            GeneratedNetwork result = Emit(spec);
            if (result.Failure is not null) spc.ReportDiagnostic(result.Failure.ToDiagnostic());
            else
            {
                spc.AddSource(spec.HintName + ".g.cs", result.Inference!);
                spc.AddSource(spec.HintName + ".Backward.g.cs", result.Training!);
            }
        });

        // Compiled-in weights: the package's build step hands each <DslWeights> file over as an additional file
        // (WeightsFile); a network naming one gets Pretrained() and the data, or DSL0013/DSL0014 on its Weights argument.
        // Only a change of the spec or of a weights file recompiles the weights; their diagnostics alone follow the location.
        IncrementalValueProvider<ImmutableArray<WeightsFile>> weightFiles = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(WeightsFile.Extension, StringComparison.OrdinalIgnoreCase))
            .Select(static (text, ct) => WeightsFile.Read(text.Path, text.GetText(ct)?.ToString()))
            .Collect();
        IncrementalValuesProvider<CompiledWeights.Result> compiledWeights = specs
            .Where(static spec => spec.Weights.Length > 0)
            .Combine(weightFiles)
            .Select(static (pair, _) => CompiledWeights.Compile(pair.Left, pair.Right))
            .WithTrackingName(WeightsStep);
        context.RegisterSourceOutput(compiledWeights, static (spc, result) =>
        {
            if (result.Source is not null) spc.AddSource(result.HintName + ".Weights.g.cs", result.Source);
        });
        IncrementalValueProvider<ImmutableArray<(string HintName, Model.LocationInfo? Location)>> weightLocations = parsed
            .Where(static r => r.Spec is { Weights.Length: > 0 })
            .Select(static (r, _) => (r.Spec!.HintName, r.WeightsLocation))
            .Collect();
        context.RegisterSourceOutput(compiledWeights.Select(static (r, _) => (r.HintName, r.Problem)).Where(static p => p.Problem is not null).Combine(weightLocations), static (spc, pair) =>
        {
            Model.DiagnosticInfo problem = pair.Left.Problem!;
            Model.LocationInfo? location = null;
            foreach (var l in pair.Right)
                if (l.HintName == pair.Left.HintName) location = l.Location;
            spc.ReportDiagnostic((problem with { Location = location }).ToDiagnostic());
        });

        // Blocks: their constructor and properties; their layers run inside each network that uses them.
        IncrementalValuesProvider<BlockParseResult> blocks = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "Dsl.BlockAttribute",
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                transform: static (ctx, _) => BlockParser.Parse(ctx));
        context.RegisterSourceOutput(blocks, static (spc, result) =>
        {
            foreach (var diagnostic in result.Diagnostics)
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Spec is not null)
                spc.AddSource(result.Spec.HintName + ".Block.g.cs", Emitter.EmitBlock(result.Spec));
        });
    }

    /// <summary>Both files of a network, or the DSL0011 diagnostic when the generator itself failed on it.</summary>
    internal sealed record GeneratedNetwork(string? Inference, string? Training, Model.DiagnosticInfo? Failure);

    /// <summary>Plans the spec once and writes both files; a generator bug becomes a diagnostic, never an exception out of the compiler's hands.</summary>
    internal static GeneratedNetwork Emit(Model.NetworkSpec spec)
    {
        try
        {
            var plan = new Plan(spec);
            // The training file first: the inference file ends with the micro-tiles both files' kernels call.
            string training = Emitter.EmitBackward(plan);
            return new GeneratedNetwork(Emitter.EmitNetwork(plan), training, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new GeneratedNetwork(null, null, Failure(spec.ClassName, null, e));
        }
    }

    internal static Model.DiagnosticInfo Failure(string network, Model.LocationInfo? location, Exception e) =>
        new(DiagnosticDescriptors.GeneratorFailure.Id, location, new Model.EquatableArray<string>(new[] { network, e.GetType().Name + ": " + e.Message }));
}
