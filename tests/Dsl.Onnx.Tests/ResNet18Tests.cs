using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Dsl;
using ResNet;

namespace Dsl.Onnx.Tests;

/// <summary>
/// torchvision's <c>resnet18()</c> (tests/pytorch/twins.py <c>resnet18</c>: seeded, batch norms with non-trivial
/// weights and statistics) against the ResNet sample's declaration: its <c>state_dict</c> loads strictly and gives
/// PyTorch's outputs; one SGD step in train mode gives PyTorch's parameters and running statistics (the same step
/// in float64 as the reference, PyTorch's float32 step reported beside Dsl's); Dsl's weights
/// load into torchvision with <c>strict=True</c> and give Dsl's outputs; ONNX Runtime on Dsl's export agrees.
/// </summary>
public sealed class ResNet18Tests : IClassFixture<ResNet18Tests.Reference>
{
    private const int Batch = 2; // twins.py's RESNET18_BATCH

    /// <summary>
    /// <c>max |Δ| / max |y|</c> of the logits. 11 convolutions deep in float32, summed in different orders (PyTorch's
    /// oneDNN against Dsl's kernels); a wrong name, stride, padding or statistic moves them by 1e-2 or more.
    /// </summary>
    private const double Tolerance = 1e-4;

    private readonly Reference _reference;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public ResNet18Tests(Reference reference, Xunit.Abstractions.ITestOutputHelper output)
    {
        _reference = reference;
        _output = output;
    }

    private string File(string name) => Path.Combine(_reference.Twins.Directory, name);

    [Fact]
    public void TorchvisionWeights_LoadStrictly_AndGivePyTorchsOutputs()
    {
        var network = new ResNet18();
        network.Load(File("ResNet18.torch.safetensors"));
        var output = new float[Batch * ResNet18.OutputSize];

        network.Forward(ReadF32(File("ResNet18.input.f32")), output, Batch);

        AssertClose(ReadF32(File("ResNet18.torch-output.f32")), output, Tolerance, "ResNet-18 eval outputs");
    }

    [Fact]
    public void OneSgdStep_InTrainMode_MatchesPyTorch_TensorByTensor()
    {
        var network = new ResNet18();
        network.Load(File("ResNet18.torch.safetensors"));
        float[] input = ReadF32(File("ResNet18.train-input.f32"));
        int[] labels = ReadF32(File("ResNet18.train-target.f32")).Select(v => (int)v).ToArray();
        var data = new Dataset(input, ResNet18.InputSize, labels, classCount: 1000);
        Workspace workspace = network.CreateWorkspace(Batch);
        var output = new float[Batch * ResNet18.OutputSize];
        var gradient = new float[output.Length];

        network.Parameters.ZeroGradients();
        network.ForwardTrain(input, output, Batch, workspace);
        float loss = Loss.SoftmaxCrossEntropy.Compute(output, data, [0, 1], gradient);
        network.Backward(gradient, default, Batch, workspace);
        new Sgd(0.1f).Step(network.Parameters);

        // Train mode: batch statistics in the forward, as PyTorch's logits before its step.
        AssertClose(ReadF32(File("ResNet18.train-output.f32")), output, Tolerance, "ResNet-18 train-mode outputs");
        Assert.True(Math.Abs(loss - ReadF32(File("ResNet18.train-loss.f32"))[0]) <= 1e-4 * loss, $"loss {loss} against PyTorch's {ReadF32(File("ResNet18.train-loss.f32"))[0]}");
        var before = new ResNet18();
        before.Load(File("ResNet18.torch.safetensors"));
        var torch32 = new ResNet18();
        torch32.Load(File("ResNet18.torch-after-step.safetensors"));
        var torch64 = new ResNet18();
        torch64.Load(File("ResNet18.torch64-after-step.safetensors"));
        // The reference is the step in float64. Running statistics come from the forward alone: within 1e-4 of their
        // change, element by element (observed 4e-6). A parameter's step is within 3e-2 of its size in L2 norm: a ReLU
        // whose input lies within float32 rounding of 0 takes the other side in a float32 run and moves the gradient
        // of everything before it, so float32 steps differ from the float64 one by up to ~1e-2 (PyTorch's own float32
        // step: 5.6e-3, Dsl's 9.7e-3 on this seed, each from its first such ReLU down). A missing or wrong gradient
        // term, or a momentum of 0.9 for 0.1, is off by the whole step.
        int compared = 0;
        double worst = 0;
        string worstName = "";
        foreach (TensorInfo t in network.Parameters.Tensors)
        {
            float[] mine = Values(network, t.Name), exact = Values(torch64, t.Name), theirs = Values(torch32, t.Name), start = Values(before, t.Name);
            bool statistic = t.Kind == TensorKind.Buffer;
            double change = statistic ? MaxDifference(exact, start) : Norm(exact, start);
            double error = (statistic ? MaxDifference(mine, exact) : Norm(mine, exact)) / change;
            double theirError = (statistic ? MaxDifference(theirs, exact) : Norm(theirs, exact)) / change;
            double tolerance = statistic ? 1e-4 : 3e-2;
            if (error / tolerance > worst) (worst, worstName) = (error / tolerance, $"{t.Name}: {error:E2} of the step (PyTorch float32: {theirError:E2})");
            Assert.True(error <= tolerance, $"{t.Name}: off by {error:E2} of the float64 step (PyTorch's float32 step: {theirError:E2}; tolerance {tolerance:E0})");
            compared++;
        }
        _output.WriteLine($"{compared} tensors after one SGD step; closest to its tolerance: {worstName}");
        Assert.Equal(122, compared); // torchvision's state_dict: 62 parameters, 20 batch norms' three buffers
    }

