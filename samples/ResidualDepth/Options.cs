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
    public static readonly string Usage = $"""
        usage: ResidualDepth [options]
          --conv         the convolutional networks (3x3 convolutions with batch norms, ResNet v1 blocks) instead of
                         the multilayer perceptrons
          --depths LIST  comma-separated block counts to train, from {string.Join(",", Networks.Family.Depths)} (--conv: {string.Join(",", ConvNetworks.Family.Depths)}; default all)
          --steps N      SGD steps per network, the same for every depth (default {Networks.Family.DefaultSteps}, two epochs of batch 128; --conv: {ConvNetworks.Family.DefaultSteps})
          --lr X         SGD learning rate, constant, momentum 0.9 (default {Networks.Family.DefaultLearningRate.ToString(CultureInfo.InvariantCulture)}; --conv: {ConvNetworks.Family.DefaultLearningRate.ToString(CultureInfo.InvariantCulture)})
          --seed N       seeds the initial weights, the batch order and the gradient probe (default 42)
          --data DIR     directory with the four Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH  where to write the figure (default docs/{Networks.Family.FigureFile}, --conv: docs/{ConvNetworks.Family.FigureFile},
                         under the repository root when run inside the repository, else in the current directory)
          --help         print this text and exit
        """;

    /// <summary>The networks compared: the multilayer perceptrons, or with --conv the convolutional networks.</summary>
    public Family Family { get; init; } = Networks.Family;
    private int[]? ChosenDepths { get; init; }
    private int? ChosenSteps { get; init; }
    private float? ChosenLearningRate { get; init; }
    public int[] Depths => ChosenDepths ?? Family.Depths;
    public int Steps => ChosenSteps ?? Family.DefaultSteps;
    public float LearningRate => ChosenLearningRate ?? Family.DefaultLearningRate;
    public int Seed { get; init; } = 42;
    public string DataDirectory { get; init; } = FashionData.DefaultDirectory;
    /// <summary>Where to write the figure; null until given, then <see cref="EffectiveOutputPath"/> picks the default.</summary>
    public string? OutputPath { get; init; }
    public bool Help { get; init; }

    /// <summary><see cref="OutputPath"/>, or the family's figure under docs/ in the enclosing repository (found by its Dsl.sln), or in the current directory.</summary>
    public string EffectiveOutputPath
    {
        get
        {
            if (OutputPath is not null) return OutputPath;
            for (DirectoryInfo? dir = new(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dsl.sln"))) return Path.Combine(dir.FullName, "docs", Family.FigureFile);
            }
            return Family.FigureFile;
        }
    }

    /// <exception cref="UsageException">An unknown option, a missing or malformed value.</exception>
    public static Options Parse(string[] args)
    {
        var options = new Options();
        string? depths = null;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            options = name switch
            {
                "--conv" => options with { Family = ConvNetworks.Family },
                "--depths" => options with { ChosenDepths = [] },
                "--steps" => options with { ChosenSteps = PositiveInt(args, ref i) },
                "--lr" => options with { ChosenLearningRate = PositiveFloat(args, ref i) },
                "--seed" => options with { Seed = Int(args, ref i) },
                "--data" => options with { DataDirectory = Value(args, ref i) },
                "--output" => options with { OutputPath = Value(args, ref i) },
                "--help" or "-h" => options with { Help = true },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
            if (name == "--depths") depths = Value(args, ref i);
        }
        // Checked once the family is known: --conv may follow --depths.
        return depths is null ? options : options with { ChosenDepths = DepthList(depths, options.Family) };
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

    // Depths must be ones declared in Networks.cs or ConvNetworks.cs: the generator needs every size at build time.
    private static int[] DepthList(string text, Family family)
    {
        var depths = new System.Collections.Generic.List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int depth) || !family.Depths.Contains(depth))
                throw new UsageException($"--depths: '{part}' is not one of the declared depths of the {family.Name} networks, {string.Join(", ", family.Depths)}");
            if (!depths.Contains(depth)) depths.Add(depth);
        }
        if (depths.Count == 0) throw new UsageException("--depths needs at least one depth");
        depths.Sort();
        return depths.ToArray();
    }
}
