using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dsl;

namespace Dsl.Tests;

/// <summary>Safetensors with buffers (BatchNorm running statistics, an I64 counter) and grouped stored layouts.</summary>
public sealed class SafeTensorsBufferTests
{
    // conv.weight [6, 2, 3, 3] in 3 groups (108 floats), conv.bias [6], and BatchNorm over 6 channels.
    private static Parameters CreateModel(int seed)
    {
        var model = new Parameters(new[]
        {
            new TensorInfo("conv.weight", new[] { 6, 2, 3, 3 }, TensorInit.KaimingUniform, 18, 18, transposeGroups: 3),
            new TensorInfo("conv.bias", new[] { 6 }, TensorInit.Zeros),
            new TensorInfo("bn.weight", new[] { 6 }, TensorInit.Ones),
            new TensorInfo("bn.bias", new[] { 6 }, TensorInit.Zeros),
            new TensorInfo("bn.running_mean", new[] { 6 }, TensorInit.Zeros, kind: TensorKind.Buffer),
            new TensorInfo("bn.running_var", new[] { 6 }, TensorInit.Ones, kind: TensorKind.Buffer),
            new TensorInfo("bn.num_batches_tracked", Array.Empty<int>(), TensorInit.Zeros, kind: TensorKind.Buffer, fileDType: TensorDType.I64),
        });
        model.Initialize(seed);
        var random = new Random(seed);
        foreach (string name in new[] { "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var" })
        {
            Span<float> v = model.Value(model.Find(name)!);
            for (int i = 0; i < v.Length; i++) v[i] = (float)random.NextDouble() + 0.1f;
        }
        model.Value(model.Find("bn.num_batches_tracked")!)[0] = 1000 + seed;
        return model;
    }

    [Fact]
    public void BatchNormSet_RoundTripsBitExact()
    {
        Parameters saved = CreateModel(seed: 1);
        var stream = new MemoryStream();
        SafeTensors.Save(saved, stream);

        Parameters loaded = CreateModel(seed: 2);
        Assert.NotEqual(Bits(saved.Buffers), Bits(loaded.Buffers));
        stream.Position = 0;
        SafeTensors.Load(loaded, stream);

        Assert.Equal(Bits(saved.Values), Bits(loaded.Values));
        Assert.Equal(Bits(saved.Buffers), Bits(loaded.Buffers));
        Assert.Equal(1001f, loaded.Value(loaded.Find("bn.num_batches_tracked")!)[0]);
    }

