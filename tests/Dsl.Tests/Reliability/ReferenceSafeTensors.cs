using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace Dsl.Tests.Reliability;

/// <summary>
/// An independent, deliberately plain reader of the safetensors contract <see cref="SafeTensors.Load(Parameters, System.IO.Stream)"/>
/// documents (strict: exactly the model's tensors, its dtypes and shapes, ranges tiling the data section, I64
/// values that a float holds exactly). The fuzzer asks it what a mutated file should give: the tensors' values,
/// or a rejection. Written from the format description with <see cref="JsonDocument"/>, not from the library's code.
/// </summary>
internal static class ReferenceSafeTensors
{
    /// <summary>
    /// Decodes <paramref name="file"/> for <paramref name="model"/>: on success, <paramref name="values"/> and
    /// <paramref name="buffers"/> are <paramref name="before"/> with every tensor replaced by the file's.
    /// </summary>
    /// <param name="allowTrailing">A non-seekable stream cannot tell bytes after the data from a longer file; those are then ignored.</param>
    public static bool TryDecode(byte[] file, Parameters model, (int[] Values, int[] Buffers) before, bool allowTrailing,
        out int[] values, out int[] buffers, out string reason)
    {
        values = (int[])before.Values.Clone();
        buffers = (int[])before.Buffers.Clone();
        try
        {
            reason = Decode(file, model, allowTrailing, values, buffers) ?? "";
            return reason.Length == 0;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            reason = "reference: " + e.GetType().Name + ": " + e.Message;
            return false;
        }
    }

    private static string? Decode(byte[] file, Parameters model, bool allowTrailing, int[] values, int[] buffers)
    {
        if (file.Length < 8) return "shorter than the length prefix";
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (declared > SafeTensors.MaxHeaderBytes) return "header length above the limit";
        if (declared > (ulong)(file.Length - 8)) return "header length past the end";
        int headerLength = (int)declared;
        using JsonDocument doc = JsonDocument.Parse(file.AsMemory(8, headerLength));
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return "header not an object";

        var entries = new Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            string name = property.Name; // throws InvalidOperationException on invalid UTF-8
            if (!seen.Add(name)) return "duplicate key " + name;
            if (name == "__metadata__")
            {
                if (property.Value.ValueKind == JsonValueKind.Null) continue;
                if (property.Value.ValueKind != JsonValueKind.Object) return "metadata not an object";
                foreach (JsonProperty pair in property.Value.EnumerateObject())
                {
                    _ = pair.Name;
                    if (pair.Value.ValueKind != JsonValueKind.String) return "metadata value not a string";
                }
                continue;
            }
            if (property.Value.ValueKind != JsonValueKind.Object) return "entry not an object";
            string? dtype = null;
            long[]? shape = null, offsets = null;
            foreach (JsonProperty field in property.Value.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "dtype":
                        if (field.Value.ValueKind != JsonValueKind.String) return "dtype not a string";
                        dtype = field.Value.GetString();
                        break;
                    case "shape":
                        shape = Naturals(field.Value);
                        if (shape is null) return "bad shape";
                        break;
                    case "data_offsets":
                        offsets = Naturals(field.Value);
                        if (offsets is null || offsets.Length != 2) return "bad data_offsets";
                        break;
                }
            }
            if (dtype is null || shape is null || offsets is null) return "entry lacks a field";
            entries.Add(name, (dtype, shape, offsets[0], offsets[1]));
        }

        if (entries.Count != model.Tensors.Count || model.Tensors.Any(t => !entries.ContainsKey(t.Name)))
            return "tensor names differ from the model's";
        foreach (TensorInfo t in model.Tensors)
        {
            (string dtype, long[] shape, long begin, long end) = entries[t.Name];
            if (dtype != (t.FileDType == TensorDType.I64 ? "I64" : "F32")) return "wrong dtype";
            if (!shape.SequenceEqual(t.Shape.Select(d => (long)d))) return "wrong shape";
            if (end < begin || end - begin != (long)t.Length * (t.FileDType == TensorDType.I64 ? 8 : 4)) return "wrong range length";
        }
        long next = 0;
        foreach (var e in entries.Values.OrderBy(e => e.Begin))
        {
            if (e.Begin != next) return "ranges do not tile the data section";
            next = e.End;
        }
        long expectedSize = 8L + headerLength + next;
        if (file.Length < expectedSize) return "truncated data";
        if (file.Length > expectedSize && !allowTrailing) return "trailing bytes";

        int dataStart = 8 + headerLength;
        foreach (TensorInfo t in model.Tensors)
        {
            long begin = entries[t.Name].Begin;
            var fileOrder = new float[t.Length];
            for (int i = 0; i < t.Length; i++)
            {
                if (t.FileDType == TensorDType.I64)
                {
                    long value = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(dataStart + (int)begin + 8 * i));
                    float single = value;
                    if (value < 0 || single >= 9.223372036854775808E18f || (long)single != value) return "I64 value a float cannot hold";
                    fileOrder[i] = single;
                }
                else
                {
                    fileOrder[i] = BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(dataStart + (int)begin + 4 * i));
                }
            }
            var stored = new float[t.Length];
            t.FileToStored(fileOrder, stored);
            int[] target = t.Kind == TensorKind.Buffer ? buffers : values;
            for (int i = 0; i < stored.Length; i++) target[t.Offset + i] = BitConverter.SingleToInt32Bits(stored[i]);
        }
        return null;
    }

    private static long[]? Naturals(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array) return null;
        var list = new List<long>();
        foreach (JsonElement item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long value) || value < 0) return null;
            list.Add(value);
        }
        return list.ToArray();
    }
}
