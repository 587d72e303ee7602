using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;

namespace Dsl.Package.Tests;

/// <summary>What a finished command printed, with the command line, for failure messages.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    public override string ToString() => $"$ {Command}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n{Output}";
}

/// <summary>Runs the dotnet CLI and the consumer apps as child processes, with a timeout.</summary>
public static class Dotnet
{
    /// <summary>The dotnet host that runs these tests, so the children use the same SDK.</summary>
    public static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static CommandResult Run(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        Exec(Host, arguments, workingDirectory, timeout, null);

    /// <summary>Runs <paramref name="file"/>; <paramref name="environment"/> entries set (or, with a null value, remove) variables.</summary>
    public static CommandResult Exec(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        // `dotnet test` hands its MSBuild settings to the test host; a child build must find its own SDK and targets.
        foreach (string name in new List<string>(start.Environment.Keys))
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)) start.Environment.Remove(name);
        // No build servers or reused nodes: they would outlive the test holding its output pipes open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        if (environment is not null)
            foreach ((string name, string? value) in environment)
                if (value is null) start.Environment.Remove(name);
                else start.Environment[name] = value;

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string command = file + " " + string.Join(" ", start.ArgumentList);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s: {command}\n{output}");
        }
        process.WaitForExit(); // drains the output events
        lock (output) return new CommandResult(command, process.ExitCode, output.ToString(), stopwatch.Elapsed);
    }
}
