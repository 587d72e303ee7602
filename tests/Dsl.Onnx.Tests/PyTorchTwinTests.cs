using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl;

namespace Dsl.Onnx.Tests;

/// <summary>
/// Real PyTorch as the reference: the twins of docs/pytorch.md (tests/pytorch/twins.py, run with Debian's
/// /usr/bin/python3 and its python3-torch, which scripts/install-pytorch.sh installs) against the samples'
/// declarations, both ways. PyTorch's seeded weights (batch norms with non-trivial statistics) load into Dsl and
/// give PyTorch's outputs; Dsl's randomised weights load into PyTorch with <c>load_state_dict(strict=True)</c> and
/// give Dsl's outputs. Like the ONNX Runtime checks, these run once, not per SIMD path.
/// </summary>
public sealed class PyTorchTwinTests : IClassFixture<PyTorchTwinTests.Exported>
{
    /// <summary>
    /// <c>max |Δ| / max |y|</c> of the outputs. Both sides compute in float32 in different orders (and PyTorch's
    /// oneDNN convolutions, erf and softmax); on these networks that is 1e-7 to 1e-6. A wrong layout, name, epsilon
    /// or statistic moves the outputs by 1e-2 or more.
    /// </summary>
    private const double Tolerance = 1e-4;

    private const string Python = "/usr/bin/python3";
    private const int Batch = 3; // twins.py's BATCH

    private readonly Exported _exported;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public PyTorchTwinTests(Exported exported, Xunit.Abstractions.ITestOutputHelper output)
    {
        _exported = exported;
        _output = output;
    }

    public static TheoryData<string> Twins => new(["FashionMlp", "FashionCnn", "VisionTransformer", "FashionResNet", "PrunedFashionMlp",
        "MixtureOfExpertsSwitch", "MixtureOfExpertsTokens"]);

    [Theory]
    [MemberData(nameof(Twins))]
    public void PyTorchWeights_LoadIntoDsl_AndGivePyTorchsOutputs(string twin)
    {
        INetwork network = Create(twin);
        network.Load(Path.Combine(_exported.Directory, twin + ".torch.safetensors"));
        float[] input = ReadF32(Path.Combine(_exported.Directory, twin + ".input.f32"));
        float[] expected = ReadF32(Path.Combine(_exported.Directory, twin + ".torch-output.f32"));
        var output = new float[Batch * network.OutputSize];

        network.Forward(input, output, Batch);

        AssertClose(expected, output, $"{twin}: PyTorch's weights in Dsl");
        if (network.Parameters.Pruning is { } pruning)
        {
            // The masks come back from PyTorch's zeros (l1_unstructured's 90 % of each hidden layer), and the compact
            // forms with them wherever the sparse kernel pays: the outputs above came through it there.
            Assert.All(pruning.Tensors, t => Assert.Equal(0.9f, pruning.Sparsity(t), 3));
            Assert.All(Enumerable.Range(0, pruning.Tensors.Count), i =>
                Assert.Equal(Dsl.Pruning.SparseKernelPays(1, 1 - pruning.Sparsity(pruning.Tensors[i])), pruning.Sparse(i) is not null));
        }
    }

    [Theory]
    [MemberData(nameof(Twins))]
    public void DslWeights_LoadIntoPyTorch_AndGiveDslsOutputs(string twin)
    {
        string directory = _exported.Directory;
        INetwork network = Create(twin);
        OnnxHarness.Randomise(network, seed: 17);
        network.Parameters.Pruning?.Prune(); // to the declared 90 %: PyTorch gets the zeros, plain tensors
        var rng = new Rng(29);
        float[] input = Enumerable.Range(0, Batch * network.InputSize).Select(_ => rng.NextGaussian()).ToArray();
        var output = new float[Batch * network.OutputSize];
        network.Forward(input, output, Batch);
        network.Save(Path.Combine(directory, twin + ".dsl.safetensors"));
        File.WriteAllBytes(Path.Combine(directory, twin + ".dsl-input.f32"), MemoryMarshal.AsBytes(input.AsSpan()).ToArray());

        _exported.Run("check", twin);

        AssertClose(output, ReadF32(Path.Combine(directory, twin + ".dsl-torch-output.f32")), $"{twin}: Dsl's weights in PyTorch");
    }

