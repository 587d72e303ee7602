using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Xunit.Abstractions;

namespace Dsl.Generator.Tests;

/// <summary>
/// Random declarations from a small grammar (input kinds, layer attributes with random and sometimes invalid
/// arguments and options, blocks nested or top-level, repeats, residuals, block cycles, missing <c>partial</c>,
/// wrong member types, setters), each run through the generator: it must never throw, every Dsl diagnostic must be
/// an error from the catalogue, a network with a Dsl error gets no code (only its members' stubs), and when there is no Dsl diagnostic and
/// the input compiles, the generated code must compile without errors or warnings.
/// </summary>
public class GeneratorFuzzTests
{
    // Each case has its own seed (Seed + index), so a failure names the one seed that reproduces it.
    private const int Seed = 5_000;
    private const int Cases = 1_000;

    // A partial property without its implementing part: what the generator is there to fix.
    private const string MissingImplementation = "CS9248";

    private static readonly HashSet<string> s_catalogue = typeof(DiagnosticDescriptors)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
        .Select(f => ((DiagnosticDescriptor)f.GetValue(null)!).Id)
        .ToHashSet(StringComparer.Ordinal);

    private static long s_generatorTicks, s_compileTicks;

    private readonly ITestOutputHelper _output;

    public GeneratorFuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void RandomDeclarations_NeverThrowAndEitherReportCatalogueErrorsOrCompileCleanly()
    {
        var stopwatch = Stopwatch.StartNew();
        var results = new (string Source, string? Failure, Outcome Outcome, IReadOnlyList<string> Ids, double Seconds)[Cases];
        // Cases are independent compilations; running them on every core keeps the test within its time budget.
        // One thread per core: the thread pool would otherwise add threads while these long items block, and oversubscribe.
        var parallel = new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        System.Threading.Tasks.Parallel.For(0, Cases, parallel, i =>
        {
            long start = Stopwatch.GetTimestamp();
            string source = DeclarationFuzzer.Generate(Seed + i);
            string? failure = Check(source, out Outcome outcome, out IReadOnlyList<string> dslIds);
            results[i] = (source, failure, outcome, dslIds, Stopwatch.GetElapsedTime(start).TotalSeconds);
        });
        var failures = new List<string>();
        int valid = 0, rejectedByDsl = 0, rejectedByCompiler = 0;
        var ids = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Cases; i++)
        {
            (string source, string? failure, Outcome outcome, IReadOnlyList<string> dslIds, _) = results[i];
            switch (outcome)
            {
                case Outcome.Valid: valid++; break;
                case Outcome.RejectedByDsl: rejectedByDsl++; break;
                default: rejectedByCompiler++; break;
            }
            foreach (string id in dslIds.Distinct()) ids[id] = ids.GetValueOrDefault(id) + 1;
            if (failure is not null) failures.Add($"seed {Seed + i}: {failure}\n{source}");
        }

        _output.WriteLine($"{Cases} random declarations in {stopwatch.Elapsed.TotalSeconds:F1} s: {valid} valid (generated code compiled cleanly), " +
                          $"{rejectedByDsl} rejected with a Dsl error, {rejectedByCompiler} rejected by the compiler alone.");
        _output.WriteLine($"Time in the generator {(double)s_generatorTicks / Stopwatch.Frequency:F1} s, compiling the valid cases' output {(double)s_compileTicks / Stopwatch.Frequency:F1} s (summed over threads).");
        _output.WriteLine("Slowest: " + string.Join(", ", Enumerable.Range(0, Cases).OrderByDescending(i => results[i].Seconds).Take(5).Select(i => $"seed {Seed + i} {results[i].Seconds:F1} s")));
        _output.WriteLine("Cases per Dsl id: " + string.Join(", ", ids.Select(p => $"{p.Key} {p.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} cases failed:\n\n" + string.Join("\n\n", failures.Take(5)));
        // The grammar is meant to reach the emitter often, and the checks often: a change that made every case
        // fail early (or none) would hollow the test out.
        Assert.InRange(valid, Cases / 5, Cases - Cases / 5);
        Assert.InRange(rejectedByDsl, Cases / 5, Cases);
    }

    // ------------------------------------------------------------------ minimal cases found by the fuzzer

    /// <summary>
    /// Found by the fuzzer (seeds 5012, 5052, 5058, 5059, 5104 of the first version): a [Block] class whose two
    /// partial declarations both carry [Block]. The compiler reports CS0579 (duplicate attribute), but the generator
    /// emits the block once per declaration under the same hint name, and Roslyn throws ArgumentException
    /// ("The hintName 'B.Block.g.cs' of the added source file must be unique within a generator").
    /// </summary>
    [Fact]
    public void BlockAttributeOnTwoPartsOfOneClass_DoesNotThrow()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                public partial B Body { get; }
            }

            [Block]
            public partial class B
            {
                [Dense(4)] public partial Dense Fc { get; }
            }

