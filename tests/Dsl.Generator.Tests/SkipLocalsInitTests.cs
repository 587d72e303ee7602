using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dsl.Generator.Tests;

/// <summary>
/// Batch-1 inference does not zero its stack scratch when the project allows unsafe code ([SkipLocalsInit] on the
/// entry points and kernel classes); without AllowUnsafeBlocks the attribute would be CS0227, so it is left out.
/// </summary>
public class SkipLocalsInitTests
{
    private const string Encoder = """
        using System.Collections.Generic;
        using Dsl;

        namespace Acme;

        [Network(Length = 16, Features = 64)]
        public partial class Encoder
        {
            [Residual(Norm = ResidualNorm.Post)] [MultiHeadSelfAttention(4)] public partial MultiHeadSelfAttention attn { get; }
            [Residual(Norm = ResidualNorm.Post)] [Dense(64, Activation.Relu)] public partial Dense ff { get; }
        }

        [Network(Input = 784)]
        public partial class Mlp
        {
            [Dense(128, Activation.Relu)] public partial Dense Fc1 { get; }
            [Dense(10)] public partial Dense Head { get; }
        }
        """;

    private const string Attribute = "[global::System.Runtime.CompilerServices.SkipLocalsInit]";

    private static GeneratorRun Run(bool allowUnsafe)
    {
        CSharpCompilation input = GeneratorHarness.Compile(Encoder);
        return GeneratorHarness.Run(input.WithOptions(input.Options.WithAllowUnsafe(allowUnsafe)));
    }

    private static string Inference(GeneratorRun run, string network) =>
        run.GeneratedSources.Single(s => s.HintName == $"Acme.{network}.g.cs").SourceText.ToString();

    [Fact]
    public void AllowUnsafe_MarksStackScratchMethodsAndKernelClasses_AndCompiles()
    {
        GeneratorRun run = Run(allowUnsafe: true);
        run.AssertClean();
        string encoder = Inference(run, "Encoder");
        Assert.Matches(new Regex(Regex.Escape(Attribute) + @"\s+private void ForwardOne\("), encoder);
        Assert.Matches(new Regex(Regex.Escape(Attribute) + @"\s+private static partial class attnKernels"), encoder);
        // The all-dense MLP's batched entry keeps its block of activations on the stack too.
        Assert.Matches(new Regex(Regex.Escape(Attribute) + @"\s+private void ForwardBlock\("), Inference(run, "Mlp"));
    }

    [Fact]
    public void WithoutAllowUnsafe_NoAttribute_AndCompiles()
    {
        GeneratorRun run = Run(allowUnsafe: false);
        run.AssertClean();
        Assert.All(run.GeneratedSources, s => Assert.DoesNotContain("SkipLocalsInit", s.SourceText.ToString()));
    }
}
