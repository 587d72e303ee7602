using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dsl;

/// <summary>
/// Reads and writes <see cref="Parameters"/> as safetensors (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype, shape and
/// byte range, then the raw little-endian data. Names, shapes and element order are PyTorch
/// <c>state_dict</c> ones, so files interchange with <c>safetensors.torch.save_file</c>/<c>load_file</c>.
/// Both parameters and buffers (<see cref="TensorKind.Buffer"/>, e.g. BatchNorm running statistics) are
/// saved and loaded, each in its own stored layout (<see cref="TensorInfo.FileToStored"/>).
/// </summary>
/// <remarks>
/// Loading is strict, like PyTorch's <c>load_state_dict(strict=True)</c>: the file must hold exactly the
/// model's tensors, each with the model's dtype (<see cref="TensorInfo.FileDType"/>: F32, or I64 for integer
/// buffers such as <c>num_batches_tracked</c>) and shape. Everything is checked and read before anything is
/// written, so a failed load leaves the model unchanged. An I64 value is loaded only if it is a non-negative
/// integer that a float holds exactly (every integer up to 2^24 = 16,777,216 is).
/// </remarks>
public static class SafeTensors
{
    /// <summary>Largest header accepted (100 MiB, as in the reference implementation): bounds what a corrupt length can make a load allocate.</summary>
    public const int MaxHeaderBytes = 100 * 1024 * 1024;

    /// <summary>Most tensors accepted in one header.</summary>
    public const int MaxTensors = 100_000;

    private const string MetadataKey = "__metadata__";
    private const string Float32 = "F32";
    private const string Int64 = "I64";
    private const int ChunkFloats = 1 << 14;
    private const float TwoToThe63 = 9.223372036854775808E18f;

    private readonly record struct Entry(string Name, string Dtype, long[] Shape, long Begin, long End);

