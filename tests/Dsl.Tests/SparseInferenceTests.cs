using System;
using System.Linq;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// The sparse kernels of pruned layers against a double-precision reference and against the dense kernels on the
/// same (zero-filled) weights. CI runs this class once per SIMD path (AVX-512, AVX2, Vector128, scalar).
/// </summary>
public class SparseInferenceTests
{
    private static SparseBlocksNet PrunedNet(float sparsity) => Pruned(new SparseBlocksNet(seed: 21), sparsity);

    /// <summary>
    /// <paramref name="net"/> with random biases (a kernel that drops them is caught, and a unit whose inputs are all
    /// removed does not sit exactly on ReLU's kink), pruned to <paramref name="sparsity"/> or the declared targets.
    /// </summary>
    private static T Pruned<T>(T net, float? sparsity) where T : INetwork
    {
        var rng = new Rng(22);
        foreach (TensorInfo t in net.Parameters.Tensors.Where(t => t.Name.EndsWith(".bias", StringComparison.Ordinal)))
        {
            Span<float> bias = net.Parameters.Value(t);
            for (int i = 0; i < bias.Length; i++) bias[i] = 0.1f * rng.NextGaussian();
        }
        net.Parameters.Pruning!.Prune(sparsity);
        return net;
    }

    [Fact]
    public void PrunedFarEnough_EveryPrunedLayerRunsItsSparseKernel_AndMatchesTheDoubleReference()
    {
        SparseBlocksNet net = PrunedNet(0.98f); // single weights take the sparse kernel only below density 0.03
        Pruning pruning = net.Parameters.Pruning!;
        for (int i = 0; i < pruning.Tensors.Count; i++)
            Assert.NotNull(pruning.Sparse(i));
        Assert.Equal(1 - pruning.Sparsity(pruning.Tensors[0]), pruning.Sparse(0)!.Density, 6);

        var reference = new Reference([net.Wide, net.Eights, net.Fours, net.One, net.Singles, net.Out]);
        float[] inputs = DenseNumericTests.RandomInputs(7 * SparseBlocksNet.InputSize, seed: 23);
        var output = new float[SparseBlocksNet.OutputSize];
        for (int s = 0; s < 7; s++)
        {
            ReadOnlySpan<float> x = inputs.AsSpan(s * SparseBlocksNet.InputSize, SparseBlocksNet.InputSize);
            net.Forward(x, output);
            double[] expected = reference.Forward(x)[^1];
            // Float sums of at most 20 products against double: 1e-5 relative to the output's scale.
            double scale = Math.Max(1, expected.Max(Math.Abs));
            for (int o = 0; o < output.Length; o++) Assert.Equal(expected[o], output[o], 1e-5 * scale);
        }
    }

    [Theory]
    [InlineData(0.9f)]
    [InlineData(0.7f)]
    [InlineData(0.5f)] // at batch 1 blocks of 16 and 8 sparse, the rest dense; batched all dense
    public void SparseAndDenseKernels_AgreeToFloatRounding_AtBatchOneAndBatched(float sparsity)
    {
        SparseBlocksNet net = PrunedNet(sparsity);
        Pruning pruning = net.Parameters.Pruning!;
        float[] density = pruning.Tensors.Select(t => 1 - pruning.Sparsity(t)).ToArray();
        Assert.Equal(pruning.Tensors.Select((t, i) => Pruning.SparseKernelPays(t.Pruning!.Block, density[i])),
            Enumerable.Range(0, pruning.Tensors.Count).Select(i => pruning.Sparse(i) is not null));
        Assert.Equal(pruning.Tensors.Select((t, i) => Pruning.SparseKernelPaysBatched(t.Pruning!.Block, density[i])),
            Enumerable.Range(0, pruning.Tensors.Count).Select(i => pruning.SparseBatched(i) is not null));

        const int batch = 70; // a block of 64 samples and one of 6
        float[] inputs = DenseNumericTests.RandomInputs(batch * SparseBlocksNet.InputSize, seed: 24);
        var sparseBatched = new float[batch * SparseBlocksNet.OutputSize];
        var sparseOne = new float[batch * SparseBlocksNet.OutputSize];
        net.Forward(inputs, sparseBatched, batch);
        for (int s = 0; s < batch; s++)
            net.Forward(inputs.AsSpan(s * SparseBlocksNet.InputSize, SparseBlocksNet.InputSize), sparseOne.AsSpan(s * SparseBlocksNet.OutputSize, SparseBlocksNet.OutputSize));

        pruning.DropCompact();
        Assert.All(Enumerable.Range(0, pruning.Tensors.Count), i => Assert.Null(pruning.Sparse(i)));
        var dense = new float[batch * SparseBlocksNet.OutputSize];
        net.Forward(inputs, dense, batch);

        // Different summation orders over the same non-zero products: a few float roundings of the sums.
        for (int i = 0; i < dense.Length; i++)
        {
            float tolerance = 1e-5f * Math.Max(1f, Math.Abs(dense[i]));
            Assert.Equal(dense[i], sparseBatched[i], tolerance);
            Assert.Equal(dense[i], sparseOne[i], tolerance);
        }
    }

