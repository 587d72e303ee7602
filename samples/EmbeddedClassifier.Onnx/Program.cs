using System;
using System.Diagnostics;
using System.IO;
using EmbeddedClassifier;
using Microsoft.ML.OnnxRuntime;

// Classifies the first Fashion-MNIST test image (streamed as the EmbeddedClassifier does) with ONNX Runtime on one
// thread and prints "class: <name>". Arguments: [--bench] [MODEL], MODEL default fashion-mlp.onnx next to the program
// (samples/EmbeddedClassifier.OnnxExport writes it). --bench adds the first Run's time and the steady state (median
// of 10,000 Runs). Exit codes: 0 success, 1 failure, 2 bad command line, model or data set missing.

bool bench = args.Length > 0 && args[0] == "--bench";
string model = args.Length > (bench ? 1 : 0) ? args[^1] : Path.Combine(AppContext.BaseDirectory, "fashion-mlp.onnx");
if (!File.Exists(model) || !File.Exists(FashionImages.TestImages))
{
    Console.Error.Write($"error: {(File.Exists(model) ? FashionImages.TestImages : model)} not found (docs/embedded.md says how to make the model; bash scripts/install-data.sh installs the data set)\n");
    return 2;
}

long start = Stopwatch.GetTimestamp();
Span<byte> pixels = stackalloc byte[FashionImages.Pixels];
FashionImages.Read(FashionImages.TestImages, 0, pixels);
var input = new float[FashionImages.Pixels];
FashionImages.Normalize(pixels, input);
long read = Stopwatch.GetTimestamp();

// One thread, sequential, every graph optimisation: the Dsl app's setting (a batch-1 call on the calling thread).
using var options = new SessionOptions
{
    IntraOpNumThreads = 1,
    InterOpNumThreads = 1,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
using var session = new InferenceSession(model, options);
var logits = new float[10];
using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [1, FashionImages.Pixels]);
using var outputValue = OrtValue.CreateTensorValueFromMemory(logits, [1, 10]);
using var runOptions = new RunOptions();
string[] inputNames = ["input"], outputNames = ["output"];
OrtValue[] inputs = [inputValue], outputs = [outputValue];
long created = Stopwatch.GetTimestamp();
session.Run(runOptions, inputNames, inputs, outputNames, outputs);
int label = 0;
for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[label]) label = i;
long classified = Stopwatch.GetTimestamp();

Console.Out.Write($"class: {FashionImages.ClassNames[label]}\n");
Console.Out.Write($"time: {CallTimes.Micro(created, classified):F1} us to classify (first Run); session {CallTimes.Micro(read, created):F1} us; reading the image {CallTimes.Micro(start, read):F1} us\n");
if (bench) CallTimes.Report("Run", CallTimes.Micro(created, classified), () => session.Run(runOptions, inputNames, inputs, outputNames, outputs), "allocated per call (managed)");
return 0;

