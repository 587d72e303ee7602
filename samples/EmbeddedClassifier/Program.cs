using System;
using System.Diagnostics;
using System.IO;
using Dsl;

namespace EmbeddedClassifier;

/// <summary>
/// Classifies a Fashion-MNIST image with a network whose weights are compiled into the executable (no weights file
/// at run time). Published with NativeAOT it is one self-contained native file; docs/embedded.md measures it.
/// Exit codes: 0 success, 1 unreadable image, 2 bad command line or data set not installed.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: EmbeddedClassifier [--mlp | --cnn] [--bench | --check N] [IMAGE [INDEX]]
          IMAGE      an IDX images file (gzipped or not; INDEX picks the image, default 0), a binary PGM (P5) or an
                     8-bit greyscale PNG, 28 x 28; default: the first Fashion-MNIST test image,
                     /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
          --mlp      the 784-256-128-10 perceptron (default)
          --cnn      the convolutional network
          --bench    time the first Forward call and the steady state (median of 10,000 calls), bytes allocated per call
          --check N  classify the first N test images and print the accuracy against the test labels
        """;

    private static int Main(string[] args)
    {
        bool cnn = false, bench = false;
        int check = 0, index = 0;
        string? path = null;
        bool indexGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--mlp") cnn = false;
            else if (a == "--cnn") cnn = true;
            else if (a == "--bench") bench = true;
            else if (a == "--check" && i + 1 < args.Length && int.TryParse(args[++i], out check) && check is > 0 and <= 10_000) { }
            else if (a is "--help" or "-h")
            {
                Console.Out.Write(Usage);
                return 0;
            }
            else if (!a.StartsWith('-') && path is null) path = a;
            else if (!a.StartsWith('-') && !indexGiven && int.TryParse(a, out index) && index >= 0) indexGiven = true;
            else return Fail(2, $"unexpected argument '{a}' (--check takes 1 to 10000, INDEX a number from 0)\n{Usage}");
        }
        if (path is null && !File.Exists(FashionImages.TestImages))
            return Fail(2, $"{FashionImages.TestImages} not found: install Debian's dataset-fashion-mnist (bash scripts/install-data.sh) or name an image.");

        try
        {
            if (check > 0) return Check(cnn, check);
            return Classify(cnn, bench, path ?? FashionImages.TestImages, index);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return Fail(1, e.Message);
        }
    }

    /// <summary>Reads one image, classifies it with a network fresh from <c>Pretrained()</c>, prints the class and the times.</summary>
    private static int Classify(bool cnn, bool bench, string path, int index)
    {
        long start = Stopwatch.GetTimestamp();
        Span<byte> pixels = stackalloc byte[FashionImages.Pixels];
        FashionImages.Read(path, index, pixels);
        var input = new float[FashionImages.Pixels];
        FashionImages.Normalize(pixels, input);
        long read = Stopwatch.GetTimestamp();

        INetwork network = cnn ? FashionCnn.Pretrained() : FashionMlp.Pretrained();
        var logits = new float[network.OutputSize];
        long created = Stopwatch.GetTimestamp();
        network.Forward(input, logits);
        int label = Metrics.ArgMax(logits);
        long classified = Stopwatch.GetTimestamp();

        Console.Out.Write($"class: {FashionImages.ClassNames[label]}\n");
        Console.Out.Write($"time: {CallTimes.Micro(created, classified):F1} us to classify (first Forward call, {(cnn ? "cnn" : "mlp")}); Pretrained() {CallTimes.Micro(read, created):F1} us; reading the image {CallTimes.Micro(start, read):F1} us\n");
        if (bench) Bench(network, input, logits, CallTimes.Micro(created, classified));
        return 0;
    }

    /// <summary>The steady state of the network that just ran its first call, and the instruction set its kernels run.</summary>
    private static void Bench(INetwork network, float[] input, float[] logits, double first)
    {
        CallTimes.Report("Forward", first, () => network.Forward(input, logits));
        // The rung the kernels run and the one this processor could: a NativeAOT build without IlcInstructionSet runs Vector128.
        Console.Out.Write($"simd: {Dsl.Runtime.Isa} (this processor: {Dsl.Runtime.MachineIsa})\n");
    }

    /// <summary>The first <paramref name="count"/> test images, streamed, each classified by its own Forward call; the accuracy against their labels.</summary>
    private static int Check(bool cnn, int count)
    {
        var pixels = new byte[count * FashionImages.Pixels];
        using (var file = new FileStream(FashionImages.TestImages, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096))
            FashionImages.ReadIdx(file, FashionImages.TestImages, 0, count, pixels);
        var labels = new byte[count];
        FashionImages.ReadLabels(FashionImages.TestLabels, labels);

        INetwork network = cnn ? FashionCnn.Pretrained() : FashionMlp.Pretrained();
        var input = new float[FashionImages.Pixels];
        var logits = new float[network.OutputSize];
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            FashionImages.Normalize(pixels.AsSpan(i * FashionImages.Pixels, FashionImages.Pixels), input);
            network.Forward(input, logits);
            if (Metrics.ArgMax(logits) == labels[i]) correct++;
        }
        Console.Out.Write($"accuracy: {(double)correct / count:F4} ({correct} of the first {count} test images, {(cnn ? "cnn" : "mlp")})\n");
        return 0;
    }

    private static int Fail(int code, string message)
    {
        Console.Error.Write($"error: {message}\n");
        return code;
    }
}
