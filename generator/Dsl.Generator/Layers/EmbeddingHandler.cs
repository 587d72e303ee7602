using System;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary><c>[Embedding(vocabulary, dimension)]</c>: token ids (the network's flat input) to rows of the table.</summary>
internal sealed class EmbeddingHandler : LayerHandler
{
    public EmbeddingHandler() : base(LayerKind.Embedding)
    {
    }

    public override int RequiredArguments => 2;

    public override bool MustBeFirst => true;

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        var options = new EmbeddingOptions(d.Argument(0));
        int dimension = d.Argument(1);
        d.Check.Positive("vocabulary", options.Vocabulary);
        d.Check.Positive("dimension", dimension);
        return d.Finish(d.Spec with { Options = options, HasBias = false }, s => s.Rank == 1 ? Shape.Tokens(s.Size, dimension) : LayerDeclaration.Fail(d.Check.EmbeddingInput(s)));
    }

    public override long WeightValues(LayerSpec layer, Shape input, Shape output) => (long)layer.Get<EmbeddingOptions>().Vocabulary * output.Channels;

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add) =>
        add(new TensorRequest("weight", new[] { layer.Get<EmbeddingOptions>().Vocabulary, layer.Output.Channels }, "NormalOne"));

    public override string Describe(LayerSpec layer) =>
        $"{layer.WeightName}: Embedding of {layer.Input.Size} token ids, vocabulary {layer.Get<EmbeddingOptions>().Vocabulary} -> {layer.Output}. y[t] = W[id_t]";

    public override string BackwardMaths(LayerSpec layer, bool first) => "dW[id_t] += dy[t]; token ids have no gradient.";

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor) =>
        $"new global::Dsl.Embedding(_parameters, \"{layer.WeightName}\", {layer.Input.Size}, {layer.Get<EmbeddingOptions>().Vocabulary}, {layer.Output.Channels}, {tensor("weight")})";

    public override bool HasKernelClass(StepPlan step) => true;

    private static string Table(CallSite c) =>
        $"_parameters.ReadOnlyValues.Slice({c.Offsets}.WeightOffset, {c.Layer.Get<EmbeddingOptions>().Vocabulary * c.Layer.Output.Channels})";

    protected override void EmitInference(CallSite c, string x, string y) =>
        c.W.Line($"{Kernels}EmbeddingKernels.Gather(MemoryMarshal.CreateReadOnlySpan(ref {x}, {c.Layer.Inputs}), {Table(c)}, MemoryMarshal.CreateSpan(ref {y}, {c.Layer.Outputs}), {c.Layer.Get<EmbeddingOptions>().Vocabulary}, {c.Layer.Output.Channels});");

    public override bool Decodes(LayerSpec layer) => true;

    // The new token's row of the table (the step checked the id).
    protected override void EmitDecode(CallSite c, string x, string y)
    {
        int d = c.Layer.Output.Channels;
        c.W.Line($"_parameters.ReadOnlyValues.Slice({c.Offsets}.WeightOffset + token * {d}, {d}).CopyTo(MemoryMarshal.CreateSpan(ref {y}, {d}));");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre) =>
        c.W.Line($"{Kernels}EmbeddingKernels.Gather({input}, {Table(c)}, {output}, {c.Layer.Get<EmbeddingOptions>().Vocabulary}, {c.Layer.Output.Channels});");

    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        c.W.Line($"{Kernels}EmbeddingKernels.ScatterAdd({b.Input}, {b.Gradient}, gradients.Slice({c.Offsets}.WeightOffset, {c.Layer.Get<EmbeddingOptions>().Vocabulary * c.Layer.Output.Channels}), {c.Layer.Output.Channels});");
        c.W.Line("inputGradient.Clear(); // token ids have no gradient");
    }
}

internal sealed record EmbeddingOptions(int Vocabulary) : LayerOptions;
