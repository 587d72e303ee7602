using BenchmarkDotNet.Attributes;
using Dsl;

namespace Dsl.Benchmarks;

/// <summary>
/// Case E: batch-1 forward of <see cref="EncoderBlockE"/>, a post-norm encoder block over 16 tokens of 64,
/// 4 heads, FFN 64-256-64 ReLU: compute. FLOPs: the Q, K, V and output projections, Q K^T and A V, the FFN.
/// </summary>
[Case("E", "post-norm encoder block, seq 16, d 64, 4 heads, FFN 256, batch 1",
    Flops = 2L * (16 * 64 * 4 * 64 + 2 * 16 * 16 * 64 + 2 * 16 * 64 * 256),
    WeightBytes = 4L * (3 * 64 * 64 + 3 * 64 + 64 * 64 + 64 + 2 * (64 + 64) + 64 * 256 + 256 + 256 * 64 + 64),
    WeightsIn = WeightLevel.L2, Target = TargetKind.OfPeak, TargetValue = 0.70)]
public class CaseE_EncoderBlockForward : ForwardCase
{
    private readonly EncoderBlockE _net = new();
    private readonly float[] _output = new float[EncoderBlockE.OutputSize];
    private float[] _input = [];

    /// <inheritdoc/>
    protected override INetwork Network => _net;
    /// <inheritdoc/>
    protected override int Batch => 1;
    /// <inheritdoc/>
    protected override int Seed => 9;
    /// <inheritdoc/>
    protected override float[] Output => _output;

    /// <inheritdoc/>
    protected override void RunDsl()
    {
        _input = Input;
        Dsl();
    }

    /// <summary>The generated batch-1 forward, one sequence of 16 tokens.</summary>
    [Benchmark(Baseline = true), MustNotAllocate]
    public void Dsl() => _net.Forward(_input, _output);
}
