using System;
using System.Text;

namespace CharGpt;

/// <summary>
/// The model's alphabet, fixed so the declaration can name its size: newline, tab, the 95 printable ASCII characters
/// and one id for every other character (decoded as U+FFFD). Fortunes are almost all ASCII.
/// </summary>
public static class Characters
{
    /// <summary>Ids: 0 newline, 1 tab, 2..96 ' '..'~', 97 anything else.</summary>
    public const int Count = 98;

    private const int Other = Count - 1;

    /// <summary>The characters of ids 0..Count-1, as saved in the weights file's metadata.</summary>
    public static string Alphabet { get; } = BuildAlphabet();

    private static string BuildAlphabet()
    {
        var s = new StringBuilder("\n\t");
        for (char c = ' '; c <= '~'; c++) s.Append(c);
        s.Append('\uFFFD');
        return s.ToString();
    }

    /// <summary>The id of a character.</summary>
    public static int Id(char c) => c switch
    {
        '\n' => 0,
        '\t' => 1,
        >= ' ' and <= '~' => c - ' ' + 2,
        _ => Other,
    };

    /// <summary>Ids of a text.</summary>
    public static int[] Encode(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++) ids[i] = Id(text[i]);
        return ids;
    }

    /// <summary>A text from ids, through <paramref name="alphabet"/> (a loaded model's, from its file).</summary>
    public static string Decode(ReadOnlySpan<int> ids, string alphabet)
    {
        var s = new StringBuilder(ids.Length);
        foreach (int id in ids) s.Append(alphabet[id]);
        return s.ToString();
    }
}
