using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Dsl;
using Dsl.Tests.Networks;
using Xunit;

namespace Dsl.Tests;

/// <summary>
/// Batched inference reads the wide products' weights from panels the network packs once per change of the weights
/// (<see cref="Dsl.Kernels.PackedPanels"/>); batch 1 reads the values themselves. After each kind of write the batched
/// rows must equal batch 1 again, and differ from before the write, or the panels were stale.
/// </summary>
public sealed class PackedPanelsTests
{
    private const int Batch = 9;

    [Fact]
    public void BatchedForward_SeesAWriteThroughValues() =>
        AssertFollows(net =>
        {
            Span<float> values = net.Parameters.Values;
            TensorInfo w = net.Parameters.Find("fc1.weight")!;
            // The first, a middle and the last stored weight of the 784 x 256 layer: its first and last panels.
            foreach (int i in new[] { 0, w.Length / 2 + 5, w.Length - 1 }) values[w.Offset + i] += 0.5f;
        });

    [Fact]
    public void BatchedForward_SeesAWriteThroughValue() =>
        AssertFollows(net => net.Parameters.Value(net.Parameters.Find("fc2.weight")!)[130] -= 0.75f);

    [Fact]
    public void BatchedForward_SeesInitialize() => AssertFollows(net => net.Parameters.Initialize(seed: 77));

    [Fact]
    public void BatchedForward_SeesLoad()
    {
        var other = new FashionMlp();
        other.Parameters.Initialize(seed: 78);
        string path = Path.Combine(Path.GetTempPath(), $"dsl-panels-{Guid.NewGuid():N}.safetensors");
        try
        {
            other.Save(path);
            AssertFollows(net => net.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BatchedForward_SeesATrainingStep() =>
        AssertFollows(net =>
        {
            const int batch = 4;
            float[] input = DenseNumericTests.RandomInputs(batch * FashionMlp.InputSize, seed: 79);
            var output = new float[batch * FashionMlp.OutputSize];
            Workspace workspace = net.CreateWorkspace(batch);
            net.ForwardTrain(input, output, batch, workspace);
            net.Parameters.ZeroGradients();
            net.Backward(output, new float[batch * FashionMlp.InputSize], batch, workspace);
            new Sgd(learningRate: 0.5f).Step(net.Parameters);
        });

    [Fact]
    public void ValuesVersion_MovesOnWriteAccessOnly()
    {
        var net = new FashionMlp();
        long before = net.Parameters.ValuesVersion;
        _ = net.Parameters.ReadOnlyValues;
        _ = net.Parameters.ReadOnlyValue(net.Parameters.Find("fc1.weight")!);
        Assert.Equal(before, net.Parameters.ValuesVersion);
        _ = net.Parameters.Values;
        Assert.NotEqual(before, net.Parameters.ValuesVersion);
    }

    [Fact]
    public void ConcurrentBatchedForwards_AfterAWrite_AllReadTheNewWeights()
    {
        var net = new FashionMlp();
        float[] input = DenseNumericTests.RandomInputs(Batch * FashionMlp.InputSize, seed: 80);
        net.Forward(input, new float[Batch * FashionMlp.OutputSize], Batch);
        net.Parameters.Values[3] += 1f;
        float[] expected = BatchOneRows(net, input);
        float[][] outputs = Enumerable.Range(0, 4).Select(_ => new float[Batch * FashionMlp.OutputSize]).ToArray();
        Parallel.For(0, outputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t => net.Forward(input, outputs[t], Batch));
        foreach (float[] output in outputs) Assert.Equal(expected, output);
    }

    // Packs (a batched forward), writes, and checks the next batched forward against batch 1 and against the old rows.
    private static void AssertFollows(Action<FashionMlp> write)
    {
        var net = new FashionMlp();
        net.Parameters.Initialize(seed: 76);
        float[] input = DenseNumericTests.RandomInputs(Batch * FashionMlp.InputSize, seed: 81);
        var before = new float[Batch * FashionMlp.OutputSize];
        net.Forward(input, before, Batch);
        Assert.Equal(BatchOneRows(net, input), before);

        write(net);
        var after = new float[Batch * FashionMlp.OutputSize];
        net.Forward(input, after, Batch);
        Assert.Equal(BatchOneRows(net, input), after);
        Assert.NotEqual(before, after);
    }

    private static float[] BatchOneRows(INetwork net, float[] input)
    {
        int batch = input.Length / net.InputSize;
        var rows = new float[batch * net.OutputSize];
        for (int s = 0; s < batch; s++)
            net.Forward(input.AsSpan(s * net.InputSize, net.InputSize), rows.AsSpan(s * net.OutputSize, net.OutputSize));
        return rows;
    }
}
