using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Dsl;
using FashionMnist;
using TinyTransformer;

// Trains VisionTransformer, a pre-norm ViT of 16 patch tokens, on Fashion-MNIST; reports the test accuracy
// and the epoch time, saves the weights as safetensors and checks that a fresh network loaded from the file
// scores the same. Exit codes: 0 success, 1 failure, 2 bad command line or data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string usage = """
    usage: TinyTransformer [options]
      --data DIR     directory with the four Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
      --epochs N     passes over the training set (default 12)
      --batch N      samples per optimiser step (default 64)
      --lr X         initial AdamW learning rate, cosine-decayed over the epochs (default 0.002)
      --seed N       seeds the initial weights and the shuffles (default 42)
      --out PATH     where to save the trained weights (default fashion-vit.safetensors)
      --summary      print the network's layer table and exit
      --help         print this text and exit
    """;

string data = FashionData.DefaultDirectory, output = "fashion-vit.safetensors";
int epochs = 12, batch = 64, seed = 42;
float learningRate = 2e-3f;
bool summaryOnly = false;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--data": data = Value(); break;
            case "--epochs": epochs = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--epochs"); break;
            case "--batch": batch = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--batch"); break;
            case "--lr": learningRate = float.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--out": output = Value(); break;
            case "--summary": summaryOnly = true; break;
            case "--help" or "-h": Console.WriteLine(usage); return 0;
            default: throw new FormatException($"unknown option '{args[i]}'");
        }
    }
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(usage);
    return 2;
}

var net = new VisionTransformer(seed);
Console.WriteLine(net.Summary);
if (summaryOnly) return 0;

int loadFailure = SampleSupport.TryLoad(data, "TinyTransformer", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;

// AdamW with weight decay 0.05 and a cosine schedule: the usual recipe for small vision transformers.
const float weightDecay = 0.05f;
var optimizer = new AdamW(learningRate, weightDecay: weightDecay);
var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy);
Console.WriteLine($"training: {epochs} epochs, batch {batch}, AdamW lr {learningRate:G3} with cosine decay, weight decay {weightDecay:G3}, seed {seed}, SIMD {SampleSupport.Simd()}");
var clock = Stopwatch.StartNew();
TrainingHistory history = trainer.Fit(train, epochs, batch, seed, validation: test,
    observers: [new CosineDecay(optimizer, learningRate, epochs), new ConsoleProgress()]);
clock.Stop();
Console.WriteLine($"mean epoch time: {history.Epochs.Average(e => e.Elapsed.TotalSeconds):F1} s (training plus test-set evaluation)");
Console.WriteLine($"total training time: {clock.Elapsed.TotalSeconds:F1} s");

double accuracy = SampleSupport.Accuracy(net, test);
Console.WriteLine($"test accuracy: {accuracy:F4}");
return SampleSupport.SaveAndCheckReload(net, new VisionTransformer(seed: 0), output, test, accuracy);

static int Positive(int value, string option) => value > 0 ? value : throw new FormatException($"{option} must be positive");
