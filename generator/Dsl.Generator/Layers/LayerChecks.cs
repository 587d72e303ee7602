using System.Collections.Generic;
using Dsl.Generator.Model;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Layers;

/// <summary>Reports a layer's problems with its name and location, and remembers whether any was found.</summary>
internal sealed class LayerChecks
{
    private readonly string _layer;
    private readonly LocationInfo? _location;
    private readonly List<DiagnosticInfo> _diagnostics;

    public LayerChecks(string layer, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        _layer = layer;
        _location = location;
        _diagnostics = diagnostics;
    }

    public bool Failed { get; private set; }

    public void Positive(string what, int value)
    {
        if (value <= 0) Report(DiagnosticDescriptors.NonPositiveSize, what, "positive", Text(value));
    }

    public void NotNegative(string what, int value)
    {
        if (value < 0) Report(DiagnosticDescriptors.NonPositiveSize, what, "zero or positive", Text(value));
    }

    public void Invalid(string message) => Report(DiagnosticDescriptors.InvalidOption, message);

    public void Activation(string activation, string why) => Report(DiagnosticDescriptors.UnsupportedActivation, activation, why);

    public bool DenseNeedsFlatten(Shape input) => Report(DiagnosticDescriptors.DenseNeedsFlatten, input.ToString());

    public void Epsilon(float epsilon)
    {
        // Infinity too: sqrt(var + inf) normalises everything away, and the emitter cannot write it as a float literal.
        if (!(epsilon > 0f) || float.IsPositiveInfinity(epsilon)) Invalid($"epsilon must be positive and finite, but is {epsilon.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    public bool NormDimension(string message) => Report(DiagnosticDescriptors.NormDimensionMismatch, message);

    // An embedding reads L token ids: a flat input. [Network(Length = L)] declares L tokens of features instead.
    public bool EmbeddingInput(Shape input) =>
        Report(DiagnosticDescriptors.WrongInputRank, "Embedding", "a flat", $"{input}; declare [Network(Input = {Text(input.Size)})]: an embedding reads {Text(input.Size)} token ids");

    public bool AttentionWidth(int modelDim, int features) => Report(DiagnosticDescriptors.AttentionWidth, Text(modelDim), Text(features));

    public bool HeadsDoNotDivide(int dimension, int heads) => Report(DiagnosticDescriptors.HeadsDoNotDivide, Text(dimension), Text(heads));

    public bool CausalNeedsSequence(Shape input) => Report(DiagnosticDescriptors.CausalNeedsSequence, input.ToString());

    // rank: 3, 2 or 1 for exactly that rank; -2 for at most 2 (BatchNorm1D); 0 for at least 2 (GlobalAvgPool, Tokens); 4 for tokens.
    public bool WrongRank(string kind, int rank, Shape input) =>
        Report(DiagnosticDescriptors.WrongInputRank, kind, rank switch { 3 => "a CxHxW", 2 => "a CxL", -2 => "a flat or CxL", 1 => "a flat", 4 => "a token sequence (L tokens x D)", _ => "a CxL or CxHxW" }, input.ToString());

    public bool Groups(string side, int channels, int groups) => Report(DiagnosticDescriptors.GroupsDoNotDivide, $"{Text(channels)} {side}", Text(groups));

    /// <summary>Output length along one axis, reporting when the dilated kernel does not fit the padded input.</summary>
    public int Extent(int size, int kernel, int stride, int padding, int dilation, string axis)
    {
        // In long: a dilation or padding near int.MaxValue must not wrap into a plausible size.
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = (long)size + padding;
        long output = padded >= span ? (padded - span) / stride + 1 : 0;
        if (output < 1)
            Report(DiagnosticDescriptors.KernelTooLarge, $"{SourceWriter.Grouped(span)} along the {axis}", SourceWriter.Grouped(padded), SourceWriter.Grouped(output));
        return (int)System.Math.Min(output, int.MaxValue);
    }

    /// <summary>The zero-bordered copy of the input must be addressable too (this also bounds kernel sizes).</summary>
    public bool PaddedFits(Shape input, int widthPadding, int heightPadding)
    {
        long values = (long)input.Channels * (input.Height + (long)heightPadding) * (input.Width + (long)widthPadding);
        Size("the padded input", values, NetworkGenerator.Parser.MaxActivationValues);
        return !Failed;
    }

    /// <summary>Reports sizes past what the generated code addresses with int offsets and plans memory for.</summary>
    public void Size(string what, long values, long limit)
    {
        if (values > limit) Report(DiagnosticDescriptors.TooLarge, what, SourceWriter.Grouped(values), SourceWriter.Grouped(limit));
    }

    /// <summary>Reports <paramref name="descriptor"/> for this layer (its name is the first argument) and marks the check failed.</summary>
    public bool Report(DiagnosticDescriptor descriptor, params string[] arguments)
    {
        var all = new string[arguments.Length + 1];
        all[0] = _layer;
        arguments.CopyTo(all, 1);
        _diagnostics.Add(new DiagnosticInfo(descriptor.Id, _location, new EquatableArray<string>(all)));
        Failed = true;
        return true;
    }

    private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
