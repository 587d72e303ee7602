using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Dsl.Generator.Weights;

/// <summary>One tensor's header entry: dtype, shape and byte range in the data section.</summary>
internal sealed record SafeTensorsEntry(string Name, string Dtype, long[] Shape, long Begin, long End);

/// <summary>
/// The build-time reader of a safetensors file: the 8-byte header length, the JSON header, the data section. It
/// accepts what the runtime's <c>Dsl.SafeTensors.Load</c> (System.Text.Json's Utf8JsonReader) accepts — a repeated
/// field's last value counts, skipped values and metadata values are not decoded, nesting stops at 64 — so a file
/// compiles in exactly when it loads (the generator tests hold 10,000 mutated files to that). Problems come back
/// in the runtime's wording after "Safetensors file 'x' ", never as exceptions.
/// </summary>
internal static class SafeTensorsFile
{
    public const long MaxHeaderBytes = 100 * 1024 * 1024; // as Dsl.SafeTensors.MaxHeaderBytes
    public const int MaxTensors = 100_000;                 // as Dsl.SafeTensors.MaxTensors
    private const int MaxDepth = 64;                       // Utf8JsonReader's default

    /// <summary>The header's entries and where the data section starts, or the problem.</summary>
    public static List<SafeTensorsEntry>? ReadHeader(byte[] file, out long dataStart, out string? problem)
    {
        dataStart = 0;
        if (file.Length < 8)
        {
            problem = $"is truncated: it has {file.Length} bytes, fewer than the 8-byte header length.";
            return null;
        }
        ulong declared = BitConverter.ToUInt64(file, 0);
        if (!BitConverter.IsLittleEndian) declared = Swap(declared);
        if (declared > MaxHeaderBytes)
        {
            problem = $"declares a header of {declared} bytes, more than the limit of {MaxHeaderBytes}; it is corrupt or not a safetensors file.";
            return null;
        }
        if ((long)declared > file.Length - 8L)
        {
            problem = $"is truncated or corrupt: it declares a header of {declared} bytes, but only {file.Length - 8} bytes follow the header length.";
            return null;
        }
        dataStart = 8 + (long)declared;
        // One char per byte: the JSON structure is ASCII, and only the strings kept (names, dtypes, keys) are decoded
        // as UTF-8, strictly; like the runtime's Utf8JsonReader, the bytes of a skipped value are not decoded.
        var json = new StringBuilder((int)declared);
        for (int i = 0; i < (int)declared; i++) json.Append((char)file[8 + i]);
        var reader = new Reader(json.ToString());
        List<SafeTensorsEntry>? entries = reader.Header();
        problem = reader.Problem;
        return problem is null ? entries : null;
    }

    private static ulong Swap(ulong v)
    {
        ulong r = 0;
        for (int i = 0; i < 8; i++) r = (r << 8) | ((v >> (8 * i)) & 0xFF);
        return r;
    }

    /// <summary>A strict JSON reader over the header text; the first problem stops it.</summary>
    private sealed class Reader
    {
        private readonly string _text;
        private int _at;

        public Reader(string text) => _text = text;

        public string? Problem { get; private set; }

        public List<SafeTensorsEntry>? Header()
        {
            Space();
            if (!Take('{')) return Fail("has a header that is not a JSON object.");
            var entries = new List<SafeTensorsEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            if (!Members(name =>
                {
                    if (!names.Add(name)) return Fail<bool>($"lists '{name}' twice in its header.");
                    if (name == "__metadata__") return Metadata();
                    if (entries.Count == MaxTensors) return Fail<bool>($"lists more than {MaxTensors} tensors in its header.");
                    SafeTensorsEntry? entry = Entry(name);
                    if (entry is null) return false;
                    entries.Add(entry);
                    return true;
                }))
                return null;
            Space();
            if (_at != _text.Length) return Fail("has data after the header's JSON object.");
            return entries;
        }