    [Fact]
    public void Save_WritesBuffersWithPyTorchDtypesShapesAndValues()
    {
        Parameters model = CreateModel(seed: 3);
        (JsonDocument doc, byte[] bytes, int dataStart) = SaveAndParse(model);
        using (doc)
        {
            JsonElement root = doc.RootElement;
            long end = 0;
            foreach (TensorInfo t in model.Tensors)
            {
                JsonElement entry = root.GetProperty(t.Name);
                long[] offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                Assert.Equal(end, offsets[0]);
                end = offsets[1];
            }
            Assert.Equal(dataStart + end, bytes.Length);

            JsonElement counter = root.GetProperty("bn.num_batches_tracked");
            Assert.Equal("I64", counter.GetProperty("dtype").GetString());
            Assert.Equal(0, counter.GetProperty("shape").GetArrayLength());
            long[] range = counter.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            Assert.Equal(8, range[1] - range[0]);
            Assert.Equal(1003L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(dataStart + (int)range[0])));

            foreach (string name in new[] { "bn.running_mean", "bn.running_var" })
            {
                JsonElement entry = root.GetProperty(name);
                Assert.Equal("F32", entry.GetProperty("dtype").GetString());
                Assert.Equal(new[] { 6 }, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray());
                int begin = (int)entry.GetProperty("data_offsets")[0].GetInt64();
                float[] expected = model.Value(model.Find(name)!).ToArray();
                for (int i = 0; i < 6; i++)
                    Assert.Equal(expected[i], BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + begin + 4 * i)));
            }
        }
    }

    [Fact]
    public void Save_GroupedWeight_WritesPyTorchElementOrder()
    {
        Parameters model = CreateModel(seed: 4);
        TensorInfo w = model.Find("conv.weight")!;
        // Fill the stored layout through the independent per-group formula: file [g, m, r] is stored at (g*R + r)*M + m.
        const int G = 3, M = 2, R = 18;
        Span<float> stored = model.Value(w);
        for (int g = 0; g < G; g++)
            for (int m = 0; m < M; m++)
                for (int r = 0; r < R; r++)
                    stored[(g * R + r) * M + m] = (g * M + m) * R + r;

        (JsonDocument doc, byte[] bytes, int dataStart) = SaveAndParse(model);
        using (doc)
        {
            int begin = (int)doc.RootElement.GetProperty("conv.weight").GetProperty("data_offsets")[0].GetInt64();
            for (int k = 0; k < w.Length; k++)
                Assert.Equal((float)k, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + begin + 4 * k)));
        }
    }

    [Fact]
    public void Load_HandWrittenFileWithI64Counter_Loads()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.SetInt64("bn.num_batches_tracked", 16_777_216); // 2^24, the last integer before floats skip any
        Parameters model = CreateModel(seed: 5);

        SafeTensors.Load(model, new MemoryStream(file.Build()));

        Assert.Equal(16_777_216f, model.Value(model.Find("bn.num_batches_tracked")!)[0]);
        Assert.Equal(file.Floats("bn.running_var"), model.Value(model.Find("bn.running_var")!).ToArray());
    }

    [Fact]
    public void Load_F32ValueForI64Tensor_IsRejected()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.Replace("bn.num_batches_tracked", "F32", "[]", new byte[4]);

        AssertLoadFails(file.Build(), "'bn.num_batches_tracked'", "dtype F32", "expected I64");
    }

    [Fact]
    public void Load_I64ValueForF32Tensor_IsRejected()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.Replace("bn.running_mean", "I64", "[6]", new byte[48]);

        AssertLoadFails(file.Build(), "'bn.running_mean'", "dtype I64", "expected F32");
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData(16_777_217L)] // 2^24 + 1: no float holds it
    [InlineData(long.MaxValue)]
    public void Load_I64ValueAFloatCannotHold_IsRejected(long value)
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.SetInt64("bn.num_batches_tracked", value);

        AssertLoadFails(file.Build(), "'bn.num_batches_tracked'", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Load_LargeI64ThatAFloatHoldsExactly_Loads()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.SetInt64("bn.num_batches_tracked", 1L << 40);
        Parameters model = CreateModel(seed: 5);

        SafeTensors.Load(model, new MemoryStream(file.Build()));

        Assert.Equal(MathF.Pow(2, 40), model.Value(model.Find("bn.num_batches_tracked")!)[0]);
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("[1, 1]")]
    public void Load_CounterWithNonScalarShape_IsRejected(string shape)
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.Replace("bn.num_batches_tracked", "I64", shape, new byte[8]);

        AssertLoadFails(file.Build(), "'bn.num_batches_tracked'", $"shape {shape}", "expected []");
    }

    [Fact]
    public void Load_MissingBuffer_IsRejected()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.Remove("bn.running_var");

        AssertLoadFails(file.Build(), "missing tensors 'bn.running_var'");
    }

    [Fact]
    public void Load_I64WithWrongByteRange_IsRejected()
    {
        var file = new FileBuilder(CreateModel(seed: 1));
        file.Replace("bn.num_batches_tracked", "I64", "[]", new byte[4]);

        AssertLoadFails(file.Build(), "'bn.num_batches_tracked'", "expected a range of 8 bytes");
    }

    [Theory]
    [InlineData(1.5f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(1e19f)]
    public void Save_CounterThatIsNotANonNegativeInteger_ThrowsAndWritesNothing(float value)
    {
        Parameters model = CreateModel(seed: 1);
        model.Value(model.Find("bn.num_batches_tracked")!)[0] = value;
        var stream = new MemoryStream();

        var e = Assert.Throws<InvalidOperationException>(() => SafeTensors.Save(model, stream));

        Assert.Contains("bn.num_batches_tracked", e.Message);
        Assert.Equal(0, stream.Length);
    }

    // ---------- helpers ----------

    private static (JsonDocument Doc, byte[] Bytes, int DataStart) SaveAndParse(Parameters model)
    {
        var stream = new MemoryStream();
        SafeTensors.Save(model, stream);
        byte[] bytes = stream.ToArray();
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        return (JsonDocument.Parse(bytes.AsMemory(8, headerLength)), bytes, 8 + headerLength);
    }

    private static void AssertLoadFails(byte[] file, params string[] messageParts)
    {
        Parameters model = CreateModel(seed: 7);
        int[] values = Bits(model.Values), buffers = Bits(model.Buffers);

        var e = Assert.Throws<SafeTensorsException>(() => SafeTensors.Load(model, new MemoryStream(file)));

        foreach (string part in messageParts) Assert.Contains(part, e.Message);
        Assert.Equal(values, Bits(model.Values));
        Assert.Equal(buffers, Bits(model.Buffers));
    }

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    /// <summary>Writes safetensors by hand, from a model's tensors in file order, with entries that can be replaced.</summary>
    private sealed class FileBuilder
    {
        private readonly List<(string Name, string Dtype, string Shape, byte[] Data)> _entries = new();

        public FileBuilder(Parameters model)
        {
            foreach (TensorInfo t in model.Tensors)
            {
                if (t.FileDType == TensorDType.I64)
                {
                    var data = new byte[8];
                    BinaryPrimitives.WriteInt64LittleEndian(data, (long)model.Value(t)[0]);
                    _entries.Add((t.Name, "I64", "[]", data));
                    continue;
                }
                var fileOrder = new float[t.Length];
                t.StoredToFile(model.Value(t), fileOrder);
                var bytes = new byte[4 * t.Length];
                for (int i = 0; i < fileOrder.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), fileOrder[i]);
                _entries.Add((t.Name, "F32", "[" + string.Join(", ", t.Shape) + "]", bytes));
            }
        }

        public void SetInt64(string name, long value)
        {
            var data = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(data, value);
            Replace(name, "I64", "[]", data);
        }

        public void Replace(string name, string dtype, string shape, byte[] data)
        {
            int i = _entries.FindIndex(e => e.Name == name);
            _entries[i] = (name, dtype, shape, data);
        }

        public void Remove(string name) => _entries.RemoveAll(e => e.Name == name);

        public float[] Floats(string name)
        {
            byte[] data = _entries.Find(e => e.Name == name).Data;
            return Enumerable.Range(0, data.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(4 * i))).ToArray();
        }

        public byte[] Build()
        {
            var header = new StringBuilder("{");
            long offset = 0;
            foreach ((string name, string dtype, string shape, byte[] data) in _entries)
            {
                if (header.Length > 1) header.Append(", ");
                header.Append($"\"{name}\": {{\"dtype\": \"{dtype}\", \"shape\": {shape}, \"data_offsets\": [{offset}, {offset + data.Length}]}}");
                offset += data.Length;
            }
            byte[] json = Encoding.UTF8.GetBytes(header.Append('}').ToString());
            var bytes = new List<byte>(new byte[8]);
            BinaryPrimitives.WriteUInt64LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes), (ulong)json.Length);
            bytes.AddRange(json);
            foreach ((_, _, _, byte[] data) in _entries) bytes.AddRange(data);
            return bytes.ToArray();
        }
    }
}
