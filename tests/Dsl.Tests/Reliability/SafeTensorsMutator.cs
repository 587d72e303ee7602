using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Dsl.Tests.Reliability;

/// <summary>
/// A seeded mutator of one valid safetensors file. The header is kept as raw JSON fragments (key, dtype, shape,
/// data_offsets, extra fields, metadata) so a mutation can put anything there, valid or not: duplicate keys,
/// numbers no integer type holds, invalid UTF-8, deep nesting. Byte-level mutations then cut, flip or extend the
/// composed file. Case <c>i</c> uses mutation kind <c>i % KindCount</c>, so every kind is hit evenly, and its
/// parameters come from the seeded <see cref="Random"/>, so a run is reproducible from the seed.
/// </summary>
internal sealed class SafeTensorsMutator
{
    private sealed class Entry
    {
        public required string Key;     // raw JSON string literal, quotes included
        public required string Dtype;   // raw JSON value
        public required string Shape;
        public required string Offsets;
        public string? Extra;           // raw JSON members appended inside the entry object
        public long Begin, End;         // the original range, for data-aware mutations
        public Entry Clone() => (Entry)MemberwiseClone();
    }

    public static readonly string[] KindNames =
    [
        "truncate-at-boundary", "truncate-anywhere", "length-prefix", "trailing-bytes", "header-byte-flip",
        "header-insert-delete", "delete-key", "duplicate-key", "rename-key", "dtype", "shape", "data_offsets",
        "metadata", "deep-nesting", "long-string", "non-utf8", "data-byte-flip", "non-finite", "i64-value",
        "reorder", "whole-header", "extra-fields", "combination",
    ];

    public static int KindCount => KindNames.Length;

    private readonly Random _rng;
    private readonly List<Entry> _entries = [];
    private readonly string? _metadata;
    private readonly byte[] _data;

