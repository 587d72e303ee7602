using System;
using System.Collections.Generic;
using Dsl.Generator.Model;
using static Dsl.Generator.NetworkGenerator.Emitter;

namespace Dsl.Generator.Layers;

/// <summary>
/// <c>[LayerNorm]</c> and <c>[RMSNorm]</c> over each row's features (each token, or the flat sample); also the
/// pre- and post-norms the flattener adds to a residual connection. Library kernels over all rows at once.
/// </summary>
internal sealed class NormHandler : LayerHandler
{
    public NormHandler(LayerKind kind, bool rms) : base(kind) => IsLayerNorm = !rms;

    /// <summary>LayerNorm (mean and variance, with a bias); otherwise RMSNorm (root mean square, no bias).</summary>
    private bool IsLayerNorm { get; }

    /// <summary>PyTorch's defaults: LayerNorm 1e-5, RMSNorm the float epsilon.</summary>
    public float DefaultEpsilon => IsLayerNorm ? 1e-5f : 1.1920929e-7f;

    /// <summary>A norm the flattener adds around a residual branch, with PyTorch's defaults.</summary>
    public LayerSpec Create(string id, string weightName, Shape x) =>
        new(id, "private", weightName, Kind, x, x, ActivationKind.None, HasBias: IsLayerNorm, new NormOptions(DefaultEpsilon));

    public override LayerSpec? Parse(LayerDeclaration d)
    {
        int declared = d.Attribute.ConstructorArguments.Length > 0 && d.Attribute.ConstructorArguments[0].Value is int f ? f : 0;
        var options = new NormOptions(d.NamedFloat("Epsilon") ?? DefaultEpsilon);
        LayerChecks check = d.Check;
        check.NotNegative("features", declared);
        check.Epsilon(options.Epsilon);
        return d.Finish(d.Spec with { HasBias = IsLayerNorm, Options = options }, s =>
        {
            if (!s.IsRowMajor) return LayerDeclaration.Fail(check.NormDimension($"{d.KindName} normalises each token's features (or a flat vector), but the input has channel-major shape {s}; add [Tokens] or [Flatten] first"));
            if (declared != 0 && declared != s.Features) return LayerDeclaration.Fail(check.NormDimension($"declared over {declared} features, but the input has {s.Features} per {(s.IsTokens ? "token" : "sample")}"));
            return s;
        });
    }

    public override void AddTensors(LayerSpec layer, LayerSpec? next, Plan plan, Action<TensorRequest> add)
    {
        add(new TensorRequest("weight", new[] { layer.Input.Features }, "Ones"));
        if (layer.HasBias) add(new TensorRequest("bias", new[] { layer.Input.Features }, "Zeros"));
    }

    public override void AddSlots(LayerSpec layer, Plan plan, Action<Slot, int> slot)
    {
        slot(Slot.Mean, layer.Input.Rows);
        slot(Slot.Rstd, layer.Input.Rows);
    }

    public override LayerOptions SharingKey(LayerOptions options) => new NormOptions(0f);

    private static string Epsilon(LayerSpec layer) => SourceWriter.Float(layer.Get<NormOptions>().Epsilon);

    public override string Describe(LayerSpec layer)
    {
        string over = $"over the {layer.Input.Features} features of {(layer.Input.IsTokens ? "each token" : "the sample")}";
        return IsLayerNorm
            ? $"{layer.WeightName}: LayerNorm {over}. y = gamma (x - mean) / sqrt(var + {Epsilon(layer).TrimEnd('f')}) + beta"
            : $"{layer.WeightName}: RMSNorm {over}. y = gamma x / sqrt(mean(x^2) + {Epsilon(layer).TrimEnd('f')})";
    }

    public override string BackwardMaths(LayerSpec layer, bool first) =>
        $"dgamma += sum dy xhat{(layer.HasBias ? ", dbeta += sum dy" : "")}, dx through each row's statistics.";

    public override long Flops(LayerSpec layer, Plan plan) => 5L * layer.Outputs;

    public override void AddStepOptions(LayerSpec layer, Plan plan, List<string> options) => options.Add($"Epsilon = {Epsilon(layer)}");

