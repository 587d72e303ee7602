using System;
using System.IO;
using System.Runtime.CompilerServices;

namespace Dsl.Generator.Tests;

/// <summary>
/// Snapshot assertions with Verify's conventions: the baseline <c>Snapshots/{name}.verified.cs</c> lives next to
/// the calling test file; a mismatch writes <c>{name}.received.cs</c> beside it and fails with the first differing
/// line. <c>DSL_ACCEPT_SNAPSHOTS=1</c> (or Verify's <c>VERIFY_AUTOVERIFY=1</c>) overwrites the baseline instead.
/// </summary>
internal static class Snapshot
{
    public static void Verify(string actual, string name, [CallerFilePath] string callerFile = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(callerFile)!, "Snapshots");
        string verifiedPath = Path.Combine(directory, name + ".verified.cs");
        string receivedPath = Path.Combine(directory, name + ".received.cs");
        actual = Normalize(actual);
        string? expected = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;

        if (expected == actual)
        {
            File.Delete(receivedPath);
            return;
        }
        Directory.CreateDirectory(directory);
        if (Accepting)
        {
            File.WriteAllText(verifiedPath, actual);
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, actual);
        Assert.Fail(expected is null
            ? $"No snapshot {verifiedPath}.\nWrote {receivedPath}: review it, then rename it to .verified.cs or rerun with DSL_ACCEPT_SNAPSHOTS=1."
            : $"Snapshot {name} differs from {verifiedPath} (received file written beside it).\n{FirstDifference(expected, actual)}");
    }

    private static bool Accepting => IsSet("DSL_ACCEPT_SNAPSHOTS") || IsSet("VERIFY_AUTOVERIFY");

    private static bool IsSet(string variable) =>
        Environment.GetEnvironmentVariable(variable) is string value
        && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    private static string Normalize(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n');

    private static string FirstDifference(string expected, string actual)
    {
        string[] verified = expected.Split('\n');
        string[] received = actual.Split('\n');
        int line = 0;
        while (line < verified.Length && line < received.Length && verified[line] == received[line]) line++;
        static string At(string[] lines, int i) => i < lines.Length ? lines[i] : "<end of file>";
        return $"First difference at line {line + 1} (verified has {verified.Length} lines, received {received.Length}):\n"
            + $"  verified: {At(verified, line)}\n"
            + $"  received: {At(received, line)}";
    }
}
