using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Dsl;
using FashionMnist;

// Trains FashionMlp (--model mlp, the default) or FashionCnn (--model cnn) on Fashion-MNIST, reports test
// accuracy, saves the weights as safetensors, and checks that a fresh network loaded from the file scores
// the same. Exit codes: 0 success, 1 failure, 2 bad command line or data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

Options options;
try
{
    options = Options.Parse(args);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

int epochs = options.EffectiveEpochs;
string outputPath = options.EffectiveOutputPath;
INetwork net = Create(options.Model, options.Seed);
Console.WriteLine(net.Summary);
if (options.SummaryOnly) return 0;

long loadStart = Stopwatch.GetTimestamp();
int loadFailure = SampleSupport.TryLoad(options.DataDirectory, "", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;
Console.WriteLine($"data: {train.Count} training and {test.Count} test images from {options.DataDirectory} ({Stopwatch.GetElapsedTime(loadStart).TotalSeconds:F1} s)");

const float weightDecay = 1e-4f;
var optimizer = new AdamW(options.LearningRate, weightDecay: weightDecay);
var trainer = new Trainer(net, optimizer, Loss.SoftmaxCrossEntropy)
{
    Threads = options.Threads,
    // RandomCrop(28, padding=2) and RandomHorizontalFlip(); the border is black in the standardised units.
    Augmentation = options.Augment ? new ImageAugmentation(1, 28, 28, padding: 2, horizontalFlip: true, fill: -FashionData.PixelMean / FashionData.PixelStd) : null,
};
Console.WriteLine($"training {options.Model}: {epochs} epochs, batch {options.BatchSize}, AdamW lr {options.LearningRate:G3} with cosine decay, weight decay {weightDecay:G3}, seed {options.Seed}, {options.Threads} thread(s) of {Environment.ProcessorCount} cores, SIMD {SampleSupport.Simd()}{(options.Augment ? ", augmented (shifts up to 2 px, flips)" : "")}");

var fitClock = Stopwatch.StartNew();
TrainingHistory history = trainer.Fit(train, epochs, options.BatchSize, options.Seed, validation: test,
    observers: [new CosineDecay(optimizer, options.LearningRate, epochs), new ConsoleProgress()]);
fitClock.Stop();

double meanEpoch = history.Epochs.Average(e => e.Elapsed.TotalSeconds);
Console.WriteLine($"mean epoch time: {meanEpoch:F2} s (training plus test-set evaluation)");
Console.WriteLine($"total training time: {fitClock.Elapsed.TotalSeconds:F1} s");

double accuracy = SampleSupport.Accuracy(net, test);
Console.WriteLine($"test accuracy: {accuracy:F4}");
if (net is FashionMlp)
{
    // The same trained weights read as bfloat16 (rounded to nearest even) by the bfloat16 twin's kernels.
    var half = new FashionMlpBFloat16();
    net.Parameters.ReadOnlyValues.CopyTo(half.Parameters.Values);
    double halfAccuracy = SampleSupport.Accuracy(half, test);
    Console.WriteLine($"test accuracy with bfloat16 weights: {halfAccuracy:F4} ({(halfAccuracy - accuracy) * 100:+0.00;-0.00;0.00} points)");
}

return SampleSupport.SaveAndCheckReload(net, Create(options.Model, seed: 0), outputPath, test, accuracy);

// The network --model names, its weights initialised from the seed.
static INetwork Create(string model, int seed) => model switch
{
    "mlp" => new FashionMlp(seed),
    "cnn" => new FashionCnn(seed),
    _ => throw new ArgumentOutOfRangeException(nameof(model), model, "expected 'mlp' or 'cnn'"),
};
