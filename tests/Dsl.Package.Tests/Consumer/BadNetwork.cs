using Dsl;

namespace PackageConsumer;

// The package tests' broken declaration (copied into a consumer project, not compiled by the tests): a layer of
// zero units is DSL0102, reported by the generator that came with the package.
[Network(Input = 4)]
public partial class Broken
{
    [Dense(0)] public partial Dense Empty { get; }
}
