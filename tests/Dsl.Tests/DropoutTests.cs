using System;
using System.Collections.Generic;
using System.Linq;
using Dsl.Kernels;

namespace Dsl.Tests;

/// <summary>
/// The runtime around dropout: the <see cref="Dropout"/> view and <see cref="DropoutAttribute"/>, the step
/// kind, the workspace's mask keys (<see cref="Workspace.Seed"/>, <see cref="Workspace.Step"/>,
/// <see cref="Workspace.ForwardStep"/>), and <see cref="Trainer.Fit"/> seeding the masks, on a hand-written
/// network that calls the kernels the way generated code does.
/// </summary>
public sealed class DropoutTests
{
    // ---------- view, attribute, step ----------

    [Fact]
    public void DropoutView_KeepsTheShape()
    {
        var flat = new Dropout("drop", [128], 0.25f);
        Assert.Equal(new[] { 128 }, flat.InputShape);
        Assert.Equal(new[] { 128 }, flat.OutputShape);
        Assert.Equal(0.25f, flat.P);
        Assert.Equal("drop: Dropout [128], p 0.25", flat.ToString());

        var tokens = new Dropout("blocks.0.drop", [16, 64], 0f);
        Assert.Equal(new[] { 16, 64 }, tokens.OutputShape);
        Assert.Equal(1024, tokens.OutputSize);
        Assert.Equal(0f, tokens.P);

        var image = new Dropout("d", [8, 5, 5], 0.99999994f);
        Assert.Equal(200, image.InputSize);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(-float.Epsilon)]
    [InlineData(1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void DropoutView_ProbabilityOutsideZeroToOne_Throws(float p)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>("p", () => new Dropout("fc1_drop", [10], p));
        Assert.Contains("Layer 'fc1_drop'", e.Message);
        Assert.Contains("[0, 1)", e.Message);
    }

    [Fact]
    public void DropoutView_BadShape_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Dropout("d", [4, 0], 0.5f));
        Assert.Throws<ArgumentException>(() => new Dropout("d", [], 0.5f));
        Assert.Throws<ArgumentNullException>(() => new Dropout("d", null!, 0.5f));
        Assert.Throws<ArgumentNullException>(() => new Dropout(null!, [4], 0.5f));
    }

    [Fact]
    public void DropoutAttribute_KeepsP()
    {
        Assert.Equal(0.1, new DropoutAttribute(0.1).P);
    }

    [Fact]
    public void StepKind_NewKindsComeLast_SoEarlierKindsKeepTheirValues()
    {
        Assert.Equal(17, (int)StepKind.ResidualEnd);
        Assert.Equal(18, (int)StepKind.Dropout);
        Assert.Equal(19, (int)StepKind.ResidualShortcut);
        Assert.Equal(20, (int)StepKind.MixtureOfExperts);
        Assert.Equal(StepKind.MixtureOfExperts, Enum.GetValues<StepKind>().Max());
    }

    [Fact]
    public void NetworkStep_Probability_IsZeroUnlessSet()
    {
        Assert.Equal(0f, new NetworkStep(StepKind.Dense, "fc", [4], [2], []).Probability);
        var step = new NetworkStep(StepKind.Dropout, "drop", [4], [4], []) { Probability = 0.5f };
        Assert.Equal(0.5f, step.Probability);
    }

    // ---------- workspace keys ----------

    [Fact]
    public void Workspace_Keys_StartAtZero()
    {
        var w = new Workspace(4, 2);
        Assert.Equal((0UL, 0L, 0L, 0L), (w.Seed, w.Step, w.ForwardStep, w.SampleOffset));
    }

    [Fact]
    public void Workspace_BeginForward_RecordsForwardStepAndAdvancesStep()
    {
        var w = new Workspace(4, 2);

        w.BeginForward(1);
        Assert.Equal((0L, 1L), (w.ForwardStep, w.Step));
        w.BeginForward(2);
        Assert.Equal((1L, 2L), (w.ForwardStep, w.Step));
        w.BeginBackward(2); // backward takes no step
        Assert.Equal((1L, 2L), (w.ForwardStep, w.Step));

        w.Step = 41;
        w.BeginForward(1);
        Assert.Equal((41L, 42L), (w.ForwardStep, w.Step));

        w.Step = long.MaxValue;
        w.BeginForward(1);
        Assert.Equal((long.MaxValue, long.MinValue), (w.ForwardStep, w.Step));
    }

    [Fact]
    public void Workspace_RefusedBatch_TakesNoStep()
    {
        var w = new Workspace(4, 2);
        w.BeginForward(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => w.BeginForward(3));

        Assert.Equal((0L, 1L, 1), (w.ForwardStep, w.Step, w.Batch));
    }

    [Fact]
    public void Workspace_SettingStep_PinsTheMask_AndBackwardReplaysTheForwardStep()
    {
        var net = new DropoutNetwork(features: 64, p: 0.5f);
        Workspace w = net.CreateWorkspace(3);
        w.Seed = 99;
        float[] x = Enumerable.Range(0, 3 * 64).Select(i => 1f + i).ToArray();
        var first = new float[x.Length];
        var pinned = new float[x.Length];
        var next = new float[x.Length];

        w.Step = 7;
        net.ForwardTrain(x, first, 3, w);
        w.Step = 7;
        net.ForwardTrain(x, pinned, 3, w);
        net.ForwardTrain(x, next, 3, w); // step 8

        Assert.Equal(first, pinned);
        Assert.NotEqual(first, next);

        // Backward of the step-8 forward, after Step was moved on: the mask of step 8, not of Step.
        w.Step = 1000;
        float[] dy = Enumerable.Repeat(1f, x.Length).ToArray();
        var dx = new float[x.Length];
        net.Backward(dy, dx, 3, w);
        for (int i = 0; i < x.Length; i++) Assert.Equal(next[i] != 0f, dx[i] != 0f);
    }

    // ---------- the trainer ----------

    [Fact]
    public void Fit_KeysTheMasksOnItsSeed_AndOneStepPerBatch()
    {
        var net = new DropoutNetwork(features: 4, p: 0.5f);
        Dataset data = Copies(count: 10, features: 4);

        new Trainer(net, new Sgd(0.01f), Loss.MeanSquaredError) { Threads = 1 }.Fit(data, epochs: 2, batchSize: 4, seed: 12);

        Assert.All(net.Keys, k => Assert.Equal(12UL, k.Seed));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), net.Keys.Select(k => k.Step)); // 3 batches per epoch
        Assert.All(net.Keys, k => Assert.Equal(0L, k.SampleOffset));
    }

    [Fact]
    public void Fit_OnTwoThreads_KeysEachHalfOnItsFirstSampleInTheBatch()
    {
        var net = new DropoutNetwork(features: 4, p: 0.5f);
        Dataset data = Copies(count: 10, features: 4);

        new Trainer(net, new Sgd(0.01f), Loss.MeanSquaredError) { Threads = 2 }.Fit(data, epochs: 2, batchSize: 4, seed: 12);

        // Batches of 4, 4, 2 per epoch: rows 0-1 and 2-3, then 0 and 1; both halves of a batch share its step.
        var expected = new List<(ulong, long, long)>();
        for (long step = 0; step < 6; step++)
            foreach (long offset in step % 3 == 2 ? new long[] { 0, 1 } : [0, 2]) expected.Add((12UL, step, offset));
        Assert.Equal(expected.OrderBy(k => k), net.Keys.OrderBy(k => k));
    }

    [Fact]
    public void Fit_OnOneOrTwoThreads_SameMasks_SameParametersUpToRounding()
    {
        // Distinct samples, so a mask applied to the wrong row would change the result.
        float[] features = Enumerable.Range(0, 12 * 32).Select(i => MathF.Sin(0.37f * i)).ToArray();
        float[] targets = Enumerable.Range(0, 12 * 32).Select(i => MathF.Cos(0.21f * i)).ToArray();
        var data = new Dataset(features, 32, targets, 32);
        float[] Run(int threads)
        {
            var net = new DropoutNetwork(features: 32, p: 0.5f);
            new Trainer(net, new Sgd(0.1f), Loss.MeanSquaredError) { Threads = threads }.Fit(data, epochs: 2, batchSize: 6, seed: 5);
            return net.Parameters.Values.ToArray();
        }

        float[] one = Run(1), two = Run(2);

        for (int i = 0; i < one.Length; i++) Assert.True(MathF.Abs(one[i] - two[i]) <= 1e-6f + 1e-5f * MathF.Abs(one[i]), $"bias {i}: {one[i]} vs {two[i]}");
        Assert.Equal(two.Select(BitConverter.SingleToInt32Bits), Run(2).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Fit_SameSeed_SameParameters_OtherSeed_OtherMasks()
    {
        // Every sample is the same, so the shuffle cannot tell seeds apart: only the masks can.
        Dataset data = Copies(count: 12, features: 32);
        float[] Run(int seed)
        {
            var net = new DropoutNetwork(features: 32, p: 0.5f);
            new Trainer(net, new Sgd(0.1f), Loss.MeanSquaredError).Fit(data, epochs: 2, batchSize: 4, seed: seed);
            return net.Parameters.Values.ToArray();
        }

        float[] first = Run(3), second = Run(3), otherSeed = Run(4);

        Assert.Equal(first.Select(BitConverter.SingleToInt32Bits), second.Select(BitConverter.SingleToInt32Bits));
        Assert.NotEqual(first, otherSeed);
    }

    private static Dataset Copies(int count, int features)
    {
        float[] sample = Enumerable.Range(0, features).Select(i => 0.5f + 0.25f * i).ToArray();
        float[] target = Enumerable.Range(0, features).Select(i => 1f - 0.1f * i).ToArray();
        return new Dataset(Enumerable.Repeat(sample, count).SelectMany(v => v).ToArray(), features,
            Enumerable.Repeat(target, count).SelectMany(v => v).ToArray(), features);
    }

    /// <summary>
    /// <c>y = dropout(x + b)</c> with plain loops and the dropout kernels, standing in for a generated network:
    /// ForwardTrain keys the mask on the workspace's seed, forward step and sample offset (layer 0), Backward
    /// replays it, inference is <c>x + b</c>. Records the keys of each ForwardTrain.
    /// </summary>
    private sealed class DropoutNetwork : INetwork
    {
        private readonly TensorInfo _bias;
        private readonly float _p;

        public DropoutNetwork(int features, float p)
        {
            InputSize = OutputSize = features;
            _p = p;
            _bias = new TensorInfo("drop.bias", [features], TensorInit.Zeros);
            Parameters = new Parameters([_bias]);
        }

        public int InputSize { get; }
        public int OutputSize { get; }
        public Parameters Parameters { get; }
        public string Summary => $"Dropout {InputSize}, p {_p}";
        public IReadOnlyList<NetworkStep> Steps => [];

        public List<(ulong Seed, long Step, long SampleOffset)> Keys { get; } = [];

        public void Forward(ReadOnlySpan<float> input, Span<float> output) => Forward(input, output, 1);

        public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
        {
            Guard.BatchLength(input, InputSize, batch, nameof(input));
            Guard.BatchLength(output, OutputSize, batch, nameof(output));
            ReadOnlySpan<float> b = Parameters.Value(_bias);
            for (int s = 0; s < batch; s++)
                for (int i = 0; i < InputSize; i++)
                    output[s * InputSize + i] = input[s * InputSize + i] + b[i];
        }

        public Workspace CreateWorkspace(int maxBatch) => new(InputSize, maxBatch);

        public void ForwardTrain(ReadOnlySpan<float> input, Span<float> output, int batch, Workspace workspace)
        {
            workspace.BeginForward(batch);
            Forward(input, output, batch);
            DropoutKernels.Forward(output, output, batch, OutputSize, _p, workspace.Seed, workspace.ForwardStep, 0, workspace.SampleOffset);
            lock (Keys) Keys.Add((workspace.Seed, workspace.ForwardStep, workspace.SampleOffset));
        }

        // No tensor is stored input-major, so no weight is a product's: a fused step's backward is the plain one.
        public void BackwardUpdatingWeights(ReadOnlySpan<float> outputGradient, int batch, Workspace workspace, float learningRate) =>
            Backward(outputGradient, Span<float>.Empty, batch, workspace);

        public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, Workspace workspace)
        {
            workspace.BeginBackward(batch);
            Span<float> dz = workspace.Region(0, OutputSize, batch);
            outputGradient.CopyTo(dz);
            DropoutKernels.Backward(dz, batch, OutputSize, _p, workspace.Seed, workspace.ForwardStep, 0, workspace.SampleOffset);
            Span<float> db = workspace.Gradients(Parameters).Slice(_bias.Offset, _bias.Length);
            for (int s = 0; s < batch; s++)
                for (int i = 0; i < OutputSize; i++)
                    db[i] += dz[s * OutputSize + i];
            if (!inputGradient.IsEmpty) dz.CopyTo(inputGradient);
        }
    }
}
