using System;

namespace Dsl;

/// <summary>
/// A causal language model the generator can run one token at a time: an <c>[Embedding]</c> first, then only layers
/// that act on each token (dense, norms, dropout, causal attention, residuals), ending in a per-token head of
/// <see cref="Vocabulary"/> logits. <see cref="DecodeStep"/> runs one new token through every layer, reading the
/// keys and values the earlier positions left in a <see cref="DecodeCache"/> and appending its own, so generating n
/// tokens costs n single-token passes instead of n full-sequence ones. A network with a layer that is not per token
/// (convolution, pooling, flatten, batch norm, a mean over tokens) or without causal attention gets no
/// <see cref="DecodeStep"/>: the generator does not implement this interface for it.
/// </summary>
public interface IDecoder : INetwork
{
    /// <summary>The declared sequence length: the most positions a cache holds.</summary>
    int ContextLength { get; }

    /// <summary>Token ids (the embedding's rows) and logits per position.</summary>
    int Vocabulary { get; }

    /// <summary>A cache for one sequence at a time, sized from the network's constants; reuse it with <see cref="DecodeCache.Reset"/>.</summary>
    DecodeCache CreateDecodeCache();

    /// <summary>
    /// Runs <paramref name="token"/> at <paramref name="position"/> through the network and writes its
    /// <see cref="Vocabulary"/> logits: the row <see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float})"/> of the
    /// whole sequence would give at that position (to float rounding). Positions go 0, 1, 2, ...: each reads the
    /// cached keys and values of the positions before it. Going back to an earlier position starts the sequence again
    /// from there. Allocates nothing; the network stays shareable across threads, one cache per caller.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> is not a token id, or <paramref name="position"/> is past the context (no sliding window) or beyond the cached positions.</exception>
    /// <exception cref="ArgumentException"><paramref name="cache"/> belongs to another network, or <paramref name="logits"/> is not <see cref="Vocabulary"/> long.</exception>
    void DecodeStep(int token, int position, DecodeCache cache, Span<float> logits);
}

/// <summary>
/// The keys and values of one sequence's decoded positions, per attention layer, and a decode step's scratch:
/// created by <see cref="IDecoder.CreateDecodeCache"/>. Not thread-safe: one cache per sequence being decoded.
/// </summary>
public sealed class DecodeCache
{
    private readonly float[] _floats;

    /// <summary>For generated code (<see cref="IDecoder.CreateDecodeCache"/>): <paramref name="floats"/> of keys, values and scratch for <paramref name="owner"/>.</summary>
    public DecodeCache(IDecoder owner, int floats)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentOutOfRangeException.ThrowIfNegative(floats);
        Owner = owner;
        _floats = new float[floats];
    }

    /// <summary>The network the cache belongs to.</summary>
    public IDecoder Owner { get; }

    /// <summary>Positions decoded so far: the next <see cref="IDecoder.DecodeStep"/> may be at any position up to this one.</summary>
    public int Count { get; private set; }

    /// <summary>Forgets every position, to decode a new sequence.</summary>
    public void Reset() => Count = 0;

    /// <summary>For generated code: checks a step at <paramref name="position"/> and counts it; returns the cache's memory.</summary>
    public Span<float> Begin(IDecoder network, int token, int position, Span<float> logits)
    {
        if (!ReferenceEquals(network, Owner))
            throw new ArgumentException("This cache was created by another network.", nameof(network));
        if ((uint)token >= (uint)network.Vocabulary)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"A token id is in [0, {network.Vocabulary}).");
        if ((uint)position >= (uint)network.ContextLength)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"The network decodes positions 0 to {network.ContextLength - 1}, its declared length (there is no sliding window).");
        if (position > Count)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"Positions are decoded in order: the cache holds {Count}, so the next is at most {Count}.");
        Guard.Length(logits, network.Vocabulary, nameof(logits));
        Count = position + 1;
        return _floats;
    }
}

/// <summary>How <see cref="Decoding.Generate"/> picks each next token from the logits.</summary>
/// <param name="Temperature">Divides the logits before the softmax; 0 picks the most likely token (greedy).</param>
/// <param name="TopK">Samples among the <paramref name="TopK"/> most likely tokens only; 0 for all of them.</param>
public readonly record struct Sampling(float Temperature = 1f, int TopK = 0)
{
    /// <summary>The most likely token every time.</summary>
    public static Sampling Greedy => new(0f);
}