    /// <summary>
    /// Writes <paramref name="parameters"/> to <paramref name="path"/>. The file is written next to its
    /// destination under a temporary name and renamed into place, so a crash or error never leaves a
    /// half-written file at <paramref name="path"/>.
    /// </summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="path">Destination; an existing file is replaced.</param>
    /// <param name="metadata">Strings stored in the header's <c>__metadata__</c>; <c>"format": "pt"</c> is added unless given.</param>
    /// <exception cref="IOException">The file could not be written; an existing file at <paramref name="path"/> is left as it was.</exception>
    /// <exception cref="InvalidOperationException">An I64 buffer holds a value that is not a non-negative integer; nothing is written.</exception>
    public static void Save(Parameters parameters, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Save(parameters, stream, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="parameters"/> as safetensors to <paramref name="stream"/>, from its current position.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="stream">Destination; left open.</param>
    /// <param name="metadata">Strings stored in the header's <c>__metadata__</c>; <c>"format": "pt"</c> is added unless given.</param>
    /// <exception cref="InvalidOperationException">An I64 buffer holds a value that is not a non-negative integer; nothing is written.</exception>
    public static void Save(Parameters parameters, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(stream);
        CheckIntegerTensors(parameters);
        byte[] header = BuildHeader(parameters, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        float[]? fileOrder = null;
        foreach (TensorInfo t in parameters.Tensors)
        {
            ReadOnlySpan<float> stored = parameters.ReadOnlyValue(t);
            if (t.FileDType == TensorDType.I64)
            {
                WriteInt64LittleEndian(stream, stored);
            }
            else if (t.StoredTransposed)
            {
                // The buffer is per group input-major; the file, like PyTorch, wants row-major.
                if (fileOrder is null || fileOrder.Length < t.Length) fileOrder = new float[t.Length];
                Span<float> converted = fileOrder.AsSpan(0, t.Length);
                t.StoredToFile(stored, converted);
                WriteLittleEndian(stream, converted);
            }
            else
            {
                WriteLittleEndian(stream, stored);
            }
        }
    }

    /// <summary>Replaces the values of <paramref name="parameters"/> with those in the safetensors file at <paramref name="path"/>.</summary>
    /// <param name="parameters">The model's parameters; unchanged if the load fails.</param>
    /// <param name="path">A safetensors file holding exactly the model's tensors, with the model's dtypes and shapes.</param>
    /// <exception cref="SafeTensorsException">The file is malformed, truncated, or does not match the model.</exception>
    public static void Load(Parameters parameters, string path)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        Load(parameters, stream, path);
    }

    /// <summary>
    /// Replaces the values of <paramref name="parameters"/> with those of the safetensors data read from
    /// <paramref name="stream"/>'s current position. A seekable stream must end where the data ends.
    /// </summary>
    /// <param name="parameters">The model's parameters; unchanged if the load fails.</param>
    /// <param name="stream">Source; left open.</param>
    /// <exception cref="SafeTensorsException">The data is malformed, truncated, or does not match the model.</exception>
    public static void Load(Parameters parameters, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(stream);
        Load(parameters, stream, stream is FileStream file ? file.Name : "<stream>");
    }

    /// <summary>
    /// The strings of the header's <c>__metadata__</c> in the safetensors file at <paramref name="path"/> (empty when
    /// it has none): what <see cref="Save(Parameters, string, IReadOnlyDictionary{string, string}?)"/> stored beside
    /// the weights, e.g. a character model's vocabulary. Reads the header only.
    /// </summary>
    /// <exception cref="SafeTensorsException">The file is malformed or truncated.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        ParseHeader(ReadHeader(stream, path, stream.Length), path, metadata);
        return metadata;
    }

    private static void Load(Parameters parameters, Stream stream, string source)
    {
        // Knowing the size up front lets a lying header length or offsets fail before any large allocation.
        long? size = stream.CanSeek ? stream.Length - stream.Position : null;
        byte[] header = ReadHeader(stream, source, size);
        Load(parameters, stream, source, size, header);
    }

    // The JSON header after the 8-byte length, checked against the size when it is known.
    private static byte[] ReadHeader(Stream stream, string source, long? size)
    {
        Span<byte> prefix = stackalloc byte[8];
        int read = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (read < prefix.Length)
            throw Fail(source, $"is truncated: it has {read} bytes, fewer than the 8-byte header length.");
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > MaxHeaderBytes)
            throw Fail(source, $"declares a header of {declared} bytes, more than the limit of {MaxHeaderBytes}; it is corrupt or not a safetensors file.");
        if (size is long available && (long)declared > available - 8)
            throw Fail(source, $"is truncated or corrupt: it declares a header of {declared} bytes, but only {available - 8} bytes follow the header length.");

        // Of a stream of unknown length, read the header in doubling chunks: a short input that declares a huge
        // header then costs what it holds, not what it claims.
        var header = new byte[size is null ? (int)Math.Min(declared, 64 * 1024) : (int)declared];
        int filled = 0;
        while (true)
        {
            filled += stream.ReadAtLeast(header.AsSpan(filled), header.Length - filled, throwOnEndOfStream: false);
            if (filled < header.Length)
                throw Fail(source, $"is truncated: expected at least {8 + declared} bytes, got {8 + filled}.");
            if ((ulong)filled == declared) break;
            Array.Resize(ref header, (int)Math.Min(2L * header.Length, (long)declared));
        }
        return header;
    }