        // The members of an object whose '{' was read, each handed to `member` after its name and colon.
        private bool Members(Func<string, bool> member)
        {
            Space();
            if (Take('}')) return true;
            while (true)
            {
                Space();
                string? name = String();
                if (name is null) return false;
                Space();
                if (!Take(':')) return Fail<bool>("has a header that is not valid JSON: a member name without ':'.");
                Space();
                if (!member(name)) return false;
                Space();
                if (Take(',')) continue;
                if (Take('}')) return true;
                return Fail<bool>("has a header that is not valid JSON: expected ',' or '}' after a member.");
            }
        }

        private bool Metadata()
        {
            if (Word("null")) return true;
            if (!Take('{')) return Fail<bool>("has a __metadata__ that is not an object.");
            return Members(key =>
            {
                if (Peek() != '"') return Fail<bool>($"has a __metadata__ value for '{key}' that is not a string.");
                return String(decode: false) is not null;
            });
        }

        private SafeTensorsEntry? Entry(string name)
        {
            if (!Take('{')) return Fail<SafeTensorsEntry>($"has header entry '{name}' that is not an object.");
            string? dtype = null;
            long[]? shape = null, offsets = null;
            // A repeated field's last value counts, as in the runtime's reader.
            bool ok = Members(field =>
            {
                switch (field)
                {
                    case "dtype":
                        if (Peek() != '"') return Fail<bool>($"has tensor '{name}' whose dtype is not a string.");
                        return (dtype = String()) is not null;
                    case "shape":
                        return (shape = Naturals(name, field)) is not null;
                    case "data_offsets":
                        offsets = Naturals(name, field);
                        if (offsets is null) return false;
                        return offsets.Length == 2 || Fail<bool>($"has tensor '{name}' whose data_offsets has {offsets.Length} entries, expected 2 (begin, end).");
                    default:
                        return Value(3); // unknown fields are ignored, as the reference implementation does
                }
            });
            if (!ok) return null;
            if (dtype is null || shape is null || offsets is null)
                return Fail<SafeTensorsEntry>($"has tensor '{name}' without {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")} in its header.");
            return new SafeTensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
        }

