using System;
using System.Linq;
using Dsl.Tests.Reliability;

namespace Dsl.Tests.Training;

/// <summary>
/// <see cref="ImageAugmentation"/> against torchvision's definition written out naively (pad with the fill, crop
/// at the drawn offset, then mirror), the spread of its draws, and its use by <see cref="Trainer.Fit"/>.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class ImageAugmentationTests
{
    private const int Channels = 3, Height = 5, Width = 6;

    [Theory]
    [InlineData(2, true, 0f)]
    [InlineData(1, false, -0.81f)]
    [InlineData(4, true, 0.5f)]
    public void Apply_IsPadThenCropThenFlip(int padding, bool flip, float fill)
    {
        var augmentation = new ImageAugmentation(Channels, Height, Width, padding, flip, fill);
        var rng = new Rng(5);
        for (long sample = 0; sample < 300; sample++)
        {
            float[] image = Enumerable.Range(0, Channels * Height * Width).Select(_ => rng.NextSingle(-1f, 1f)).ToArray();
            (int dy, int dx, bool mirrored) = augmentation.Draw(seed: 9, step: 3, sample);
            float[] expected = Reference(image, padding, dy + padding, dx + padding, mirrored, fill);

            float[] actual = (float[])image.Clone();
            augmentation.Apply(actual, seed: 9, step: 3, sample);

            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Draws_CoverEveryShift_AndFlipHalfTheSamples()
    {
        const int Padding = 3, Samples = 20_000;
        var augmentation = new ImageAugmentation(1, 8, 8, Padding, horizontalFlip: true);
        var counts = new int[2 * Padding + 1, 2 * Padding + 1];
        int flips = 0;
        for (long sample = 0; sample < Samples; sample++)
        {
            (int dy, int dx, bool flip) = augmentation.Draw(seed: 1, step: sample / 64, sample % 64);
            counts[dy + Padding, dx + Padding]++;
            if (flip) flips++;
        }

        // 49 shifts, 408 expected each: a fair die stays within ±25 % at this count (5 standard deviations);
        // a draw that ignored a direction or a bit would leave shifts empty or doubled.
        foreach (int count in counts) Assert.InRange(count, 306, 510);
        Assert.InRange(flips, Samples / 2 - 500, Samples / 2 + 500);
    }

    [Fact]
    public void NoPaddingAndNoFlip_LeavesTheImage()
    {
        var augmentation = new ImageAugmentation(Channels, Height, Width, padding: 0, horizontalFlip: false);
        float[] image = Enumerable.Range(0, augmentation.Size).Select(i => (float)i).ToArray();
        float[] copy = (float[])image.Clone();

        augmentation.Apply(copy, seed: 1, step: 2, sample: 3);

        Assert.Equal(image, copy);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 6, padding: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 6, padding: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(0, 5, 6));
        Assert.Throws<ArgumentException>(() => new ImageAugmentation(1, 5, 6, fill: float.NaN));
        var augmentation = new ImageAugmentation(1, 5, 6);
        Assert.Throws<ArgumentException>(() => augmentation.Apply(new float[29], 0, 0, 0));
    }

    [Fact]
    public void Fit_WithAnImageOfAnotherSize_Throws_BeforeTraining()
    {
        INetwork net = ReliabilityNetworks.Create("conv", 21); // 2x9x8 images
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 8, seed: 8);
        float[] before = net.Parameters.Values.ToArray();
        var trainer = new Trainer(net, new Sgd(0.05f), Loss.SoftmaxCrossEntropy) { Augmentation = new ImageAugmentation(2, 8, 8) };

        var e = Assert.Throws<InvalidOperationException>(() => trainer.Fit(data, epochs: 1, batchSize: 4));

        Assert.Contains("2x8x8 = 128 floats, but the network takes 144", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, net.Parameters.Values.ToArray());
    }

    [Fact]
    public void Fit_Augments_TheSameOnOneAndTwoThreads_AndLeavesTheDataSet()
    {
        Dataset data = ReproducibilityTests.SyntheticData(2 * 9 * 8, 3, count: 40, seed: 8);
        float[] features = data.Features.ToArray();
        Parameters Train(int threads, bool augment)
        {
            INetwork net = ReliabilityNetworks.Create("conv", 21);
            var trainer = new Trainer(net, new Sgd(0.05f), Loss.SoftmaxCrossEntropy)
            {
                Threads = threads,
                Augmentation = augment ? new ImageAugmentation(2, 9, 8, padding: 2, fill: -0.5f) : null,
            };
            trainer.Fit(data, epochs: 2, batchSize: 8, seed: 5);
            return net.Parameters;
        }

        Parameters one = Train(1, augment: true), two = Train(2, augment: true), plain = Train(1, augment: false);

        // Threads split the batch, not the draws: the runs differ by float rounding only (DataParallelTests).
        for (int i = 0; i < one.Size; i++)
            Assert.True(MathF.Abs(one.Values[i] - two.Values[i]) <= 1e-3f * (1 + MathF.Abs(one.Values[i])), $"[{i}]: {one.Values[i]} vs {two.Values[i]}");
        Assert.True(Enumerable.Range(0, one.Size).Max(i => MathF.Abs(one.Values[i] - plain.Values[i])) > 1e-2f, "augmentation changed nothing");
        Assert.Equal(features, data.Features.ToArray());
    }

    [Fact]
    public void Fit_WithAugmentation_AllocatesNothingPerBatch()
    {
        INetwork net = ReliabilityNetworks.Create("conv", 21);
        Dataset data = ReproducibilityTests.SyntheticData(net.InputSize, net.OutputSize, count: 400, seed: 8);
        var trainer = new Trainer(net, new Sgd(0.01f), Loss.SoftmaxCrossEntropy) { Threads = 1, Augmentation = new ImageAugmentation(2, 9, 8, padding: 2) };
        Allocations.AssertFitAllocatesNothingPerBatch(trainer, data);
    }

    // torchvision: pad each side with the fill, take the Height x Width window at (top, left), mirror if asked.
    private static float[] Reference(float[] image, int padding, int top, int left, bool mirror, float fill)
    {
        int paddedHeight = Height + 2 * padding, paddedWidth = Width + 2 * padding;
        var result = new float[image.Length];
        for (int c = 0; c < Channels; c++)
        {
            var padded = new float[paddedHeight, paddedWidth];
            for (int i = 0; i < paddedHeight; i++)
                for (int j = 0; j < paddedWidth; j++)
                {
                    int si = i - padding, sj = j - padding;
                    padded[i, j] = si >= 0 && si < Height && sj >= 0 && sj < Width ? image[(c * Height + si) * Width + sj] : fill;
                }
            for (int i = 0; i < Height; i++)
                for (int j = 0; j < Width; j++)
                    result[(c * Height + i) * Width + (mirror ? Width - 1 - j : j)] = padded[top + i, left + j];
        }
        return result;
    }
}
