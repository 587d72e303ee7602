using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsl.Tests.Networks;

namespace Dsl.Tests.CompiledWeights;

/// <summary>
/// Weights compiled into the assembly (<c>[Network(Weights = ...)]</c>): <c>Pretrained()</c> reads them in place,
/// with the same values and outputs as the twin network loading the same file, copies them on the first write, and
/// leaves <c>new</c> its seeded initialisation.
/// </summary>
public class CompiledWeightsTests
{
    private static string Folder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    // The checked-in files and how they were made: each the Save of a seeded twin, filled deterministically.
    private static readonly (string File, Func<INetwork> Twin)[] s_files =
    [
        ("conv-net.safetensors", () => Filled(new ConvNet(seed: 31), 31)),
        ("pruned-mlp.safetensors", () => Pruned(Filled(new PrunedMlp(seed: 32), 32))),
        ("tiny-gpt.safetensors", () => Filled(new TinyGpt(seed: 33), 33)),
    ];

    private static INetwork Filled(INetwork net, int seed)
    {
        var rng = new Rng(seed);
        foreach (TensorInfo t in net.Parameters.Tensors)
        {
            Span<float> v = net.Parameters.Value(t);
            if (t.FileDType == TensorDType.I64) v.Fill(1000 + seed);
            else
            {
                float low = t.Name.EndsWith("running_var", StringComparison.Ordinal) ? 0.5f : -0.5f;
                for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle(low, low + 1f);
            }
        }
        return net;
    }

    private static INetwork Pruned(INetwork net)
    {
        net.Parameters.Pruning!.Prune();
        return net;
    }

    private static byte[] SaveToBytes(INetwork net)
    {
        var stream = new MemoryStream();
        SafeTensors.Save(net.Parameters, stream);
        return stream.ToArray();
    }

