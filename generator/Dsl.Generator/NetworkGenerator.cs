using Microsoft.CodeAnalysis;

namespace Dsl.Generator;

/// <summary>
/// Emits forward, backward and parameter plumbing for every <c>[Network]</c> class.
/// Pipeline: attribute lookup → <see cref="Parser"/> (symbols to a plain, equatable spec) → two outputs:
/// diagnostics, and source emitted from the spec alone, so an edit that leaves the spec equal (a comment,
/// an unrelated member, a moved line) re-emits nothing.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class NetworkGenerator : IIncrementalGenerator
{
    internal const string ParseStep = "Parse";
    internal const string SpecStep = "Spec";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "Dsl.NetworkAttribute",
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                transform: static (ctx, ct) => Parser.Parse(ctx, ct))
            .WithTrackingName(ParseStep);

        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Diagnostics), static (spc, diagnostics) =>
        {
            foreach (var diagnostic in diagnostics)
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
        });

        IncrementalValuesProvider<Model.NetworkSpec> specs = parsed
            .Select(static (r, _) => r.Spec!)
            .Where(static spec => spec is not null)
            .WithTrackingName(SpecStep);

        context.RegisterSourceOutput(specs, static (spc, spec) =>
        {
            spc.AddSource(spec.HintName + ".g.cs", Emitter.EmitNetwork(spec));
            spc.AddSource(spec.HintName + ".Backward.g.cs", Emitter.EmitBackward(spec));
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
}
