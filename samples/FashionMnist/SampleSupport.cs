using System;
using System.IO;
using System.Linq;
using Dsl;

namespace FashionMnist;

/// <summary>What every Fashion-MNIST sample does the same way: load both splits, score a network, save it and check the file, name the SIMD path.</summary>
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

    /// <summary>
    /// Saves <paramref name="network"/> to <paramref name="path"/>, loads the file into <paramref name="fresh"/> and checks
    /// that it scores the trained network's <paramref name="accuracy"/> on <paramref name="test"/>. Says what it saved
    /// and the reloaded accuracy, or on standard error what failed; returns the exit code: 0 success, 1 failure.
    /// </summary>
    public static int SaveAndCheckReload(INetwork network, INetwork fresh, string path, Dataset test, double accuracy)
    {
        try
        {
            network.Save(path);
            // Batch norm's running statistics are buffers: saved and loaded, but not trained by the optimiser.
            int bufferValues = network.Parameters.Tensors.Where(t => t.Kind == TensorKind.Buffer).Sum(t => t.Length);
            string buffers = bufferValues > 0 ? $" and {bufferValues:N0} buffer values (batch-norm statistics)" : "";
            Console.WriteLine($"saved {network.Parameters.ParameterCount:N0} parameters{buffers} to {Path.GetFullPath(path)}");
            fresh.Load(path);
            double reloadedAccuracy = Accuracy(fresh, test);
            Console.WriteLine($"reloaded test accuracy: {reloadedAccuracy:F4}");
            if (reloadedAccuracy == accuracy) return 0;
            Console.Error.WriteLine($"error: the network loaded from {path} scores {reloadedAccuracy:F4}, the trained one {accuracy:F4}.");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SafeTensorsException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>The widest vector path the generated kernels take on this machine (the JIT picks the same one).</summary>
    public static string Simd() =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "Vector128"
        : "scalar";

    /// <summary>Rough batch-1 timing for the samples' tables (BenchmarkDotNet's are in docs/): the median of nine rounds of a thousand calls, after warming up, in microseconds per call.</summary>
    public static double MicrosecondsPerCall(INetwork network, float[] input)
    {
        var output = new float[network.OutputSize];
        for (int i = 0; i < 3000; i++) network.Forward(input, output);
        var rounds = new double[9];
        for (int r = 0; r < rounds.Length; r++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < 1000; i++) network.Forward(input, output);
            rounds[r] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / 1000;
        }
        Array.Sort(rounds);
        return rounds[rounds.Length / 2];
    }
}
