using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Dsl.Package.Tests;

/// <summary>
/// The Dsl package as a user gets it: its contents, and a console app outside the repository that references it,
/// declares a network, builds, runs under the JIT and as a NativeAOT executable, and prints the same numbers as the
/// same declaration compiled here from the repository.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public class PackageTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);

    private readonly PackageFeed _feed;
    private readonly ITestOutputHelper _output;

    public PackageTests(PackageFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    [Fact]
    public void DslPackage_CarriesRuntimeGeneratorBuildFilesAndReadme()
    {
        using ZipArchive package = ZipFile.OpenRead(_feed.PackagePath("Dsl"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (string expected in new[]
                 {
                     "lib/net10.0/Dsl.dll", "lib/net10.0/Dsl.xml", "analyzers/dotnet/cs/Dsl.Generator.dll",
                     "build/Dsl.props", "build/Dsl.targets", "buildTransitive/Dsl.props", "buildTransitive/Dsl.targets", "PACKAGE.md",
                 })
            Assert.True(entries.Contains(expected), $"{expected} is not in the package; it holds:\n{string.Join("\n", entries.Order())}");

        XElement metadata = Metadata(package);
        Assert.Equal(_feed.Version, Value(metadata, "version"));
        XElement license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
        Assert.Equal("PACKAGE.md", Value(metadata, "readme"));
        Assert.Equal("git", (string?)metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("type"));
        // The generator travels as an analyzer inside the package, never as a package of its own.
        Assert.Empty(Dependencies(metadata));
        using (var props = new StreamReader(package.GetEntry("build/Dsl.props")!.Open()))
            Assert.Contains("<CompilerVisibleProperty Include=\"DslInstructionSets\" />", props.ReadToEnd());

        Assert.True(File.Exists(_feed.PackagePath("Dsl", "snupkg")), "Dsl's symbol package (snupkg) is missing");
    }

    [Fact]
    public void OnnxPackage_DependsOnDslWithItsGenerator_AndOnProtobuf()
    {
        using ZipArchive package = ZipFile.OpenRead(_feed.PackagePath("Dsl.Onnx"));
        Assert.NotNull(package.GetEntry("lib/net10.0/Dsl.Onnx.dll"));
        Assert.NotNull(package.GetEntry("PACKAGE.md"));
        var dependencies = Dependencies(Metadata(package)).ToDictionary(d => (string)d.Attribute("id")!);
        Assert.Equal(["Dsl", "Google.Protobuf"], dependencies.Keys.Order());
        Assert.Equal(_feed.Version, (string?)dependencies["Dsl"].Attribute("version"));
        // Nothing of Dsl's excluded: a reference to Dsl.Onnx alone still brings the generator and build files.
        Assert.Null(dependencies["Dsl"].Attribute("exclude"));
        Assert.True(File.Exists(_feed.PackagePath("Dsl.Onnx", "snupkg")), "Dsl.Onnx's symbol package (snupkg) is missing");
    }

    [Fact]
    public void Consumer_RunsUnderTheJit_LikeTheSameNetworkHere()
    {
        AppRun run = RunApp(Dotnet.Host, ["run", "-c", "Release", "--no-build"], ConsumerApp());
        // Same runtime, same switches (DOTNET_Enable* reach the child): the same kernels, so bit for bit.
        Assert.Equal(PackageConsumer.Tiny.Outputs(), run.Outputs);
        Assert.Equal(Runtime.Isa, run.Isa);
        Assert.Equal(Runtime.MachineIsa, run.MachineIsa);
    }

    [Fact]
    public void Consumer_PublishedWithNativeAot_RunsTheSameNetwork_OnTheRungItWasCompiledFor()
    {
        string rid = RuntimeInformation.RuntimeIdentifier;

        // Baseline: NativeAOT compiles for a baseline processor of the architecture, which has no 256-bit vectors.
        string baseline = Publish(ConsumerApp(), rid, "baseline");
        AppRun baselineRun = RunApp(baseline, [], Path.GetDirectoryName(baseline)!);
        Assert.Equal(InstructionSet.Vector128, baselineRun.Isa);
        Assert.Equal(Runtime.MachineIsa, baselineRun.MachineIsa);
        // The same rung under the JIT, asked for with the runtime's switch, computes the same bits.
        AppRun jit128 = RunApp(Dotnet.Host, ["run", "-c", "Release", "--no-build"], ConsumerApp(),
            new Dictionary<string, string?> { ["DOTNET_EnableAVX2"] = "0", ["DOTNET_EnableAVX512"] = null, ["DOTNET_EnableHWIntrinsic"] = null });
        Assert.Equal(InstructionSet.Vector128, jit128.Isa);
        Assert.Equal(jit128.Outputs, baselineRun.Outputs);
        AssertClose(PackageConsumer.Tiny.Outputs(), baselineRun.Outputs);

        // native: compiled for this machine's processor, so the kernels run its widest rung.
        string native = Publish(_feed.CreateConsumer("app-native", "Program.cs", "Tiny.cs"), rid, "native", "-p:IlcInstructionSet=native");
        AppRun nativeRun = RunApp(native, [], Path.GetDirectoryName(native)!);
        Assert.Equal(Runtime.MachineIsa, nativeRun.Isa);
        if (nativeRun.Isa == Runtime.Isa) Assert.Equal(PackageConsumer.Tiny.Outputs(), nativeRun.Outputs);
        else AssertClose(PackageConsumer.Tiny.Outputs(), nativeRun.Outputs);
    }

    [Fact]
    public void Consumer_CompiledInWeights_GoThroughThePackagesBuildStep_UnderTheJitAndNativeAot()
    {
        // The weights: Tiny's with seed 2, saved here; the consumer compiles them in (DslWeights) and runs Pretrained().
        string project = _feed.CreateConsumerWithItems("compiled", "<DslWeights Include=\"weights/tiny.safetensors\" />", "CompiledProgram.cs", "Tiny.cs", "CompiledTiny.cs");
        Directory.CreateDirectory(Path.Combine(project, "weights"));
        new PackageConsumer.Tiny(seed: 2).Save(Path.Combine(project, "weights", "tiny.safetensors"));
        File.Move(Path.Combine(project, "CompiledProgram.cs"), Path.Combine(project, "Program.cs"));
        CommandResult build = Dotnet.Run(project, PackageFeed.BuildTimeout, "build", "-c", "Release", "-nologo");
        _output.WriteLine(build.ToString());
        Assert.True(build.ExitCode == 0, "The consumer with compiled-in weights did not build:\n" + build);
        AssertNoWarnings(build);

        string expected = PackageConsumer.Tiny.Outputs(seed: 2);
        CommandResult jit = Dotnet.Exec(Dotnet.Host, ["run", "-c", "Release", "--no-build"], project, RunTimeout, null);
        _output.WriteLine(jit.ToString());
        Assert.True(jit.ExitCode == 0, "The consumer failed:\n" + jit);
        Assert.Contains("outputs " + expected + "\n", jit.Output.Replace("\r", ""));
        Assert.Contains("reads-compiled True", jit.Output);

        string native = Publish(project, RuntimeInformation.RuntimeIdentifier, "compiled", "-p:IlcInstructionSet=native");
        CommandResult aot = Dotnet.Exec(native, [], Path.GetDirectoryName(native)!, RunTimeout, null);
        _output.WriteLine(aot.ToString());
        Assert.True(aot.ExitCode == 0, "The NativeAOT consumer failed:\n" + aot);
        Assert.Contains("reads-compiled True", aot.Output);
        // The weights travel inside the executable: nothing but it was published next to it that holds them.
        Assert.False(Directory.EnumerateFiles(Path.GetDirectoryName(native)!, "*.safetensors", SearchOption.AllDirectories).Any());
        if (Runtime.MachineIsa == Runtime.Isa) Assert.Contains("outputs " + expected + "\n", aot.Output.Replace("\r", ""));
    }

    [Fact]
    public void Consumer_DslDiagnostic_FailsItsBuild()
    {
        string project = _feed.CreateConsumer("broken", "Program.cs", "Tiny.cs", "BadNetwork.cs");
        CommandResult build = Dotnet.Run(project, PackageFeed.BuildTimeout, "build", "-c", "Release", "-nologo");
        _output.WriteLine(build.ToString());
        Assert.True(build.ExitCode != 0, "The build of a network with Dense(0) succeeded:\n" + build);
        Assert.True(build.Output.Contains("error DSL0102", StringComparison.Ordinal), "The build did not fail with DSL0102 from the packaged generator:\n" + build);
    }

    [Fact]
    public void Consumer_DslInstructionSets_ReachesThePackagedGenerator()
    {
        // build/Dsl.props makes the property visible to the generator; an unknown name proves it was read.
        string project = _feed.CreateConsumer("instruction-sets", "Program.cs", "Tiny.cs");
        CommandResult build = Dotnet.Run(project, PackageFeed.BuildTimeout, "build", "-c", "Release", "-nologo", "-p:DslInstructionSets=sse4");
        _output.WriteLine(build.ToString());
        Assert.True(build.ExitCode != 0 && build.Output.Contains("error DSL0012", StringComparison.Ordinal),
            "DslInstructionSets=sse4 did not fail the build with DSL0012 from the packaged generator:\n" + build);
    }

    private readonly record struct AppRun(string Outputs, InstructionSet Isa, InstructionSet MachineIsa);

    /// <summary>The consumer app, built once (Release) for every test that runs it.</summary>
    private string ConsumerApp()
    {
        lock (s_consumerLock)
        {
            if (s_consumer is { } built && built.Feed == _feed) return built.Directory;
            string directory = _feed.CreateConsumer("app", "Program.cs", "Tiny.cs");
            CommandResult build = Dotnet.Run(directory, PackageFeed.BuildTimeout, "build", "-c", "Release", "-nologo");
            _output.WriteLine(build.ToString());
            Assert.True(build.ExitCode == 0, "The consumer app did not build:\n" + build);
            AssertNoWarnings(build);
            s_consumer = (_feed, directory);
            return directory;
        }
    }

    private static readonly object s_consumerLock = new();
    private static (PackageFeed Feed, string Directory)? s_consumer;

    /// <summary>Publishes <paramref name="project"/> with NativeAOT into its own folder and returns the executable.</summary>
    private string Publish(string project, string rid, string name, params string[] extra)
    {
        string output = Path.Combine(_feed.Root, "published-" + name);
        CommandResult publish = Dotnet.Run(project, PackageFeed.BuildTimeout,
            ["publish", "-c", "Release", "-r", rid, "-p:PublishAot=true", "-nologo", "-o", output, .. extra]);
        _output.WriteLine(publish.ToString());
        Assert.True(publish.ExitCode == 0,
            "NativeAOT publish failed (on Linux it needs clang and zlib1g-dev: scripts/install-aot.sh installs them):\n" + publish);
        AssertNoWarnings(publish);
        string executable = Path.Combine(output, Path.GetFileName(project) + (OperatingSystem.IsWindows() ? ".exe" : ""));
        Assert.True(File.Exists(executable), $"{executable} was not published:\n{publish}");
        _output.WriteLine($"NativeAOT executable ({name}): {new FileInfo(executable).Length:N0} bytes, published in {publish.Elapsed.TotalSeconds:F0} s");
        return executable;
    }

    private AppRun RunApp(string file, string[] arguments, string directory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        CommandResult run = Dotnet.Exec(file, arguments, directory, RunTimeout, environment);
        _output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, "The consumer app failed:\n" + run);
        string Line(string label) =>
            run.Output.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith(label + " ", StringComparison.Ordinal))?[(label.Length + 1)..]
            ?? throw new Xunit.Sdk.XunitException($"No '{label}' line in the consumer's output:\n{run}");
        return new AppRun(Line("outputs"), Enum.Parse<InstructionSet>(Line("isa")), Enum.Parse<InstructionSet>(Line("machine")));
    }

    /// <summary>
    /// Outputs of another rung: its kernels add in another order (and fuse multiply-adds or not), so they agree to
    /// float rounding. 1e-5 of the largest output covers a 4-32-3 network's (observed ~1e-7).
    /// </summary>
    private static void AssertClose(string expected, string actual)
    {
        float[] e = Parse(expected), a = Parse(actual);
        Assert.Equal(e.Length, a.Length);
        float scale = Math.Max(1f, e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5f * scale, $"output {i}: expected {e[i]}, got {a[i]}\nexpected {expected}\nactual   {actual}");
    }

    private static float[] Parse(string outputs) => outputs.Split(' ').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static void AssertNoWarnings(CommandResult result)
    {
        string[] warnings = result.Output.Split('\n').Where(l => l.Contains(": warning ", StringComparison.Ordinal)).ToArray();
        Assert.True(warnings.Length == 0, "Warnings:\n" + string.Join("\n", warnings) + "\n\n" + result);
    }

    private static XElement Metadata(ZipArchive package)
    {
        ZipArchiveEntry nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using Stream stream = nuspec.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Value(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    private static IEnumerable<XElement> Dependencies(XElement metadata) =>
        metadata.Descendants().Where(e => e.Name.LocalName == "dependency");
}
