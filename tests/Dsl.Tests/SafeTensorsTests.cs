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

public sealed class SafeTensorsTests : IDisposable
{
    // Bytes of the model's data section: 15 + 3 + 6 + 2 floats.
    private const int DataBytes = 104;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dsl-safetensors-" + Guid.NewGuid().ToString("N"));

    public SafeTensorsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // ---------- round trips ----------

    [Fact]
    public void Save_ThenLoad_RoundTripsBitExact()
    {
        Parameters saved = CreateModel(seed: 1);
        string path = PathFor("model.safetensors");
        SafeTensors.Save(saved, path);

        Parameters loaded = CreateModel(seed: 2);
        Assert.NotEqual(Bits(saved.Values), Bits(loaded.Values));
        SafeTensors.Load(loaded, path);

        Assert.Equal(Bits(saved.Values), Bits(loaded.Values));
    }

    [Fact]
    public void Save_ThenLoad_NonFiniteValuesRoundTripBitExact()
    {
        Parameters saved = CreateModel(seed: 1);
        Span<float> w = saved.Value(saved.Find("fc1.weight")!);
        w[0] = float.NaN;
        w[1] = float.PositiveInfinity;
        w[2] = float.NegativeInfinity;
        w[3] = BitConverter.Int32BitsToSingle(0x7FC0_0123); // NaN with a payload
        w[4] = -0f;
        string path = PathFor("model.safetensors");
        SafeTensors.Save(saved, path);

        Parameters loaded = CreateModel(seed: 2);
        SafeTensors.Load(loaded, path);

        Assert.Equal(Bits(saved.Values), Bits(loaded.Values));
    }

    [Fact]
    public void SaveToStream_ThenLoadFromStream_RoundTripsBitExact()
    {
        Parameters saved = CreateModel(seed: 1);
        var stream = new MemoryStream();
        SafeTensors.Save(saved, stream);

        Parameters loaded = CreateModel(seed: 2);
        stream.Position = 0;
        SafeTensors.Load(loaded, stream);

        Assert.Equal(Bits(saved.Values), Bits(loaded.Values));
    }

    [Fact]
    public void LoadFromNonSeekableStream_RoundTripsBitExact()
    {
        Parameters saved = CreateModel(seed: 1);
        var stream = new MemoryStream();
        SafeTensors.Save(saved, stream);

        Parameters loaded = CreateModel(seed: 2);
        SafeTensors.Load(loaded, new NonSeekableStream(stream.ToArray()));

        Assert.Equal(Bits(saved.Values), Bits(loaded.Values));
    }

    [Fact]
    public void NetworkExtensions_SaveThenLoad_RoundTripsBitExact()
    {
        var saved = new FakeNetwork(CreateModel(seed: 1));
        string path = PathFor("net.safetensors");
        saved.Save(path);

        var loaded = new FakeNetwork(CreateModel(seed: 2));
        loaded.Load(path);

        Assert.Equal(Bits(saved.Parameters.Values), Bits(loaded.Parameters.Values));
    }

    // ---------- the bytes on disk ----------

