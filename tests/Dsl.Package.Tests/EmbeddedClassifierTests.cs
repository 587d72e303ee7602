using System;
using System.IO;
using Xunit.Abstractions;

namespace Dsl.Package.Tests;

/// <summary>
/// The embedded deployment sample as CI runs it: samples/EmbeddedClassifier/publish-and-run.sh publishes it with
/// NativeAOT, classifies the first installed Fashion-MNIST test image from its compiled-in weights (exit 0,
/// "class: Ankle boot"), and checks both networks' accuracy on the first 1,000 test images.
/// </summary>
public class EmbeddedClassifierTests(ITestOutputHelper output)
{
    [Fact]
    public void EmbeddedClassifier_PublishedWithNativeAot_ClassifiesFromItsCompiledInWeights()
    {
        string root = PackageFeed.FindRepositoryRoot();
        string script = Path.Combine(root, "samples", "EmbeddedClassifier", "publish-and-run.sh");
        CommandResult run = Dotnet.Exec("bash", [script], root, TimeSpan.FromMinutes(10), null);
        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, "publish-and-run.sh failed (it needs clang, zlib1g-dev and dataset-fashion-mnist: scripts/install-aot.sh and scripts/install-data.sh):\n" + run);
        Assert.Contains("class: Ankle boot", run.Output);
        Assert.Contains("ok: the NativeAOT EmbeddedClassifier classifies with its compiled-in weights", run.Output);
    }
}
