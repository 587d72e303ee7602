using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text.Json;
using Dsl;

namespace Dsl.Tests;

public sealed class LayerTests
{
    // ---------- convolutions: PyTorch addressing through the stored layout ----------

    [Theory]
    [InlineData(4, 6, 3, 1)]
    [InlineData(4, 6, 3, 2)]
    [InlineData(3, 9, 1, 3)]
    [InlineData(5, 7, 2, 1)]
    public void Conv2D_GetWeight_MatchesTheSavedPyTorchTensor(int inChannels, int outChannels, int kernel, int groups)
    {
        var weight = new TensorInfo("conv.weight", new[] { outChannels, inChannels / groups, kernel, kernel }, TensorInit.KaimingUniform, transposeGroups: groups);
        var bias = new TensorInfo("conv.bias", new[] { outChannels }, TensorInit.Zeros);
        var p = new Parameters(new[] { weight, bias });
        p.Initialize(seed: 11);
        var conv = new Conv2D(p, "conv", inChannels, 9, 8, outChannels, kernel, 1, 0, 1, groups, Activation.Relu, weight, bias);

        float[] file = SavedFloats(p, "conv.weight");

        int icg = inChannels / groups, n = 0;
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < icg; c++)
                for (int h = 0; h < kernel; h++)
                    for (int w = 0; w < kernel; w++)
                        Assert.Equal(file[n++], conv.GetWeight(o, c, h, w));
    }

    [Fact]
    public void Conv2D_SetWeight_WritesTheStoredLayoutPerGroup()
    {
        // 4 output channels in 2 groups (M = 2), 1 input channel per group, 3x3: R = 9.
        var weight = new TensorInfo("c.weight", new[] { 4, 1, 3, 3 }, TensorInit.Zeros, transposeGroups: 2);
        var p = new Parameters(new[] { weight });
        var conv = new Conv2D(p, "c", 2, 5, 5, 4, 3, 1, 1, 1, 2, Activation.None, weight, null);

        conv.SetWeight(3, 0, 2, 1, 42f); // group 1, m = 1, r = 2*3 + 1 = 7 -> (1*9 + 7)*2 + 1 = 33

        Assert.Equal(42f, conv.Weight[33]);
        Assert.Equal(42f, conv.GetWeight(3, 0, 2, 1));
        Assert.Equal(1, conv.Weight.ToArray().Count(v => v != 0));
        Assert.True(conv.Bias.IsEmpty);
        Assert.True(conv.BiasGradient.IsEmpty);
        Assert.Equal(36, conv.WeightGradient.Length);
    }

    [Theory]
    [InlineData(28, 28, 5, 1, 2, 1, 28, 28)]
    [InlineData(7, 7, 3, 2, 1, 1, 4, 4)]
    [InlineData(9, 17, 3, 1, 0, 2, 5, 13)]
    [InlineData(1, 1, 1, 1, 0, 1, 1, 1)]
    [InlineData(49, 7, 7, 3, 3, 1, 17, 3)]
    public void Conv2D_OutputShape_IsPyTorchs(int h, int w, int k, int s, int pad, int d, int oh, int ow)
    {
        var weight = new TensorInfo("c.weight", new[] { 8, 3, k, k }, TensorInit.Zeros, transposeGroups: 1);
        var p = new Parameters(new[] { weight });
        var conv = new Conv2D(p, "c", 3, h, w, 8, k, s, pad, d, 1, Activation.None, weight, null);

        Assert.Equal(new[] { 3, h, w }, conv.InputShape);
        Assert.Equal(new[] { 8, oh, ow }, conv.OutputShape);
        Assert.Equal((oh, ow), (conv.OutputHeight, conv.OutputWidth));
        Assert.Equal(8 * oh * ow, conv.OutputSize);
        Assert.Equal(3 * h * w, conv.InputSize);
    }

    [Fact]
    public void Conv2D_RejectsMismatches()
    {
        var good = new TensorInfo("c.weight", new[] { 4, 2, 3, 3 }, TensorInit.Zeros, transposeGroups: 2);
        var ungrouped = new TensorInfo("c.weight", new[] { 4, 2, 3, 3 }, TensorInit.Zeros, transposeGroups: 1);
        var p = new Parameters(new[] { good });
        var q = new Parameters(new[] { ungrouped });

        Assert.Throws<ArgumentException>(() => new Conv2D(q, "c", 4, 5, 5, 4, 3, 1, 0, 1, 2, Activation.None, ungrouped, null));
        Assert.Throws<ArgumentException>(() => new Conv2D(p, "c", 4, 5, 5, 4, 3, 1, 0, 1, 1, Activation.None, good, null));
        Assert.Throws<ArgumentException>(() => new Conv2D(p, "c", 5, 5, 5, 4, 3, 1, 0, 1, 2, Activation.None, good, null));
        Assert.Throws<ArgumentException>(() => new Conv2D(p, "c", 4, 2, 2, 4, 3, 1, 0, 1, 2, Activation.None, good, null));
        Assert.Throws<ArgumentException>(() => new Conv2D(p, "d", 4, 5, 5, 4, 3, 1, 0, 1, 2, Activation.None, good, null));
        Assert.Throws<ArgumentException>(() => new Conv2D(q, "c", 4, 5, 5, 4, 3, 1, 0, 1, 2, Activation.None, good, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D(p, "c", 4, 5, 5, 4, 3, 0, 0, 1, 2, Activation.None, good, null));
    }

    [Theory]
    [InlineData(4, 6, 3, 1)]
    [InlineData(4, 6, 5, 2)]
    [InlineData(3, 3, 2, 3)]
    public void Conv1D_GetWeight_MatchesTheSavedPyTorchTensor(int inChannels, int outChannels, int kernel, int groups)
    {
        var weight = new TensorInfo("tcn.weight", new[] { outChannels, inChannels / groups, kernel }, TensorInit.KaimingUniform, transposeGroups: groups);
        var p = new Parameters(new[] { weight });
        p.Initialize(seed: 12);
        var conv = new Conv1D(p, "tcn", inChannels, 17, outChannels, kernel, 1, 0, 1, groups, false, Activation.None, weight, null);

        float[] file = SavedFloats(p, "tcn.weight");

        int n = 0;
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < inChannels / groups; c++)
                for (int k = 0; k < kernel; k++)
                    Assert.Equal(file[n++], conv.GetWeight(o, c, k));
        conv.SetWeight(outChannels - 1, 0, kernel - 1, -3f);
        Assert.Equal(-3f, SavedFloats(p, "tcn.weight")[((outChannels - 1) * (inChannels / groups)) * kernel + kernel - 1]);
    }

    [Theory]
    [InlineData(17, 3, 1, 0, 1, false, 15)]
    [InlineData(17, 3, 1, 1, 1, false, 17)]
    [InlineData(17, 3, 2, 1, 1, false, 9)]
    [InlineData(17, 3, 1, 0, 1, true, 17)]
    [InlineData(17, 3, 1, 0, 4, true, 17)]
    [InlineData(17, 3, 2, 0, 2, true, 9)]
    [InlineData(1, 5, 1, 0, 1, true, 1)]
    public void Conv1D_OutputLength_IsPyTorchs(int length, int k, int s, int pad, int d, bool causal, int expected)
    {
        var weight = new TensorInfo("c.weight", new[] { 2, 3, k }, TensorInit.Zeros, transposeGroups: 1);
        var p = new Parameters(new[] { weight });
        var conv = new Conv1D(p, "c", 3, length, 2, k, s, pad, d, 1, causal, Activation.None, weight, null);

        Assert.Equal(new[] { 2, expected }, conv.OutputShape);
        Assert.Equal(expected, conv.OutputLength);
        Assert.Equal(causal ? (k - 1) * d : pad, conv.LeftPadding);
        Assert.Equal(causal ? 0 : pad, conv.RightPadding);
    }

    [Fact]
    public void Conv1D_CausalWithPadding_Throws()
    {
        var weight = new TensorInfo("c.weight", new[] { 2, 3, 3 }, TensorInit.Zeros, transposeGroups: 1);
        var p = new Parameters(new[] { weight });
        var e = Assert.Throws<ArgumentException>(() => new Conv1D(p, "c", 3, 10, 2, 3, 1, 1, 1, 1, true, Activation.None, weight, null));
        Assert.Contains("causal", e.Message);
    }

    // ---------- dense as a layer ----------

    [Fact]
    public void Dense_IsALayerWithFlatShapes()
    {
        var weight = new TensorInfo("fc.weight", new[] { 3, 5 }, TensorInit.Zeros, 5, 3, storedTransposed: true);
        var p = new Parameters(new[] { weight });
        Layer dense = new Dense(p, "fc", 5, 3, Activation.None, weight, null);

        Assert.Equal("fc", dense.Name);
        Assert.Equal(new[] { 5 }, dense.InputShape);
        Assert.Equal(new[] { 3 }, dense.OutputShape);
        dense.OutputShape[0] = 99;
        Assert.Equal(new[] { 3 }, dense.OutputShape);
    }

    // ---------- pooling and reshaping ----------

    [Theory]
    [InlineData(28, 28, 2, 0, 0, 2, 14, 14)]
    [InlineData(7, 7, 3, 2, 1, 2, 4, 4)]
    [InlineData(17, 49, 3, 1, 1, 1, 17, 49)]
    [InlineData(1, 1, 1, 0, 0, 1, 1, 1)]
    [InlineData(7, 5, 2, 0, 0, 2, 3, 2)]
    public void Pool2D_ShapesArePyTorchs(int h, int w, int k, int stride, int pad, int resolvedStride, int oh, int ow)
    {
        var max = new MaxPool2D("pool", 3, h, w, k, stride, pad);
        var avg = new AvgPool2D("pool", 3, h, w, k, stride, pad);

        foreach ((int[] shape, int s, int ho, int wo) in new[] { (max.OutputShape, max.Stride, max.OutputHeight, max.OutputWidth), (avg.OutputShape, avg.Stride, avg.OutputHeight, avg.OutputWidth) })
        {
            Assert.Equal(new[] { 3, oh, ow }, shape);
            Assert.Equal(resolvedStride, s);
            Assert.Equal((oh, ow), (ho, wo));
        }
    }

    [Fact]
    public void Pooling_RejectsPaddingOverHalfTheKernel()
    {
        Assert.Throws<ArgumentException>(() => new MaxPool2D("p", 1, 8, 8, 2, 2, 2));
        Assert.Throws<ArgumentException>(() => new AvgPool2D("p", 1, 8, 8, 3, 1, 2));
        Assert.Throws<ArgumentException>(() => new MaxPool1D("p", 1, 8, 3, 1, 2));
        Assert.Throws<ArgumentException>(() => new MaxPool2D("p", 1, 1, 8, 3, 1, 0));
    }

    [Fact]
    public void MaxPool1D_GlobalAvgPool_Flatten_Shapes()
    {
        var pool = new MaxPool1D("p", 4, 17, 3, 2, 1);
        Assert.Equal(new[] { 4, 9 }, pool.OutputShape);
        Assert.Equal((9, 2), (pool.OutputLength, pool.Stride));

        var gap = new GlobalAvgPool("gap", 16, 7, 7);
        Assert.Equal(new[] { 16, 7, 7 }, gap.InputShape);
        Assert.Equal(new[] { 16 }, gap.OutputShape);
        Assert.Equal(49, gap.Spatial);
        var gap1 = new GlobalAvgPool("gap", 16, 17);
        Assert.Equal(new[] { 16 }, gap1.OutputShape);
        Assert.Equal(17, gap1.Spatial);

        var flatten = new Flatten("flat", new[] { 16, 5, 5 });
        Assert.Equal(new[] { 400 }, flatten.OutputShape);
        Assert.Equal(400, flatten.InputSize);
        Assert.Throws<ArgumentException>(() => new Flatten("flat", new[] { 16, 0 }));
    }

    // ---------- batch norm ----------

    private static (Parameters, TensorInfo[]) BatchNormTensors(string name, int channels)
    {
        TensorInfo[] t =
        {
            new(name + ".weight", new[] { channels }, TensorInit.Ones),
            new(name + ".bias", new[] { channels }, TensorInit.Zeros),
            new(name + ".running_mean", new[] { channels }, TensorInit.Zeros, kind: TensorKind.Buffer),
            new(name + ".running_var", new[] { channels }, TensorInit.Ones, kind: TensorKind.Buffer),
            new(name + ".num_batches_tracked", Array.Empty<int>(), TensorInit.Zeros, kind: TensorKind.Buffer, fileDType: TensorDType.I64),
        };
        var p = new Parameters(t);
        p.Initialize(0);
        return (p, t);
    }

    [Fact]
    public void BatchNorm2D_ViewsItsTensors()
    {
        (Parameters p, TensorInfo[] t) = BatchNormTensors("bn1", 5);
        BatchNorm bn = new BatchNorm2D(p, "bn1", 5, 7, 3, 0.1f, 1e-5f, Activation.Relu, t[0], t[1], t[2], t[3], t[4]);

        Assert.Equal(new[] { 5, 7, 3 }, bn.InputShape);
        Assert.Equal(new[] { 5, 7, 3 }, bn.OutputShape);
        Assert.Equal((5, 21), (bn.Channels, bn.Spatial));
        Assert.Equal(new[] { 1f, 1f, 1f, 1f, 1f }, bn.Weight.ToArray());
        Assert.Equal(new[] { 1f, 1f, 1f, 1f, 1f }, bn.RunningVar.ToArray());
        Assert.Equal(new float[5], bn.RunningMean.ToArray());

        bn.RunningMean[2] = 4f;
        Assert.Equal(4f, p.Buffers[t[2].Offset + 2]);
        bn.WeightGradient[1] = 2f;
        Assert.Equal(2f, p.Gradients[t[0].Offset + 1]);
        Assert.Equal(5, bn.BiasGradient.Length);

        Assert.Equal(0, bn.NumBatchesTracked);
        bn.NumBatchesTracked++;
        bn.NumBatchesTracked++;
        Assert.Equal(2, bn.NumBatchesTracked);
        Assert.Equal(2f, p.Buffers[t[4].Offset]);
        Assert.Throws<ArgumentOutOfRangeException>(() => bn.NumBatchesTracked = -1);
    }

    [Fact]
    public void BatchNorm1D_FlatAndSequence()
    {
        (Parameters p, TensorInfo[] t) = BatchNormTensors("bn", 6);
        var flat = new BatchNorm1D(p, "bn", 6, 0, 0.1f, 1e-5f, Activation.None, t[0], t[1], t[2], t[3], t[4]);
        Assert.Equal(new[] { 6 }, flat.InputShape);
        Assert.Equal(1, flat.Spatial);
        var sequence = new BatchNorm1D(p, "bn", 6, 17, 0.1f, 1e-5f, Activation.None, t[0], t[1], t[2], t[3], t[4]);
        Assert.Equal(new[] { 6, 17 }, sequence.OutputShape);
        Assert.Equal(17, sequence.Spatial);
    }

    [Fact]
    public void BatchNorm_RejectsMismatchedTensors()
    {
        (Parameters p, TensorInfo[] t) = BatchNormTensors("bn", 6);
        // Running mean passed as the weight: wrong name and kind.
        Assert.Throws<ArgumentException>(() => new BatchNorm2D(p, "bn", 6, 2, 2, 0.1f, 1e-5f, Activation.None, t[2], t[1], t[2], t[3], t[4]));
        Assert.Throws<ArgumentException>(() => new BatchNorm2D(p, "bn", 5, 2, 2, 0.1f, 1e-5f, Activation.None, t[0], t[1], t[2], t[3], t[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2D(p, "bn", 6, 2, 2, 1.5f, 1e-5f, Activation.None, t[0], t[1], t[2], t[3], t[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2D(p, "bn", 6, 2, 2, 0.1f, -1f, Activation.None, t[0], t[1], t[2], t[3], t[4]));

        var floatCounter = new TensorInfo("bn.num_batches_tracked", Array.Empty<int>(), TensorInit.Zeros, kind: TensorKind.Buffer);
        var q = new Parameters(new[] { t[0], t[1], t[2], t[3], floatCounter });
        Assert.Throws<ArgumentException>(() => new BatchNorm2D(q, "bn", 6, 2, 2, 0.1f, 1e-5f, Activation.None, t[0], t[1], t[2], t[3], floatCounter));
    }

    private static float[] SavedFloats(Parameters p, string name)
    {
        var stream = new MemoryStream();
        SafeTensors.Save(p, stream);
        byte[] bytes = stream.ToArray();
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using JsonDocument doc = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        JsonElement offsets = doc.RootElement.GetProperty(name).GetProperty("data_offsets");
        int begin = 8 + headerLength + (int)offsets[0].GetInt64(), end = 8 + headerLength + (int)offsets[1].GetInt64();
        return Enumerable.Range(0, (end - begin) / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(begin + 4 * i))).ToArray();
    }
}
