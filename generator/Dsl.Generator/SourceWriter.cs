using System;
using System.Globalization;
using System.Text;

namespace Dsl.Generator;

/// <summary>A small indented text writer, the way dotnet/runtime's generators emit source: plain text, no syntax trees.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _builder = new();
    private int _indent;

    /// <summary>Applied to every line written while set (a loop body rebasing one copy's offsets onto the loop's copy).</summary>
    public Func<string, string>? Rewrite { get; set; }

    public void Line(string text = "")
    {
        if (text.Length == 0)
        {
            _builder.Append('\n');
            return;
        }
        if (Rewrite is not null) text = Rewrite(text);
        _builder.Append(' ', _indent * 4).Append(text).Append('\n');
    }

    public void OpenBlock(string header)
    {
        if (header.Length > 0) Line(header);
        Line("{");
        _indent++;
    }

    public void CloseBlock(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    public override string ToString() => _builder.ToString();

    /// <summary>A float literal that round-trips and is culture-proof (fi-FI would write a U+2212 minus).</summary>
    public static string Float(float value) => value.ToString("R", CultureInfo.InvariantCulture) + "f";

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Thousands-separated for comments and summaries.</summary>
    public static string Grouped(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Camel(string pascal) => pascal.Length == 0 ? pascal : char.ToLowerInvariant(pascal[0]) + pascal.Substring(1);

    public static string Pad(string text, int width) => text.Length >= width ? text : text + new string(' ', width - text.Length);

}
