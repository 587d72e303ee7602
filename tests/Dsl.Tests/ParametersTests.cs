using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsl;

namespace Dsl.Tests;

public sealed class ParametersTests
{
    private static Parameters BatchNormModel() => new(new[]
    {
        new TensorInfo("conv.weight", new[] { 4, 3, 3, 3 }, TensorInit.KaimingUniform, 27, 36, transposeGroups: 1),
        new TensorInfo("bn.weight", new[] { 4 }, TensorInit.Ones),
        new TensorInfo("bn.bias", new[] { 4 }, TensorInit.Zeros),
        new TensorInfo("bn.running_mean", new[] { 4 }, TensorInit.Zeros, kind: TensorKind.Buffer),
        new TensorInfo("bn.running_var", new[] { 4 }, TensorInit.Ones, kind: TensorKind.Buffer),
        new TensorInfo("bn.num_batches_tracked", Array.Empty<int>(), TensorInit.Zeros, kind: TensorKind.Buffer, fileDType: TensorDType.I64),
        new TensorInfo("fc.weight", new[] { 2, 17 }, TensorInit.XavierUniform, 17, 2, storedTransposed: true),
    });

    [Fact]
    public void Buffers_AreLaidOutSeparatelyFromParameters()
    {
        Parameters p = BatchNormModel();

        // Parameters: 108 -> 112, 4 -> 16, 4 -> 16, 34 -> 48; buffers: 4 -> 16, 4 -> 16, 1 -> 16.
        Assert.Equal(new[] { 0, 112, 128, 0, 16, 32, 144 }, Offsets(p));
        Assert.Equal(192, p.Size);
        Assert.Equal(48, p.BufferSize);
        Assert.Equal(p.Size, p.Values.Length);
        Assert.Equal(p.Size, p.Gradients.Length);
        Assert.Equal(p.BufferSize, p.Buffers.Length);
        Assert.Equal(108 + 4 + 4 + 34, p.ParameterCount);
        foreach (TensorInfo t in p.Tensors) Assert.Equal(0, t.Offset % 16);
    }

    [Fact]
    public void Buffers_Are64ByteAligned()
    {
        Parameters p = BatchNormModel();
        Assert.Equal(0, Address(p.Values) % 64);
        Assert.Equal(0, Address(p.Gradients) % 64);
        Assert.Equal(0, Address(p.Buffers) % 64);
    }

    [Fact]
    public void Value_ReturnsTheTensorsOwnStorage()
    {
        Parameters p = BatchNormModel();
        TensorInfo mean = p.Find("bn.running_mean")!;
        TensorInfo gamma = p.Find("bn.weight")!;

        p.Value(mean).Fill(3f);
        p.Value(gamma).Fill(5f);

        Assert.Equal(new[] { 3f, 3f, 3f, 3f }, p.Buffers.Slice(mean.Offset, 4).ToArray());
        Assert.Equal(new[] { 5f, 5f, 5f, 5f }, p.Values.Slice(gamma.Offset, 4).ToArray());
        Assert.DoesNotContain(3f, p.Values.ToArray());
        Assert.DoesNotContain(5f, p.Buffers.ToArray());
        Assert.Equal(1, p.Value(p.Find("bn.num_batches_tracked")!).Length);
    }

    [Fact]
    public void Gradient_OfABuffer_Throws()
    {
        Parameters p = BatchNormModel();
        var e = Assert.Throws<InvalidOperationException>(() => p.Gradient(p.Find("bn.running_var")!));
        Assert.Contains("bn.running_var", e.Message);
        Assert.Equal(4, p.Gradient(p.Find("bn.weight")!).Length);
    }

    [Fact]
    public void Initialize_FillsBuffersWithTheirInitialisers()
    {
        Parameters p = BatchNormModel();
        p.Buffers.Fill(7f);

        p.Initialize(seed: 3);

        Assert.Equal(new float[4], p.Value(p.Find("bn.running_mean")!).ToArray());
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, p.Value(p.Find("bn.running_var")!).ToArray());
        Assert.Equal(0f, p.Value(p.Find("bn.num_batches_tracked")!)[0]);
    }

    [Fact]
    public void Initialize_WithBuffers_DrawsTheSameParametersAsWithout()
    {
        // Buffers with constant initialisers consume no randomness: adding BatchNorm does not reshuffle other weights.
        Parameters with = BatchNormModel();
        var without = new Parameters(new[]
        {
            new TensorInfo("conv.weight", new[] { 4, 3, 3, 3 }, TensorInit.KaimingUniform, 27, 36, transposeGroups: 1),
            new TensorInfo("fc.weight", new[] { 2, 17 }, TensorInit.XavierUniform, 17, 2, storedTransposed: true),
        });
        with.Initialize(9);
        without.Initialize(9);
        Assert.Equal(without.Value(without.Find("fc.weight")!).ToArray(), with.Value(with.Find("fc.weight")!).ToArray());
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void OptimizerStepAndZeroGradients_LeaveBuffersAlone(string kind)
    {
        Parameters p = BatchNormModel();
        p.Initialize(1);
        p.Value(p.Find("bn.running_mean")!).Fill(0.25f);
        p.Value(p.Find("bn.num_batches_tracked")!)[0] = 12f;
        float[] buffers = p.Buffers.ToArray();
        p.Gradients.Fill(0.5f);
        Optimizer optimizer = kind == "sgd" ? new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.1f) : new AdamW(0.1f, weightDecay: 0.1f);

        float before = p.Value(p.Find("bn.weight")!)[0];
        optimizer.Step(p);
        p.ZeroGradients();
        optimizer.Step(p);

        Assert.Equal(buffers, p.Buffers.ToArray());
        Assert.NotEqual(before, p.Value(p.Find("bn.weight")!)[0]);
    }

    [Fact]
    public void OnlyBuffers_GivesEmptyParameterSpans()
    {
        var p = new Parameters(new[] { new TensorInfo("bn.running_mean", new[] { 3 }, TensorInit.Zeros, kind: TensorKind.Buffer) });
        Assert.Equal(0, p.Size);
        Assert.Equal(0, p.ParameterCount);
        Assert.Equal(16, p.BufferSize);
        Assert.Equal(3, p.Value(p.Tensors[0]).Length);
    }

    private static int[] Offsets(Parameters p)
    {
        var offsets = new int[p.Tensors.Count];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = p.Tensors[i].Offset;
        return offsets;
    }

    private static unsafe long Address(Span<float> span) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
}
