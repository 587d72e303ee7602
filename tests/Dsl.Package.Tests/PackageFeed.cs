using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;

namespace Dsl.Package.Tests;

/// <summary>
/// Dsl and Dsl.Onnx packed once for all the package tests, into a local feed in a temporary folder, under a version
/// no earlier run used (so NuGet's global packages folder cannot hand back a stale copy); consumer projects are made
/// beside the feed, outside the repository, so its Directory.Build.props and Directory.Packages.props do not apply.
/// Disposing deletes the folder and that version from the global packages folder.
/// </summary>
public sealed class PackageFeed : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);

    private readonly string _globalPackages;

    public PackageFeed()
    {
        RepositoryRoot = FindRepositoryRoot();
        // The projects are packed as built: the tests run after a build of the solution (scripts/test.sh builds it,
        // `dotnet test` builds this project and, through its references, Dsl, Dsl.Onnx and the generator).
        foreach (string built in new[]
                 {
                     $"src/Dsl/bin/{Configuration}/net10.0/Dsl.dll",
                     $"src/Dsl.Onnx/bin/{Configuration}/net10.0/Dsl.Onnx.dll",
                     $"generator/Dsl.Generator/bin/{Configuration}/netstandard2.0/Dsl.Generator.dll",
                 })
            if (!File.Exists(Path.Combine(RepositoryRoot, built)))
                throw new InvalidOperationException($"{built} is missing: build the solution first (dotnet build Dsl.sln -c {Configuration}); the package tests pack the built projects with --no-build.");

        string suffix = $"test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Version = $"{VersionPrefix()}-{suffix}";
        Root = Path.Combine(Path.GetTempPath(), $"dsl-package-tests-{Guid.NewGuid():N}");
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        _globalPackages = GlobalPackagesFolder();

        foreach (string project in new[] { "src/Dsl/Dsl.csproj", "src/Dsl.Onnx/Dsl.Onnx.csproj" })
        {
            // The nuspec goes beside the feed, not into the project's obj folder, which would collect one per run.
            CommandResult pack = Dotnet.Run(RepositoryRoot, BuildTimeout, "pack", project, "-c", Configuration, "--no-build", "-nologo",
                "-o", Feed, $"-p:VersionSuffix={suffix}", $"-p:NuspecOutputPath={Path.Combine(Root, "nuspec")}/");
            if (pack.ExitCode != 0) throw new InvalidOperationException("dotnet pack failed:\n" + pack);
            PackOutput += pack + "\n";
        }
    }

    public string RepositoryRoot { get; }

    /// <summary>The packages' version, e.g. 0.1.0-test.20261205190000.1234.</summary>
    public string Version { get; }

    /// <summary>The temporary folder: the feed and the consumer projects.</summary>
    public string Root { get; }

    public string Feed { get; }

    public string PackOutput { get; } = "";

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>
    /// A new console project outside the repository: one package reference to Dsl, the given files from this test
    /// project's Consumer folder, and a nuget.config listing the local feed and this machine's package sources.
    /// </summary>
    public string CreateConsumer(string name, params string[] consumerFiles) => CreateConsumerWithItems(name, "", consumerFiles);

    /// <summary>A consumer project whose csproj also holds <paramref name="extraItems"/> (e.g. a DslWeights item).</summary>
    public string CreateConsumerWithItems(string name, string extraItems, params string[] consumerFiles)
    {
        string directory = Path.Combine(Root, name);
        Directory.CreateDirectory(directory);
        // What a consumer minimally needs: the target framework and the package; no LangVersion (C# 14 is net10.0's
        // default, partial properties need 13) and no AllowUnsafeBlocks (only lets the generated code skip zeroing).
        File.WriteAllText(Path.Combine(directory, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Dsl" Version="{Version}" />
                {extraItems}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(directory, "nuget.config"), NuGetConfig());
        foreach (string file in consumerFiles)
            File.Copy(Path.Combine(RepositoryRoot, "tests/Dsl.Package.Tests/Consumer", file), Path.Combine(directory, file));
        return directory;
    }

    /// <summary>The local feed first, then the sources of the machine's own NuGet configuration.</summary>
    private string NuGetConfig()
    {
        var sources = new XElement("packageSources", new XElement("add", new XAttribute("key", "dsl-local"), new XAttribute("value", Feed)));
        string userConfig = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "NuGet", "NuGet.Config");
        List<XElement> machineSources = File.Exists(userConfig)
            ? XDocument.Load(userConfig).Root?.Element("packageSources")?.Elements("add").ToList() ?? []
            : [];
        // Copied sources replace the inherited list (clear), so the feed is not listed twice; with none to copy,
        // NuGet's own defaults stay in force.
        if (machineSources.Count > 0) sources.AddFirst(new XElement("clear"));
        foreach (XElement source in machineSources) sources.Add(new XElement(source));
        return new XDocument(new XElement("configuration", sources)).ToString();
    }

    public void Dispose()
    {
        foreach (string id in new[] { "dsl", "dsl.onnx" })
        {
            string restored = Path.Combine(_globalPackages, id, Version.ToLowerInvariant());
            if (Directory.Exists(restored)) Directory.Delete(restored, recursive: true);
            // The id's folder too when no other version is left in it, as before the run.
            string idFolder = Path.GetDirectoryName(restored)!;
            if (Directory.Exists(idFolder) && !Directory.EnumerateFileSystemEntries(idFolder).Any()) Directory.Delete(idFolder);
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A consumer process still holding a file: the temporary folder is left to the OS.
        }
    }

    private string VersionPrefix()
    {
        string props = File.ReadAllText(Path.Combine(RepositoryRoot, "src", "Directory.Build.props"));
        return XDocument.Parse(props).Descendants("VersionPrefix").Single().Value;
    }

    private string GlobalPackagesFolder()
    {
        CommandResult locals = Dotnet.Run(RepositoryRoot, TimeSpan.FromMinutes(1), "nuget", "locals", "global-packages", "--list");
        const string Label = "global-packages:";
        string? line = locals.Output.Split('\n').FirstOrDefault(l => l.Contains(Label, StringComparison.Ordinal));
        if (locals.ExitCode != 0 || line is null) throw new InvalidOperationException("Could not read NuGet's global packages folder:\n" + locals);
        return line[(line.IndexOf(Label, StringComparison.Ordinal) + Label.Length)..].Trim();
    }

    internal static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Dsl.sln"))) return directory.FullName;
        throw new InvalidOperationException($"Dsl.sln not found above {AppContext.BaseDirectory}.");
    }
}

[CollectionDefinition(Name)]
public sealed class PackageFeedCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "Packed feed";
}