    public SafeTensorsMutator(byte[] validFile, int seed)
    {
        _rng = new Random(seed);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(validFile);
        _data = validFile.AsSpan(8 + headerLength).ToArray();
        using JsonDocument doc = JsonDocument.Parse(validFile.AsMemory(8, headerLength));
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            string key = JsonSerializer.Serialize(p.Name);
            if (p.Name == "__metadata__")
            {
                _metadata = p.Value.GetRawText();
                continue;
            }
            long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            _entries.Add(new Entry
            {
                Key = key,
                Dtype = p.Value.GetProperty("dtype").GetRawText(),
                Shape = p.Value.GetProperty("shape").GetRawText(),
                Offsets = p.Value.GetProperty("data_offsets").GetRawText(),
                Begin = offsets[0],
                End = offsets[1],
            });
        }
    }

    /// <summary>The mutated file for case <paramref name="index"/>, and what was done to it.</summary>
    public (string Kind, string Detail, byte[] File) Next(int index)
    {
        int kind = index % KindCount;
        var state = new State(_entries.Select(e => e.Clone()).ToList(), _metadata, (byte[])_data.Clone(), Pad: _rng.Next(4) != 0);
        string detail;
        byte[] file;
        if (kind == KindCount - 1)
        {
            // A header mutation (kinds 6..15, 21) then a byte-level one (0..5, 16..18).
            int[] header = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 21];
            int[] bytes = [0, 1, 2, 3, 4, 5, 16, 17, 18];
            int first = header[_rng.Next(header.Length)], second = bytes[_rng.Next(bytes.Length)];
            string d1 = MutateHeader(first, state);
            file = Compose(state);
            (string d2, file) = MutateBytes(second, file, state);
            detail = $"{KindNames[first]}: {d1}; then {KindNames[second]}: {d2}";
        }
        else if (kind is >= 6 and <= 15 or 19 or 20 or 21)
        {
            detail = MutateHeader(kind, state);
            file = state.WholeHeader is null ? Compose(state) : WithHeader(state.WholeHeader, state.Data);
        }
        else
        {
            (detail, file) = MutateBytes(kind, Compose(state), state);
        }
        return (KindNames[kind], detail, file);
    }

    private sealed record State(List<Entry> Entries, string? Metadata, byte[] Data, bool Pad)
    {
        public byte[] Data { get; set; } = Data;
        public string? Metadata { get; set; } = Metadata;
        public bool MetadataLast { get; set; }
        public byte[]? WholeHeader { get; set; }
        public List<string> ExtraMembers { get; } = [];
    }

    // ------------------------------------------------------------------ header mutations (on fragments)

    private string MutateHeader(int kind, State s)
    {
        List<Entry> entries = s.Entries;
        Entry pick = entries[_rng.Next(entries.Count)];
        switch (kind)
        {
            case 6: // delete a tensor or the metadata
                if (_rng.Next(4) == 0) { s.Metadata = null; return "metadata removed (valid)"; }
                entries.Remove(pick);
                return "removed " + pick.Key;
            case 7: // duplicate a key
            {
                int choice = _rng.Next(3);
                if (choice == 0 && s.Metadata is not null) { s.ExtraMembers.Add("\"__metadata__\":" + s.Metadata); return "duplicate __metadata__"; }
                Entry copy = pick.Clone();
                if (choice == 1) copy.Offsets = $"[{pick.Begin + 4},{pick.End + 4}]";
                entries.Insert(_rng.Next(entries.Count + 1), copy);
                return "duplicate " + pick.Key;
            }
            case 8: // rename
            {
                string name = JsonSerializer.Deserialize<string>(pick.Key)!;
                switch (_rng.Next(7))
                {
                    case 0: pick.Key = JsonSerializer.Serialize(name + "x"); return "appended x to " + name;
                    case 1: pick.Key = JsonSerializer.Serialize(name.ToUpperInvariant()); return "upper-cased " + name;
                    case 2: pick.Key = "\"\""; return "empty name for " + name;
                    case 3: pick.Key = JsonSerializer.Serialize(" " + name); return "leading space on " + name;
                    case 4:
                        // The same name spelled with JSON escapes: a valid file.
                        pick.Key = "\"" + string.Concat(name.Select(c => c == '.' ? "\\u002e" : c.ToString())) + "\"";
                        return "escaped dots in " + name + " (valid)";
                    case 5:
                    {
                        // Swap the names of two tensors: valid when their dtypes and shapes agree (the data then swaps).
                        Entry other = entries[_rng.Next(entries.Count)];
                        (pick.Key, other.Key) = (other.Key, pick.Key);
                        return $"swapped names {pick.Key} and {other.Key}";
                    }
                    default: pick.Key = JsonSerializer.Serialize(name + "\u00e9\u4e2d"); return "non-ASCII suffix on " + name;
                }
            }
            case 9: // dtype
            {
                string[] dtypes = ["\"F16\"", "\"BF16\"", "\"F64\"", "\"I32\"", "\"I8\"", "\"U8\"", "\"BOOL\"", "\"I64\"", "\"F32\"", "\"f32\"", "\"\"",
                    "\"F32\\u0000\"", "\"F32 \"", "null", "32", "[\"F32\"]", "{\"a\":1}", "true", "\"F8_E4M3\"", "\"U64\""];
                pick.Dtype = dtypes[_rng.Next(dtypes.Length)];
                return $"dtype of {pick.Key} = {pick.Dtype}";
            }
            case 10: // shape
            {
                long[] shape = JsonSerializer.Deserialize<long[]>(pick.Shape)!;
                string[] shapes =
                [
                    "[]", "[0]", "[-1]", "[1.5]", "[\"3\"]", "[1e400]", "[9223372036854775807]", "[9223372036854775808]",
                    "[18446744073709551616]", "null", "{}", "3", "[[1]]", "[1,2,3,4,5,6,7,8,9,10,11,12]",
                    "[" + string.Join(",", shape.Append(1)) + "]",
                    "[" + string.Join(",", shape.Reverse()) + "]",
                    "[" + shape.Aggregate(1L, (a, b) => a * b) + "]",
                    "[" + string.Join(",", shape.Select(d => d + 1)) + "]",
                    "[" + string.Join(",", shape.Select(d => d.ToString() + ".0")) + "]",
                    "[" + string.Join(",", shape.Select(d => "-0")) + "]",
                ];
                pick.Shape = shapes[_rng.Next(shapes.Length)];
                return $"shape of {pick.Key} = {pick.Shape}";
            }
            case 11: // data_offsets
            {
                long b = pick.Begin, e = pick.End, n = e - b;
                Entry other = entries[_rng.Next(entries.Count)];
                string[] offsets =
                [
                    "[]", $"[{b}]", $"[{b},{e},{e}]", $"[-4,{e}]", $"[{b},{e + 4}]", $"[{b + 4},{e}]", $"[{e},{b}]", $"[{b - 4},{e - 4}]",
                    $"[{b + 4},{e + 4}]", $"[{b}.5,{e}]", $"[\"{b}\",\"{e}\"]", "null", $"[{b},1e30]", "[9223372036854775807,9223372036854775807]",
                    $"[{1L << 62},{(1L << 62) + n}]", $"[{long.MaxValue - n},{long.MaxValue}]", $"[{b},18446744073709551615]",
                    $"[{b},{e}]", $"[{other.Begin},{other.End}]", $"[0,{n}]", $"[{b * 2},{b * 2 + n}]", $"[{b},{e}.0]", $"[{b},{e}e0]",
                ];
                int which = _rng.Next(offsets.Length);
                pick.Offsets = offsets[which];
                if (which == 18)
                {
                    // Swap ranges with another tensor: valid when both hold as many bytes (their data then swaps).
                    other.Offsets = $"[{b},{e}]";
                }
                return $"data_offsets of {pick.Key} = {pick.Offsets}" + (which == 18 ? " (swapped with " + other.Key + ")" : "");
            }
            case 12: // metadata
            {
                string[] metadata =
                [
                    "null", "{}", "[]", "1", "\"pt\"", "{\"a\":1}", "{\"a\":null}", "{\"a\":{\"b\":\"c\"}}", "{\"a\":[\"b\"]}",
                    "{\"format\":\"pt\",\"x\":\"y\"}", "{\"format\":\"np\"}", "{\"\":\"\"}", "{\"a\":\"\\u0000\"}",
                    "{" + string.Join(",", Enumerable.Range(0, 1000).Select(i => $"\"k{i}\":\"v{i}\"")) + "}",
                    "{\"a\":\"" + new string('v', 100_000) + "\"}", "{\"a\":\"b\",\"a\":\"c\"}", "true",
                ];
                s.Metadata = metadata[_rng.Next(metadata.Length)];
                s.MetadataLast = _rng.Next(2) == 0;
                return $"metadata = {Shorten(s.Metadata)}" + (s.MetadataLast ? " (last)" : "");
            }
            case 13: // deep nesting
            {
                int[] depths = [1, 10, 62, 63, 64, 65, 1000, 100_000];
                int depth = depths[_rng.Next(depths.Length)];
                bool arrays = _rng.Next(2) == 0;
                string nested = arrays
                    ? new string('[', depth) + new string(']', depth)
                    : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                switch (_rng.Next(4))
                {
                    case 0: pick.Extra = "\"x\":" + nested; return $"unknown field nested {depth} deep in {pick.Key}";
                    case 1: s.Metadata = "{\"a\":" + nested + "}"; return $"metadata value nested {depth} deep";
                    case 2: pick.Shape = nested.Replace("]", "1]", StringComparison.Ordinal); return $"shape nested {depth} deep";
                    default: s.WholeHeader = Encoding.UTF8.GetBytes(nested); return $"header is a value nested {depth} deep";
                }
            }
            case 14: // long strings
            {
                int[] lengths = [1000, 65_536, 1 << 20];
                int length = lengths[_rng.Next(lengths.Length)];
                string text = new string((char)('a' + _rng.Next(26)), length);
                switch (_rng.Next(5))
                {
                    case 0: pick.Key = "\"" + text + "\""; return $"tensor name of {length} characters";
                    case 1: pick.Dtype = "\"" + text + "\""; return $"dtype of {length} characters";
                    case 2: s.Metadata = "{\"" + text + "\":\"" + text + "\"}"; return $"metadata key and value of {length} characters";
                    case 3: pick.Extra = "\"comment\":\"" + text + "\""; return $"unknown field of {length} characters (valid)";
                    default: pick.Shape = "[" + new string('1', length) + "]"; return $"shape number of {length} digits";
                }
            }
            case 15: // invalid UTF-8 and escapes; handled on bytes after composing
            {
                string[] escapes = ["\\ud800", "\\udfff", "\\ud800\\u0041", "\\u00", "\\x41", "\\", "\\u0000"];
                string escape = escapes[_rng.Next(escapes.Length)];
                switch (_rng.Next(4))
                {
                    case 0: pick.Key = pick.Key.Insert(1, escape); return $"escape {escape} in name {pick.Key}";
                    case 1: pick.Dtype = "\"F3" + escape + "2\""; return $"escape {escape} in dtype";
                    case 2: s.Metadata = "{\"k" + escape + "\":\"v\"}"; return $"escape {escape} in a metadata key";
                    default: pick.Extra = "\"note\":\"" + escape + "\""; return $"escape {escape} in an unknown field's value";
                }
            }
            case 19: // reorder the header's entries, and optionally the data with them: both valid
            {
                Entry[][] sameSize = entries.GroupBy(e => e.End - e.Begin).Where(g => g.Count() >= 2).Select(g => g.ToArray()).ToArray();
                if (sameSize.Length > 0 && _rng.Next(3) == 0)
                {
                    // Aliasing: two equal-sized tensors share one stored range, and the data section is shortened to
                    // match, so the ranges still cover it without a gap. Only the overlap check can reject this.
                    Entry[] pair = sameSize[_rng.Next(sameSize.Length)];
                    Entry keep = pair[0], alias = pair[1];
                    var shortened = new List<byte>();
                    foreach (Entry e in entries.Where(e => e != alias).OrderBy(e => e.Begin))
                    {
                        long start = shortened.Count;
                        shortened.AddRange(s.Data.AsSpan((int)e.Begin, (int)(e.End - e.Begin)).ToArray());
                        e.Offsets = $"[{start},{shortened.Count}]";
                    }
                    alias.Offsets = keep.Offsets;
                    s.Data = shortened.ToArray();
                    return $"{alias.Key} aliases {keep.Key}'s range {keep.Offsets}";
                }
                Shuffle(entries);
                if (_rng.Next(2) == 0) return "entries reordered (valid)";
                var data = new List<byte>();
                foreach (Entry e in entries)
                {
                    long start = data.Count;
                    data.AddRange(s.Data.AsSpan((int)e.Begin, (int)(e.End - e.Begin)).ToArray());
                    e.Offsets = $"[{start},{data.Count}]";
                }
                data.CopyTo(s.Data);
                return "entries and data reordered (valid)";
            }
            case 20: // the header replaced
            {
                string[] headers = ["", "{}", "[]", "null", "1", "\"x\"", "{\"a\":1}", "{", "}", "{\"a\":}", "{,}", "{\"a\":{}}"];
                int choice = _rng.Next(headers.Length + 5);
                byte[] valid = Encoding.UTF8.GetBytes(HeaderText(s));
                s.WholeHeader = choice switch
                {
                    _ when choice < headers.Length => Encoding.UTF8.GetBytes(headers[choice]),
                    12 => RandomBytes(_rng.Next(1, 256)),
                    13 => [.. valid, .. "{}"u8],
                    14 => [.. "/*c*/"u8, .. valid],
                    15 => [0xEF, 0xBB, 0xBF, .. valid],
                    _ => [.. valid, 0, 0, 0, 0],
                };
                return "header = " + Shorten(Encoding.UTF8.GetString(s.WholeHeader));
            }
            case 21: // extra fields, some valid
            {
                string[] extras = ["\"x\":1", "\"x\":null", "\"x\":{\"y\":[1,2,{}]}", "\"dtype\":null", "\"shape\":null", "\"data_offsets\":null",
                    "\"dtype\":" + pick.Dtype, "\"shape\":" + pick.Shape, "\"data_offsets\":" + pick.Offsets, "\"x\":1e999", "\"x\":-0"];
                pick.Extra = extras[_rng.Next(extras.Length)];
                return $"{pick.Key} gets {pick.Extra}";
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    // ------------------------------------------------------------------ byte mutations (on the composed file)

    private (string Detail, byte[] File) MutateBytes(int kind, byte[] file, State s)
    {
        int headerLength = (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(file), (ulong)(file.Length - 8));
        int dataStart = 8 + headerLength;
        switch (kind)
        {
            case 0: // truncate at a boundary, or one byte either side
            {
                var cuts = new List<long> { 0, 1, 7, 8, 9, dataStart - 1, dataStart, dataStart + 1, file.Length - 1 };
                foreach (Entry e in s.Entries) cuts.AddRange([dataStart + e.Begin - 1, dataStart + e.Begin, dataStart + e.Begin + 1, dataStart + e.End - 1]);
                long cut = Math.Clamp(cuts[_rng.Next(cuts.Count)], 0, file.Length - 1);
                return ($"cut to {cut} of {file.Length} bytes", file.AsSpan(0, (int)cut).ToArray());
            }
            case 1:
            {
                int cut = _rng.Next(file.Length);
                return ($"cut to {cut} of {file.Length} bytes", file.AsSpan(0, cut).ToArray());
            }
            case 2: // the 8-byte header length
            {
                ulong h = (ulong)headerLength;
                ulong[] prefixes =
                [
                    0, 1, 7, h - 1, h + 1, h + 8, (ulong)file.Length - 8, (ulong)file.Length - 7, (ulong)file.Length,
                    SafeTensors.MaxHeaderBytes, SafeTensors.MaxHeaderBytes + 1UL, int.MaxValue, uint.MaxValue, long.MaxValue,
                    ulong.MaxValue, 1UL << 63, unchecked((ulong)-8L), unchecked((ulong)-(long)h), h | (1UL << 32), h << 8,
                    (ulong)_rng.NextInt64(), (ulong)_rng.Next(file.Length + 16),
                ];
                ulong value = prefixes[_rng.Next(prefixes.Length)];
                byte[] copy = (byte[])file.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(copy, value);
                return ($"header length {value} (was {h})", copy);
            }
            case 3:
            {
                byte[] extra = _rng.Next(2) == 0 ? new byte[_rng.Next(1, 65)] : RandomBytes(_rng.Next(1, 65));
                return ($"{extra.Length} bytes appended", [.. file, .. extra]);
            }
            case 4: // random header bytes, often outside ASCII
            {
                byte[] copy = (byte[])file.Clone();
                int flips = _rng.Next(1, 5);
                for (int i = 0; i < flips && headerLength > 0; i++)
                    copy[8 + _rng.Next(headerLength)] = (byte)(_rng.Next(2) == 0 ? _rng.Next(256) : 0x80 + _rng.Next(128));
                return ($"{flips} header bytes changed", copy);
            }
            case 5: // insert or delete header bytes, fixing the length prefix or not
            {
                var list = new List<byte>(file);
                int at = 8 + _rng.Next(Math.Max(1, headerLength));
                int count = _rng.Next(1, 9);
                bool insert = _rng.Next(2) == 0;
                byte[][] insertions = [RandomBytes(count), [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], "\""u8.ToArray(), "\\"u8.ToArray()];
                byte[] inserted = insertions[_rng.Next(insertions.Length)];
                if (insert) list.InsertRange(at, inserted);
                else list.RemoveRange(at, Math.Min(count, list.Count - at));
                byte[] copy = list.ToArray();
                bool fix = _rng.Next(2) == 0;
                int delta = insert ? inserted.Length : -Math.Min(count, file.Length - at);
                if (fix) BinaryPrimitives.WriteUInt64LittleEndian(copy, (ulong)(headerLength + delta));
                return ($"{(insert ? "inserted" : "deleted")} {Math.Abs(delta)} bytes at {at}{(fix ? ", length fixed" : "")}", copy);
            }
            case 16: // data bytes: any F32 bits are a valid value
            {
                byte[] copy = (byte[])file.Clone();
                int flips = _rng.Next(1, 9);
                for (int i = 0; i < flips && copy.Length > dataStart; i++)
                    copy[dataStart + _rng.Next(copy.Length - dataStart)] ^= (byte)(1 << _rng.Next(8));
                return ($"{flips} data bits flipped", copy);
            }
            case 17: // non-finite and odd floats in an F32 tensor: loaded as they are
            {
                byte[] copy = (byte[])file.Clone();
                Entry[] floats = s.Entries.Where(e => e.Dtype == "\"F32\"" && e.End > e.Begin).ToArray();
                if (floats.Length == 0 || copy.Length <= dataStart) return ("no F32 tensor", copy);
                uint[] specials = [0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0x7FC12345, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF];
                int count = _rng.Next(1, 5);
                for (int i = 0; i < count; i++)
                {
                    Entry e = floats[_rng.Next(floats.Length)];
                    long at = dataStart + e.Begin + 4 * _rng.NextInt64((e.End - e.Begin) / 4);
                    if (at + 4 <= copy.Length) BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan((int)at), specials[_rng.Next(specials.Length)]);
                }
                return ($"{count} floats set to NaN/Inf/-0/subnormal/max", copy);
            }
            case 18: // I64 buffer values (num_batches_tracked)
            {
                byte[] copy = (byte[])file.Clone();
                Entry[] ints = s.Entries.Where(e => e.Dtype == "\"I64\"").ToArray();
                if (ints.Length == 0) return MutateBytes(16, file, s);
                long[] values = [-1, 0, 1, 1 << 24, (1 << 24) + 1, 1L << 53, (1L << 53) + 1, long.MaxValue, long.MinValue, long.MaxValue - (1L << 39) - ((1L << 39) - 1), (1L << 62)];
                Entry target = ints[_rng.Next(ints.Length)];
                long value = values[_rng.Next(values.Length)];
                long at = dataStart + target.Begin;
                if (at + 8 <= copy.Length) BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan((int)at), value);
                return ($"{target.Key} = {value}", copy);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    // ------------------------------------------------------------------ composition

    private string HeaderText(State s)
    {
        var members = new List<string>();
        if (s.Metadata is not null && !s.MetadataLast) members.Add("\"__metadata__\":" + s.Metadata);
        foreach (Entry e in s.Entries)
        {
            string body = "{\"dtype\":" + e.Dtype + ",\"shape\":" + e.Shape + ",\"data_offsets\":" + e.Offsets + (e.Extra is null ? "" : "," + e.Extra) + "}";
            members.Add(e.Key + ":" + body);
        }
        if (s.Metadata is not null && s.MetadataLast) members.Add("\"__metadata__\":" + s.Metadata);
        members.AddRange(s.ExtraMembers);
        return "{" + string.Join(",", members) + "}";
    }

    private byte[] Compose(State s)
    {
        byte[] header = Encoding.UTF8.GetBytes(HeaderText(s));
        if (s.Pad && header.Length % 8 != 0) header = [.. header, .. Enumerable.Repeat((byte)' ', 8 - header.Length % 8)];
        return WithHeader(header, s.Data);
    }

    private static byte[] WithHeader(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _rng.NextBytes(bytes);
        return bytes;
    }

    private void Shuffle<T>(List<T> list)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = _rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