/// <summary>Text generation on an <see cref="IDecoder"/>.</summary>
public static class Decoding
{
    /// <summary>
    /// Runs <paramref name="prompt"/> through <paramref name="network"/> with <see cref="IDecoder.DecodeStep"/> and
    /// then appends <paramref name="output"/>.Length tokens, each drawn from the logits at the last position by
    /// <paramref name="sampling"/> with <paramref name="rng"/> (a seeded <see cref="Rng"/> repeats a run). Stops at the
    /// context length. Allocates nothing but the cache (pass one to reuse it).
    /// </summary>
    /// <returns>How many tokens were written to <paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The prompt is empty or longer than the context, or a sampling option is negative.</exception>
    public static int Generate(this IDecoder network, ReadOnlySpan<int> prompt, Span<int> output, Sampling sampling, Rng rng, DecodeCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(rng);
        if (prompt.IsEmpty) throw new ArgumentException("The prompt needs at least one token.", nameof(prompt));
        if (prompt.Length > network.ContextLength)
            throw new ArgumentException($"The prompt has {prompt.Length} tokens; the network's context is {network.ContextLength}.", nameof(prompt));
        if (!(sampling.Temperature >= 0) || sampling.TopK < 0)
            throw new ArgumentException($"Temperature ({sampling.Temperature}) and TopK ({sampling.TopK}) cannot be negative.", nameof(sampling));
        cache ??= network.CreateDecodeCache();
        cache.Reset();
        Span<float> logits = network.Vocabulary <= 4096 ? stackalloc float[network.Vocabulary] : new float[network.Vocabulary];
        for (int i = 0; i < prompt.Length; i++) network.DecodeStep(prompt[i], i, cache, logits);
        int written = 0;
        for (int position = prompt.Length; written < output.Length; position++)
        {
            int next = Pick(logits, sampling, rng);
            output[written++] = next;
            if (position >= network.ContextLength || written == output.Length) break;
            network.DecodeStep(next, position, cache, logits);
        }
        return written;
    }

    /// <summary>
    /// A token drawn from <paramref name="logits"/>: the arg-max at temperature 0, otherwise from
    /// <c>softmax(logits / temperature)</c> restricted to the <c>TopK</c> largest (ties by lower id). Overwrites the logits.
    /// </summary>
    public static int Pick(Span<float> logits, Sampling sampling, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (logits.IsEmpty) throw new ArgumentException("No logits.", nameof(logits));
        if (sampling.Temperature == 0f) return Metrics.ArgMax(logits);
        if (sampling.TopK > 0 && sampling.TopK < logits.Length)
        {
            // The k-th largest value; everything below it (and ties past the k-th, by id) drops out.
            float threshold = KthLargest(logits, sampling.TopK);
            int kept = 0;
            for (int i = 0; i < logits.Length; i++)
            {
                if (logits[i] > threshold) kept++;
            }
            int tiesAllowed = sampling.TopK - kept;
            for (int i = 0; i < logits.Length; i++)
            {
                if (logits[i] > threshold) continue;
                if (logits[i] == threshold && tiesAllowed > 0) tiesAllowed--;
                else logits[i] = float.NegativeInfinity;
            }
        }
        float max = float.NegativeInfinity;
        foreach (float z in logits) max = MathF.Max(max, z);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = MathF.Exp((logits[i] - max) / sampling.Temperature);
            sum += logits[i];
        }
        double u = (rng.NextUInt64() >> 11) * (1.0 / (1UL << 53)) * sum, running = 0;
        int last = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] == 0f) continue;
            last = i;
            running += logits[i];
            if (u < running) return i;
        }
        return last; // rounding left u at the very top
    }

    // The k-th largest of the values, by selection on a copy of at most 4096 of them (a vocabulary).
    private static float KthLargest(ReadOnlySpan<float> values, int k)
    {
        Span<float> copy = values.Length <= 4096 ? stackalloc float[values.Length] : new float[values.Length];
        values.CopyTo(copy);
        copy.Sort();
        return copy[copy.Length - k];
    }
}