    public override string ViewConstruction(LayerSpec layer, Func<string, string> tensor)
    {
        Shape i = layer.Input;
        return IsLayerNorm
            ? $"new global::Dsl.LayerNorm(_parameters, \"{layer.WeightName}\", {ShapeArray(i)}, {i.Features}, {Epsilon(layer)}, {tensor("weight")}, {tensor("bias")})"
            : $"new global::Dsl.RMSNorm(_parameters, \"{layer.WeightName}\", {ShapeArray(i)}, {i.Features}, {Epsilon(layer)}, {tensor("weight")})";
    }

    public override bool HasKernelClass(StepPlan step) => true;

    private static string Values(CallSite c, string offset, int length) => $"_parameters.ReadOnlyValues.Slice({c.Offsets}.{offset}, {length})";

    protected override void EmitInference(CallSite c, string x, string y) => EmitRows(c, x, y, c.Layer.Input.Rows);

    public override bool Decodes(LayerSpec layer) => layer.Input.IsTokens;

    // The new token's row.
    protected override void EmitDecode(CallSite c, string x, string y) => EmitRows(c, x, y, 1);

    // The norm of `rows` rows of the layer's features, from x into y.
    private void EmitRows(CallSite c, string x, string y, int rows)
    {
        LayerSpec layer = c.Layer;
        int features = layer.Input.Features;
        string input = $"MemoryMarshal.CreateReadOnlySpan(ref {x}, {rows * features})", output = $"MemoryMarshal.CreateSpan(ref {y}, {rows * features})";
        c.W.Line(IsLayerNorm
            ? $"{Kernels}NormKernels.LayerNormForward({input}, {output}, {rows}, {features}, {Values(c, "WeightOffset", features)}, {Values(c, "BiasOffset", features)}, {Epsilon(layer)}, default, default);"
            : $"{Kernels}NormKernels.RMSNormForward({input}, {output}, {rows}, {features}, {Values(c, "WeightOffset", features)}, {Epsilon(layer)}, default);");
    }

    public override void EmitTrain(CallSite c, string input, string output, string? pre)
    {
        LayerSpec layer = c.Layer;
        int features = layer.Input.Features;
        c.W.Line(IsLayerNorm
            ? $"{Kernels}NormKernels.LayerNormForward({input}, {output}, {RowCount(layer)}, {features}, {Values(c, "WeightOffset", features)}, {Values(c, "BiasOffset", features)}, " +
              $"{Epsilon(layer)}, {SlotRegion(c.Plan, layer, Slot.Mean)}, {SlotRegion(c.Plan, layer, Slot.Rstd)});"
            : $"{Kernels}NormKernels.RMSNormForward({input}, {output}, {RowCount(layer)}, {features}, {Values(c, "WeightOffset", features)}, " +
              $"{Epsilon(layer)}, {SlotRegion(c.Plan, layer, Slot.Rstd)});");
    }

    // Norms need dx for nothing but the caller; the kernels write it anyway, into the free buffer if unwanted.
    public override void EmitBackward(CallSite c, BackwardSite b)
    {
        LayerSpec layer = c.Layer;
        int features = layer.Input.Features;
        string Gradients(string offset) => $"gradients.Slice({c.Offsets}.{offset}, {features})";
        c.W.Line(IsLayerNorm
            ? $"{Kernels}NormKernels.LayerNormBackward({b.Input}, {b.Gradient}, {b.DxTarget}, {RowCount(layer)}, {features}, {Values(c, "WeightOffset", features)}, " +
              $"{SlotRegion(c.Plan, layer, Slot.Mean)}, {SlotRegion(c.Plan, layer, Slot.Rstd)}, {Gradients("WeightOffset")}, {Gradients("BiasOffset")});"
            : $"{Kernels}NormKernels.RMSNormBackward({b.Input}, {b.Gradient}, {b.DxTarget}, {RowCount(layer)}, {features}, {Values(c, "WeightOffset", features)}, " +
              $"{SlotRegion(c.Plan, layer, Slot.Rstd)}, {Gradients("WeightOffset")});");
    }
}

/// <summary>LayerNorm or RMSNorm over each row's features.</summary>
internal sealed record NormOptions(float Epsilon) : LayerOptions;