    private static void Load(Parameters parameters, Stream stream, string source, long? size, byte[] header)
    {
        List<Entry> entries = ParseHeader(header, source);
        long dataBytes = Validate(parameters, entries, source);
        long expectedSize = 8 + header.Length + dataBytes;
        if (size is long actual && actual < expectedSize)
            throw Truncated(source, entries, header.Length, expectedSize, actual);
        if (size is long total && total > expectedSize)
            throw Fail(source, $"has {total - expectedSize} unexpected bytes after the tensor data (expected {expectedSize} bytes, found {total}).");

        // Validate has made the entries tile the data section and each hold 4 (F32) or 8 (I64) bytes per
        // element, so every entry starts at a multiple of 4 and the section can be staged as floats (raw
        // file bytes) without a limit of 2 GiB.
        var data = new float[dataBytes / sizeof(float)];
        for (int start = 0; start < data.Length; start += ChunkFloats)
        {
            Span<byte> chunk = MemoryMarshal.AsBytes(data.AsSpan(start, Math.Min(ChunkFloats, data.Length - start)));
            int read = stream.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
            if (read < chunk.Length)
                throw Truncated(source, entries, header.Length, expectedSize, 8L + header.Length + (long)start * sizeof(float) + read);
        }

        // Decode and check the integer tensors before writing anything, so a bad value leaves the model unchanged.
        var integers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (Entry e in entries)
        {
            TensorInfo t = parameters.Find(e.Name)!;
            if (t.FileDType != TensorDType.I64) continue;
            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(data.AsSpan((int)(e.Begin / sizeof(float)), 2 * t.Length));
            var values = new float[t.Length];
            for (int i = 0; i < values.Length; i++)
            {
                long value = BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(8 * i));
                float single = value;
                // 2^63 is the one float a long cannot hold: (long)2^63f saturates, so check the range first.
                if (value < 0 || single >= TwoToThe63 || (long)single != value)
                    throw Fail(source, $"has I64 tensor '{t.Name}' with value {value} at element {i}; only non-negative integers that a float holds exactly (every integer up to 2^24 = 16777216) can be loaded.");
                values[i] = single;
            }
            integers.Add(t.Name, values);
        }

