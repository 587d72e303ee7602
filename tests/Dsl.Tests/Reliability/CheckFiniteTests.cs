using System;

namespace Dsl.Tests.Reliability;

/// <summary>
/// <see cref="Workspace.CheckFinite"/>: with it on, <see cref="INetwork.ForwardTrain"/> and <see cref="INetwork.Backward"/>
/// throw a <see cref="NonFiniteException"/> naming the first step whose output (forward) or input gradient
/// (backward) holds a NaN or an infinity; with it off the same passes run through; either way a clean pass
/// allocates nothing.
/// </summary>
public sealed class CheckFiniteTests
{
    private const int Batch = 4;

    public static TheoryData<string, string, string> MiddleWeights => new()
    {
        { "dense", "fc2.weight", "fc2" },
        { "conv", "c2.weight", "c2" },
        { "transformer", "blocks.0.attn.in_proj_weight", "blocks.0.attn" },
        { "transformer", "blocks.1.mlp.fc1.bias", "blocks.1.mlp.fc1" },
    };

    [Theory]
    [MemberData(nameof(MiddleWeights))]
    public void NaNWeight_ForwardTrainThrowsNamingTheStep(string network, string tensor, string step)
    {
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup(network);
        net.Parameters.Value(net.Parameters.Find(tensor)!)[0] = float.NaN;
        ws.CheckFinite = true;

        NonFiniteException e = Assert.Throws<NonFiniteException>(() => net.ForwardTrain(x, y, Batch, ws));

        Assert.Equal(step, e.Step);
        Assert.False(e.IsGradient);
        Assert.True(float.IsNaN(e.Value), e.Message);
        Assert.Contains($"'{step}'", e.Message);
        Assert.Contains(step, StepNames(net)); // the name is one of INetwork.Steps
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TrainerCheckFinite_StopsFitAtTheStepOnlyWhenOn(bool check)
    {
        (INetwork net, _, _, _) = Setup("dense");
        net.Parameters.Value(net.Parameters.Find("fc2.weight")!)[0] = float.NaN;
        var rng = new Rng(5);
        var features = new float[16 * net.InputSize];
        for (int i = 0; i < features.Length; i++) features[i] = rng.NextSingle(-1f, 1f);
        var labels = new int[16];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % net.OutputSize;
        var data = new Dataset(features, net.InputSize, labels, net.OutputSize);
        var trainer = new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { CheckFinite = check };

        if (check)
            Assert.Equal("fc2", Assert.Throws<NonFiniteException>(() => trainer.Fit(data, epochs: 1, batchSize: 4)).Step);
        else
            Assert.True(float.IsNaN(trainer.Fit(data, epochs: 1, batchSize: 4).Epochs[0].TrainLoss)); // runs through, loss NaN
    }

    [Fact]
    public void HugeWeights_OverflowToInfinity_ForwardTrainThrowsNamingTheStep()
    {
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup("transformer");
        net.Parameters.Value(net.Parameters.Find("blocks.0.mlp.fc1.weight")!).Fill(3e38f);
        ws.CheckFinite = true;

        NonFiniteException e = Assert.Throws<NonFiniteException>(() => net.ForwardTrain(x, y, Batch, ws));

        Assert.Equal("blocks.0.mlp.fc1", e.Step);
        Assert.False(e.IsGradient);
        Assert.False(float.IsFinite(e.Value));
    }

    [Fact]
    public void NaNInput_ReportsTheFirstStepAndTheSample()
    {
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup("transformer");
        x[2 * net.InputSize + 5] = float.NaN; // sample 2 only
        ws.CheckFinite = true;

        NonFiniteException e = Assert.Throws<NonFiniteException>(() => net.ForwardTrain(x, y, Batch, ws));

        Assert.Equal("patch", e.Step);
        Assert.Equal(2, e.Sample);
        Assert.False(e.IsGradient);
    }

    [Fact]
    public void NaNOutputGradient_BackwardThrowsNamingTheLastStep()
    {
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup("transformer");
        ws.CheckFinite = true;
        net.ForwardTrain(x, y, Batch, ws);
        var dy = Gradient(net);
        dy[1 * net.OutputSize + 3] = float.NaN; // sample 1

        NonFiniteException e = Assert.Throws<NonFiniteException>(() => net.Backward(dy, Span<float>.Empty, Batch, ws));

        Assert.Equal("head", e.Step);
        Assert.True(e.IsGradient);
        Assert.Equal(1, e.Sample);
    }

    [Theory]
    [InlineData("transformer", "blocks.1.mlp.fc2.weight", "blocks.1.mlp.fc2")]
    [InlineData("transformer", "blocks.0.attn.out_proj.weight", "blocks.0.attn")]
    [InlineData("dense", "fc2.weight", "fc2")]
    public void NaNWeightAfterForward_BackwardThrowsNamingTheStep(string network, string tensor, string step)
    {
        // The forward pass is clean; the weight turns NaN before backward, so only the gradients see it.
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup(network);
        ws.CheckFinite = true;
        net.ForwardTrain(x, y, Batch, ws);
        Assert.True(Array.TrueForAll(y, float.IsFinite));
        net.Parameters.Value(net.Parameters.Find(tensor)!).Fill(float.NaN);

        NonFiniteException e = Assert.Throws<NonFiniteException>(() => net.Backward(Gradient(net), Span<float>.Empty, Batch, ws));

        Assert.Equal(step, e.Step);
        Assert.True(e.IsGradient);
        Assert.Contains("backward", e.Message);
    }

    [Theory]
    [MemberData(nameof(MiddleWeights))]
    public void CheckOff_SamePassesRunThroughAndPropagateNaN(string network, string tensor, string step)
    {
        _ = step;
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup(network);
        net.Parameters.Value(net.Parameters.Find(tensor)!)[0] = float.NaN;
        Assert.False(ws.CheckFinite); // off by default

        net.ForwardTrain(x, y, Batch, ws);
        float[] dy = Gradient(net);
        dy[0] = float.NaN;
        var dx = new float[Batch * net.InputSize];
        net.Backward(dy, dx, Batch, ws);

        Assert.Contains(y, float.IsNaN);
        Assert.Contains(dx, v => !float.IsFinite(v));
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    [InlineData("transformer")]
    public void CheckOn_CleanPasses_AllocateNothingAndMatchCheckOff(string network)
    {
        (INetwork net, float[] x, float[] y, Workspace ws) = Setup(network);
        float[] dy = Gradient(net);
        var dx = new float[Batch * net.InputSize];

        // Check off: reference outputs and gradients.
        net.Parameters.ZeroGradients();
        net.ForwardTrain(x, y, Batch, ws);
        net.Backward(dy, dx, Batch, ws);
        float[] yOff = (float[])y.Clone(), dxOff = (float[])dx.Clone(), gradOff = net.Parameters.Gradients.ToArray();

        ws.CheckFinite = true;
        long allocated = Allocations.QuietestWindow(() =>
        {
            net.Parameters.ZeroGradients();
            net.ForwardTrain(x, y, Batch, ws);
            net.Backward(dy, dx, Batch, ws);
        }, callsPerWindow: 3);

        Assert.Equal(0, allocated);
        Assert.Equal(yOff, y);
        Assert.Equal(dxOff, dx);
        Assert.Equal(gradOff, net.Parameters.Gradients.ToArray());
    }

    private static (INetwork Net, float[] X, float[] Y, Workspace Ws) Setup(string network)
    {
        INetwork net = ReliabilityNetworks.Create(network, 31);
        var rng = new Rng(32);
        var x = new float[Batch * net.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle(-1f, 1f);
        return (net, x, new float[Batch * net.OutputSize], net.CreateWorkspace(Batch));
    }

    private static float[] Gradient(INetwork net)
    {
        var rng = new Rng(33);
        var dy = new float[Batch * net.OutputSize];
        for (int i = 0; i < dy.Length; i++) dy[i] = rng.NextSingle(-0.1f, 0.1f);
        return dy;
    }

    private static string[] StepNames(INetwork net)
    {
        var names = new string[net.Steps.Count];
        for (int i = 0; i < names.Length; i++) names[i] = net.Steps[i].Name;
        return names;
    }
}