    [Fact]
    public void DslWeights_LoadIntoTorchvision_AndGiveDslsOutputs()
    {
        var network = new ResNet18();
        OnnxHarness.Randomise(network, seed: 23);
        var rng = new Rng(31);
        float[] input = Enumerable.Range(0, Batch * ResNet18.InputSize).Select(_ => rng.NextGaussian()).ToArray();
        var output = new float[Batch * ResNet18.OutputSize];
        network.Forward(input, output, Batch);
        network.Save(File("ResNet18.dsl.safetensors"));
        System.IO.File.WriteAllBytes(File("ResNet18.dsl-input.f32"), MemoryMarshal.AsBytes(input.AsSpan()).ToArray());

        _reference.Twins.Run("resnet18-check");

        AssertClose(output, ReadF32(File("ResNet18.dsl-torch-output.f32")), Tolerance, "Dsl's ResNet-18 weights in torchvision");
    }

    [Fact]
    public void OnnxRuntime_OnTheExport_MatchesDsl()
    {
        var network = new ResNet18();
        network.Load(File("ResNet18.torch.safetensors"));
        float[] input = ReadF32(File("ResNet18.input.f32"));
        float[] expected = OnnxHarness.Forward(network, input, Batch);

        float[] actual = OnnxHarness.RunExported(network, input, Batch);

        AssertClose(expected, actual, Tolerance, "ONNX Runtime on Dsl's ResNet-18 export");
    }

    private static float[] Values(INetwork network, string name)
    {
        TensorInfo info = network.Parameters.Find(name)!;
        var values = new float[info.Length];
        info.StoredToFile(network.Parameters.Value(info), values);
        return values;
    }

    private static double Norm(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => ((double)x - y) * ((double)x - y)).Sum());

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static float[] ReadF32(string path) => PyTorchTwinTests.ReadF32(path);

    private void AssertClose(float[] expected, float[] actual, double tolerance, string what) =>
        PyTorchTwinTests.AssertClose(_output, expected, actual, tolerance, what);

    /// <summary>Runs <c>twins.py resnet18</c> once into a temporary directory the tests share.</summary>
    public sealed class Reference : IDisposable
    {
        public Reference()
        {
            Twins = new PyTorchTwinTests.Exported(command: "resnet18");
        }

        public PyTorchTwinTests.Exported Twins { get; }

        public void Dispose() => Twins.Dispose();
    }
}