    [Fact]
    public void CheckedInFiles_AreTheSeededTwinsSave()
    {
        foreach ((string file, Func<INetwork> twin) in s_files)
        {
            string path = Path.Combine(Folder(), file);
            byte[] expected = SaveToBytes(twin());
            if (Environment.GetEnvironmentVariable("DSL_REGENERATE_WEIGHTS") == "1") File.WriteAllBytes(path, expected);
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(expected), $"{file} is not the Save of its seeded twin; rerun with DSL_REGENERATE_WEIGHTS=1 and rebuild.");
        }
    }

    public static TheoryData<string> Names => new(["conv-net", "pruned-mlp", "tiny-gpt"]);

    private static (INetwork Compiled, INetwork Loaded) Pair(string name)
    {
        (INetwork compiled, INetwork twin) = name switch
        {
            "conv-net" => ((INetwork)CompiledConvNet.Pretrained(), (INetwork)new ConvNet(seed: 1)),
            "pruned-mlp" => (CompiledPrunedMlp.Pretrained(), new PrunedMlp(seed: 1)),
            "tiny-gpt" => (CompiledTinyGpt.Pretrained(), new TinyGpt(seed: 1)),
            _ => throw new ArgumentException(name),
        };
        twin.Load(Path.Combine(Folder(), name + ".safetensors"));
        return (compiled, twin);
    }

    private static float[] Input(INetwork net, int batch, int seed)
    {
        var rng = new Rng(seed);
        var x = new float[batch * net.InputSize];
        // Token networks take ids; the others values.
        bool tokens = net is CompiledTinyGpt or TinyGpt;
        for (int i = 0; i < x.Length; i++) x[i] = tokens ? rng.NextInt(7) : rng.NextSingle(-1f, 1f);
        return x;
    }

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    [Theory]
    [MemberData(nameof(Names))]
    public void Pretrained_ReadsTheFileInPlace_WithTheLoadedTwinsValuesAndOutputs(string name)
    {
        (INetwork compiled, INetwork loaded) = Pair(name);
        Assert.True(compiled.Parameters.ReadsCompiledWeights);
        Assert.False(loaded.Parameters.ReadsCompiledWeights);
        Assert.Equal(Bits(loaded.Parameters.Values), Bits(compiled.Parameters.ReadOnlyValues));
        Assert.Equal(Bits(loaded.Parameters.Buffers), Bits(compiled.Parameters.ReadOnlyBuffers));

        foreach (int batch in new[] { 1, 5 })
        {
            float[] x = Input(compiled, batch, seed: 40 + batch);
            var expected = new float[batch * compiled.OutputSize];
            var actual = new float[expected.Length];
            loaded.Forward(x, expected, batch);
            compiled.Forward(x, actual, batch);
            Assert.Equal(Bits(expected), Bits(actual));
            compiled.Forward(x.AsSpan(0, compiled.InputSize), actual.AsSpan(0, compiled.OutputSize));
            Assert.Equal(Bits(expected.AsSpan(0, compiled.OutputSize)), Bits(actual.AsSpan(0, compiled.OutputSize)));
        }
        if (compiled is CompiledTinyGpt gpt)
        {
            var twin = (TinyGpt)loaded;
            DecodeCache a = gpt.CreateDecodeCache(), b = twin.CreateDecodeCache();
            float[] x = Input(gpt, 1, seed: 50), la = new float[7], lb = new float[7];
            for (int t = 0; t < 8; t++)
            {
                gpt.DecodeStep((int)x[t], t, a, la);
                twin.DecodeStep((int)x[t], t, b, lb);
                Assert.Equal(Bits(lb), Bits(la));
            }
        }
        if (compiled.Parameters.Pruning is { } pruning)
            Assert.Equal(loaded.Parameters.Pruning!.Describe(), pruning.Describe());
        // Inference, the pruning masks and the sparse kernels read the weights in place: nothing was copied.
        Assert.True(compiled.Parameters.ReadsCompiledWeights);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Pretrained_Forward_AllocatesNothing(string name)
    {
        INetwork compiled = Pair(name).Compiled;
        float[] x = Input(compiled, 4, seed: 60);
        var y = new float[4 * compiled.OutputSize];
        long allocated = Allocations.QuietestWindow(() =>
        {
            compiled.Forward(x.AsSpan(0, compiled.InputSize), y.AsSpan(0, compiled.OutputSize));
            compiled.Forward(x, y, 4);
        }, callsPerWindow: 10);
        Assert.Equal(0, allocated);
        Assert.True(compiled.Parameters.ReadsCompiledWeights);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void FirstWrite_CopiesTheWeights_AndLeavesOtherPretrainedNetworksAsCompiled(string name)
    {
        (INetwork compiled, INetwork loaded) = Pair(name);
        int[] original = Bits(compiled.Parameters.ReadOnlyValues);
        Span<float> values = compiled.Parameters.Values;
        Assert.False(compiled.Parameters.ReadsCompiledWeights);
        Assert.Equal(original, Bits(values));
        Assert.Equal(Bits(loaded.Parameters.Buffers), Bits(compiled.Parameters.Buffers));
        values[0] += 1f;
        Assert.NotEqual(original, Bits(compiled.Parameters.ReadOnlyValues));

        INetwork another = Pair(name).Compiled;
        Assert.True(another.Parameters.ReadsCompiledWeights);
        Assert.Equal(original, Bits(another.Parameters.ReadOnlyValues));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Training_APretrainedNetwork_EqualsTrainingItsLoadedTwin(string name)
    {
        (INetwork compiled, INetwork loaded) = Pair(name);
        const int batch = 3;
        float[] x = Input(compiled, batch, seed: 70);
        var dy = new float[batch * compiled.OutputSize];
        for (int i = 0; i < dy.Length; i++) dy[i] = 0.01f * (i % 7 - 3);
        foreach (INetwork net in new[] { compiled, loaded })
        {
            Workspace workspace = net.CreateWorkspace(batch);
            var y = new float[dy.Length];
            var optimizer = new Sgd(learningRate: 0.1f, momentum: 0.9f);
            for (int step = 0; step < 3; step++)
            {
                net.Parameters.ZeroGradients();
                net.ForwardTrain(x, y, batch, workspace);
                net.BackwardAndStep(dy, batch, workspace, optimizer);
            }
        }
        Assert.False(compiled.Parameters.ReadsCompiledWeights);
        Assert.Equal(Bits(loaded.Parameters.Values), Bits(compiled.Parameters.Values));
        Assert.Equal(Bits(loaded.Parameters.Buffers), Bits(compiled.Parameters.Buffers));
    }

    [Fact]
    public void Load_IntoAPretrainedNetwork_ReplacesItsWeights_AndAFailedLoadChangesNothing()
    {
        CompiledConvNet compiled = CompiledConvNet.Pretrained();
        string dir = Directory.CreateTempSubdirectory("dsl-compiled-").FullName;
        try
        {
            var other = new ConvNet(seed: 9);
            string path = Path.Combine(dir, "other.safetensors");
            other.Save(path);
            string bad = Path.Combine(dir, "bad.safetensors");
            File.WriteAllBytes(bad, File.ReadAllBytes(path)[..^4]);
            int[] before = Bits(compiled.Parameters.ReadOnlyValues);
            Assert.Throws<SafeTensorsException>(() => compiled.Load(bad));
            Assert.Equal(before, Bits(compiled.Parameters.ReadOnlyValues));
            compiled.Load(path);
            Assert.Equal(Bits(other.Parameters.Values), Bits(compiled.Parameters.ReadOnlyValues));
            Assert.Equal(Bits(other.Parameters.Buffers), Bits(compiled.Parameters.ReadOnlyBuffers));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void New_KeepsTheSeededInitialisation()
    {
        var compiled = new CompiledConvNet(seed: 5);
        var twin = new ConvNet(seed: 5);
        Assert.False(compiled.Parameters.ReadsCompiledWeights);
        Assert.Equal(Bits(twin.Parameters.Values), Bits(compiled.Parameters.Values));
        Assert.Equal(Bits(twin.Parameters.Buffers), Bits(compiled.Parameters.Buffers));
    }

    [Fact]
    public void Save_OfAPretrainedNetwork_WritesTheFileItWasCompiledFrom()
    {
        byte[] file = File.ReadAllBytes(Path.Combine(Folder(), "tiny-gpt.safetensors"));
        INetwork compiled = CompiledTinyGpt.Pretrained();
        Assert.True(SaveToBytes(compiled).AsSpan().SequenceEqual(file));
    }
}
