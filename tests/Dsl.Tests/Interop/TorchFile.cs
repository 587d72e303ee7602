using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Dsl.Tests.Interop;

/// <summary>
/// A state_dict as PyTorch holds it: tensors by name, each with its PyTorch shape, its values in row-major
/// (C) order, and its dtype. <see cref="Write"/> lays it out as <c>safetensors.torch.save_file</c> does, written
/// here from the format's specification and sharing nothing with Dsl's <see cref="SafeTensors"/>: an 8-byte
/// little-endian header length, a JSON header (<c>__metadata__</c> first, then per tensor <c>dtype</c>,
/// <c>shape</c>, <c>data_offsets</c> relative to the data section), padded with spaces to a multiple of 8, then
/// the little-endian data of each tensor back to back.
/// </summary>
internal sealed class TorchFile
{
    public sealed record Tensor(string Name, string DType, long[] Shape, double[] Values);

    public List<Tensor> Tensors { get; } = new();

    public double[] this[string name] => Tensors.Single(t => t.Name == name).Values;

    public void AddF32(string name, long[] shape, double[] values)
    {
        Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), values.Length);
        // Rounded to float now: the values the file holds are the values the reference computes with.
        Tensors.Add(new Tensor(name, "F32", shape, values.Select(v => (double)(float)v).ToArray()));
    }

    public void AddI64(string name, long[] shape, long[] values) =>
        Tensors.Add(new Tensor(name, "I64", shape, values.Select(v => (double)v).ToArray()));

    /// <summary>Replaces one tensor (for the malformed files), keeping its place.</summary>
    public TorchFile With(string name, Func<Tensor, Tensor?> change)
    {
        var copy = new TorchFile();
        foreach (Tensor t in Tensors)
        {
            Tensor? changed = t.Name == name ? change(t) : t;
            if (changed is not null) copy.Tensors.Add(changed);
        }
        return copy;
    }

    public void Write(string path) => File.WriteAllBytes(path, ToBytes());

    public byte[] ToBytes()
    {
        // safetensors' Python writer orders tensors by descending dtype alignment, then by name.
        List<Tensor> ordered = Tensors.OrderByDescending(t => ElementBytes(t.DType)).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        var json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        foreach (Tensor t in ordered)
        {
            long end = offset + t.Values.Length * (long)ElementBytes(t.DType);
            json.Append(CultureInfo.InvariantCulture, $",\"{t.Name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{end}]}}");
            offset = end;
        }
        json.Append('}');
        while (json.Length % 8 != 0) json.Append(' ');
        byte[] header = Encoding.UTF8.GetBytes(json.ToString());

        var bytes = new byte[8 + header.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        int at = 8 + header.Length;
        foreach (Tensor t in ordered)
        {
            foreach (double v in t.Values)
            {
                Span<byte> target = bytes.AsSpan(at);
                switch (t.DType)
                {
                    case "F32": BinaryPrimitives.WriteSingleLittleEndian(target, (float)v); break;
                    case "F64": BinaryPrimitives.WriteDoubleLittleEndian(target, v); break;
                    case "F16": BinaryPrimitives.WriteHalfLittleEndian(target, (Half)v); break;
                    case "I64": BinaryPrimitives.WriteInt64LittleEndian(target, (long)v); break;
                    default: throw new ArgumentException($"dtype {t.DType} is not written by this test.");
                }
                at += ElementBytes(t.DType);
            }
        }
        return bytes;
    }

    private static int ElementBytes(string dtype) => dtype switch
    {
        "F16" => 2,
        "F32" => 4,
        "F64" or "I64" => 8,
        _ => throw new ArgumentException($"dtype {dtype} is not written by this test."),
    };
}
