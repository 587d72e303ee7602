using System;
using System.IO;
using System.Linq;
using Dsl;

namespace FashionMnist;

/// <summary>What every Fashion-MNIST sample does the same way: load both splits, score a network, name the SIMD path.</summary>
internal static class SampleSupport
{
    /// <summary>
    /// Loads the training and test sets from <paramref name="directory"/>. On failure it says on standard error
    /// what is missing (and how to install the data set; <paramref name="sample"/> is the name run-sample.sh
    /// takes, empty for the main job) or unreadable, and returns the exit code for it: 2 missing, 1 unreadable.
    /// </summary>
    public static int TryLoad(string directory, string sample, out Dataset train, out Dataset test)
    {
        train = test = null!;
        string[] missing = FashionData.Files.Where(f => !File.Exists(Path.Combine(directory, f))).ToArray();
        if (missing.Length > 0)
        {
            Console.Error.WriteLine($"Fashion-MNIST not found: {directory} lacks {string.Join(", ", missing)}.");
            Console.Error.WriteLine("Install Debian's package with");
            Console.Error.WriteLine("  sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist");
            Console.Error.WriteLine($"or run `bash scripts/run-sample.sh{(sample.Length > 0 ? " " + sample : "")}`, which installs it, or pass --data DIR with the four IDX .gz files.");
            return 2;
        }
        try
        {
            train = FashionData.Load(directory, FashionData.TrainImages, FashionData.TrainLabels);
            test = FashionData.Load(directory, FashionData.TestImages, FashionData.TestLabels);
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Fraction of samples whose largest logit is at their label, by one batched, allocation-free Forward.</summary>
    public static double Accuracy(INetwork network, Dataset data)
    {
        var logits = new float[data.Count * network.OutputSize];
        network.Forward(data.Features, logits, data.Count);
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
            if (Metrics.ArgMax(logits.AsSpan(i * network.OutputSize, network.OutputSize)) == data.Label(i)) correct++;
        return (double)correct / data.Count;
    }

    /// <summary>The widest vector path the generated kernels take on this machine (the JIT picks the same one).</summary>
    public static string Simd() =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "Vector128"
        : "scalar";
}
