using System;
using System.Linq;
using Dsl;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// A repeat's copies run as a loop over the first copy's code, with every offset moved by the copy's stride. The
/// reference is the same network with the copies declared as separate members, which the generator writes out
/// step by step: with the same weights, both must give the same bits in every entry point, on every SIMD path
/// (the kernels and their summation order are the same; only the offsets are computed instead of constant).
/// </summary>
public class RepeatLoopTests
{
    public static TheoryData<string> Pairs => new() { nameof(ConvRepeat), nameof(ResidualRepeat) };

    private static (INetwork Looped, INetwork Unrolled) Create(string name) => name switch
    {
        nameof(ConvRepeat) => (new ConvRepeat(3), new ConvRepeatUnrolled(4)),
        nameof(ResidualRepeat) => (new ResidualRepeat(3), new ResidualRepeatUnrolled(4)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void LoopedCopies_GiveTheBitsOfTheCopiesWrittenOut(string name)
    {
        (INetwork looped, INetwork unrolled) = Create(name);
        // Same steps in the same order: the same layout, so the weights copy across as they are.
        Assert.Equal(looped.Parameters.Tensors.Select(t => t.Shape.Length), unrolled.Parameters.Tensors.Select(t => t.Shape.Length));
        looped.Parameters.Values.CopyTo(unrolled.Parameters.Values);
        looped.Parameters.Buffers.CopyTo(unrolled.Parameters.Buffers);

        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * looped.InputSize, seed: 7);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * looped.OutputSize, seed: 8);
        Workspace a = looped.CreateWorkspace(batch), b = unrolled.CreateWorkspace(batch);
        a.Seed = b.Seed = 5;
        for (int round = 0; round < 2; round++) // the second with new dropout masks and updated batch-norm statistics
        {
            Assert.Equal(Inference(looped, input, batch), Inference(unrolled, input, batch));
            Assert.Equal(Inference(looped, input, 1), Inference(unrolled, input, 1));
            (float[] y, float[] dx, float[] gradients) = Train(looped, a, input, outputGradient, batch);
            (float[] y2, float[] dx2, float[] gradients2) = Train(unrolled, b, input, outputGradient, batch);
            Assert.Equal(y, y2);
            Assert.Equal(dx, dx2);
            Assert.Equal(gradients, gradients2);
            Assert.Equal(looped.Parameters.Buffers.ToArray(), unrolled.Parameters.Buffers.ToArray());
        }
    }

    [Fact]
    public void ResidualStream_OfLoopedCopies_IsTheStreamOfTheCopiesWrittenOut()
    {
        var looped = new ResidualRepeat(3);
        var unrolled = new ResidualRepeatUnrolled(4);
        looped.Parameters.Values.CopyTo(unrolled.Parameters.Values);
        const int batch = 2;
        float[] input = DenseNumericTests.RandomInputs(batch * ResidualRepeat.InputSize, seed: 9);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * ResidualRepeat.OutputSize, seed: 10);
        Workspace a = looped.CreateWorkspace(batch), b = unrolled.CreateWorkspace(batch);
        Train(looped, a, input, outputGradient, batch);
        Train(unrolled, b, input, outputGradient, batch);
        Assert.Equal(ResidualRepeatUnrolled.ResidualCount, ResidualRepeat.ResidualCount);
        for (int i = 0; i < ResidualRepeat.ResidualCount; i++)
        {
            Assert.Equal(unrolled.ResidualOutput(b, i).ToArray(), looped.ResidualOutput(a, i).ToArray());
            Assert.Equal(unrolled.ResidualOutputGradient(b, i).ToArray(), looped.ResidualOutputGradient(a, i).ToArray());
        }
        Assert.Equal("blocks.2", ResidualRepeat.ResidualName(2));
        Assert.Equal("proj.1", ResidualRepeat.ResidualName(4));
    }

    [Fact]
    public void CheckFinite_NamesTheLoopedCopy()
    {
        var net = new ResidualRepeat(3);
        // A NaN weight in the third copy's attention: the check must name that copy, not the first.
        TensorInfo weight = net.Parameters.Find("blocks.2.attn.out_proj.weight")!;
        net.Parameters.Value(weight)[0] = float.NaN;
        Workspace workspace = net.CreateWorkspace(1);
        workspace.CheckFinite = true;
        var e = Assert.Throws<NonFiniteException>(() => net.ForwardTrain(new float[ResidualRepeat.InputSize], new float[ResidualRepeat.OutputSize], 1, workspace));
        Assert.Equal("blocks.2.attn", e.Step);
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void LoopedNetworks_AllocateNothing(string name)
    {
        (INetwork looped, _) = Create(name);
        const int batch = 3;
        float[] input = DenseNumericTests.RandomInputs(batch * looped.InputSize, seed: 60);
        Assert.Equal(0, Allocations.OfEveryEntryPoint(looped, input, batch, DenseNumericTests.RandomInputs(batch * looped.OutputSize, seed: 61), new float[batch * looped.InputSize]));
    }

    private static float[] Inference(INetwork net, float[] input, int batch)
    {
        var output = new float[batch * net.OutputSize];
        net.Forward(input.AsSpan(0, batch * net.InputSize), output, batch);
        return output;
    }

    private static (float[] Output, float[] InputGradient, float[] Gradients) Train(INetwork net, Workspace workspace, float[] input, float[] outputGradient, int batch)
    {
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);
        return (output, inputGradient, net.Parameters.Gradients.ToArray());
    }
}
