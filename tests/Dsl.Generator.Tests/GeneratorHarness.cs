using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dsl.Generator.Tests;

/// <summary>Builds a compilation against the shared framework and Dsl.dll and runs <see cref="NetworkGenerator"/> over it.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    // The strictest warning level, as TreatWarningsAsErrors projects on a recent SDK would see it.
    private static readonly CSharpCompilationOptions s_options = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            warningLevel: 9999)
        .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
        {
            // A missing XML comment is the test source's business, not the generator's.
            ["CS1591"] = ReportDiagnostic.Suppress,
        });

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        // The shared framework's assemblies (the runtime's, which compile like the reference pack) plus Dsl.dll.
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => string.Equals(Path.GetDirectoryName(path), framework, StringComparison.Ordinal))
            .Append(typeof(Dsl.NetworkAttribute).Assembly.Location)
            .Distinct(StringComparer.Ordinal);
        return paths.Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)).ToImmutableArray();
    });

    /// <summary>A compilation of the given sources, named <c>Source0.cs</c>, <c>Source1.cs</c>, ...</summary>
    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create(
            "Dsl.Generator.Tests.Input",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Source{i}.cs")),
            s_references.Value,
            s_options);

    /// <summary>A driver with step tracking; <paramref name="msbuildProperties"/> become <c>build_property.*</c> global options.</summary>
    public static GeneratorDriver CreateDriver(IReadOnlyDictionary<string, string>? msbuildProperties = null, IEnumerable<AdditionalText>? additionalTexts = null) =>
        CSharpGeneratorDriver.Create(
            new[] { new NetworkGenerator().AsSourceGenerator() },
            additionalTexts: additionalTexts,
            parseOptions: ParseOptions,
            optionsProvider: new MsBuildProperties(msbuildProperties),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorRun Run(params string[] sources) => Run(Compile(sources));

    public static GeneratorRun Run(Compilation input, IReadOnlyDictionary<string, string>? msbuildProperties = null, IEnumerable<AdditionalText>? additionalTexts = null)
    {
        GeneratorDriver driver = CreateDriver(msbuildProperties, additionalTexts).RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        return new GeneratorRun(input, output, diagnostics, driver.GetRunResult());
    }

    /// <summary>MSBuild properties as the compiler hands them to generators (what CompilerVisibleProperty does in a build).</summary>
    private sealed class MsBuildProperties : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
    {
        private readonly Options _global;

        public MsBuildProperties(IReadOnlyDictionary<string, string>? msbuildProperties) =>
            _global = new Options((msbuildProperties ?? new Dictionary<string, string>()).ToDictionary(p => "build_property." + p.Key, p => p.Value));

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => _global;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
        {
            public static readonly Options Empty = new(new Dictionary<string, string>());
            private readonly Dictionary<string, string> _values;

            public Options(Dictionary<string, string> values) => _values = values;

            public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
        }
    }
}

/// <summary>An additional file as the compiler hands it to generators.</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    public override string Path => path;

    public override Microsoft.CodeAnalysis.Text.SourceText GetText(System.Threading.CancellationToken cancellationToken = default) =>
        Microsoft.CodeAnalysis.Text.SourceText.From(text);
}

/// <summary>One generator run: its input and output compilations, the generator's diagnostics and the run result.</summary>
internal sealed record GeneratorRun(Compilation Input, Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, GeneratorDriverRunResult RunResult)
{
    public GeneratorRunResult Result => RunResult.Results.Single();

    public ImmutableArray<GeneratedSourceResult> GeneratedSources => Result.GeneratedSources;

    public IEnumerable<Diagnostic> DslDiagnostics => GeneratorDiagnostics.Where(d => d.Id.StartsWith("DSL", StringComparison.Ordinal));

    /// <summary>
    /// The generated networks: every source but the [Block] classes' plumbing and the stubs a declaration with DSL
    /// errors gets instead of a network (its partial members, each throwing, so the compiler adds no CS9248).
    /// </summary>
    public IEnumerable<GeneratedSourceResult> NetworkSources => GeneratedSources.Where(s =>
        !s.HintName.EndsWith(".Block.g.cs", StringComparison.Ordinal) && !s.SourceText.ToString().Contains("has DSL errors (reported on its attributes)", StringComparison.Ordinal));

    /// <summary>Errors and warnings of the compilation with the generated sources added (hidden and info diagnostics are ignored).</summary>
    public IReadOnlyList<Diagnostic> OutputProblems =>
        Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();

    /// <summary>Fails if the generator threw (Roslyn turns that into CS8785 and records the exception).</summary>
    public void AssertGeneratorDidNotThrow()
    {
        Assert.Null(Result.Exception);
        Assert.DoesNotContain(GeneratorDiagnostics, d => d.Id == "CS8785");
    }

    /// <summary>Fails unless the generator reported nothing and the generated code compiles without errors or warnings.</summary>
    public void AssertClean()
    {
        AssertGeneratorDidNotThrow();
        Assert.Empty(GeneratorDiagnostics);
        IReadOnlyList<Diagnostic> problems = OutputProblems;
        Assert.True(problems.Count == 0, "The generated code does not compile cleanly:\n" + string.Join("\n", problems.Take(20).Select(d => d.ToString())));
    }

    /// <summary>The source text a diagnostic points at (generator diagnostics carry a file path and span, not a tree).</summary>
    public string SpanText(Diagnostic diagnostic)
    {
        FileLinePositionSpan lineSpan = diagnostic.Location.GetLineSpan();
        SyntaxTree tree = Input.SyntaxTrees.Single(t => t.FilePath == lineSpan.Path);
        Assert.Equal(tree.GetLineSpan(diagnostic.Location.SourceSpan).Span, lineSpan.Span);
        return tree.GetText().ToString(diagnostic.Location.SourceSpan);
    }

    public static string Message(Diagnostic diagnostic) => diagnostic.GetMessage(CultureInfo.InvariantCulture);
}