    private static INetwork Create(string twin) => twin switch
    {
        "FashionMlp" => new SampleFashionMlp(),
        "FashionCnn" => new SampleFashionCnn(),
        "VisionTransformer" => new SampleVisionTransformer(),
        "FashionResNet" => new ResNet.FashionResNet(),
        // PyTorch's prune.l1_unstructured removes single weights: the sample's unstructured declaration.
        "PrunedFashionMlp" => new PruningSample.UnstructuredFashionMlp(),
        // Networks.cs's mixtures: twins.py's MixtureOfExperts module, ties to the lower expert on both sides.
        "MixtureOfExpertsSwitch" => new MixtureOfExpertsSwitch(),
        "MixtureOfExpertsTokens" => new MixtureOfExpertsTokens(),
        _ => throw new ArgumentOutOfRangeException(nameof(twin), twin, "no such twin"),
    };

    internal static float[] ReadF32(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    private void AssertClose(float[] expected, float[] actual, string what) => AssertClose(_output, expected, actual, Tolerance, what);

    /// <summary>
    /// <c>max |Δ| / max |y| ≤ tolerance</c>, written to <paramref name="output"/>; outputs too small to show a mismatch fail.
    /// </summary>
    internal static void AssertClose(Xunit.Abstractions.ITestOutputHelper output, float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double largest = expected.Max(v => Math.Abs((double)v));
        double error = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        output.WriteLine($"{what}: max |Δ| / max |y| = {error / largest:E2} (max |y| {largest:F4})");
        Assert.True(largest > 0.1, $"{what}: outputs of at most {largest} would hide a mismatch");
        Assert.True(error <= tolerance * largest, $"{what}: max |Δ| {error:E2} is {error / largest:E2} of max |y| {largest:F4} (tolerance {tolerance:E0})");
    }

    /// <summary>Runs <c>twins.py export</c> (or another command) once into a temporary directory the tests share.</summary>
    public sealed class Exported : IDisposable
    {
        private readonly string _script;

        public Exported() : this("export")
        {
        }

        /// <summary>Runs twins.py's <paramref name="command"/> (export, or resnet18) into a new temporary directory.</summary>
        internal Exported(string command)
        {
            _script = Path.Combine(RepositoryRoot(), "tests", "pytorch", "twins.py");
            Directory = Path.Combine(Path.GetTempPath(), "dsl-pytorch-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(Directory);
            Run(command);
        }

        public string Directory { get; }

        /// <summary>Runs twins.py's <paramref name="command"/> on <see cref="Directory"/> (for one <paramref name="twin"/>); throws with its output when it fails.</summary>
        public void Run(string command, string? twin = null)
        {
            if (!File.Exists(Python))
                throw new InvalidOperationException($"{Python} is missing: Debian's python3 with python3-torch runs the PyTorch twins (bash scripts/install-pytorch.sh).");
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(_script);
            start.ArgumentList.Add(command);
            start.ArgumentList.Add(Directory);
            if (twin is not null) start.ArgumentList.Add(twin);
            using Process process = Process.Start(start)!;
            string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException(
                    $"twins.py {command}{(twin is null ? "" : " " + twin)} failed with exit code {process.ExitCode}" +
                    (stderr.Contains("No module named 'torch", StringComparison.Ordinal) ? ": PyTorch or torchvision is not installed for /usr/bin/python3 (bash scripts/install-pytorch.sh, Debian's python3-torch and python3-torchvision)" : "") +
                    $"\n{stdout}{stderr}");
        }

        public void Dispose()
        {
            try { System.IO.Directory.Delete(Directory, recursive: true); }
            catch (IOException) { } // a leftover temporary directory is harmless
        }

        private static string RepositoryRoot()
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Dsl.sln"))) return d.FullName;
            throw new InvalidOperationException("Dsl.sln not found above the test assembly.");
        }
    }
}
