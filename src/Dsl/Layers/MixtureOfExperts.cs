using System;
using System.Collections.Generic;

namespace Dsl;

/// <summary>
/// A mixture-of-experts layer's views: the router (a <see cref="Dense"/> from the input's features to one logit
/// per expert, <c>{name}.router</c>) and the experts, each a block of type <typeparamref name="TExpert"/> with
/// weights of its own (<c>{name}.experts.{e}.…</c>). Declared with <see cref="MixtureOfExpertsAttribute"/>.
/// </summary>
/// <typeparam name="TExpert">The expert: a [Block] class of dense layers (a feed-forward block).</typeparam>
public sealed class MixtureOfExperts<TExpert>
    where TExpert : class
{
    /// <summary>Created by generated network code.</summary>
    public MixtureOfExperts(string name, Dense router, IReadOnlyList<TExpert> experts, int topK)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(experts);
        Name = name;
        Router = router;
        Experts = experts;
        TopK = topK;
    }

    /// <summary>The layer's member path, its tensors' prefix.</summary>
    public string Name { get; }

    /// <summary>The router: input features to one logit per expert.</summary>
    public Dense Router { get; }

    /// <summary>The experts, by index.</summary>
    public IReadOnlyList<TExpert> Experts { get; }

    /// <summary>Experts each input runs.</summary>
    public int TopK { get; }
}
