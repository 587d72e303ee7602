using System;

namespace Dsl.Generator.Tests;

/// <summary><see cref="SnapshotText.ElideKernels"/> on a short hand-written file shaped like the generator's output.</summary>
public class SnapshotTextTests
{
    // Plumbing; a kernel class without code (it runs an identical layer's kernels); HiddenKernels, the first with code;
    // two more with code, one with a nested class and one without constants; a non-kernel class of the same shape; a plain class.
    private static readonly string s_generated = Lines("""
        partial class Net
        {
            private const int BufferSize = 48;

            public void Forward(ref float x, ref float y)
            {
                HiddenKernels.Forward1(ref x, ref y);
            }

            // norm: LayerNorm over 4 features.
            private static partial class NormKernels
            {
                public const int WeightOffset = 0;
                // Runs the kernels of OtherNormKernels, an identical layer.
            }

            // hidden: Dense 4 -> 8.
            private static partial class HiddenKernels
            {
                public const int Inputs = 4;

                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                public static void Forward1(ref float x, ref float y)
                {
                    y = x;
                }
            }

            // out: Dense 8 -> 3.
            private static partial class OutKernels
            {
                // W is stored input-major [8, 3].
                public const int Inputs = 8;
                public const int WeightOffset = 64;

                // The JIT folds IsHardwareAccelerated to a constant, so only one call survives.
                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                public static void Forward1(ref float x, ref float y) => Forward1_Scalar(ref x, ref y);

                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                private static void Forward1_Scalar(ref float x, ref float y)
                {
                    y = x;
                }

                public static partial class Transposed
                {
                    public const int Inputs = 3;

                    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                    public static void Forward1(ref float x, ref float y) => y = x;
                }
            }

            // pool: MaxPool2D.
            private static partial class PoolKernels
            {

                /// <summary>Window maxima.</summary>
                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                public static void Forward(ref float x, ref float y) => y = x;
            }

            private static partial class Helpers
            {
                public const int Size = 2;

                public static int Twice(int x) => 2 * x;
            }

            private sealed class Scratch
            {
                public float[] Values = new float[4];
            }
        }

        """);

    [Fact]
    public void ElideKernels_KeepsPlumbingConstantsAndFirstKernelClassWithCode_ElidesTheOtherBodiesWithCounts()
    {
        string expected = Lines("""
            partial class Net
            {
                private const int BufferSize = 48;

                public void Forward(ref float x, ref float y)
                {
                    HiddenKernels.Forward1(ref x, ref y);
                }

                // norm: LayerNorm over 4 features.
                private static partial class NormKernels
                {
                    public const int WeightOffset = 0;
                    // Runs the kernels of OtherNormKernels, an identical layer.
                }

                // hidden: Dense 4 -> 8.
                private static partial class HiddenKernels
                {
                    public const int Inputs = 4;

                    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                    public static void Forward1(ref float x, ref float y)
                    {
                        y = x;
                    }
                }

                // out: Dense 8 -> 3.
                private static partial class OutKernels
                {
                    // W is stored input-major [8, 3].
                    public const int Inputs = 8;
                    public const int WeightOffset = 64;

                    // (kernels elided from this snapshot: 17 lines, 2 kernel methods; the full file is compiled and checked clean by SnapshotTests)
                }

                // pool: MaxPool2D.
                private static partial class PoolKernels
                {
                    // (kernels elided from this snapshot: 3 lines, 1 kernel method; the full file is compiled and checked clean by SnapshotTests)
                }

                private static partial class Helpers
                {
                    public const int Size = 2;

                    public static int Twice(int x) => 2 * x;
                }

                private sealed class Scratch
                {
                    public float[] Values = new float[4];
                }
            }

            """);
        Assert.Equal(expected, SnapshotText.ElideKernels(s_generated));
    }

    [Fact]
    public void ElideKernels_OnItsOwnOutput_ChangesNothing()
    {
        string elided = SnapshotText.ElideKernels(s_generated);
        Assert.Equal(elided, SnapshotText.ElideKernels(elided));
    }

    [Fact]
    public void ElideKernels_FileWithoutKernelClasses_ComesBackUnchanged()
    {
        // A [Block] class's file: a nested partial class, no kernels.
        string block = Lines("""
            // <auto-generated/>
            #nullable enable

            partial class Encoder
            {
                partial class FeedForward
                {
                    public const int Size = 8;
                }
            }

            """);
        Assert.Equal(block, SnapshotText.ElideKernels(block));
    }

    [Fact]
    public void ElideKernels_KernelClassNeverClosed_Throws()
    {
        string truncated = Lines("""
            partial class Net
            {
                private static partial class HiddenKernels
                {
                    public const int Inputs = 4;
            """);
        var e = Assert.Throws<InvalidOperationException>(() => SnapshotText.ElideKernels(truncated));
        Assert.Contains("HiddenKernels", e.Message, StringComparison.Ordinal);
    }

    // A raw string literal takes the test file's line ends, which a Windows checkout may turn into "\r\n"; the generator writes "\n".
    private static string Lines(string text) => text.ReplaceLineEndings("\n");
}
