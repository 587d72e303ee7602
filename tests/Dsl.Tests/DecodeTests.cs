using System;
using System.Linq;
using Dsl.Tests.Networks;

namespace Dsl.Tests;

/// <summary>
/// Issue #16, part 2: the generated KV-cached decode step against the full-sequence forward, and generation. CI runs
/// this class once per SIMD path (AVX-512, AVX2, Vector128, scalar).
/// </summary>
public class DecodeTests
{
    private static int[] Tokens(int count, int vocabulary, int seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextInt(vocabulary)).ToArray();
    }

    /// <summary>The full forward's logits of the sequence: row t depends on tokens 0..t only (causal).</summary>
    private static float[] FullLogits(IDecoder net, int[] tokens)
    {
        var logits = new float[net.OutputSize];
        net.Forward(tokens.Select(t => (float)t).ToArray(), logits);
        return logits;
    }

    public static TheoryData<string> Decoders => new() { nameof(TinyGpt), nameof(BlocksGpt), nameof(MixtureGpt) };

    private static IDecoder Create(string name, int seed) => name switch
    {
        nameof(TinyGpt) => new TinyGpt(seed),
        nameof(MixtureGpt) => new MixtureGpt(seed),
        _ => new BlocksGpt(seed),
    };

    [Theory]
    [MemberData(nameof(Decoders))]
    public void DecodeStep_EqualsTheFullForward_AtEveryPosition(string name)
    {
        IDecoder net = Create(name, seed: 1);
        int length = net.ContextLength, vocabulary = net.Vocabulary;
        Assert.Equal(length * vocabulary, net.OutputSize);
        int[] tokens = Tokens(length, vocabulary, seed: 2);
        float[] full = FullLogits(net, tokens);
        DecodeCache cache = net.CreateDecodeCache();
        var logits = new float[vocabulary];
        for (int t = 0; t < length; t++)
        {
            net.DecodeStep(tokens[t], t, cache, logits);
            // The same products summed in another order (a row of the projections, the heads' dot products):
            // float rounding, 1e-5 relative to the logits' scale.
            float scale = Math.Max(1f, full.Max(Math.Abs));
            for (int j = 0; j < vocabulary; j++) Assert.Equal(full[t * vocabulary + j], logits[j], 1e-5f * scale);
        }
        Assert.Equal(length, cache.Count);
    }

    [Fact]
    public void GoingBack_StartsTheSequenceAgainFromThere()
    {
        IDecoder net = new BlocksGpt(seed: 3);
        int[] tokens = Tokens(net.ContextLength, net.Vocabulary, seed: 4);
        DecodeCache cache = net.CreateDecodeCache();
        var logits = new float[net.Vocabulary];
        for (int t = 0; t < 6; t++) net.DecodeStep(tokens[t], t, cache, logits);
        // Another token at 3 overwrites the cache from there on.
        tokens[3] = (tokens[3] + 1) % net.Vocabulary;
        float[] full = FullLogits(net, tokens);
        for (int t = 3; t < 8; t++) net.DecodeStep(tokens[t], t, cache, logits);
        for (int j = 0; j < net.Vocabulary; j++) Assert.Equal(full[7 * net.Vocabulary + j], logits[j], 1e-5f * Math.Max(1f, full.Max(Math.Abs)));
    }

    [Fact]
    public void DecodeStep_RejectsBadCalls_NamingWhatIsWrong()
    {
        IDecoder net = new TinyGpt(seed: 5);
        DecodeCache cache = net.CreateDecodeCache();
        var logits = new float[net.Vocabulary];
        var skipped = Assert.Throws<ArgumentOutOfRangeException>(() => net.DecodeStep(1, 1, cache, logits));
        Assert.Contains("the cache holds 0, so the next is at most 0", skipped.Message);
        for (int t = 0; t < net.ContextLength; t++) net.DecodeStep(t % net.Vocabulary, t, cache, logits);
        var past = Assert.Throws<ArgumentOutOfRangeException>(() => net.DecodeStep(1, net.ContextLength, cache, logits));
        Assert.Contains("positions 0 to 7, its declared length (there is no sliding window)", past.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.DecodeStep(7, 0, cache, logits));
        Assert.Throws<ArgumentException>(() => new TinyGpt(seed: 5).DecodeStep(1, 0, cache, logits));
        Assert.Throws<ArgumentException>(() => net.DecodeStep(1, 0, cache, new float[3]));
        cache.Reset();
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void OneNetwork_DecodesOnSeveralThreadsAtOnce_EachWithItsOwnCache()
    {
        // The network holds no decode state: four threads decode four sequences at once, each matching the full forward.
        IDecoder net = new BlocksGpt(seed: 13);
        int[][] sequences = Enumerable.Range(0, 4).Select(i => Tokens(net.ContextLength, net.Vocabulary, seed: 14 + i)).ToArray();
        float[][] expected = sequences.Select(s => FullLogits(net, s)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        System.Threading.Tasks.Parallel.For(0, 4, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            DecodeCache cache = net.CreateDecodeCache();
            var logits = new float[net.Vocabulary];
            for (int round = 0; round < 20; round++)
            {
                for (int t = 0; t < net.ContextLength; t++)
                {
                    net.DecodeStep(sequences[i][t], t, cache, logits);
                    for (int j = 0; j < logits.Length; j++)
                        if (Math.Abs(logits[j] - expected[i][t * net.Vocabulary + j]) > 1e-4f * Math.Max(1f, Math.Abs(expected[i][t * net.Vocabulary + j])))
                            failures.Add($"sequence {i}, round {round}, position {t}");
                }
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void NetworksThatAreNotCausalLanguageModels_HaveNoDecodeStep()
    {
        Assert.False(new BidirectionalEncoder() is IDecoder); // attention sees later tokens
        Assert.False(new EmbeddingNet() is IDecoder);         // a mean over the tokens
        Assert.True(new TinyGpt() is IDecoder);
    }

    [Fact]
    public void DecodeStep_AllocatesNothing()
    {
        IDecoder net = new BlocksGpt(seed: 6);
        DecodeCache cache = net.CreateDecodeCache();
        var logits = new float[net.Vocabulary];
        long bytes = Allocations.QuietestWindow(() =>
        {
            for (int t = 0; t < net.ContextLength; t++) net.DecodeStep(t % net.Vocabulary, t, cache, logits);
        }, callsPerWindow: 20);
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void Generate_Greedy_FollowsTheFullForwardsArgMax_AndSamplingRepeatsFromItsSeed()
    {
        IDecoder net = new BlocksGpt(seed: 7);
        int[] prompt = [1, 4, 2];
        var greedy = new int[5];
        Assert.Equal(5, net.Generate(prompt, greedy, Sampling.Greedy, new Rng(8)));
        // Each greedy token is the arg-max of the full forward's row for the sequence so far.
        int[] sequence = prompt.Concat(greedy).ToArray();
        for (int i = 0; i < greedy.Length; i++)
        {
            int[] padded = sequence.Concat(new int[net.ContextLength - sequence.Length]).ToArray();
            float[] full = FullLogits(net, padded);
            int row = prompt.Length + i - 1;
            Assert.Equal(Metrics.ArgMax(full.AsSpan(row * net.Vocabulary, net.Vocabulary)), greedy[i]);
        }
        var topOne = new int[5];
        net.Generate(prompt, topOne, new Sampling(Temperature: 1f, TopK: 1), new Rng(9));
        Assert.Equal(greedy, topOne);

        var a = new int[9];
        var b = new int[9];
        Assert.Equal(9, net.Generate(prompt, a, new Sampling(0.8f, 4), new Rng(10)));
        net.Generate(prompt, b, new Sampling(0.8f, 4), new Rng(10));
        Assert.Equal(a, b);
        // The context ends the generation: 12 positions, 3 of them the prompt's, leave 10 tokens (the last one is
        // drawn from the logits at position 11 and not run through the network).
        var many = new int[20];
        Assert.Equal(10, net.Generate(prompt, many, new Sampling(), new Rng(11)));
        Assert.Throws<ArgumentException>(() => net.Generate([], many, Sampling.Greedy, new Rng(1)));
    }

    [Fact]
    public void Pick_DrawsFromTheTemperedSoftmax_WithinTheTopK()
    {
        var rng = new Rng(12);
        int[] counts = new int[3];
        const int draws = 20000;
        for (int i = 0; i < draws; i++)
        {
            float[] logits = [0f, MathF.Log(3f), -50f];
            counts[Decoding.Pick(logits, new Sampling(1f), rng)]++;
        }
        // p = (1/4, 3/4, ~0): three standard deviations of a binomial over 20000 draws is 0.009.
        Assert.Equal(0.75, counts[1] / (double)draws, 0.01);
        Assert.True(counts[2] < 3);
        // Temperature 0.5 squares the odds: 9 to 1.
        counts = new int[3];
        for (int i = 0; i < draws; i++)
        {
            float[] logits = [0f, MathF.Log(3f), 1f];
            counts[Decoding.Pick(logits, new Sampling(0.5f, TopK: 2), rng)]++;
        }
        Assert.Equal(0, counts[0]); // outside the top 2
        Assert.Equal(9.0 / (9.0 + Math.Exp(2)), counts[1] / (double)draws, 0.012);
    }
}
