using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Dsl;
using FashionMnist;
using ResNet;

// Trains FashionResNet on Fashion-MNIST with augmentation (random crops of the image padded by 2 pixels, horizontal
// flips), reports test accuracy, saves the weights as safetensors (torchvision's names) and checks that a fresh
// network loaded from the file scores the same. --summary prints the network (and torchvision's ResNet-18, declared
// in ResNet18.cs) without training. Exit codes: 0 success, 1 failure, 2 bad command line or data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string usage = """
    usage: dotnet run -c Release --project samples/ResNet -- [options]
      --epochs N      training epochs (default 20: about 24 minutes on 2 cores)
      --batch N       batch size (default 128)
      --lr F          learning rate, decayed by a cosine over the epochs (default 0.1 for SGD, 0.002 for AdamW)
      --smoothing F   label smoothing of the cross-entropy, in [0, 1) (default 0)
      --adamw         AdamW (weight decay 1e-4) instead of SGD with Nesterov momentum 0.9 and weight decay 5e-4
      --seed N        initialisation and shuffling seed (default 42)
      --threads N     training threads (default: every core)
      --train N       train on the first N images only (default: all 60,000)
      --shift N       shift the images by up to N pixels: random crops of the image padded by N (default 2; 0 flips only)
      --no-augment    train on the images as they are
      --data DIR      the four Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)
      --out FILE      where to save the weights (default fashion-resnet.safetensors)
      --summary       print the networks and stop
    """;

int epochs = 20, batchSize = 128, seed = 42, threads = Environment.ProcessorCount, trainLimit = 0, shift = 2;
float? chosenRate = null;
float smoothing = 0f;
bool augment = true, summaryOnly = false, adamW = false;
string dataDirectory = FashionData.DefaultDirectory, outputPath = "fashion-resnet.safetensors";
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        int Positive() => int.TryParse(Value(), out int v) && v > 0 ? v : throw new FormatException($"{args[i - 1]} needs a positive integer, not '{args[i]}'");
        switch (args[i])
        {
            case "--epochs": epochs = Positive(); break;
            case "--batch": batchSize = Positive(); break;
            case "--lr": chosenRate = float.TryParse(Value(), out float lr) && lr > 0 ? lr : throw new FormatException($"--lr needs a positive number, not '{args[i]}'"); break;
            case "--smoothing": smoothing = float.TryParse(Value(), out float ls) && ls is >= 0f and < 1f ? ls : throw new FormatException($"--smoothing needs a number in [0, 1), not '{args[i]}'"); break;
            case "--adamw": adamW = true; break;
            case "--seed": seed = int.TryParse(Value(), out int s) ? s : throw new FormatException($"--seed needs an integer, not '{args[i]}'"); break;
            case "--threads": threads = Positive(); break;
            case "--train": trainLimit = Positive(); break;
            case "--shift": shift = int.TryParse(Value(), out int n) && n >= 0 ? n : throw new FormatException($"--shift needs a whole number of pixels, not '{args[i]}'"); break;
            case "--no-augment": augment = false; break;
            case "--data": dataDirectory = Value(); break;
            case "--out": outputPath = Value(); break;
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

var net = new FashionResNet(seed);
Console.WriteLine(net.Summary);
if (summaryOnly)
{
    Console.WriteLine();
    Console.WriteLine(new ResNet18().Summary);
    return 0;
}

int loadFailure = SampleSupport.TryLoad(dataDirectory, "ResNet", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;
if (trainLimit > 0 && trainLimit < train.Count)
    train = new Dataset(train.Features[..(trainLimit * train.InputSize)].ToArray(), train.InputSize, train.Labels[..trainLimit].ToArray(), train.ClassCount);

float learningRate = chosenRate ?? (adamW ? 2e-3f : 0.1f);
Optimizer optimizer = adamW ? new AdamW(learningRate, weightDecay: 1e-4f) : new Sgd(learningRate, momentum: 0.9f, weightDecay: 5e-4f, nesterov: true);
var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropyWithLabelSmoothing(smoothing))
{
    Threads = threads,
    // RandomHorizontalFlip(), after RandomCrop(28, padding=shift) when shifting; the border is black in the standardised units.
    Augmentation = augment ? new ImageAugmentation(1, 28, 28, padding: shift, horizontalFlip: true, fill: -FashionData.PixelMean / FashionData.PixelStd) : null,
};
string optimizerText = adamW ? $"AdamW lr {learningRate:G3}, weight decay 1e-4" : $"SGD lr {learningRate:G3}, Nesterov momentum 0.9, weight decay 5e-4";
Console.WriteLine($"training: {train.Count} images, {epochs} epochs, batch {batchSize}, {optimizerText}, cosine decay, label smoothing {smoothing:G3}, " +
                  $"seed {seed}, {threads} thread(s) of {Environment.ProcessorCount} cores, SIMD {SampleSupport.Simd()}{(augment ? $", augmented (flips{(shift > 0 ? $", shifts up to {shift} px" : "")})" : "")}");

var clock = Stopwatch.StartNew();
TrainingHistory history = trainer.Fit(train, epochs, batchSize, seed, validation: test,
    observers: [new CosineDecay(optimizer, learningRate, epochs), new ConsoleProgress()]);
clock.Stop();
double meanEpoch = 0;
foreach (EpochReport e in history.Epochs) meanEpoch += e.Elapsed.TotalSeconds / history.Epochs.Count;
Console.WriteLine($"mean epoch time: {meanEpoch:F1} s (training plus test-set evaluation)");
Console.WriteLine($"total training time: {clock.Elapsed.TotalSeconds:F0} s");

double accuracy = SampleSupport.Accuracy(net, test);
Console.WriteLine($"test accuracy: {accuracy:F4}");
return SampleSupport.SaveAndCheckReload(net, new FashionResNet(), outputPath, test, accuracy);
