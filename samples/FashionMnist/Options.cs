using System;
using System.Globalization;

namespace FashionMnist;

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The sample's command line.</summary>
internal sealed record Options
{
    /// <summary>Default passes over the training set for the MLP.</summary>
    public const int MlpEpochs = 10;

    /// <summary>Default passes over the training set for the CNN.</summary>
    public const int CnnEpochs = 10;

    public static readonly string Usage = $"""
        usage: FashionMnist [options]
          --data DIR     directory with the four Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --model NAME   network to train: mlp (default), a 784-256-128-10 perceptron, or cnn, two
                         convolution + batch norm + max-pool blocks then two dense layers
          --epochs N     passes over the training set (default {MlpEpochs} for mlp, {CnnEpochs} for cnn)
          --batch N      samples per optimiser step (default 64)
          --lr X         initial AdamW learning rate, decayed towards 0 on a cosine over the epochs (default 0.001)
          --seed N       seeds the initial weights and the shuffles (default 42)
          --threads N    threads each batch is split across (default: the machine's processors)
          --augment      shift each training image by up to 2 pixels (black border) and mirror half of them
          --out PATH     where to save the trained weights as safetensors (default fashion-mlp.safetensors
                         or fashion-cnn.safetensors, after the model)
          --summary      print the network's layer table and exit
          --help         print this text and exit
        """;

    public string DataDirectory { get; init; } = FashionData.DefaultDirectory;
    /// <summary>Passes over the training set; null until given, then <see cref="EffectiveEpochs"/> picks the model's default.</summary>
    public int? Epochs { get; init; }
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 1e-3f;
    public int Seed { get; init; } = 42;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public string Model { get; init; } = "mlp";
    /// <summary>Where to save the weights; null until given, then <see cref="EffectiveOutputPath"/> names the file after the model.</summary>
    public string? OutputPath { get; init; }
    public bool SummaryOnly { get; init; }
    public bool Augment { get; init; }
    public bool Help { get; init; }

    /// <summary><see cref="Epochs"/>, or the default for <see cref="Model"/>.</summary>
    public int EffectiveEpochs => Epochs ?? (Model == "cnn" ? CnnEpochs : MlpEpochs);

    /// <summary><see cref="OutputPath"/>, or <c>fashion-{model}.safetensors</c>.</summary>
    public string EffectiveOutputPath => OutputPath ?? $"fashion-{Model}.safetensors";

    /// <exception cref="UsageException">An unknown option, a missing or malformed value.</exception>
    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            options = name switch
            {
                "--data" => options with { DataDirectory = Value(args, ref i) },
                "--epochs" => options with { Epochs = PositiveInt(args, ref i) },
                "--batch" => options with { BatchSize = PositiveInt(args, ref i) },
                "--lr" => options with { LearningRate = PositiveFloat(args, ref i) },
                "--seed" => options with { Seed = Int(args, ref i) },
                "--threads" => options with { Threads = PositiveInt(args, ref i) },
                "--model" => options with { Model = ModelName(args, ref i) },
                "--out" => options with { OutputPath = Value(args, ref i) },
                "--summary" => options with { SummaryOnly = true },
                "--augment" => options with { Augment = true },
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
            : throw new UsageException($"{name} expects a positive number such as 1e-3, got '{text}'");
    }

    private static string ModelName(string[] args, ref int i)
    {
        string text = Value(args, ref i);
        return text switch
        {
            "mlp" or "cnn" => text,
            _ => throw new UsageException($"unknown model '{text}': expected 'mlp' or 'cnn'"),
        };
    }
}
