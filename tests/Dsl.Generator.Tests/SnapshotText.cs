using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Dsl.Generator.Tests;

/// <summary>
/// Cuts a generated file down to what a reviewer of a snapshot diff needs: the plumbing, the plan and one kernel.
/// The kernels are thousands of lines of unrolled SIMD per network; the numeric tests check what they compute, so a
/// baseline that repeats them only buries an emitter change under lines nobody reads.
/// </summary>
internal static class SnapshotText
{
    // A kernel class as the emitter writes it: declared on its own line, '{' and '}' alone on lines at the same indentation.
    private static readonly Regex s_kernelClass = new(@"^(?<indent> *)private static partial class \w+Kernels$", RegexOptions.CultureInvariant);

    // Counted as CompileCostTests counts kernel methods; the small inlined dispatchers in front of them are not.
    private const string KernelMethodAttribute = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

    /// <summary>
    /// <paramref name="source"/> (lines ending in '\n', as the generator's SourceWriter writes them) with the bodies
    /// of its kernel classes elided, except (with <paramref name="keepOneWhole"/>) the first kernel class that has code,
    /// which stays whole. An elided class
    /// keeps its opening run of constants and comments (shapes and offsets into the parameter array are the plan a
    /// reviewer checks) and in place of the rest one comment saying how many lines and kernel methods it left out.
    /// Everything outside kernel classes stays verbatim. A file without kernel classes comes back unchanged, and so
    /// does an elided file: an elided class holds only constants and comments, so it has no code to elide.
    /// </summary>
    public static string ElideKernels(string source, bool keepOneWhole = true)
    {
        string[] lines = source.Split('\n');
        var result = new List<string>(lines.Length);
        bool keptOneWhole = !keepOneWhole;
        int i = 0;
        while (i < lines.Length)
        {
            Match kernelClass = s_kernelClass.Match(lines[i]);
            if (!kernelClass.Success)
            {
                result.Add(lines[i++]);
                continue;
            }

            string indent = kernelClass.Groups["indent"].Value;
            int close = ClosingBrace(lines, i, indent);
            string[] body = lines[(i + 2)..close];
            string memberIndent = indent + "    ";
            int plan = PlanLength(body, memberIndent);
            bool hasCode = plan < body.Length;
            result.Add(lines[i]);
            result.Add(lines[i + 1]);
            if (!hasCode || !keptOneWhole)
            {
                result.AddRange(body);
                keptOneWhole |= hasCode;
            }
            else
            {
                Elide(body, plan, memberIndent, result);
            }
            result.Add(lines[close]);
            i = close + 1;
        }
        return string.Join("\n", result);
    }

    /// <summary>The line of the '}' that closes the kernel class declared on line <paramref name="declaration"/>.</summary>
    private static int ClosingBrace(string[] lines, int declaration, string indent)
    {
        if (declaration + 1 >= lines.Length || lines[declaration + 1] != indent + "{")
            throw new InvalidOperationException($"Line {declaration + 2}: expected '{indent}{{' after the kernel class declaration '{lines[declaration]}'.");
        // Everything inside is indented deeper, so the first '}' at the class's own indentation is its end.
        int close = Array.IndexOf(lines, indent + "}", declaration + 2);
        if (close < 0)
            throw new InvalidOperationException($"The kernel class declared on line {declaration + 1} ('{lines[declaration].Trim()}') is never closed.");
        return close;
    }

    /// <summary>
    /// How many lines the body opens with that are the class's plan: blank lines, and comments and constants at the
    /// class's top level (a class that runs an identical layer's kernels is only these). The body's length if it has no code.
    /// </summary>
    private static int PlanLength(string[] body, string memberIndent)
    {
        int n = 0;
        while (n < body.Length && (body[n].Trim().Length == 0 || IsTopLevelComment(body[n], memberIndent) || IsTopLevelConstant(body[n], memberIndent)))
            n++;
        return n;
    }

    /// <summary>Appends the plan part of <paramref name="body"/> and, instead of the code after it, one comment that counts it.</summary>
    private static void Elide(string[] body, int plan, string memberIndent, List<string> result)
    {
        // The plan ends at its last constant: comments after it introduce the code below them and go with it.
        int keep = plan;
        while (keep > 0 && !IsTopLevelConstant(body[keep - 1], memberIndent))
            keep--;
        int code = keep;
        while (body[code].Trim().Length == 0)
            code++;
        // Blank lines between the constants and the code stay, to separate them from the comment; with no constants they go.
        if (keep > 0)
            result.AddRange(body[..code]);

        int lines = body.Length - code;
        int methods = 0;
        for (int j = code; j < body.Length; j++)
        {
            if (body[j].Contains(KernelMethodAttribute, StringComparison.Ordinal))
                methods++;
        }
        result.Add(string.Create(CultureInfo.InvariantCulture,
            $"{memberIndent}// (kernels elided from this snapshot: {Count(lines, "line")}, {Count(methods, "kernel method")}; the full file is compiled and checked clean by SnapshotTests)"));
    }

    private static bool IsTopLevelComment(string line, string memberIndent) =>
        line.StartsWith(memberIndent + "// ", StringComparison.Ordinal);

    private static bool IsTopLevelConstant(string line, string memberIndent) =>
        line.StartsWith(memberIndent + "public const ", StringComparison.Ordinal)
        || line.StartsWith(memberIndent + "private const ", StringComparison.Ordinal);

    private static string Count(int n, string noun) =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {noun}{(n == 1 ? "" : "s")}");
}