        foreach (Entry e in entries)
        {
            TensorInfo t = parameters.Find(e.Name)!;
            if (t.FileDType == TensorDType.I64)
            {
                integers[t.Name].CopyTo(parameters.Value(t));
                continue;
            }
            Span<float> fileOrder = data.AsSpan((int)(e.Begin / sizeof(float)), t.Length);
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> bits = MemoryMarshal.Cast<float, int>(fileOrder);
                BinaryPrimitives.ReverseEndianness(bits, bits);
            }
            t.FileToStored(fileOrder, parameters.Value(t));
        }
        // A pruned model's file is dense with zeros: its all-zero blocks are its masks.
        parameters.Pruning?.MaskFromZeros();
    }

    /// <summary>Checks the header against the model and returns the length of the data section; sorts <paramref name="entries"/> by offset.</summary>
    private static long Validate(Parameters parameters, List<Entry> entries, string source)
    {
        var byName = new Dictionary<string, Entry>(entries.Count, StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (Entry e in entries)
        {
            byName.Add(e.Name, e);
            if (parameters.Find(e.Name) is null) unexpected.Add(e.Name);
        }
        var missing = new List<string>();
        foreach (TensorInfo t in parameters.Tensors)
            if (!byName.ContainsKey(t.Name)) missing.Add(t.Name);
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            var message = new StringBuilder("does not match the model:");
            if (missing.Count > 0) message.Append(" missing tensors ").Append(NameList(missing)).Append(';');
            if (unexpected.Count > 0) message.Append(" unexpected tensors ").Append(NameList(unexpected)).Append(';');
            message.Length--;
            throw Fail(source, message.Append('.').ToString());
        }

        foreach (TensorInfo t in parameters.Tensors)
        {
            Entry e = byName[t.Name];
            string dtype = DTypeName(t.FileDType);
            if (e.Dtype != dtype)
            {
                string why = t.FileDType == TensorDType.I64
                    ? " (an integer buffer, stored as int64 as PyTorch does)"
                    : e.Dtype == Int64 ? " (a float tensor; only integer buffers such as num_batches_tracked are I64)" : " (the only float dtype supported)";
                throw Fail(source, $"has tensor '{t.Name}' with dtype {e.Dtype}, expected {dtype}{why}.");
            }
            if (!ShapeEquals(e.Shape, t.Shape))
                throw Fail(source, $"has tensor '{t.Name}' with shape {FormatShape(e.Shape)}, expected {FormatShape(t.Shape)}.");
            long bytes = (long)t.Length * ElementBytes(t.FileDType);
            if (e.End < e.Begin || e.End - e.Begin != bytes)
                throw Fail(source, $"has tensor '{t.Name}' with data_offsets [{e.Begin}, {e.End}], expected a range of {bytes} bytes for {FormatShape(t.Shape)} {dtype}.");
        }

        // Like the reference implementation, require the ranges to tile the data section from 0 without gaps:
        // it rules out overlaps (one stored value feeding two tensors) and bounds the section by the model size.
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long end = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            Entry e = entries[i];
            if (e.Begin < end)
            {
                Entry previous = entries[i - 1];
                throw Fail(source, $"has tensor '{e.Name}' with data_offsets [{e.Begin}, {e.End}] overlapping tensor '{previous.Name}' at [{previous.Begin}, {previous.End}].");
            }
            if (e.Begin > end)
                throw Fail(source, $"has tensor '{e.Name}' with data_offsets [{e.Begin}, {e.End}] outside the data section or after a gap: the previous tensor ends at byte {end}, and tensors must be stored contiguously.");
            end = e.End;
        }
        return end;
    }

    // The tensor entries; with `metadata`, also the strings of __metadata__.
    private static List<Entry> ParseHeader(byte[] header, string source, Dictionary<string, string>? metadata = null)
    {
        try
        {
            var reader = new Utf8JsonReader(header);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Fail(source, "has a header that is not a JSON object.");
            var entries = new List<Entry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!names.Add(name))
                    throw Fail(source, $"lists '{name}' twice in its header.");
                reader.Read();
                if (name == MetadataKey)
                {
                    CheckMetadata(ref reader, source, metadata);
                    continue;
                }
                if (entries.Count == MaxTensors)
                    throw Fail(source, $"lists more than {MaxTensors} tensors in its header.");
                entries.Add(ReadEntry(ref reader, name, source));
            }
            if (reader.Read())
                throw Fail(source, "has data after the header's JSON object.");
            return entries;
        }
        catch (JsonException e)
        {
            throw Fail(source, $"has a header that is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader reports invalid UTF-8 inside strings this way.
            throw Fail(source, $"has a header that is not valid UTF-8 JSON: {e.Message}", e);
        }
    }

    private static Entry ReadEntry(ref Utf8JsonReader reader, string name, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(source, $"has header entry '{name}' that is not an object.");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (reader.TokenType != JsonTokenType.String)
                        throw Fail(source, $"has tensor '{name}' whose dtype is not a string.");
                    dtype = reader.GetString();
                    break;
                case "shape":
                    shape = ReadNaturals(ref reader, name, field, source);
                    break;
                case "data_offsets":
                    offsets = ReadNaturals(ref reader, name, field, source);
                    if (offsets.Length != 2)
                        throw Fail(source, $"has tensor '{name}' whose data_offsets has {offsets.Length} entries, expected 2 (begin, end).");
                    break;
                default:
                    // Unknown fields are ignored, as the reference implementation does.
                    reader.Skip();
                    break;
            }
        }
        if (dtype is null || shape is null || offsets is null)
            throw Fail(source, $"has tensor '{name}' without {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")} in its header.");
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadNaturals(ref Utf8JsonReader reader, string name, string field, string source)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Fail(source, $"has tensor '{name}' whose {field} is not an array.");
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
                throw Fail(source, $"has tensor '{name}' whose {field} holds something other than a non-negative integer.");
            values.Add(value);
        }
        return values.ToArray();
    }

    private static void CheckMetadata(ref Utf8JsonReader reader, string source, Dictionary<string, string>? values = null)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(source, $"has a {MetadataKey} that is not an object.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw Fail(source, $"has a {MetadataKey} value for '{key}' that is not a string.");
            if (values is not null) values[key] = reader.GetString()!;
        }
    }

    private static byte[] BuildHeader(Parameters parameters, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            // transformers' from_pretrained rejects files whose metadata lacks a known "format".
            writer.WriteStartObject(MetadataKey);
            if (metadata is null || !metadata.ContainsKey("format"))
                writer.WriteString("format", "pt");
            if (metadata is not null)
            {
                foreach (KeyValuePair<string, string> pair in metadata)
                    writer.WriteString(pair.Key, pair.Value ?? throw new ArgumentException($"Metadata '{pair.Key}' is null; safetensors metadata values are strings.", nameof(metadata)));
            }
            writer.WriteEndObject();

            long offset = 0;
            foreach (TensorInfo t in parameters.Tensors)
            {
                if (t.Name == MetadataKey)
                    throw new ArgumentException($"A tensor cannot be called '{MetadataKey}' in a safetensors file.", nameof(parameters));
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", DTypeName(t.FileDType));
                writer.WriteStartArray("shape");
                foreach (int d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += (long)t.Length * ElementBytes(t.FileDType);
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }

        // Padding with spaces to a multiple of 8, as the reference implementation does, aligns the data
        // section so readers can map the floats in place.
        var header = new byte[(json.WrittenCount + 7) / 8 * 8];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteLittleEndian(Stream stream, ReadOnlySpan<float> values)
    {
        int[]? swapped = BitConverter.IsLittleEndian ? null : new int[ChunkFloats];
        for (int start = 0; start < values.Length; start += ChunkFloats)
        {
            ReadOnlySpan<float> chunk = values.Slice(start, Math.Min(ChunkFloats, values.Length - start));
            if (swapped is null)
            {
                stream.Write(MemoryMarshal.AsBytes(chunk));
            }
            else
            {
                Span<int> target = swapped.AsSpan(0, chunk.Length);
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(chunk), target);
                stream.Write(MemoryMarshal.AsBytes(target));
            }
        }
    }

    /// <summary>Writes integral floats as little-endian int64 (the caller has checked them with <see cref="CheckIntegerTensors"/>).</summary>
    private static void WriteInt64LittleEndian(Stream stream, ReadOnlySpan<float> values)
    {
        Span<byte> buffer = stackalloc byte[8];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer, (long)v);
            stream.Write(buffer);
        }
    }

    /// <summary>Throws unless every I64 tensor holds non-negative integers (which a long then holds exactly).</summary>
    private static void CheckIntegerTensors(Parameters parameters)
    {
        foreach (TensorInfo t in parameters.Tensors)
        {
            if (t.FileDType != TensorDType.I64) continue;
            ReadOnlySpan<float> values = parameters.ReadOnlyValue(t);
            for (int i = 0; i < values.Length; i++)
            {
                float v = values[i];
                if (!(v >= 0f && v < TwoToThe63 && v == MathF.Floor(v)))
                    throw new InvalidOperationException($"Tensor '{t.Name}' is saved as I64 but holds {v} at element {i}; it must hold non-negative integers.");
            }
        }
    }

    private static string DTypeName(TensorDType dtype) => dtype == TensorDType.I64 ? Int64 : Float32;

    private static int ElementBytes(TensorDType dtype) => dtype == TensorDType.I64 ? sizeof(long) : sizeof(float);

    private static SafeTensorsException Truncated(string source, List<Entry> entries, int headerLength, long expected, long actual)
    {
        long dataPresent = actual - 8 - headerLength;
        string? firstCut = entries.Find(e => e.End > dataPresent).Name;
        return Fail(source, $"is truncated: expected {expected} bytes, found {actual}; the data of tensor '{firstCut}' is incomplete.");
    }

    private static bool ShapeEquals(long[] found, int[] expected)
    {
        if (found.Length != expected.Length) return false;
        for (int i = 0; i < found.Length; i++)
            if (found[i] != expected[i]) return false;
        return true;
    }

    private static string FormatShape<T>(T[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string NameList(List<string> names)
    {
        // A wrong file can hold thousands of names; the first few say enough.
        const int Shown = 10;
        string list = "'" + string.Join("', '", names.GetRange(0, Math.Min(Shown, names.Count))) + "'";
        return names.Count > Shown ? $"{list} and {names.Count - Shown} more" : list;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original failure is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static SafeTensorsException Fail(string source, string message) =>
        new($"Safetensors file '{source}' {message}");

    private static SafeTensorsException Fail(string source, string message, Exception inner) =>
        new($"Safetensors file '{source}' {message}", inner);
}
