using System;

namespace Dsl.Generator.Weights;

/// <summary>
/// A weights file as the package's build step hands it to the generator. Roslyn gives a generator its
/// additional files as decoded text, and a generator must not read files itself, so the step (DslEncodeWeights
/// in Dsl.targets) writes each <c>&lt;DslWeights&gt;</c> item to <c>obj/…/dsl-weights/*.dslweights</c>: a format
/// line, the path as the project names it, then the file's bytes in base64.
/// </summary>
internal sealed class WeightsFile : IEquatable<WeightsFile>
{
    public const string Extension = ".dslweights";
    public const string FormatLine = "dsl-weights 1";

    private WeightsFile(string path, byte[]? bytes, string? problem)
    {
        Path = path;
        Bytes = bytes;
        Problem = problem;
    }

    /// <summary>The path as the project's <c>DslWeights</c> item names it, with '/' separators.</summary>
    public string Path { get; }

    /// <summary>The file's bytes, or null when the encoded text is malformed (<see cref="Problem"/>).</summary>
    public byte[]? Bytes { get; }

    public string? Problem { get; }

    /// <summary>Decodes the build step's text; never throws.</summary>
    public static WeightsFile Read(string additionalFilePath, string? text)
    {
        string fallback = System.IO.Path.GetFileNameWithoutExtension(additionalFilePath);
        if (text is null) return new WeightsFile(fallback, null, "could not be read by the build");
        int first = text.IndexOf('\n');
        int second = first < 0 ? -1 : text.IndexOf('\n', first + 1);
        if (first < 0 || second < 0)
            return new WeightsFile(fallback, null, $"was not encoded by this version of the Dsl build step (expected '{FormatLine}' first); rebuild");
        string path = Normalize(text.Substring(first + 1, second - first - 1).TrimEnd('\r'));
        if (text.Substring(0, first).TrimEnd('\r') != FormatLine)
            return new WeightsFile(path, null, $"was not encoded by this version of the Dsl build step (expected '{FormatLine}' first); rebuild");
        try
        {
            return new WeightsFile(path, Convert.FromBase64String(text.Substring(second + 1).Trim()), null);
        }
        catch (FormatException)
        {
            return new WeightsFile(path, null, "was encoded incompletely by the build step; rebuild");
        }
    }

    /// <summary>Whether <paramref name="requested"/>, the attribute's <c>Weights</c>, names this file: the same relative path, or its file name.</summary>
    public bool Matches(string requested)
    {
        string wanted = Normalize(requested);
        if (string.Equals(wanted, Path, StringComparison.Ordinal)) return true;
        return Path.EndsWith("/" + wanted, StringComparison.Ordinal) || (wanted.IndexOf('/') < 0 && FileName(Path) == wanted);
    }

    private static string FileName(string path) => path.Substring(path.LastIndexOf('/') + 1);

    internal static string Normalize(string path)
    {
        string p = path.Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal)) p = p.Substring(2);
        return p;
    }

    public bool Equals(WeightsFile? other)
    {
        if (other is null) return false;
        if (Path != other.Path || Problem != other.Problem) return false;
        if (Bytes is null || other.Bytes is null) return Bytes == other.Bytes;
        return Bytes.AsSpan().SequenceEqual(other.Bytes);
    }

    public override bool Equals(object? obj) => Equals(obj as WeightsFile);

    public override int GetHashCode()
    {
        int hash = Path.GetHashCode() * 31 + (Bytes?.Length ?? -1);
        if (Bytes is { Length: > 0 } b) hash = hash * 31 + b[b.Length / 2];
        return hash;
    }
}