    [Fact]
    public void PrunedConvolutions_RunTheirSparseKernels_AndAgreeWithTheDenseOnes()
    {
        // Running statistics and affine parameters away from 0 and 1: the sparse path runs the batch norm that the
        // dense path folds into W, so a scale or shift applied wrongly on either path shows.
        var net = Pruned(new SparseConvNet(seed: 31), sparsity: null);
        var rng = new Rng(32);
        for (int c = 0; c < net.Bn1.Weight.Length; c++)
        {
            net.Bn1.Weight[c] = 1f + 0.3f * rng.NextGaussian();
            net.Bn1.Bias[c] = 0.2f * rng.NextGaussian();
            net.Bn1.RunningMean[c] = 0.1f * rng.NextGaussian();
            net.Bn1.RunningVar[c] = 0.5f + rng.NextSingle();
        }
        AgreeSparseAndDense(net, batch: 5, seed: 33);
        AgreeSparseAndDense(Pruned(new SparseConv1DNet(seed: 34), sparsity: null), batch: 5, seed: 35);
    }

    // Every pruned layer of net runs sparse (its declared 0.9); batch-1 and batched outputs agree with the dense kernels on the same weights.
    private static void AgreeSparseAndDense(INetwork net, int batch, int seed)
    {
        Pruning pruning = net.Parameters.Pruning!;
        Assert.All(Enumerable.Range(0, pruning.Tensors.Count), i => Assert.NotNull(pruning.SparseBatched(i)));
        float[] inputs = DenseNumericTests.RandomInputs(batch * net.InputSize, seed);
        var sparseBatched = new float[batch * net.OutputSize];
        var sparseOne = new float[batch * net.OutputSize];
        net.Forward(inputs, sparseBatched, batch);
        for (int s = 0; s < batch; s++)
            net.Forward(inputs.AsSpan(s * net.InputSize, net.InputSize), sparseOne.AsSpan(s * net.OutputSize, net.OutputSize));
        pruning.DropCompact();
        var dense = new float[batch * net.OutputSize];
        net.Forward(inputs, dense, batch);
        // The same non-zero products summed in another order (and a batch norm applied after the sum rather than
        // folded into W): a few float roundings.
        for (int i = 0; i < dense.Length; i++)
        {
            float tolerance = 1e-5f * Math.Max(1f, Math.Abs(dense[i]));
            Assert.Equal(dense[i], sparseBatched[i], tolerance);
            Assert.Equal(dense[i], sparseOne[i], tolerance);
        }
        Assert.Contains(dense, v => v != 0f);
    }

    [Fact]
    public void MaskedNetwork_BackwardMatchesFiniteDifferencesOfTheTrainingForward()
    {
        // The training forward and backward are the dense kernels on the zero-filled weights: the gradient of a
        // removed weight is what the dense product gives (the optimiser zeroes it), the kept ones must be exact. A unit
        // whose inputs are all removed sees only its bias, the same for every sample, so a step of 1e-2 crosses ReLU's
        // kink there too often to check; 1e-3 does not.
        GradientCheck.Run(PrunedNet(0.75f), nameof(SparseBlocksNet), batch: 2, seed: 25, useTrainingForward: true, h: 1e-3f);
        GradientCheck.Run(Pruned(new PrunedMlp(seed: 26), sparsity: null), nameof(PrunedMlp), batch: 3, seed: 27, useTrainingForward: true, h: 1e-3f);
    }

    [Fact]
    public void AnOptimiserStep_DropsTheCompactForms_AndFitBuildsThemAgain()
    {
        SparseBlocksNet net = PrunedNet(0.9f);
        Pruning pruning = net.Parameters.Pruning!;
        var data = new Dataset(DenseNumericTests.RandomInputs(32 * SparseBlocksNet.InputSize, seed: 28), SparseBlocksNet.InputSize,
            Enumerable.Range(0, 32).Select(i => i % 3).ToArray(), 3);
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        net.Parameters.Gradients.Fill(0.01f);
        sgd.Step(net.Parameters);
        Assert.Null(pruning.Sparse(0)); // stale weights are never run

        new Trainer(net, sgd, Loss.SoftmaxCrossEntropy).Fit(data, epochs: 1, batchSize: 8);
        Assert.NotNull(pruning.Sparse(0));
        // The rebuilt form is the trained weights': sparse inference equals the dense kernels on them.
        float[] x = DenseNumericTests.RandomInputs(SparseBlocksNet.InputSize, seed: 29);
        float[] sparse = new float[3], dense = new float[3];
        net.Forward(x, sparse);
        pruning.DropCompact();
        net.Forward(x, dense);
        for (int o = 0; o < 3; o++) Assert.Equal(dense[o], sparse[o], 1e-5f);
    }

    [Fact]
    public void SparseInference_AllocatesNothing()
    {
        SparseBlocksNet net = PrunedNet(0.9f);
        float[] x = DenseNumericTests.RandomInputs(SparseBlocksNet.InputSize * 4, seed: 30);
        var y = new float[SparseBlocksNet.OutputSize * 4];
        var conv = Pruned(new SparseConvNet(seed: 36), sparsity: null);
        float[] image = DenseNumericTests.RandomInputs(SparseConvNet.InputSize * 2, seed: 37);
        var classes = new float[SparseConvNet.OutputSize * 2];
        long bytes = Allocations.QuietestWindow(() =>
        {
            net.Forward(x.AsSpan(0, SparseBlocksNet.InputSize), y.AsSpan(0, SparseBlocksNet.OutputSize));
            net.Forward(x, y, 4);
            conv.Forward(image.AsSpan(0, SparseConvNet.InputSize), classes.AsSpan(0, SparseConvNet.OutputSize));
            conv.Forward(image, classes, 2);
        }, callsPerWindow: 100);
        Assert.Equal(0, bytes);
    }
}