    [Fact]
    public void Save_WritesSafetensorsWithPyTorchNamesShapesAndOrder()
    {
        Parameters model = CreateModel(seed: 3);
        string path = PathFor("model.safetensors");
        SafeTensors.Save(model, path);

        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        int dataStart = 8 + headerLength;
        using JsonDocument doc = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        JsonElement root = doc.RootElement;
        Assert.Equal("pt", root.GetProperty("__metadata__").GetProperty("format").GetString());
        Assert.Equal(model.Tensors.Count + 1, root.EnumerateObject().Count());

        long begin = 0;
        foreach (TensorInfo t in model.Tensors)
        {
            JsonElement entry = root.GetProperty(t.Name);
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(t.Shape, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray());
            long[] offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            Assert.Equal(new[] { begin, begin + 4L * t.Length }, offsets);
            begin = offsets[1];
        }
        Assert.Equal(dataStart + begin, bytes.Length);

        float FileValue(string name, int index)
        {
            long offset = root.GetProperty(name).GetProperty("data_offsets")[0].GetInt64();
            return BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + (int)offset + 4 * index));
        }

        // Dense addresses its input-major buffer PyTorch-style; the file must hold weight[o, i] at o * in + i.
        foreach ((string layer, int inputs, int units) in new[] { ("fc1", 5, 3), ("fc2", 3, 2) })
        {
            var dense = new Dense(model, layer, inputs, units, Activation.None, model.Find(layer + ".weight")!, model.Find(layer + ".bias"));
            for (int o = 0; o < units; o++)
            {
                for (int i = 0; i < inputs; i++)
                    Assert.Equal(Bits(dense.GetWeight(o, i)), Bits(FileValue(layer + ".weight", o * inputs + i)));
                Assert.Equal(Bits(dense.Bias[o]), Bits(FileValue(layer + ".bias", o)));
            }
        }
    }

    [Fact]
    public void Save_PadsHeaderWithSpacesToMultipleOfEight()
    {
        for (int nameLength = 1; nameLength <= 16; nameLength++)
        {
            var model = new Parameters(new[] { new TensorInfo(new string('w', nameLength), new[] { 2 }, TensorInit.Ones) });
            model.Initialize(seed: 0);
            var stream = new MemoryStream();
            SafeTensors.Save(model, stream);
            byte[] bytes = stream.ToArray();

            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, headerLength % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
            string json = header.TrimEnd(' ');
            Assert.EndsWith("}", json);
            using JsonDocument doc = JsonDocument.Parse(json);
            Assert.Equal(8 + (int)headerLength + 8, bytes.Length);
        }
    }

    [Fact]
    public void Save_WithMetadata_WritesItToHeaderNextToFormat()
    {
        var stream = new MemoryStream();
        SafeTensors.Save(CreateModel(seed: 1), stream, new Dictionary<string, string> { ["epoch"] = "12", ["note"] = "größe" });
        byte[] bytes = stream.ToArray();
        using JsonDocument doc = JsonDocument.Parse(bytes.AsMemory(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes)));
        JsonElement metadata = doc.RootElement.GetProperty("__metadata__");
        Assert.Equal("pt", metadata.GetProperty("format").GetString());
        Assert.Equal("12", metadata.GetProperty("epoch").GetString());
        Assert.Equal("größe", metadata.GetProperty("note").GetString());
    }

    // ---------- loading files written by others ----------

    [Fact]
    public void Load_HandWrittenFile_PutsEachTensorInItsStoredLayout()
    {
        // Data deliberately in a different order from the model's tensors.
        var layout = new (string Name, string Shape, int Floats)[] { ("fc2.bias", "[2]", 2), ("fc1.weight", "[3, 5]", 15), ("fc1.bias", "[3]", 3), ("fc2.weight", "[2, 3]", 6) };
        var entries = new List<(string, string)>();
        var start = new Dictionary<string, int>();
        int floats = 0;
        foreach ((string name, string shape, int count) in layout)
        {
            entries.Add((name, Tensor("F32", shape, $"[{4 * floats}, {4 * (floats + count)}]")));
            start[name] = floats;
            floats += count;
        }
        float[] file = FileFloats();
        string path = WriteFile(Header(entries));

        Parameters model = CreateModel(seed: 5);
        SafeTensors.Load(model, path);

        Span<float> fc1Weight = model.Value(model.Find("fc1.weight")!);
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 5; i++)
                Assert.Equal(file[start["fc1.weight"] + o * 5 + i], fc1Weight[i * 3 + o]);
        Span<float> fc2Weight = model.Value(model.Find("fc2.weight")!);
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < 3; i++)
                Assert.Equal(file[start["fc2.weight"] + o * 3 + i], fc2Weight[i * 2 + o]);
        Assert.Equal(file.AsSpan(start["fc1.bias"], 3).ToArray(), model.Value(model.Find("fc1.bias")!).ToArray());
        Assert.Equal(file.AsSpan(start["fc2.bias"], 2).ToArray(), model.Value(model.Find("fc2.bias")!).ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void Load_HeaderWithMetadata_Loads(int metadataPosition)
    {
        var entries = ValidEntries();
        entries.Insert(metadataPosition, ("__metadata__", "{\"format\":\"pt\",\"epoch\":\"3\",\"empty\":\"\"}"));
        string path = WriteFile(Header(entries));

        Parameters model = CreateModel(seed: 5);
        SafeTensors.Load(model, path);

        Assert.Equal(FileFloats().AsSpan(15, 3).ToArray(), model.Value(model.Find("fc1.bias")!).ToArray());
    }

    [Fact]
    public void Load_UnpaddedHeaderWithWhitespaceAndUnknownFields_Loads()
    {
        var entries = ValidEntries();
        entries[1] = ("fc1.bias", "{ \"dtype\" : \"F32\", \"shape\" : [ 3 ], \"data_offsets\" : [ 60, 72 ], \"extra\": {\"x\": [1, 2]} }");
        string path = WriteFile(" \n" + Header(entries) + "\t\n ");

        Parameters model = CreateModel(seed: 5);
        SafeTensors.Load(model, path);

        Assert.Equal(FileFloats().AsSpan(15, 3).ToArray(), model.Value(model.Find("fc1.bias")!).ToArray());
    }

    // ---------- every malformed file fails and leaves the model unchanged ----------

    [Theory]
    [InlineData(4, "fc2.bias")]
    [InlineData(30, "fc2.weight")]
    [InlineData(DataBytes, "fc1.weight")]
    public void Load_TruncatedData_ThrowsNamingExpectedAndActualSize(int bytesCut, string tensor)
    {
        byte[] full = SavedBytes();
        string path = PathFor("cut.safetensors");
        File.WriteAllBytes(path, full.AsSpan(0, full.Length - bytesCut).ToArray());

        AssertLoadFails(path, "truncated", $"expected {full.Length} bytes", $"found {full.Length - bytesCut}", $"'{tensor}'");
    }

    [Fact]
    public void LoadFromNonSeekableStream_TruncatedData_ThrowsNamingExpectedAndActualSize()
    {
        byte[] full = SavedBytes();
        Parameters model = CreateModel(seed: 7);
        int[] before = Bits(model.Values);

        var e = Assert.Throws<SafeTensorsException>(() => SafeTensors.Load(model, new NonSeekableStream(full.AsSpan(0, full.Length - 4).ToArray())));

        Assert.Contains("truncated", e.Message);
        Assert.Contains($"expected {full.Length} bytes, found {full.Length - 4}", e.Message);
        Assert.Contains("'fc2.bias'", e.Message);
        Assert.Equal(before, Bits(model.Values));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(20)]
    public void Load_TruncatedInHeader_ThrowsSayingTruncated(int keptBytes)
    {
        string path = PathFor("cut.safetensors");
        File.WriteAllBytes(path, SavedBytes().AsSpan(0, keptBytes).ToArray());

        AssertLoadFails(path, "truncated");
    }

    [Fact]
    public void Load_HeaderLengthLargerThanFile_Throws()
    {
        string header = Header(ValidEntries());
        string path = WriteFile(header, declaredLength: (ulong)Encoding.UTF8.GetByteCount(header) + DataBytes + 1);

        AssertLoadFails(path, "truncated", $"{Encoding.UTF8.GetByteCount(header) + DataBytes + 1}");
    }

    [Theory]
    [InlineData(1UL << 62)]
    [InlineData(ulong.MaxValue)]
    [InlineData(SafeTensors.MaxHeaderBytes + 1UL)]
    public void Load_HugeHeaderLength_Throws(ulong declared)
    {
        string path = WriteFile(Header(ValidEntries()), declaredLength: declared);

        AssertLoadFails(path, declared.ToString(System.Globalization.CultureInfo.InvariantCulture), "limit");
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("F64")]
    [InlineData("BF16")]
    [InlineData("I32")]
    [InlineData("f32")]
    public void Load_WrongDtype_ThrowsNamingTensorExpectedAndFound(string dtype)
    {
        var entries = ValidEntries();
        entries[1] = ("fc1.bias", Tensor(dtype, "[3]", "[60, 72]"));
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "'fc1.bias'", "expected F32", $"dtype {dtype}");
    }

    [Theory]
    [InlineData("[5, 3]")]
    [InlineData("[15]")]
    [InlineData("[3, 5, 1]")]
    [InlineData("[]")]
    public void Load_WrongShape_ThrowsNamingTensorExpectedAndFound(string shape)
    {
        var entries = ValidEntries();
        entries[0] = ("fc1.weight", Tensor("F32", shape, "[0, 60]"));
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "'fc1.weight'", "expected [3, 5]", $"shape {shape}");
    }

    [Fact]
    public void Load_MissingTensor_ThrowsNamingIt()
    {
        var entries = ValidEntries();
        entries.RemoveAt(3);
        string path = WriteFile(Header(entries), FileBytes().AsSpan(0, 96).ToArray());

        AssertLoadFails(path, "missing", "'fc2.bias'");
    }

    [Fact]
    public void Load_UnexpectedTensor_ThrowsNamingIt()
    {
        var entries = ValidEntries();
        entries.Add(("fc3.weight", Tensor("F32", "[2]", "[104, 112]")));
        string path = WriteFile(Header(entries), new byte[DataBytes + 8]);

        AssertLoadFails(path, "unexpected", "'fc3.weight'");
    }

    [Fact]
    public void Load_RenamedTensor_ThrowsNamingMissingAndUnexpected()
    {
        var entries = ValidEntries();
        entries[3] = ("fc2.b", entries[3].Json);
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "missing tensors 'fc2.bias'", "unexpected tensors 'fc2.b'");
    }

    [Fact]
    public void Load_DuplicateTensor_ThrowsNamingIt()
    {
        var entries = ValidEntries();
        entries.Add(entries[1]);
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "'fc1.bias'", "twice");
    }

    [Theory]
    [InlineData("[48, 60]")]
    [InlineData("[0, 12]")]
    public void Load_OverlappingOffsets_ThrowsNamingBothTensors(string offsets)
    {
        var entries = ValidEntries();
        entries[1] = ("fc1.bias", Tensor("F32", "[3]", offsets));
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "overlapping", "'fc1.bias'", "'fc1.weight'");
    }

    [Theory]
    [InlineData("[200, 208]")]
    [InlineData("[4611686018427387904, 4611686018427387912]")]
    [InlineData("[104, 96]")]
    [InlineData("[96, 100]")]
    [InlineData("[96, 108]")]
    [InlineData("[96]")]
    [InlineData("[96, 104, 112]")]
    [InlineData("[-8, 0]")]
    [InlineData("[96.0, 104]")]
    [InlineData("[1e30, 1e30]")]
    [InlineData("[\"96\", \"104\"]")]
    [InlineData("96")]
    public void Load_BadOffsets_ThrowsNamingTensor(string offsets)
    {
        var entries = ValidEntries();
        entries[3] = ("fc2.bias", Tensor("F32", "[2]", offsets));
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, "'fc2.bias'");
    }

    [Fact]
    public void Load_TrailingBytesAfterData_Throws()
    {
        string path = WriteFile(Header(ValidEntries()), FileBytes().Concat(new byte[] { 1, 2, 3 }).ToArray());

        AssertLoadFails(path, "3 unexpected bytes");
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("not json", null)]
    [InlineData("{", null)]
    [InlineData("[]", null)]
    [InlineData("null", null)]
    [InlineData("{} {}", null)]
    [InlineData("/* comment */ {}", null)]
    [InlineData("{'fc1.weight': {}}", null)]
    [InlineData("{\"fc1.weight\": {\"dtype\": \"F32\", \"shape\": [3, 5], \"data_offsets\": [0, 60]},}", null)]
    [InlineData("{\"fc1.weight\": 5}", "fc1.weight")]
    [InlineData("{\"fc1.weight\": {\"dtype\": \"F32\", \"shape\": [3, 5]}}", "fc1.weight")]
    [InlineData("{\"fc1.weight\": {\"dtype\": 32, \"shape\": [3, 5], \"data_offsets\": [0, 60]}}", "fc1.weight")]
    [InlineData("{\"fc1.weight\": {\"dtype\": \"F32\", \"shape\": [3, -5], \"data_offsets\": [0, 60]}}", "fc1.weight")]
    [InlineData("{\"__metadata__\": [\"format\"]}", "__metadata__")]
    [InlineData("{\"__metadata__\": {\"epoch\": 3}}", "epoch")]
    public void Load_MalformedHeader_ThrowsNamingTheCulprit(string header, string? culprit)
    {
        string path = WriteFile(header);

        AssertLoadFails(path, culprit is null ? [] : [culprit]);
    }

    [Fact]
    public void Load_InvalidUtf8InHeader_Throws()
    {
        byte[] header = Encoding.UTF8.GetBytes(Header(ValidEntries()).Replace("fc1.bias", "fc1.bia\u00e9", StringComparison.Ordinal));
        int at = Array.IndexOf(header, (byte)0xC3);
        header[at] = 0xFF; // a byte that never occurs in UTF-8

        AssertLoadFails(WriteFile(header));
    }

    [Fact]
    public void Load_MoreThanMaxTensors_Throws()
    {
        var entries = Enumerable.Range(0, SafeTensors.MaxTensors + 1)
            .Select(k => ($"t{k}", Tensor("F32", "[1]", $"[{4 * k}, {4 * k + 4}]")));
        string path = WriteFile(Header(entries));

        AssertLoadFails(path, $"more than {SafeTensors.MaxTensors} tensors");
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(CreateModel(seed: 1), PathFor("absent.safetensors")));
    }

    // ---------- atomic save ----------

    [Fact]
    public void Save_IntoNonExistentDirectory_ThrowsAndLeavesNoTempFile()
    {
        string path = Path.Combine(_dir, "missing", "model.safetensors");

        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(CreateModel(seed: 1), path));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void Save_OntoADirectory_ThrowsAndLeavesNoTempFile()
    {
        // The temp file gets written and only the final rename fails, so this exercises the cleanup.
        // (A read-only directory would not do: tests may run as root, which ignores permissions.)
        string path = PathFor("model.safetensors");
        Directory.CreateDirectory(path);

        Exception e = Assert.ThrowsAny<Exception>(() => SafeTensors.Save(CreateModel(seed: 1), path));

        Assert.True(e is IOException or UnauthorizedAccessException, e.ToString());
        Assert.Equal(new[] { path }, Directory.EnumerateFileSystemEntries(_dir).ToArray());
    }

    [Fact]
    public void Save_FailingMidway_KeepsExistingFileAndLeavesNoTempFile()
    {
        string path = PathFor("model.safetensors");
        File.WriteAllText(path, "previous");
        var model = new Parameters(new[] { new TensorInfo("__metadata__", new[] { 2 }, TensorInit.Ones) });

        Assert.Throws<ArgumentException>(() => SafeTensors.Save(model, path));

        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.EnumerateFileSystemEntries(_dir).ToArray());
    }

    [Fact]
    public void Save_OverExistingFile_ReplacesIt()
    {
        string path = PathFor("model.safetensors");
        File.WriteAllText(path, "previous, longer than nothing but shorter than the model file");
        Parameters model = CreateModel(seed: 1);

        SafeTensors.Save(model, path);

        Assert.Equal(SavedBytes(seed: 1), File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.EnumerateFileSystemEntries(_dir).ToArray());
    }

    // ---------- helpers ----------

    private static Parameters CreateModel(int seed)
    {
        var model = new Parameters(new[]
        {
            new TensorInfo("fc1.weight", new[] { 3, 5 }, TensorInit.XavierUniform, 5, 3, storedTransposed: true),
            new TensorInfo("fc1.bias", new[] { 3 }, TensorInit.Zeros),
            new TensorInfo("fc2.weight", new[] { 2, 3 }, TensorInit.KaimingUniform, 3, 2, storedTransposed: true),
            new TensorInfo("fc2.bias", new[] { 2 }, TensorInit.Ones),
        });
        model.Initialize(seed);
        // Zeros and ones would hide a load that skips, swaps or misplaces the biases.
        var random = new Random(seed);
        foreach (string bias in new[] { "fc1.bias", "fc2.bias" })
        {
            Span<float> values = model.Value(model.Find(bias)!);
            for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble() - 0.5f;
        }
        return model;
    }

    /// <summary>Header entries matching <see cref="CreateModel"/>, in model order, with the data contiguous.</summary>
    private static List<(string Name, string Json)> ValidEntries() => new()
    {
        ("fc1.weight", Tensor("F32", "[3, 5]", "[0, 60]")),
        ("fc1.bias", Tensor("F32", "[3]", "[60, 72]")),
        ("fc2.weight", Tensor("F32", "[2, 3]", "[72, 96]")),
        ("fc2.bias", Tensor("F32", "[2]", "[96, 104]")),
    };

    private static string Tensor(string dtype, string shape, string offsets) =>
        $"{{\"dtype\": \"{dtype}\", \"shape\": {shape}, \"data_offsets\": {offsets}}}";

    private static string Header(IEnumerable<(string Name, string Json)> entries) =>
        "{" + string.Join(", ", entries.Select(e => $"\"{e.Name}\": {e.Json}")) + "}";

    /// <summary>Distinct values, so a misplaced element shows.</summary>
    private static float[] FileFloats() => Enumerable.Range(0, DataBytes / 4).Select(k => k + 0.25f).ToArray();

    private static byte[] FileBytes()
    {
        float[] floats = FileFloats();
        var bytes = new byte[4 * floats.Length];
        for (int k = 0; k < floats.Length; k++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * k), floats[k]);
        return bytes;
    }

    private string WriteFile(string header, byte[]? data = null, ulong? declaredLength = null) =>
        WriteFile(Encoding.UTF8.GetBytes(header), data, declaredLength);

    private string WriteFile(byte[] header, byte[]? data = null, ulong? declaredLength = null)
    {
        data ??= FileBytes();
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        string path = PathFor("handwritten.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] SavedBytes(int seed = 1)
    {
        var stream = new MemoryStream();
        SafeTensors.Save(CreateModel(seed), stream);
        return stream.ToArray();
    }

    /// <summary>Loads <paramref name="path"/> into a model, expecting failure with the file and <paramref name="messageParts"/> named and the model untouched.</summary>
    private static SafeTensorsException AssertLoadFails(string path, params string[] messageParts)
    {
        Parameters model = CreateModel(seed: 7);
        int[] before = Bits(model.Values);

        var e = Assert.Throws<SafeTensorsException>(() => SafeTensors.Load(model, path));

        Assert.Contains(path, e.Message);
        foreach (string part in messageParts) Assert.Contains(part, e.Message);
        Assert.Equal(before, Bits(model.Values));
        return e;
    }

    private string PathFor(string name) => Path.Combine(_dir, name);

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    private static int Bits(float value) => BitConverter.SingleToInt32Bits(value);

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    private sealed class FakeNetwork(Parameters parameters) : INetwork
    {
        public int InputSize => 5;
        public int OutputSize => 2;
        public Parameters Parameters { get; } = parameters;
        public string Summary => "";
        public System.Collections.Generic.IReadOnlyList<NetworkStep> Steps => System.Array.Empty<NetworkStep>();
        public void Forward(ReadOnlySpan<float> input, Span<float> output) => throw new NotSupportedException();
        public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch) => throw new NotSupportedException();
        public Workspace CreateWorkspace(int maxBatch) => throw new NotSupportedException();
        public void ForwardTrain(ReadOnlySpan<float> input, Span<float> output, int batch, Workspace workspace) => throw new NotSupportedException();
        public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Workspace workspace) => throw new NotSupportedException();
        public void BackwardUpdatingWeights(ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, float learningRate) => throw new NotSupportedException();
    }
}
