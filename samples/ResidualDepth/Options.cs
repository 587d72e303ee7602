using System;
using System.Globalization;
using System.IO;
using System.Linq;
using FashionMnist;

namespace ResidualDepth;

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The experiment's command line.</summary>
internal sealed record Options
{
    /// <summary>Two epochs of full batches of 128 (60,000 / 128 = 468 per epoch).</summary>
    public const int DefaultSteps = 936;

    public static readonly string Usage = $"""
        usage: ResidualDepth [options]
          --depths LIST  comma-separated block counts to train, from {string.Join(",", Networks.Depths)} (default {string.Join(",", Networks.DefaultDepths)})
          --steps N      SGD steps per network, the same for every depth (default {DefaultSteps}, two epochs of batch 128)
          --lr X         SGD learning rate, constant, momentum 0.9 (default {DefaultLearningRate.ToString(CultureInfo.InvariantCulture)})
          --seed N       seeds the initial weights, the batch order and the gradient probe (default 42)
          --data DIR     directory with the four Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH  where to write the figure (default docs/residual-depth.png under the repository root when
                         run inside the repository, else residual-depth.png in the current directory)
          --help         print this text and exit
        """;

    public const float DefaultLearningRate = 0.01f;

    public int[] Depths { get; init; } = Networks.DefaultDepths;
    public int Steps { get; init; } = DefaultSteps;
    public float LearningRate { get; init; } = DefaultLearningRate;
    public int Seed { get; init; } = 42;
    public string DataDirectory { get; init; } = FashionData.DefaultDirectory;
    /// <summary>Where to write the figure; null until given, then <see cref="EffectiveOutputPath"/> picks the default.</summary>
    public string? OutputPath { get; init; }
    public bool Help { get; init; }

    /// <summary><see cref="OutputPath"/>, or docs/residual-depth.png in the enclosing repository (found by its Dsl.sln), or ./residual-depth.png.</summary>
    public string EffectiveOutputPath
    {
        get
        {
            if (OutputPath is not null) return OutputPath;
            for (DirectoryInfo? dir = new(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dsl.sln"))) return Path.Combine(dir.FullName, "docs", "residual-depth.png");
            }
            return "residual-depth.png";
        }
    }

    /// <exception cref="UsageException">An unknown option, a missing or malformed value.</exception>
    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            options = name switch
            {
                "--depths" => options with { Depths = DepthList(args, ref i) },
                "--steps" => options with { Steps = PositiveInt(args, ref i) },
                "--lr" => options with { LearningRate = PositiveFloat(args, ref i) },
                "--seed" => options with { Seed = Int(args, ref i) },
                "--data" => options with { DataDirectory = Value(args, ref i) },
                "--output" => options with { OutputPath = Value(args, ref i) },
                "--help" or "-h" => options with { Help = true },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
        }
        return options;
    }

    private static string Value(string[] args, ref int i)
    {
        string name = args[i];
        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            throw new UsageException($"{name} needs a value");
        return args[++i];
    }

    private static int Int(string[] args, ref int i)
    {
        string name = args[i], text = Value(args, ref i);
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new UsageException($"{name} expects an integer, got '{text}'");
    }

    private static int PositiveInt(string[] args, ref int i)
    {
        string name = args[i];
        int value = Int(args, ref i);
        return value > 0 ? value : throw new UsageException($"{name} must be positive, got {value}");
    }

    private static float PositiveFloat(string[] args, ref int i)
    {
        string name = args[i], text = Value(args, ref i);
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && value > 0 && float.IsFinite(value)
            ? value
            : throw new UsageException($"{name} expects a positive number such as 0.01, got '{text}'");
    }

    // Depths must be ones declared in Networks.cs: the generator needs every size at build time.
    private static int[] DepthList(string[] args, ref int i)
    {
        string name = args[i], text = Value(args, ref i);
        var depths = new System.Collections.Generic.List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int depth) || !Networks.Depths.Contains(depth))
                throw new UsageException($"{name}: '{part}' is not one of the declared depths {string.Join(", ", Networks.Depths)}");
            if (!depths.Contains(depth)) depths.Add(depth);
        }
        if (depths.Count == 0) throw new UsageException($"{name} needs at least one depth");
        depths.Sort();
        return depths.ToArray();
    }
}
