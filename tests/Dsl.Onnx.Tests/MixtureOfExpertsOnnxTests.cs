using System;
using System.Linq;
using Dsl;
using Dsl.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace Dsl.Onnx.Tests;

/// <summary>
/// Mixture-of-experts export: ONNX Runtime on the exported graph (every expert computed, masked by the top-k gates)
/// agrees with Dsl's routed forward, on random weights and on tied router logits; and the comparison is sharp
/// enough that a graph picking the wrong experts or skipping the renormalisation fails it.
/// </summary>
public class MixtureOfExpertsOnnxTests(ITestOutputHelper output)
{
    /// <summary>The mixture networks of Networks.cs (OnnxExportTests checks them too, with every other network).</summary>
    public static TheoryData<string> Networks => new(MixtureNetworks);

    private static string[] MixtureNetworks => OnnxHarness.NetworkNames.Where(n => n.StartsWith("MixtureOfExperts", StringComparison.Ordinal)).ToArray();

    /// <summary>Far outside <see cref="OnnxHarness.Tolerance"/>: what a wrong graph must move the outputs by.</summary>
    private const double Wrong = 100 * OnnxHarness.Tolerance;

    [Fact]
    public void TheMixtureNetworks_AreDeclared()
    {
        Assert.Equal(5, MixtureNetworks.Length);
        Assert.All(MixtureNetworks, name => Assert.Contains(OnnxHarness.Create(name, 1).Steps, s => s.Kind == StepKind.MixtureOfExperts));
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Export_MatchesTheNetworksForward(string name)
    {
        (INetwork network, Deviation d) = OnnxHarness.Check(name);
        output.WriteLine($"{name}: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}");
        Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"{name}: ONNX Runtime differs from Dsl by {d.Scaled:E2} of 1 + max |y|.");
        Assert.True(d.MaxOutput > 0.1, $"{name}: outputs of at most {d.MaxOutput} would hide a mismatch");
    }

