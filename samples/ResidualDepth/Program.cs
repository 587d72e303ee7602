using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Dsl;
using FashionMnist;
using ResidualDepth;

// The degradation experiment (issues #4 and #14): plain and residual networks of several depths, multilayer
// perceptrons or (--conv) convolutional networks, trained with the same number of SGD steps on Fashion-MNIST. Prints a Markdown table of final training loss, test accuracy and
// first-layer gradient norms, and writes a figure. Exit codes: 0 success, 1 failure, 2 bad command line or
// data set not installed.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const int batchSize = 128;
const float momentum = 0.9f;

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

var clock = Stopwatch.StartNew();
int loadFailure = SampleSupport.TryLoad(options.DataDirectory, "ResidualDepth", out Dataset train, out Dataset test);
if (loadFailure != 0) return loadFailure;
Console.WriteLine($"data: {train.Count} training and {test.Count} test images from {options.DataDirectory}");
Family family = options.Family;
Console.WriteLine($"{family.Name} networks, depths {string.Join(", ", options.Depths)} blocks; each network: {options.Steps} steps of SGD (lr {options.LearningRate:G3}, momentum {momentum}, batch {batchSize}), seed {options.Seed}, {Environment.ProcessorCount} cores, SIMD {SampleSupport.Simd()}");
Console.WriteLine($"gradient norms: at initialisation, mean over the first {Experiment.ProbeBatches} batches");
Console.WriteLine();

foreach (int depth in options.Depths)
{
    if (!Experiment.SameInitialParameters(family, depth, options.Seed))
    {
        Console.Error.WriteLine($"error: the plain and residual networks of depth {depth} do not start from the same parameters.");
        return 1;
    }
}
Console.WriteLine("plain and residual networks of each depth start from identical parameters (checked)");

var experiment = new Experiment(family, train, test, options.Steps, batchSize, options.LearningRate, momentum, options.Seed);
var results = new List<RunResult>();
foreach (int depth in options.Depths)
{
    foreach (bool residual in new[] { false, true })
    {
        RunResult r = experiment.Run(depth, residual);
        results.Add(r);
        string diverged = r.DivergedAtStep is int s ? $", diverged at step {s}" : "";
        Console.WriteLine($"{Name(r),-12} train loss {r.TrainLoss:F4}, test accuracy {r.TestAccuracy:F4}, ‖dL/dW‖ stem {r.AtInit.Stem:E2}, block 0 {family.FirstLayer} {r.AtInit.Blocks[0]:E2}, last block {family.FirstLayer} {r.AtInit.Blocks[^1]:E2}{diverged} ({r.Elapsed.TotalSeconds:F1} s)");
    }
}

Console.WriteLine();
Console.WriteLine($"| blocks | layers ({family.Layers}, stem, head) | plain: train loss | plain: test acc. | residual: train loss | residual: test acc. | plain: ‖dL/dW‖ stem | residual: ‖dL/dW‖ stem |");
Console.WriteLine("|-------:|-------------:|------------------:|-----------------:|---------------------:|--------------------:|--------------------:|-----------------------:|");
foreach (int depth in options.Depths)
{
    RunResult p = results.Single(r => r.Depth == depth && !r.Residual), q = results.Single(r => r.Depth == depth && r.Residual);
    Console.WriteLine($"| {depth} | {2 * depth + 2} | {LossText(p)} | {p.TestAccuracy:F4} | {LossText(q)} | {q.TestAccuracy:F4} | {p.AtInit.Stem:E2} | {q.AtInit.Stem:E2} |");
}

// The deepest pair block by block (the figure's right panel, sampled), with the residual stream's dL/dh.
int deepest = options.Depths.Max();
RunResult plainDeep = results.Single(r => r.Depth == deepest && !r.Residual), residualDeep = results.Single(r => r.Depth == deepest && r.Residual);
Console.WriteLine();
Console.WriteLine($"| block (depth {deepest}) | plain: ‖dL/dW‖ {family.FirstLayer} | residual: ‖dL/dW‖ {family.FirstLayer} | residual: ‖dL/dh‖ |");
Console.WriteLine("|------:|------:|------:|------:|");
foreach (int i in new[] { 0, deepest / 4, deepest / 2, 3 * deepest / 4, deepest - 1 }.Distinct())
    Console.WriteLine($"| {i} | {plainDeep.AtInit.Blocks[i]:E2} | {residualDeep.AtInit.Blocks[i]:E2} | {residualDeep.AtInit.ResidualStream[i]:E2} |");

string figure = options.EffectiveOutputPath;
try
{
    string? directory = Path.GetDirectoryName(Path.GetFullPath(figure));
    if (directory is not null) Directory.CreateDirectory(directory);
    Figure.Save(figure, family, results, options.Steps);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: cannot write {figure}: {e.Message}");
    return 1;
}
Console.WriteLine();
Console.WriteLine($"figure: {Path.GetFullPath(figure)}");
Console.WriteLine($"total time: {clock.Elapsed.TotalSeconds:F0} s");
return 0;

static string Name(RunResult r) => $"{(r.Residual ? "residual" : "plain")} {r.Depth}";

static string LossText(RunResult r) => r.DivergedAtStep is int s ? $"diverged (step {s})" : $"{r.TrainLoss:F4}";
