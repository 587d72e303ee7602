using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using Dsl.Generator.Model;

namespace Dsl.Generator.Weights;

/// <summary>
/// A network's compiled-in weights (<c>[Network(Weights = "x.safetensors")]</c>): the file checked against the
/// declaration and laid out as the runtime's <c>Dsl.Parameters</c> lays out values and buffers, written as static
/// data (an RVA field) the network reads in place. The checks are the runtime loader's, at build time.
/// </summary>
internal static class CompiledWeights
{
    /// <summary>Largest file compiled in: the C# the data becomes costs about 20 s of build per 10 MB.</summary>
    public const long MaxFileBytes = 64L * 1024 * 1024;

    /// <summary>The weights source of one network, or the diagnostic (without a location) saying what is wrong.</summary>
    internal sealed record Result(string HintName, string? Source, DiagnosticInfo? Problem);

    public static Result Compile(NetworkSpec spec, ImmutableArray<WeightsFile> files)
    {
        try
        {
            WeightsFile[] matches = files.Where(f => f.Matches(spec.Weights)).ToArray();
            if (matches.Length == 0)
                return Problem(spec, DiagnosticDescriptors.WeightsFileMissing, spec.Weights);
            if (matches.Length > 1)
                return Problem(spec, DiagnosticDescriptors.WeightsFileInvalid, spec.Weights,
                    $"names more than one DslWeights item ({string.Join(", ", matches.Select(m => m.Path))}); give the path relative to the project");
            WeightsFile file = matches[0];
            if (file.Bytes is null) return Problem(spec, DiagnosticDescriptors.WeightsFileInvalid, file.Path, file.Problem!);
            if (file.Bytes.LongLength > MaxFileBytes)
                return Problem(spec, DiagnosticDescriptors.WeightsFileInvalid, file.Path,
                    $"is {SourceWriter.Grouped(file.Bytes.LongLength)} bytes, more than the {SourceWriter.Grouped(MaxFileBytes)} a build compiles in; load it at run time with Load");
            var plan = new Plan(spec);
            string? problem = Build(file.Bytes, plan.Tensors, plan.ValuesSize, plan.BuffersSize, out float[] values, out float[] buffers);
            if (problem is not null) return Problem(spec, DiagnosticDescriptors.WeightsFileInvalid, file.Path, problem);
            return new Result(spec.HintName, Emit(spec, plan, file, values, buffers), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new Result(spec.HintName, null, NetworkGenerator.Failure(spec.ClassName, null, e));
        }
    }

    private static Result Problem(NetworkSpec spec, Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, params string[] arguments) =>
        new(spec.HintName, null, new DiagnosticInfo(descriptor.Id, null, new EquatableArray<string>(new[] { spec.ClassName }.Concat(arguments).ToArray())));

    /// <summary>
    /// The file's tensors laid out as the runtime's values and buffers (each tensor at its offset, in its stored
    /// layout, padding zero), or the problem in the runtime loader's words. Never throws on any input.
    /// </summary>
    public static string? Build(byte[] file, IReadOnlyList<TensorPlan> tensors, int valuesSize, int buffersSize, out float[] values, out float[] buffers)
    {
        values = Array.Empty<float>();
        buffers = Array.Empty<float>();
        List<SafeTensorsEntry>? entries = SafeTensorsFile.ReadHeader(file, out long dataStart, out string? problem);
        if (entries is null) return problem;

        var byName = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
        foreach (SafeTensorsEntry e in entries) byName.Add(e.Name, e);
        var known = new HashSet<string>(tensors.Select(t => t.Name), StringComparer.Ordinal);
        List<string> missing = tensors.Where(t => !byName.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        List<string> unexpected = entries.Where(e => !known.Contains(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            var message = new StringBuilder("does not match the model:");
            if (missing.Count > 0) message.Append(" missing tensors ").Append(NameList(missing)).Append(';');
            if (unexpected.Count > 0) message.Append(" unexpected tensors ").Append(NameList(unexpected)).Append(';');
            message.Length--;
            return message.Append('.').ToString();
        }

        foreach (TensorPlan t in tensors)
        {
            SafeTensorsEntry e = byName[t.Name];
            string dtype = t.Int64 ? "I64" : "F32";
            if (e.Dtype != dtype)
            {
                string why = t.Int64
                    ? " (an integer buffer, stored as int64 as PyTorch does)"
                    : e.Dtype == "I64" ? " (a float tensor; only integer buffers such as num_batches_tracked are I64)" : " (the only float dtype supported)";
                return $"has tensor '{t.Name}' with dtype {e.Dtype}, expected {dtype}{why}.";
            }
            if (!e.Shape.SequenceEqual(t.Shape.Select(d => (long)d)))
                return $"has tensor '{t.Name}' with shape {Format(e.Shape)}, expected {Format(t.Shape)}.";
            long bytes = (long)t.Length * (t.Int64 ? 8 : 4);
            if (e.End < e.Begin || e.End - e.Begin != bytes)
                return $"has tensor '{t.Name}' with data_offsets [{e.Begin}, {e.End}], expected a range of {bytes} bytes for {Format(t.Shape)} {dtype}.";
        }

        // The ranges must tile the data section from 0 without gaps, as the runtime (and the reference) require.
        List<SafeTensorsEntry> ordered = entries.OrderBy(e => e.Begin).ToList();
        long end = 0;
        for (int i = 0; i < ordered.Count; i++)
        {
            SafeTensorsEntry e = ordered[i];
            if (e.Begin < end)
                return $"has tensor '{e.Name}' with data_offsets [{e.Begin}, {e.End}] overlapping tensor '{ordered[i - 1].Name}' at [{ordered[i - 1].Begin}, {ordered[i - 1].End}].";
            if (e.Begin > end)
                return $"has tensor '{e.Name}' with data_offsets [{e.Begin}, {e.End}] outside the data section or after a gap: the previous tensor ends at byte {end}, and tensors must be stored contiguously.";
            end = e.End;
        }
        long expected = dataStart + end;
        if (file.LongLength < expected)
        {
            long present = file.LongLength - dataStart;
            string? cut = ordered.FirstOrDefault(e => e.End > present)?.Name;
            return $"is truncated: expected {expected} bytes, found {file.LongLength}; the data of tensor '{cut}' is incomplete.";
        }
        if (file.LongLength > expected)
            return $"has {file.LongLength - expected} unexpected bytes after the tensor data (expected {expected} bytes, found {file.LongLength}).";

        var valueImage = new float[valuesSize];
        var bufferImage = new float[buffersSize];
        foreach (TensorPlan t in tensors)
        {
            SafeTensorsEntry e = byName[t.Name];
            float[] image = t.Buffer ? bufferImage : valueImage;
            int at = checked((int)(dataStart + e.Begin));
            if (t.Int64)
            {
                for (int i = 0; i < t.Length; i++)
                {
                    long value = ReadInt64(file, at + 8 * i);
                    float single = value;
                    // 2^63 is the one float a long cannot hold: (long)2^63f saturates, so check the range first.
                    if (value < 0 || single >= 9.223372036854775808E18f || (long)single != value)
                        return $"has I64 tensor '{t.Name}' with value {value} at element {i}; only non-negative integers that a float holds exactly (every integer up to 2^24 = 16777216) can be loaded.";
                    image[t.Offset + i] = single;
                }
                continue;
            }
            var fileOrder = new float[t.Length];
            for (int i = 0; i < fileOrder.Length; i++) fileOrder[i] = ReadSingle(file, at + 4 * i);
            FileToStored(t, fileOrder, image);
        }
        values = valueImage;
        buffers = bufferImage;
        return null;
    }

    // As Dsl.TensorInfo.FileToStored: with G transpose groups, M = Shape[0] / G and R the rest, file [g, m, r] is stored at (g·R + r)·M + m.
    private static void FileToStored(TensorPlan t, float[] fileOrder, float[] image)
    {
        if (t.TransposeGroups == 0)
        {
            Array.Copy(fileOrder, 0, image, t.Offset, fileOrder.Length);
            return;
        }
        int m = t.Shape[0] / t.TransposeGroups, r = t.Length / t.Shape[0];
        for (int g = 0; g < t.TransposeGroups; g++)
            for (int row = 0; row < m; row++)
                for (int c = 0; c < r; c++)
                    image[t.Offset + (g * r + c) * m + row] = fileOrder[(g * m + row) * r + c];
    }

    private static long ReadInt64(byte[] b, int at) =>
        (long)((ulong)ReadUInt32(b, at) | (ulong)ReadUInt32(b, at + 4) << 32);

    private static uint ReadUInt32(byte[] b, int at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

    private static unsafe float ReadSingle(byte[] b, int at)
    {
        uint bits = ReadUInt32(b, at);
        return *(float*)&bits;
    }

    private static string Format<T>(IEnumerable<T> shape) => "[" + string.Join(", ", shape) + "]";

    private static string NameList(List<string> names)
    {
        const int Shown = 10;
        string list = "'" + string.Join("', '", names.Take(Shown)) + "'";
        return names.Count > Shown ? $"{list} and {names.Count - Shown} more" : list;
    }

    /// <summary>The network's <c>Pretrained()</c> and the static data it reads: per tensor a comment and its floats' bits, two to a ulong.</summary>
    private static string Emit(NetworkSpec spec, Plan plan, WeightsFile file, float[] values, float[] buffers)
    {
        var w = new SourceWriter();
        w.Line("// <auto-generated/>");
        w.Line("#nullable enable");
        w.Line();
        if (spec.Namespace is not null)
        {
            w.Line($"namespace {spec.Namespace};");
            w.Line();
        }
        foreach (string outer in spec.ContainingTypes) w.OpenBlock(outer);
        w.OpenBlock($"partial class {spec.ClassName}");
        string name = Escape(file.Path);
        w.Line("/// <summary>");
        w.Line($"/// A new network holding the weights of <c>{name}</c>, compiled into the assembly at build time: read in place from");
        w.Line("/// its static data, with no file, no parsing and no copy. Training, <c>Load</c> or any write to <c>Parameters.Values</c>");
        w.Line("/// first copies them into this network's own buffers (<c>Parameters.ReadsCompiledWeights</c> turns false).");
        w.Line("/// </summary>");
        w.OpenBlock($"public static {spec.ClassName} Pretrained()");
        w.Line("// Each ulong holds two floats, the first in its low half: the data reads as floats on little-endian machines only.");
        w.Line("if (!global::System.BitConverter.IsLittleEndian)");
        w.Line($"    throw new global::System.PlatformNotSupportedException(\"{spec.ClassName}'s compiled-in weights are little-endian; load the file with Load instead.\");");
        if (spec.BFloat16)
        {
            // A bfloat16 network (no buffers: DSL0015 admits dense and dropout layers only) reads the rounded image itself.
            w.Line($"var network = new {spec.ClassName}(global::Dsl.Parameters.CompiledInBFloat16(CreateTensors(), global::System.Runtime.InteropServices.MemoryMarshal.Cast<ulong, ushort>(CompiledValues)));");
        }
        else
        {
            string valuesSpan = "global::System.Runtime.InteropServices.MemoryMarshal.Cast<ulong, float>(CompiledValues)";
            string buffersSpan = plan.BuffersSize > 0 ? "global::System.Runtime.InteropServices.MemoryMarshal.Cast<ulong, float>(CompiledBuffers)" : "default";
            w.Line($"var network = new {spec.ClassName}(global::Dsl.Parameters.CompiledIn(CreateTensors(), {valuesSpan}, {buffersSpan}));");
        }
        if (plan.Tensors.Any(t => t.Pruning is not null))
            w.Line("network._parameters.Pruning!.MaskFromZeros(); // a pruned model's all-zero blocks are its masks, as after Load");
        w.Line("return network;");
        w.CloseBlock();
        w.Line();
        if (spec.BFloat16)
        {
            w.Line($"// {name}: {SourceWriter.Grouped(file.Bytes!.LongLength)} bytes of F32, rounded to bfloat16 (nearest, ties to even) at build time and laid out as");
            w.Line($"// Parameters.BFloat16Values ({SourceWriter.Grouped(values.Length)} bfloat16, each tensor at a multiple of 16).");
            EmitData(w, "CompiledValues", values, plan.Tensors.Where(t => !t.Buffer), bfloat16: true);
        }
        else
        {
            w.Line($"// {name}: {SourceWriter.Grouped(file.Bytes!.LongLength)} bytes, laid out as Parameters.Values ({SourceWriter.Grouped(values.Length)} floats, each tensor at a multiple of 16).");
            EmitData(w, "CompiledValues", values, plan.Tensors.Where(t => !t.Buffer));
        }
        if (plan.BuffersSize > 0)
        {
            w.Line();
            w.Line($"// Laid out as Parameters.Buffers ({SourceWriter.Grouped(buffers.Length)} floats).");
            EmitData(w, "CompiledBuffers", buffers, plan.Tensors.Where(t => t.Buffer));
        }
        w.CloseBlock();
        foreach (string _ in spec.ContainingTypes) w.CloseBlock();
        return w.ToString();
    }

    // A ReadOnlySpan<ulong> over a constant array is an RVA field: the data stays in the image, nothing is allocated.
    // Each ulong holds two floats or four bfloat16 (rounded here), the first in its lowest bits; tensors start at
    // multiples of 16 values, so each starts a ulong, and a line holds 8 ulongs.
    private static void EmitData(SourceWriter w, string property, float[] image, IEnumerable<TensorPlan> tensors, bool bfloat16 = false)
    {
        int perUlong = bfloat16 ? 4 : 2, bits = 64 / perUlong;
        string unit = bfloat16 ? "bfloat16" : "floats";
        w.Line($"private static global::System.ReadOnlySpan<ulong> {property} => new ulong[]");
        w.OpenBlock("");
        var line = new StringBuilder();
        TensorPlan[] ordered = tensors.OrderBy(t => t.Offset).ToArray();
        for (int k = 0; k < ordered.Length; k++)
        {
            TensorPlan t = ordered[k];
            int start = t.Offset, stop = k + 1 < ordered.Length ? ordered[k + 1].Offset : image.Length;
            string layout = t.TransposeGroups == 0 ? "" : t.TransposeGroups == 1 ? ", stored input-major" : $", stored input-major per group of {t.TransposeGroups}";
            w.Line($"// {t.Name} {Format(t.Shape)}{layout}: {unit} {SourceWriter.Grouped(start)}..{SourceWriter.Grouped(start + t.Length - 1)}");
            for (int i = start; i < stop; i += perUlong)
            {
                ulong packed = 0;
                for (int j = 0; j < perUlong; j++)
                    packed |= (ulong)(bfloat16 ? RoundBFloat16(image[i + j]) : Bits(image[i + j])) << (bits * j);
                line.Append("0x").Append(packed.ToString("X16", CultureInfo.InvariantCulture)).Append(", ");
                if ((i - start) / perUlong % 8 == 7 || i + perUlong >= stop)
                {
                    w.Line(line.ToString().TrimEnd());
                    line.Clear();
                }
            }
        }
        w.CloseBlock(";");
    }

    private static unsafe uint Bits(float value) => *(uint*)&value;


    /// <summary>The runtime's <c>Dsl.BFloat16.Round</c>: nearest, ties to even; a NaN stays a NaN (quiet).</summary>
    internal static ushort RoundBFloat16(float value)
    {
        uint bits = Bits(value);
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    private static string Escape(string path) => path.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "'").Replace("\n", " ").Replace("\r", " ");
}
