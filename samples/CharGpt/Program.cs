using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using CharGpt;
using Dsl;

// Trains CharModel, a character-level GPT, on Debian's fortune cookies: per-epoch loss and validation perplexity,
// a validation check every few hundred batches (the curve), the weights saved with the model's alphabet in the
// file's metadata, a reloaded copy that writes text from a prompt, and last the validation loss in nats per
// character. Exit codes: 0 success, 1 failure, 2 bad command line or data not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string usage = """
    usage: CharGpt [options]
      --data DIR        the fortune files (default /usr/share/games/fortunes, Debian's package fortunes)
      --epochs N        passes over the training characters (default 8: about 13 minutes on 2 cores)
      --batch N         sequences of 64 characters per step (default 32)
      --lr X            AdamW's peak learning rate: linear warm-up, then a cosine over the batches (default 0.002)
      --warmup N        warm-up batches (default 100)
      --stride N        characters between the starts of training windows (default 64: each character is a target once per epoch)
      --eval-every N    batches between validation checks on 256 held-out windows (default 250)
      --seed N          seeds the initial weights, the split and the shuffles (default 42)
      --threads N       threads per batch (default: all cores)
      --prompt TEXT     the start of the generated text (default "The ")
      --generate N      characters to generate (default 400)
      --temperature X   sampling temperature (default 0.8); 0 is greedy
      --top-k N         sample among the N likeliest characters (default 20; 0 for all)
      --out PATH        where to save the weights (default char-gpt.safetensors)
      --figure PATH     also draw the validation curve there (PNG)
      --summary         print the network's layer table and exit
      --help            print this text and exit
    """;

string data = Fortunes.DefaultDirectory, output = "char-gpt.safetensors", prompt = "The ";
string? figure = null;
int epochs = 8, batch = 32, warmup = 100, stride = 64, evalEvery = 250, seed = 42, threads = Environment.ProcessorCount, generate = 400, topK = 20;
float learningRate = 2e-3f, temperature = 0.8f;
bool summaryOnly = false;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
        int Positive(string name) => Int() is var v && v > 0 ? v : throw new FormatException($"{name} must be positive");
        switch (args[i])
        {
            case "--data": data = Value(); break;
            case "--epochs": epochs = Positive("--epochs"); break;
            case "--batch": batch = Positive("--batch"); break;
            case "--lr": learningRate = float.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--warmup": warmup = Int(); break;
            case "--stride": stride = Positive("--stride"); break;
            case "--eval-every": evalEvery = Positive("--eval-every"); break;
            case "--seed": seed = Int(); break;
            case "--threads": threads = Positive("--threads"); break;
            case "--prompt": prompt = Value(); break;
            case "--generate": generate = Int(); break;
            case "--temperature": temperature = float.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--top-k": topK = Int(); break;
            case "--out": output = Value(); break;
            case "--figure": figure = Value(); break;
            case "--summary": summaryOnly = true; break;
            case "--help" or "-h": Console.WriteLine(usage); return 0;
            default: throw new FormatException($"unknown option '{args[i]}'");
        }
    }
    if (prompt.Length == 0 || prompt.Length > CharModel.InputSize) throw new FormatException($"--prompt needs 1 to {CharModel.InputSize} characters");
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(usage);
    return 2;
}

var net = new CharModel(seed);
Console.WriteLine(net.Summary);
if (summaryOnly) return 0;
if (!Directory.Exists(data))
{
    Console.Error.WriteLine($"error: no fortune files in {data}; install Debian's package: sudo apt-get install fortunes (or run bash scripts/run-sample.sh CharGpt)");
    return 2;
}

List<string> fortunes = Fortunes.Read(data);
(int[] trainStream, int[] validationStream) = Fortunes.Split(fortunes, heldOut: 0.05, seed);
Dataset train = Dataset.NextTokens(trainStream, CharModel.InputSize, stride, Characters.Count);
Dataset validation = Dataset.NextTokens(validationStream, CharModel.InputSize, CharModel.InputSize, Characters.Count);
// The periodic checks read the first 256 held-out windows (16,384 characters); the final one all of them.
Dataset check = Dataset.NextTokens(validationStream[..Math.Min(validationStream.Length, 256 * CharModel.InputSize + 1)], CharModel.InputSize, CharModel.InputSize, Characters.Count);
Console.WriteLine($"data: {fortunes.Count:N0} fortunes, {trainStream.Length:N0} training characters ({train.Count:N0} windows of {CharModel.InputSize}), " +
                  $"{validationStream.Length:N0} held-out characters of whole fortunes ({validation.Count:N0} windows)");

var optimizer = new AdamW(learningRate, weightDecay: 0.01f);
var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy) { Threads = threads, MaxGradientNorm = 1f };
var curve = new ValidationCurve(trainer, check, evalEvery, batch * CharModel.InputSize);
Console.WriteLine($"training: {epochs} epoch(s), batch {batch}, AdamW lr {learningRate:G3} (warm-up {warmup} batches, cosine over the batches), weight decay 0.01, " +
                  $"gradient norm clipped at 1, seed {seed}, {threads} thread(s)");
TrainingHistory history = trainer.Fit(train, epochs, batch, seed, validation: validation,
    observers: [new CosineDecay(optimizer, learningRate, epochs, warmup, perBatch: true), curve, new ConsoleProgress { ShowPerplexity = true }]);
curve.Finish(history);
if (figure is not null)
{
    CurveFigure.Save(figure, curve.Points);
    Console.WriteLine($"figure: {figure}");
}

// The alphabet goes into the file's metadata, so a loaded model can turn its ids back into text.
net.Save(output, new Dictionary<string, string> { ["alphabet"] = Characters.Alphabet, ["context"] = CharModel.InputSize.ToString(CultureInfo.InvariantCulture) });
var loaded = new CharModel();
loaded.Load(output);
string alphabet = SafeTensors.ReadMetadata(output)["alphabet"];
Console.WriteLine($"saved {output}; reloaded it with its alphabet of {alphabet.Length} characters");

Console.WriteLine($"generated ({generate} characters, temperature {temperature:G3}, top-k {topK}, seed {seed}):");
Console.WriteLine("----");
Console.WriteLine(prompt + Write(loaded, prompt, generate, new Sampling(temperature, topK), new Rng(seed), alphabet));
Console.WriteLine("----");
float final = trainer.Evaluate(validation).Loss;
Console.WriteLine($"training time: {history.Elapsed.TotalMinutes:F1} min; reached 1.8 after {curve.Reached(1.8f)}, 1.6 after {curve.Reached(1.6f)}");
Console.WriteLine($"validation loss: {final:F4}");
return 0;

// Text beyond the 64-character context: when the cache is full, the last 32 characters start a new one.
static string Write(CharModel model, string prompt, int count, Sampling sampling, Rng rng, string alphabet)
{
    var text = new List<int>(Characters.Encode(prompt));
    DecodeCache cache = model.CreateDecodeCache();
    var next = new int[CharModel.InputSize];
    while (text.Count - prompt.Length < count)
    {
        int[] window = text.Skip(Math.Max(0, text.Count - (text.Count >= CharModel.InputSize ? CharModel.InputSize / 2 : CharModel.InputSize))).ToArray();
        int want = Math.Min(count - (text.Count - prompt.Length), CharModel.InputSize - window.Length + 1);
        int written = model.Generate(window, next.AsSpan(0, want), sampling, rng, cache);
        text.AddRange(next.Take(written));
    }
    return Characters.Decode(text.Skip(prompt.Length).ToArray(), alphabet);
}

/// <summary>Checks the held-out windows every few hundred batches: the curve of validation loss against characters and time.</summary>
internal sealed class ValidationCurve(Trainer trainer, Dataset check, int every, int charactersPerBatch) : ITrainingObserver
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _batches;

    public List<(long Characters, double Minutes, float TrainLoss, float ValidationLoss)> Points { get; } = [];

    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
        if (++_batches % every != 0) return;
        float loss = trainer.Evaluate(check).Loss;
        Points.Add((_batches * charactersPerBatch, _clock.Elapsed.TotalMinutes, runningLoss, loss));
        Console.WriteLine($"  batch {_batches}: {_batches * charactersPerBatch / 1e6:F2} M characters, {_clock.Elapsed.TotalMinutes:F1} min, train loss {runningLoss:F3}, held-out loss {loss:F3}");
    }

    public void OnEpoch(EpochReport report)
    {
    }

    public void Finish(TrainingHistory history)
    {
        EpochReport last = history.Final;
        if (last.ValidationLoss is float v) Points.Add((_batches * charactersPerBatch, _clock.Elapsed.TotalMinutes, last.TrainLoss, v));
    }

    /// <summary>When the held-out loss first reached <paramref name="loss"/>, or "-" if it did not.</summary>
    public string Reached(float loss)
    {
        foreach (var p in Points)
            if (p.ValidationLoss <= loss) return $"{p.Minutes:F1} min ({p.Characters / 1e6:F2} M characters)";
        return "- (not reached)";
    }
}
