using System;
using System.IO;
using Dsl;

namespace FashionMnist;

/// <summary>Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist) as <see cref="Dataset"/>s.</summary>
internal static class FashionData
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    public const string TrainImages = "train-images-idx3-ubyte.gz";
    public const string TrainLabels = "train-labels-idx1-ubyte.gz";
    public const string TestImages = "t10k-images-idx3-ubyte.gz";
    public const string TestLabels = "t10k-labels-idx1-ubyte.gz";

    public const int Side = 28;
    public const int ClassCount = 10;

    // Mean and standard deviation of all Fashion-MNIST training pixels once scaled to [0, 1] (the values
    // commonly used with torchvision's Normalize((0.2860,), (0.3530,))). Standardising with them gives
    // inputs of roughly zero mean and unit variance, which suits the Kaiming-initialised ReLU layers.
    public const float PixelMean = 0.2860f;
    public const float PixelStd = 0.3530f;

    /// <summary>The four file names, training images first.</summary>
    public static readonly string[] Files = [TrainImages, TrainLabels, TestImages, TestLabels];

    /// <summary>Reads one split: <paramref name="imagesFile"/> and <paramref name="labelsFile"/> in <paramref name="directory"/>.</summary>
    /// <exception cref="InvalidDataException">A file is malformed or the two files disagree.</exception>
    public static Dataset Load(string directory, string imagesFile, string labelsFile)
    {
        string imagesPath = Path.Combine(directory, imagesFile);
        string labelsPath = Path.Combine(directory, labelsFile);
        IdxImages images = IdxReader.ReadImages(imagesPath);
        byte[] labels = IdxReader.ReadLabels(labelsPath);

        if (images.Rows != Side || images.Columns != Side)
            throw new InvalidDataException($"{imagesPath} holds {images.Rows} × {images.Columns} images; Fashion-MNIST images are {Side} × {Side}.");
        if (labels.Length != images.Count)
            throw new InvalidDataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Length} labels.");

        var features = new float[images.Pixels.Length];
        const float scale = 1f / (255f * PixelStd);
        const float shift = PixelMean / PixelStd;
        for (int i = 0; i < features.Length; i++) features[i] = images.Pixels[i] * scale - shift; // (p/255 - mean) / std

        var classes = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} of sample {i} is outside 0..{ClassCount - 1}.");
            classes[i] = labels[i];
        }
        return new Dataset(features, Side * Side, classes, ClassCount);
    }
}
