using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>Case D: batch-1 forward of <see cref="SmallCnn"/> (conv3x3(8) + ReLU, conv3x3(16) + ReLU, flatten, dense 10): compute.</summary>
[Case("D", "CNN 1x28x28: conv3x3(8)+ReLU, conv3x3(16)+ReLU, dense 10, batch 1",
    Flops = 2L * (8 * 28 * 28 * 1 * 9 + 16 * 28 * 28 * 8 * 9 + 16 * 28 * 28 * 10),
    WeightBytes = 4L * (8 * 9 + 8 + 16 * 8 * 9 + 16 + 16 * 28 * 28 * 10 + 10),
    WeightsIn = WeightLevel.L2, Target = TargetKind.OfPeak, TargetValue = 0.70)]
public class CaseD_SmallCnnForward : ForwardCase
{
    private readonly SmallCnn _net = new();
    private readonly float[] _output = new float[SmallCnn.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 8;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward, one image.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>
/// Not a case (issue #14 asks for a report, no target yet): the batch-1 forward of a network that needs no peer
/// but ONNX Runtime on its export; the subclasses give the network and its seed.
/// </summary>
public abstract class BatchOneForward : ForwardCase
{
    private readonly INetwork _net;
    private readonly float[] _output;
    private float[] _input = [];

    /// <summary>Takes the network and makes its output buffer.</summary>
    protected BatchOneForward(INetwork net)
    {
        _net = net;
        _output = new float[net.OutputSize];
    }

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward, one sample.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}

/// <summary>ResNet v1's basic block, <see cref="BasicBlock16"/> (16x28x28, 7.2 MFLOP), against ONNX Runtime on its export.</summary>
public class Extra_BasicBlock16Forward() : BatchOneForward(new BasicBlock16())
{
    /// <inheritdoc/>
    protected override int Seed => 14;
}

/// <summary>The same block as ResNet-18's <c>layer1.0</c>, <see cref="BasicBlock64"/> (64x56x56, 462 MFLOP), against ONNX Runtime on its export.</summary>
public class Extra_BasicBlock64Forward() : BatchOneForward(new BasicBlock64())
{
    /// <inheritdoc/>
    protected override int Seed => 15;
}

/// <summary>The ResNet sample's network, <see cref="ResNet.FashionResNet"/> (1x28x28, 15 convolutions, 40.6 MFLOP), against ONNX Runtime on its export.</summary>
public class Extra_FashionResNetForward() : BatchOneForward(new ResNet.FashionResNet())
{
    /// <inheritdoc/>
    protected override int Seed => 16;
}

/// <summary>torchvision's ResNet-18, <see cref="ResNet.ResNet18"/> (3x224x224, 3.6 GFLOP), against ONNX Runtime on its export.</summary>
public class Extra_ResNet18Forward() : BatchOneForward(new ResNet.ResNet18())
{
    /// <inheritdoc/>
    protected override int Seed => 17;
}

/// <summary>The Fashion-MNIST sample's CNN, <see cref="FashionCnn"/> (1x28x28, two convolutions with folded batch norms, 8.5 MFLOP), against ONNX Runtime on its export.</summary>
public class Extra_FashionCnnForward() : BatchOneForward(new FashionCnn())
{
    /// <inheritdoc/>
    protected override int Seed => 18;
}