        // An array of non-negative integers written without sign, fraction or exponent, each fitting a long.
        private long[]? Naturals(string name, string field)
        {
            if (!Take('[')) return Fail<long[]>($"has tensor '{name}' whose {field} is not an array.");
            var values = new List<long>();
            Space();
            if (Take(']')) return values.ToArray();
            while (true)
            {
                Space();
                int start = _at;
                while (_at < _text.Length && _text[_at] >= '0' && _text[_at] <= '9') _at++;
                string digits = _text.Substring(start, _at - start);
                bool plain = digits.Length > 0 && (digits.Length == 1 || digits[0] != '0') && (_at == _text.Length || "-+.eE".IndexOf(_text[_at]) < 0);
                if (!plain || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                    return Fail<long[]>($"has tensor '{name}' whose {field} holds something other than a non-negative integer.");
                values.Add(value);
                Space();
                if (Take(',')) continue;
                if (Take(']')) return values.ToArray();
                return Fail<long[]>($"has tensor '{name}' whose {field} is not a valid JSON array.");
            }
        }

        // Any JSON value, checked and skipped.
        private bool Value(int depth)
        {
            char c = Peek();
            if ((c == '{' || c == '[') && depth > MaxDepth) return Fail<bool>("has a header nested too deeply.");
            if (c == '"') return String(decode: false) is not null;
            if (c == '{') { _at++; return Members(_ => Value(depth + 1)); }
            if (c == '[')
            {
                _at++;
                Space();
                if (Take(']')) return true;
                while (true)
                {
                    Space();
                    if (!Value(depth + 1)) return false;
                    Space();
                    if (Take(',')) continue;
                    if (Take(']')) return true;
                    return Fail<bool>("has a header that is not valid JSON: expected ',' or ']' in an array.");
                }
            }
            if (Word("true") || Word("false") || Word("null")) return true;
            return Number() || Fail<bool>("has a header that is not valid JSON: an unexpected character.");
        }

        // RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        private bool Number()
        {
            int at = _at;
            if (at < _text.Length && _text[at] == '-') at++;
            if (at < _text.Length && _text[at] == '0') at++;
            else if (!Digits(ref at)) return false;
            if (at < _text.Length && _text[at] == '.') { at++; if (!Digits(ref at)) return false; }
            if (at < _text.Length && (_text[at] == 'e' || _text[at] == 'E'))
            {
                at++;
                if (at < _text.Length && (_text[at] == '+' || _text[at] == '-')) at++;
                if (!Digits(ref at)) return false;
            }
            _at = at;
            return true;
        }

        private bool Digits(ref int at)
        {
            int start = at;
            while (at < _text.Length && _text[at] >= '0' && _text[at] <= '9') at++;
            return at > start;
        }

        // A JSON string: decoded (strict UTF-8, no lone surrogates) when kept, only checked when skipped.
        private string? String(bool decode = true)
        {
            if (!Take('"')) return Fail<string>("has a header that is not valid JSON: expected a string.");
            var value = new StringBuilder();
            var raw = new List<byte>();
            while (_at < _text.Length)
            {
                char c = _text[_at++];
                if (c == '"') return Flush(value, raw, decode, end: true) ? (decode ? value.ToString() : "") : null;
                if (c < 0x20) return Fail<string>("has a header that is not valid JSON: a control character inside a string.");
                if (c != '\\')
                {
                    if (decode) raw.Add((byte)c);
                    continue;
                }
                if (!Flush(value, raw, decode, end: false)) return null;
                if (_at >= _text.Length) break;
                char e = _text[_at++];
                switch (e)
                {
                    case '"': value.Append('"'); break;
                    case '\\': value.Append('\\'); break;
                    case '/': value.Append('/'); break;
                    case 'b': value.Append('\b'); break;
                    case 'f': value.Append('\f'); break;
                    case 'n': value.Append('\n'); break;
                    case 'r': value.Append('\r'); break;
                    case 't': value.Append('\t'); break;
                    case 'u':
                        if (!Hex(out char unit)) return Fail<string>("has a header that is not valid JSON: a bad \\u escape.");
                        value.Append(unit);
                        break;
                    default:
                        return Fail<string>("has a header that is not valid JSON: a bad escape in a string.");
                }
            }
            return Fail<string>("has a header that is not valid JSON: a string that does not end.");
        }

        // Appends the raw bytes read since the last escape, decoded; at the end of a kept string, also checks its
        // surrogates pair up (the runtime cannot turn a lone one into a string).
        private bool Flush(StringBuilder value, List<byte> raw, bool decode, bool end)
        {
            if (!decode) return true;
            try
            {
                value.Append(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(raw.ToArray()));
            }
            catch (ArgumentException)
            {
                return Fail<bool>("has a header that is not valid UTF-8 JSON.");
            }
            raw.Clear();
            if (!end) return true;
            for (int i = 0; i < value.Length; i++)
            {
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
                else if (char.IsSurrogate(value[i])) return Fail<bool>("has a header with a lone surrogate in a string.");
            }
            return true;
        }

        private bool Hex(out char unit)
        {
            unit = '\0';
            if (_at + 4 > _text.Length) return false;
            int v = 0;
            for (int i = 0; i < 4; i++)
            {
                int d = HexDigit(_text[_at + i]);
                if (d < 0) return false;
                v = v * 16 + d;
            }
            _at += 4;
            unit = (char)v;
            return true;
        }

        private static int HexDigit(char c) =>
            c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        private bool Word(string word)
        {
            if (string.CompareOrdinal(_text, _at, word, 0, word.Length) != 0) return false;
            _at += word.Length;
            return true;
        }

        private char Peek() => _at < _text.Length ? _text[_at] : '\0';

        private bool Take(char c)
        {
            if (Peek() != c || _at >= _text.Length) return false;
            _at++;
            return true;
        }

        private void Space()
        {
            while (_at < _text.Length && (_text[_at] == ' ' || _text[_at] == '\t' || _text[_at] == '\n' || _text[_at] == '\r')) _at++;
        }

        private T? Fail<T>(string problem)
        {
            Problem ??= problem;
            return default;
        }

        private List<SafeTensorsEntry>? Fail(string problem) => Fail<List<SafeTensorsEntry>>(problem);
    }
}