    /// <summary>Batch 1 runs Dsl's one-sample kernels (one row, or one sample's tokens); other sizes the batched ones.</summary>
    [Theory]
    [InlineData(nameof(MixtureOfExpertsSwitch))]
    [InlineData(nameof(MixtureOfExpertsTokens))]
    public void Export_MatchesAtEveryBatchSize(string name)
    {
        INetwork network = OnnxHarness.Create(name, seed: 11);
        using SessionOptions options = OnnxHarness.Options();
        using var session = new InferenceSession(network.ToOnnx(), options);
        foreach (int batch in new[] { 1, 2, 9 })
        {
            float[] input = OnnxHarness.Inputs(network, seed: 100 + batch, batch);
            Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input, batch), OnnxHarness.Run(session, network, input, batch));
            output.WriteLine($"{name}, batch {batch}: max |Δ| {d.MaxAbs:E2}");
            Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"{name}, batch {batch}: deviation {d.Scaled:E2}");
        }
    }

    /// <summary>
    /// Equal logits go to the lower expert index on both sides. A zero router weight ties every expert (Switch:
    /// experts 0 and 1, each gate 1/4); with a bias of [1, 0.5, 1, 0.5, 1, 1] four experts tie (renormalised
    /// top-3: experts 0, 2 and 4, gates 1/3). The experts differ, so another choice among the tied ones would show.
    /// </summary>
    [Theory]
    [InlineData(nameof(MixtureOfExpertsSwitch), null)]
    [InlineData(nameof(MixtureOfExpertsRenormalized), new[] { 1f, 0.5f, 1f, 0.5f, 1f, 1f })]
    public void TiedLogits_ChooseTheLowerExperts_AsDsl(string name, float[]? routerBias)
    {
        INetwork network = OnnxHarness.Create(name, seed: 5);
        Parameters p = network.Parameters;
        p.Value(p.Find("moe.router.weight")!).Clear();
        if (routerBias is not null) routerBias.CopyTo(p.Value(p.Find("moe.router.bias")!));
        float[] input = OnnxHarness.Inputs(network, seed: 6);

        Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input), OnnxHarness.RunExported(network, input));

        output.WriteLine($"{name}, tied logits: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}");
        Assert.True(d.Scaled <= OnnxHarness.Tolerance, $"{name}: ONNX Runtime differs from Dsl by {d.Scaled:E2} on tied logits.");

        // The check has teeth: the tied experts differ, so breaking the tie the other way (expert 5 before 4, by a
        // nudge of its bias) moves Dsl's own outputs far more than the tolerance.
        if (routerBias is not null)
        {
            float[] tied = OnnxHarness.Forward(network, input);
            p.Value(p.Find("moe.router.bias")!)[5] += 1e-3f;
            Deviation moved = OnnxHarness.Compare(tied, OnnxHarness.Forward(network, input));
            Assert.True(moved.Scaled > Wrong, $"{name}: expert 5 instead of 4 moves the outputs by only {moved.Scaled:E2}");
        }
    }

    /// <summary>Choosing the smallest logits' experts (TopK largest = 0) must fail the comparison.</summary>
    [Theory]
    [InlineData(nameof(MixtureOfExpertsSwitch))]
    [InlineData(nameof(MixtureOfExpertsRenormalized))]
    [InlineData(nameof(MixtureOfExpertsTokens))]
    public void WrongExperts_AreCaught(string name)
    {
        INetwork network = OnnxHarness.Create(name, seed: 42);
        float[] input = OnnxHarness.Inputs(network, seed: 1234);

        Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input), RunMutated(network, input, LargestToSmallest));

        output.WriteLine($"{name} with the smallest logits' experts: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}");
        Assert.True(d.Scaled > Wrong, $"{name}: the wrong experts move the outputs by only {d.Scaled:E2}");
    }

    /// <summary>Mixtral's gates without the renormalisation (the chosen probabilities as they are) must fail the comparison.</summary>
    [Theory]
    [InlineData(nameof(MixtureOfExpertsRenormalized))]
    [InlineData(nameof(MixtureOfExpertsTokens))]
    public void MissingRenormalisation_IsCaught(string name)
    {
        INetwork network = OnnxHarness.Create(name, seed: 42);
        float[] input = OnnxHarness.Inputs(network, seed: 1234);

        Deviation d = OnnxHarness.Compare(OnnxHarness.Forward(network, input), RunMutated(network, input, WithoutRenormalisation));

        output.WriteLine($"{name} without renormalised gates: max |Δ| {d.MaxAbs:E2}, max |y| {d.MaxOutput:E2}");
        Assert.True(d.Scaled > Wrong, $"{name}: skipping the renormalisation moves the outputs by only {d.Scaled:E2}");
    }

    [Fact]
    public void Graph_ComputesEveryExpert_AndRoutesWithStandardOperators()
    {
        INetwork network = OnnxHarness.Create(nameof(MixtureOfExpertsRenormalized), seed: 1);
        ModelProto model = ModelProto.Parser.ParseFrom(network.ToOnnx());
        string[] ops = model.Graph.Node.Select(n => n.OpType).ToArray();

        Assert.Equal(6 * 3, model.Graph.Node.Count(n => n.OpType == "Gemm" && n.Name.StartsWith("moe.experts.", StringComparison.Ordinal)));
        Assert.Single(model.Graph.Node, n => n.Name == "moe.router/Gemm" && n.Input.SequenceEqual(["input", "moe.router.weight", "moe.router.bias"]));
        foreach (string op in new[] { "Softmax", "TopK", "GatherElements", "ReduceSum", "Div", "ScatterElements", "Split", "Sum" })
            Assert.Contains(op, ops);
        NodeProto topK = Assert.Single(model.Graph.Node, n => n.OpType == "TopK");
        Assert.Equal(1, topK.Attribute.Single(a => a.Name == "largest").I);
        Assert.Equal(1, topK.Attribute.Single(a => a.Name == "sorted").I);
        Assert.Equal(network.Parameters.Tensors.Count, model.Graph.Initializer.Count(t => !t.Name.StartsWith("const.", StringComparison.Ordinal)));
    }

    private static void LargestToSmallest(ModelProto model)
    {
        foreach (NodeProto node in model.Graph.Node.Where(n => n.OpType == "TopK"))
            node.Attribute.Single(a => a.Name == "largest").I = 0;
    }

    private static void WithoutRenormalisation(ModelProto model)
    {
        NodeProto div = Assert.Single(model.Graph.Node, n => n.Name.EndsWith("/gates/Div", StringComparison.Ordinal));
        div.OpType = "Identity";
        div.Input.RemoveAt(1);
    }

    private static float[] RunMutated(INetwork network, float[] input, Action<ModelProto> mutate)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(network.ToOnnx());
        mutate(model);
        using SessionOptions options = OnnxHarness.Options();
        using var session = new InferenceSession(model.ToByteArray(), options);
        return OnnxHarness.Run(session, network, input);
    }
}
