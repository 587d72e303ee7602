namespace Dsl.Tests.Reliability;

/// <summary>
/// Tests that count every thread's allocations (<c>GC.GetTotalAllocatedBytes</c>: worker threads are theirs too) run
/// alone, after the parallel tests, so no other test's allocations are counted.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Whole-process allocation";
}