            [Block]
            public partial class B
            {
            }
            """);
        run.AssertGeneratorDidNotThrow();
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == "CS0579");
    }

    /// <summary>
    /// Found by the fuzzer (seed 5610 of the 1,000-case version): a network using a <c>static</c> [Block] class. The
    /// block itself got DSL0007, but the network was generated and its views called <c>new B()</c> on a static
    /// class (CS0712). The member now gets DSL0010 and the network no code.
    /// </summary>
    [Fact]
    public void StaticBlockClass_IsReportedOnTheMember_AndTheNetworkGetsNoCode()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                public partial B Body { get; }
            }

            [Block]
            public static partial class B
            {
                [Dense(4)] public partial Dense Fc { get; }
            }
            """);
        run.AssertGeneratorDidNotThrow();
        Diagnostic member = Assert.Single(run.DslDiagnostics, d => d.Id == "DSL0010");
        Assert.Equal("Member 'Body': block class 'B' must be a non-generic, non-static partial class", GeneratorRun.Message(member));
        Assert.Contains(run.DslDiagnostics, d => d.Id == "DSL0007");
        Assert.DoesNotContain(run.NetworkSources, s => s.HintName.StartsWith("Net.", StringComparison.Ordinal));
    }

    /// <summary>
    /// Found by a wider fuzzing run (seeds 20236 and 40892): a member named with a keyword, <c>@class</c>. Roslyn
    /// names it "class", and the generated property was declared <c>partial ... class =></c>, which does not parse.
    /// </summary>
    [Fact]
    public void KeywordNamedMembers_OfNetworksAndBlocks_Compile()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using System.Collections.Generic;
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Repeat(2)][Residual][Dense(4)] public partial IReadOnlyList<Dense> @class { get; }
                public partial B @event { get; }
            }

            [Block]
            public partial class B
            {
                [Dense(3)] public partial Dense @int { get; }
            }
            """);
        run.AssertClean();
    }

    /// <summary>
    /// Found by a wider fuzzing run (seed 20068): a [Block] class with a step member that is not a partial get-only
    /// property. The block's generated constructor skipped it and left the user's property unset (CS8618); it is
    /// DSL0003 now, as it is on a network.
    /// </summary>
    [Fact]
    public void BlockMemberThatIsNotPartial_IsDSL0003()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Block]
            public partial class B
            {
                [Dense(3)] public Dense Fc { get; }
            }
            """);
        run.AssertGeneratorDidNotThrow();
        Diagnostic d = Assert.Single(run.DslDiagnostics);
        Assert.Equal("DSL0003", d.Id);
        Assert.Equal("Layer 'Fc' must be an instance property declared 'partial' with only a getter, e.g. 'public partial Dense Fc { get; }'", GeneratorRun.Message(d));
    }

    /// <summary>The same for [Network] on two partial declarations of one class.</summary>
    [Fact]
    public void NetworkAttributeOnTwoPartsOfOneClass_DoesNotThrow()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Dense(4)] public partial Dense Fc { get; }
            }

            [Network(Input = 4)]
            public partial class Net
            {
            }
            """);
        run.AssertGeneratorDidNotThrow();
        Assert.Contains(run.Input.GetDiagnostics(), d => d.Id == "CS0579");
    }

    /// <summary>
    /// Found by the fuzzer (seed 5091): a block member whose type is nullable-annotated, <c>public partial B? Body { get; }</c>.
    /// The generator accepts it and implements the property as <c>B Body</c>, so the output gets warning CS9256
    /// (partial member declarations have signature differences) in the generated file. A layer member typed
    /// <c>Dense?</c> is rejected with DSL0004 instead; either behaviour would do, as long as it is the same.
    /// </summary>
    [Fact]
    public void NullableBlockMemberType_EitherRejectedOrGeneratedWithoutWarnings()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                public partial B? Body { get; }
            }

            [Block]
            public partial class B
            {
                [Dense(4)] public partial Dense Fc { get; }
            }
            """);
        run.AssertGeneratorDidNotThrow();
        if (!run.DslDiagnostics.Any()) run.AssertClean();
    }

    /// <summary>
    /// A repeat count is unrolled into the generated code (about 3 KB of source per repeated Dense layer: Repeat(1000)
    /// took 5 s to generate and 26 s to compile, Repeat(10000) 66 s and 150 s with 30 MB of source), and nothing bounds
    /// it: <c>[Repeat(int.MaxValue)]</c> keeps the generator busy until memory runs out. It should be rejected at once,
    /// like the layer sizes DSL0110 bounds. The repeated member is a block so that the generator's cancellation checks
    /// (once per block member) let this test stop it after 10 s instead of hanging.
    /// </summary>
    [Fact]
    public void RepeatCountOfIntMaxValue_IsRejectedQuickly()
    {
        Compilation input = GeneratorHarness.Compile("""
            using System.Collections.Generic;
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                [Repeat(int.MaxValue)] public partial IReadOnlyList<B> Blocks { get; }
            }

            [Block]
            public partial class B
            {
                [Dense(4)] public partial Dense Fc { get; }
            }
            """);
        using var timeout = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(10));
        GeneratorDriver driver;
        try
        {
            driver = GeneratorHarness.CreateDriver().RunGenerators(input, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("The generator was still unrolling [Repeat(int.MaxValue)] after 10 s.");
            return;
        }
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        Assert.Contains(result.Diagnostics, d => d.Id.StartsWith("DSL", StringComparison.Ordinal));
    }

    /// <summary>A block split over two partial declarations with [Block] on one of them is valid and generates cleanly.</summary>
    [Fact]
    public void BlockSplitOverTwoParts_AttributeOnOne_GeneratesCleanly()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Dsl;

            [Network(Input = 4)]
            public partial class Net
            {
                public partial B Body { get; }
            }

            [Block]
            public partial class B
            {
                [Dense(4)] public partial Dense Fc { get; }
            }

            public partial class B
            {
                [Dense(2)] public partial Dense Out { get; }
            }
            """);
        run.AssertClean();
    }

    private enum Outcome
    {
        Valid,
        RejectedByDsl,
        RejectedByCompiler,
    }

    /// <summary>Runs the generator on <paramref name="source"/>; returns why the run is wrong, or null.</summary>
    private static string? Check(string source, out Outcome outcome, out IReadOnlyList<string> dslIds)
    {
        outcome = Outcome.RejectedByCompiler;
        dslIds = Array.Empty<string>();
        GeneratorRun run;
        long start = Stopwatch.GetTimestamp();
        try
        {
            run = GeneratorHarness.Run(source);
            System.Threading.Interlocked.Add(ref s_generatorTicks, Stopwatch.GetTimestamp() - start);
        }
        catch (Exception e)
        {
            return "the generator driver threw " + e;
        }
        if (run.Result.Exception is not null) return "the generator threw " + run.Result.Exception;
        if (run.GeneratorDiagnostics.Any(d => d.Id is "CS8785" or "AD0001")) return "the generator threw: " + string.Join("; ", run.GeneratorDiagnostics.Select(d => d.ToString()));

        List<Diagnostic> dsl = run.DslDiagnostics.ToList();
        dslIds = dsl.Select(d => d.Id).ToList();
        foreach (Diagnostic d in dsl)
        {
            if (!s_catalogue.Contains(d.Id)) return $"{d.Id} is not in the catalogue: {d}";
            if (d.Severity != DiagnosticSeverity.Error) return $"{d.Id} is a {d.Severity}, not an error: {d}";
            string message;
            try
            {
                message = GeneratorRun.Message(d);
            }
            catch (Exception e)
            {
                return $"{d.Id}'s message cannot be formatted: {e.Message}";
            }
            if (message.Contains("{0}", StringComparison.Ordinal) || message.Length == 0) return $"{d.Id}'s message is not filled in: '{message}'";
        }
        if (run.GeneratorDiagnostics.Any(d => !d.Id.StartsWith("DSL", StringComparison.Ordinal)))
            return "the generator reported a non-Dsl diagnostic: " + string.Join("; ", run.GeneratorDiagnostics.Select(d => d.ToString()));

        if (dsl.Count > 0)
        {
            outcome = Outcome.RejectedByDsl;
            // A network with an error gets no code but its members' stubs; [Block] classes still get their own plumbing.
            string[] generated = run.NetworkSources.Select(s => s.HintName).ToArray();
            return generated.Length == 0 ? null : "code was generated despite Dsl errors: " + string.Join(", ", generated);
        }

        // The input "compiles" if its only errors are the layer and block members the generator is there to implement.
        List<Diagnostic> inputErrors = run.Input.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && !IsForTheGenerator(d, run.Input)).ToList();
        if (inputErrors.Count > 0) return null; // the compiler rejects the declaration itself; nothing to compare

        outcome = Outcome.Valid;
        var inputProblems = new HashSet<string>(run.Input.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning && !IsForTheGenerator(d, run.Input)).Select(d => d.ToString()), StringComparer.Ordinal);
        start = Stopwatch.GetTimestamp();
        IReadOnlyList<Diagnostic> outputProblems = run.OutputProblems;
        System.Threading.Interlocked.Add(ref s_compileTicks, Stopwatch.GetTimestamp() - start);
        List<Diagnostic> problems = outputProblems.Where(d => !inputProblems.Contains(d.ToString())).ToList();
        return problems.Count == 0
            ? null
            : "no Dsl diagnostic and the input compiles, but the output does not compile cleanly:\n" + string.Join("\n", problems.Take(10).Select(d => d.ToString()));
    }

    /// <summary>A missing implementation of a partial property that is a layer or block member: the generator's job, not the user's error.</summary>
    private static bool IsForTheGenerator(Diagnostic diagnostic, Compilation compilation)
    {
        if (diagnostic.Id != MissingImplementation || diagnostic.Location.SourceTree is not SyntaxTree tree) return false;
        SyntaxNode node = tree.GetRoot().FindNode(diagnostic.Location.SourceSpan);
        var property = node.AncestorsAndSelf().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.PropertyDeclarationSyntax>().FirstOrDefault();
        return property is not null
            && compilation.GetSemanticModel(tree).GetDeclaredSymbol(property) is IPropertySymbol symbol
            && NetworkGenerator.Flattener.IsStepMember(symbol);
    }

    /// <summary>
    /// Writes one random declaration. With <c>chaos</c> 0 it tracks the activation shape and picks layers and
    /// options that fit, so most such networks are valid; each decision goes wild with probability <c>chaos</c>
    /// (a zero, negative, huge or wrongly typed argument, an undefined enum value, a layer that does not fit the
    /// shape, a wrong member type or form, a block cycle, a class without <c>partial</c> ...).
    /// </summary>
    private sealed class DeclarationFuzzer
    {
        private static readonly string[] s_activations = { "None", "Relu", "Tanh", "Sigmoid", "Silu", "Gelu", "Softmax", "GeluTanh" };
        private static readonly string[] s_wildInts = { "0", "-1", "-7", "int.MaxValue", "int.MinValue", "100000", "1 << 20", "\"3\"", "2.5", "null", "'a'", "true", "(short)2" };
        private static readonly string[] s_layerKinds =
        {
            "Dense", "Conv2D", "Conv1D", "MaxPool2D", "AvgPool2D", "MaxPool1D", "GlobalAvgPool", "Flatten", "BatchNorm2D", "BatchNorm1D",
            "Tokens", "LayerNorm", "RMSNorm", "MultiHeadSelfAttention", "Embedding", "PositionalEmbedding", "Dropout",
        };
        private static readonly string[] s_reservedNames = { "Summary", "Forward", "Parameters", "Backward", "InputSize", "Steps", "@class", "Event", "X", "Workspace" };

        private readonly Random _random;
        private readonly double _chaos;
        private readonly List<string> _topLevel = new();
        private readonly List<string> _nested = new();
        private readonly List<BlockInfo> _blocks = new();
        private readonly List<string> _memberNames = new();
        private int _counter;
        private int _layers;
        private int _blockNames;

        private sealed record BlockInfo(string Name, Shape? Input, Shape? Output);

        private DeclarationFuzzer(int seed)
        {
            _random = new Random(seed);
            // A third of the cases are tame (valid if the shape tracking is right); the rest go wild at some rate.
            _chaos = _random.Next(3) switch { 0 => 0, 1 => 0.03, _ => Pick(0.08, 0.2, 0.5) };
        }

        public static string Generate(int seed) => new DeclarationFuzzer(seed).Build();

        private bool Wild() => _random.NextDouble() < _chaos;

        private bool Chance(double p) => _random.NextDouble() < p;

        private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];

        private int Small(int min, int max) => _random.Next(min, max + 1);

        private string Int(int value) => Wild() ? Pick(s_wildInts) : value.ToString(CultureInfo.InvariantCulture);

        private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

        private string Build()
        {
            Shape? shape = NetworkInput(out string attribute);
            var members = new List<string>();
            int count = Wild() ? Small(0, 8) : Small(1, 6);
            for (int i = 0; i < count; i++) members.Add(Member(ref shape, depth: 0, enclosing: new List<string>()));

            string modifiers = Wild() ? Pick("public", "public abstract partial", "public static partial", "public sealed partial", "internal partial") : Pick("public partial", "public sealed partial", "internal partial");
            string name = Wild() ? Pick("Net<T>", "Net") : "Net";
            var source = new StringBuilder();
            source.Append("using System.Collections.Generic;\nusing Dsl;\n\n");
            bool inNamespace = Chance(0.5);
            if (inNamespace) source.Append("namespace Fuzz;\n\n");
            bool inOuter = Wild() || Chance(0.1);
            string outer = Pick("public partial class Outer", "public partial struct Outer", "public partial class Outer<T>", "public static partial class Outer");
            if (inOuter) source.Append(outer).Append("\n{\n");
            source.Append(attribute).Append('\n').Append(modifiers).Append(" class ").Append(name).Append("\n{\n");
            foreach (string member in members) source.Append("    ").Append(member).Append('\n');
            foreach (string block in _nested) source.Append('\n').Append(Indent(block, "    ")).Append('\n');
            source.Append("}\n");
            if (inOuter) source.Append("}\n");
            foreach (string block in _topLevel) source.Append('\n').Append(block).Append('\n');
            return source.ToString();
        }

        private static string Indent(string text, string indent) => indent + text.Replace("\n", "\n" + indent, StringComparison.Ordinal);

        private Shape? NetworkInput(out string attribute)
        {
            if (Wild())
            {
                attribute = Pick(
                    "[Network]", "[Network(Input = 0)]", "[Network(Input = -4)]", "[Network(Input = int.MaxValue)]", "[Network(Input = \"x\")]",
                    "[Network(Channels = 2)]", "[Network(Channels = 1, Height = 4, Width = 4, Length = 16)]", "[Network(Features = 8)]",
                    "[Network(Channels = -1, Height = 4, Width = 4)]", "[Network(Channels = 1, Height = 0, Width = 4)]",
                    "[Network(Length = 4, Features = 0)]", "[Network(Length = -2, Features = 4)]", "[Network(Channels = 2, Length = 4, Features = 8)]",
                    "[Network(Channels = 65536, Height = 65536, Width = 65536)]", "[Network(Input = 16, Channels = 1, Height = 4, Width = 5)]",
                    "[Network(Input = 1 << 27)]", "[Block]", "");
                return null;
            }
            switch (_random.Next(4))
            {
                case 0:
                {
                    int n = Small(1, 12);
                    attribute = $"[Network(Input = {Text(n)})]";
                    return Shape.Flat(n);
                }
                case 1:
                {
                    int c = Small(1, 3), h = Small(1, 8), w = Small(1, 8);
                    attribute = Chance(0.2) ? $"[Network(Channels = {Text(c)}, Height = {Text(h)}, Width = {Text(w)}, Input = {Text(c * h * w)})]" : $"[Network(Channels = {Text(c)}, Height = {Text(h)}, Width = {Text(w)})]";
                    return Shape.Image(c, h, w);
                }
                case 2:
                {
                    int c = Small(1, 4), l = Small(1, 10);
                    attribute = $"[Network(Channels = {Text(c)}, Length = {Text(l)})]";
                    return Shape.Sequence(c, l);
                }
                default:
                {
                    int l = Small(1, 6), d = Pick(1, 2, 4, 6, 8, 12);
                    attribute = $"[Network(Length = {Text(l)}, Features = {Text(d)})]";
                    return Shape.Tokens(l, d);
                }
            }
        }

        private string NewName()
        {
            _counter++;
            string name;
            if (Wild())
            {
                name = _random.Next(3) switch
                {
                    0 => Pick(s_reservedNames),
                    1 when _memberNames.Count > 0 => Pick(_memberNames.ToArray()),
                    _ => Pick("Fc", "FC", "fc_", "F_c") + Text(_counter % 3), // weight-name collisions (Fc1, FC1, fc_1 ...)
                };
            }
            else
            {
                name = Pick("Fc", "conv", "Layer", "Attn", "OutProj", "norm_", "Block", "x") + Text(_counter);
            }
            _memberNames.Add(name);
            return name;
        }

        /// <summary>One network or block member: a layer or a block, perhaps repeated, perhaps residual.</summary>
        private string Member(ref Shape? shape, int depth, List<string> enclosing)
        {
            string name = NewName();
            Shape? before = shape;
            bool useBlock = depth < 2 && Chance(0.25);
            string type, attribute;
            if (useBlock)
            {
                type = BlockMember(ref shape, depth, enclosing);
                attribute = "";
            }
            else
            {
                (attribute, type) = Layer(ref shape);
            }
            bool keepsShape = before is not null && shape is not null && before == shape;

            string residual = "";
            if (Chance(0.25) || Wild())
            {
                string? options = ResidualOptions(before, shape, out bool fits);
                if (options is not null && (fits || Wild())) residual = options;
            }

            string repeat = "";
            string memberType = type;
            if ((keepsShape && Chance(0.2)) || Wild())
            {
                // Not huge counts: each copy is unrolled into the generated code (see RepeatCountOfIntMaxValue_IsRejectedQuickly).
                string count = Wild() ? Pick("0", "-1", "-7", "int.MinValue", "\"3\"", "2.5", "null", "64") : Text(Small(1, 4));
                repeat = $"[Repeat({count})]";
                memberType = Wild() ? type : $"IReadOnlyList<{type}>";
            }

            if (Wild()) memberType = Pick("int", "object", "Nope", "IReadOnlyList<Dense>", "Dense", "Conv2D", "MultiHeadSelfAttention", "List<Dense>", type + "?");
            string form = Wild()
                ? Pick("public {0} {1} {{ get; }}", "public partial {0} {1} {{ get; set; }}", "public {0} {1} = null!;", "public static partial {0} {1} {{ get; }}",
                       "public partial {0} {1} {{ set; }}", "public {0} {1}() => null!;", "public partial {0} {1} {{ get; init; }}")
                : Pick("public partial {0} {1} {{ get; }}", "internal partial {0} {1} {{ get; }}", "private partial {0} {1} {{ get; }}");
            if (Wild()) attribute += LayerAttribute(null); // a second layer attribute, or one on a block member
            return residual + repeat + attribute + " " + string.Format(CultureInfo.InvariantCulture, form, memberType, name);
        }

        /// <summary>A [Residual] for a branch from <paramref name="x"/> to <paramref name="y"/>; <paramref name="fits"/> says whether the generator should accept it.</summary>
        private string? ResidualOptions(Shape? x, Shape? y, out bool fits)
        {
            fits = x is not null && y is not null;
            bool rowMajor = x is not null && x.IsRowMajor;
            bool same = x is not null && x == y;
            var options = new List<string>();
            string norm = Pick("None", "Pre", "Post");
            if (Wild()) norm = Pick("(ResidualNorm)7", "(ResidualNorm)(-1)");
            if (norm != "None" || Chance(0.2)) options.Add("Norm = " + (norm.StartsWith('(') ? norm : "ResidualNorm." + norm));
            if (norm is "Pre" or "Post" && !rowMajor) fits = false;
            if (norm.StartsWith('(')) fits = false;
            if (Chance(0.3)) options.Add("NormKind = " + (Wild() ? "(NormKind)3" : Pick("NormKind.LayerNorm", "NormKind.RMSNorm")));
            bool gated = Chance(0.25);
            if (gated)
            {
                options.Add("Gated = " + (Wild() ? Pick("1", "\"yes\"") : "true"));
                if (!same || !rowMajor) fits = false;
            }
            string shortcut = Pick("Auto", "Identity", "Projection");
            if (Chance(0.3) || Wild())
            {
                options.Add("Shortcut = " + (Wild() ? "(Shortcut)9" : "Shortcut." + shortcut));
                if (shortcut == "Projection" && (gated || !rowMajor)) fits = false;
                if (shortcut == "Identity" && !same) fits = false;
            }
            if (!same && !(rowMajor && y is not null && y.IsRowMajor && x!.Rows == y.Rows)) fits = false;
            Shuffle(options);
            return options.Count == 0 ? "[Residual]" : "[Residual(" + string.Join(", ", options) + ")]";
        }

        private string BlockMember(ref Shape? shape, int depth, List<string> enclosing)
        {
            // A cycle: a member whose type is an enclosing block (or the block itself).
            if (enclosing.Count > 0 && Wild()) return Pick(enclosing.ToArray());
            // Reuse a block declared for this input shape, as a ViT reuses its encoder block.
            Shape? current = shape;
            BlockInfo? reuse = _blocks.FirstOrDefault(b => b.Input is not null && b.Input == current);
            if (reuse is not null && Chance(0.5))
            {
                shape = reuse.Output;
                return reuse.Name;
            }

            // Reserve the name before the members: a member may declare a block of its own.
            string name = "B" + Text(++_blockNames) + (_counter % 2 == 0 ? "Block" : "");
            Shape? input = shape;
            var inner = new List<string>(enclosing) { name };
            var members = new List<string>();
            int count = Wild() ? Small(0, 3) : Small(1, 3);
            for (int i = 0; i < count; i++) members.Add(Member(ref shape, depth + 1, inner));
            _blocks.Add(new BlockInfo(name, input, shape));

            string attribute = Wild() ? Pick("", "[Block][Block]", "[Block, Block]") : "[Block]";
            string declaration = Wild() ? Pick("public class {0}", "public partial class {0}<T>", "public static partial class {0}", "public partial struct {0}", "public partial record {0}") : "public partial class {0}";
            var text = new StringBuilder();
            if (attribute.Length > 0) text.Append(attribute).Append('\n');
            text.Append(string.Format(CultureInfo.InvariantCulture, declaration, name)).Append("\n{\n");
            foreach (string member in members) text.Append("    ").Append(member).Append('\n');
            text.Append('}');
            List<string> home = Chance(0.5) ? _nested : _topLevel;
            home.Add(text.ToString());
            // A second part of the same class, without the attribute (another attribute-less member, or nothing).
            if (Chance(0.1) && declaration == "public partial class {0}") home.Add($"public partial class {name}\n{{\n    public int NotALayer => 1;\n}}");
            return declaration.Contains("<T>", StringComparison.Ordinal) ? name + "<int>" : name;
        }

        /// <summary>A layer attribute and the member type it asks for; moves <paramref name="shape"/> to the layer's output.</summary>
        private (string Attribute, string Type) Layer(ref Shape? shape)
        {
            _layers++;
            string kind = shape is null || Wild() ? Pick(s_layerKinds) : FittingKind(shape);
            string attribute = LayerAttribute(kind, ref shape);
            return (attribute, kind);
        }

        private string LayerAttribute(string? kind)
        {
            Shape? unknown = null;
            return LayerAttribute(kind ?? Pick(s_layerKinds), ref unknown);
        }

        private string FittingKind(Shape s)
        {
            if (s.IsFlat)
            {
                var kinds = new List<string> { "Dense", "Dense", "Dense", "LayerNorm", "RMSNorm", "BatchNorm1D", "Dropout" };
                if (_layers == 1) kinds.Add("Embedding");
                return Pick(kinds.ToArray());
            }
            if (s.IsImage) return Pick("Conv2D", "Conv2D", "MaxPool2D", "AvgPool2D", "BatchNorm2D", "Flatten", "Tokens", "GlobalAvgPool", "Dropout");
            if (s.IsSequence) return Pick("Conv1D", "Conv1D", "MaxPool1D", "BatchNorm1D", "Flatten", "Tokens", "GlobalAvgPool", "Dropout");
            return Pick("Dense", "Dense", "LayerNorm", "RMSNorm", "MultiHeadSelfAttention", "MultiHeadSelfAttention", "PositionalEmbedding", "Flatten", "GlobalAvgPool", "Dropout");
        }

        private string Activation(bool softmax = true)
        {
            if (Wild()) return Pick("(Activation)42", "(Activation)(-1)", "Activation.Softmax", "1", "\"Relu\"");
            string a = Pick(s_activations);
            return "Activation." + (a == "Softmax" && !softmax ? "Relu" : a);
        }

        private string Epsilon() => Wild() ? Pick("-1f", "0f", "float.NaN", "float.PositiveInfinity", "1e-3", "1") : Pick("1e-5f", "1e-3f", "0.5f");

        private string Momentum() => Wild() ? Pick("-0.1f", "2f", "float.NaN", "0.1") : Pick("0f", "0.1f", "1f", "0.01f");

        private string Bool() => Wild() ? Pick("1", "\"false\"", "null") : Pick("true", "false");

        /// <summary>Named options in a random order, each kept with probability 1/2 (wild ones always).</summary>
        private string Options(params (string Name, string Value)[] options)
        {
            var kept = options.Where(o => o.Value.Length > 0 && Chance(0.5)).Select(o => o.Name + " = " + o.Value).ToList();
            if (Wild()) kept.Add(Pick("Activation = Activation.Relu", "Padd = 1", "Stride = 2", "Bias = false", "Causal = true", "Units = 3"));
            Shuffle(kept);
            return string.Concat(kept.Select(o => ", " + o));
        }

        private string LayerAttribute(string kind, ref Shape? shape)
        {
            Shape? s = shape;
            shape = null; // unknown unless a fitting branch below knows it
            switch (kind)
            {
                case "Dense":
                {
                    int units = Pick(1, 2, 3, 4, 5, 8, 9, 16, 17, 33);
                    bool softmaxFits = units > 1;
                    string activation = Chance(0.5) ? ", " + Activation(softmaxFits) : "";
                    if (s is not null && s.IsRowMajor) shape = s.IsFlat ? Shape.Flat(units) : Shape.Tokens(s.Rows, units);
                    return $"[Dense({Int(units)}{activation}{Options(("Bias", Bool()))})]";
                }
                case "Conv2D":
                case "Conv1D":
                {
                    bool two = kind == "Conv2D";
                    int c = s?.Channels ?? 1;
                    int groups = Chance(0.3) ? Pick(Divisors(c)) : 1;
                    int outChannels = groups * Small(1, 3);
                    int kernel = Small(1, 3), dilation = Chance(0.2) ? 2 : 1, stride = Chance(0.3) ? 2 : 1;
                    bool causal = !two && Chance(0.3);
                    int padding = causal ? 0 : Small(0, kernel / 2 + (Chance(0.2) ? 1 : 0));
                    int height = s is not null && two ? s.Height : 1, width = s?.Width ?? 1;
                    int reach = dilation * (kernel - 1) + 1;
                    if ((two && height + 2 * padding < reach) || width + (causal ? reach - 1 : 2 * padding) < reach) { kernel = 1; dilation = 1; reach = 1; }
                    if (s is not null && (two ? s.IsImage : s.IsSequence))
                    {
                        int Out(int extent) => (extent + (causal ? reach - 1 : 2 * padding) - reach) / stride + 1;
                        shape = two ? Shape.Image(outChannels, Out(height), Out(width)) : Shape.Sequence(outChannels, Out(width));
                    }
                    string options = Options(("Stride", Int(stride)), ("Padding", Int(padding)), ("Dilation", Int(dilation)), ("Groups", Int(groups)),
                        ("Causal", causal ? "true" : ""), ("Activation", Activation(softmax: false)), ("Bias", Bool()));
                    // Options() drops each option with probability 1/2, so recompute the shape from what was kept.
                    if (shape is not null) shape = ConvShape(s!, two, outChannels, kernel, options);
                    return $"[{kind}({Int(outChannels)}, {Int(kernel)}{options})]";
                }
                case "MaxPool2D":
                case "AvgPool2D":
                case "MaxPool1D":
                {
                    bool two = kind != "MaxPool1D";
                    int height = s is not null && two ? s.Height : 1, width = s?.Width ?? 1;
                    int kernel = Math.Max(1, Math.Min(Small(1, 3), Math.Min(two ? height : width, width)));
                    int padding = Chance(0.3) ? kernel / 2 : 0;
                    int stride = Chance(0.3) ? Small(1, 3) : 0;
                    string options = Options(("Stride", Int(stride)), ("Padding", Int(padding)));
                    if (s is not null && (two ? s.IsImage : s.IsSequence)) shape = PoolShape(s, two, kernel, options);
                    return $"[{kind}({Int(kernel)}{options})]";
                }
                case "GlobalAvgPool":
                    if (s is not null && !s.IsFlat) shape = Shape.Flat(s.Channels);
                    return "[GlobalAvgPool]";
                case "Flatten":
                    if (s is not null) shape = Shape.Flat(s.Size);
                    return "[Flatten]";
                case "Tokens":
                    if (s is not null && (s.IsImage || s.IsSequence)) shape = Shape.Tokens(s.Height * s.Width, s.Channels);
                    return "[Tokens]";
                case "BatchNorm2D":
                case "BatchNorm1D":
                {
                    bool fits = s is not null && (kind == "BatchNorm2D" ? s.IsImage : s.IsFlat || s.IsSequence);
                    if (fits) shape = s;
                    string options = Options(("Momentum", Momentum()), ("Epsilon", Epsilon()), ("Activation", Activation(softmax: false)));
                    return options.Length == 0 ? $"[{kind}]" : $"[{kind}({options.Substring(2)})]";
                }
                case "LayerNorm":
                case "RMSNorm":
                {
                    if (s is not null && s.IsRowMajor) shape = s;
                    string features = s is not null && Chance(0.3) ? Int(s.Features) : "";
                    string options = Options(("Epsilon", Epsilon()));
                    string arguments = features + (features.Length == 0 && options.Length > 0 ? options.Substring(2) : options);
                    return arguments.Length == 0 ? $"[{kind}]" : $"[{kind}({arguments})]";
                }
                case "MultiHeadSelfAttention":
                {
                    int d = s?.Features ?? 4;
                    int heads = Pick(Divisors(d));
                    if (s is not null && s.IsTokens) shape = s;
                    return $"[MultiHeadSelfAttention({Int(heads)}{Options(("ModelDim", Int(d)), ("Causal", Bool()), ("Bias", Bool()))})]";
                }
                case "Embedding":
                {
                    int vocabulary = Small(1, 20), dimension = Pick(1, 2, 4, 8);
                    if (s is not null && s.IsFlat && _layers == 1) shape = Shape.Tokens(s.Size, dimension);
                    return $"[Embedding({Int(vocabulary)}, {Int(dimension)})]";
                }
                case "Dropout":
                    // Any shape; the probability goes wild (negative, 1, NaN, an int, a string) with the chaos rate.
                    shape = s;
                    return $"[Dropout({(Wild() ? Pick("-0.5", "1.0", "1", "double.NaN", "2.5", "\"0.1\"", "null") : Pick("0.0", "0.1", "0.25", "0.5", "0.9"))})]";
                default: // PositionalEmbedding
                    if (s is not null && s.IsTokens) shape = s;
                    return "[PositionalEmbedding]";
            }
        }

        private static Shape? ConvShape(Shape s, bool two, int outChannels, int kernel, string options)
        {
            int Named(string name, int fallback)
            {
                string key = ", " + name + " = ";
                int at = options.IndexOf(key, StringComparison.Ordinal);
                if (at < 0) return fallback;
                string rest = options.Substring(at + key.Length);
                int end = rest.IndexOf(',', StringComparison.Ordinal);
                return int.TryParse(end < 0 ? rest : rest.Substring(0, end), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : int.MinValue;
            }
            int stride = Named("Stride", 1), padding = Named("Padding", 0), dilation = Named("Dilation", 1), groups = Named("Groups", 1);
            bool causal = options.Contains("Causal = true", StringComparison.Ordinal);
            if (stride <= 0 || padding < 0 || dilation <= 0 || groups <= 0) return null;
            if (s.Channels % groups != 0 || outChannels % groups != 0) return null;
            int reach = dilation * (kernel - 1) + 1;
            int Out(int extent) => (extent + (causal ? reach - 1 : 2 * padding) - reach) / stride + 1;
            if ((two && s.Height + 2 * padding < reach) || s.Width + (causal ? reach - 1 : 2 * padding) < reach) return null;
            return two ? Shape.Image(outChannels, Out(s.Height), Out(s.Width)) : Shape.Sequence(outChannels, Out(s.Width));
        }

        private static Shape? PoolShape(Shape s, bool two, int kernel, string options)
        {
            int Named(string name)
            {
                string key = ", " + name + " = ";
                int at = options.IndexOf(key, StringComparison.Ordinal);
                if (at < 0) return 0;
                string rest = options.Substring(at + key.Length);
                int end = rest.IndexOf(',', StringComparison.Ordinal);
                return int.TryParse(end < 0 ? rest : rest.Substring(0, end), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : int.MinValue;
            }
            int stride = Named("Stride"), padding = Named("Padding");
            if (stride < 0 || padding < 0 || 2 * padding > kernel) return null;
            if (stride == 0) stride = kernel;
            int Out(int extent) => (extent + 2 * padding - kernel) / stride + 1;
            if ((two && s.Height + 2 * padding < kernel) || s.Width + 2 * padding < kernel) return null;
            return two ? Shape.Image(s.Channels, Out(s.Height), Out(s.Width)) : Shape.Sequence(s.Channels, Out(s.Width));
        }

        private static int[] Divisors(int n) => Enumerable.Range(1, Math.Max(1, n)).Where(d => n % d == 0).ToArray();

        private void Shuffle<T>(List<T> items)
        {
            for (int i = items.Count - 1; i > 0; i--)
            {
                int j = _random.Next(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }
        }
    }

    /// <summary>The fuzzer's idea of an activation's shape: flat [F], image [C, H, W], sequence [C, L] or tokens [L, D].</summary>
    private sealed record Shape(int Kind, int Channels, int Height, int Width)
    {
        public static Shape Flat(int features) => new(0, features, 1, 1);

        public static Shape Image(int channels, int height, int width) => new(1, channels, height, width);

        public static Shape Sequence(int channels, int length) => new(2, channels, 1, length);

        public static Shape Tokens(int length, int features) => new(3, features, 1, length);

        public bool IsFlat => Kind == 0;

        public bool IsImage => Kind == 1;

        public bool IsSequence => Kind == 2;

        public bool IsTokens => Kind == 3;

        public bool IsRowMajor => IsFlat || IsTokens;

        /// <summary>Features of a flat vector or per token.</summary>
        public int Features => Channels;

        /// <summary>Tokens of a sequence, 1 for a flat vector.</summary>
        public int Rows => IsTokens ? Width : 1;

        public int Size => Channels * Height * Width;
    }
}
