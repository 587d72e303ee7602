using System;
using System.IO;

namespace Dsl.Tests.Training;

public class ConsoleProgressTests
{
    private static readonly EpochReport Report = new(3, 0.12345f, 0.965f, 0.15f, 0.958f, TimeSpan.FromSeconds(1.25));

    [Fact]
    public void Format_PrintsEveryKnownFieldInvariantly()
    {
        Assert.Equal("epoch 3: loss 0.1235, acc 96.50%, val_loss 0.1500, val_acc 95.80%, 1.25 s", ConsoleProgress.Format(Report));
        Assert.Equal("epoch 1: loss 2.0000, 0.50 s", ConsoleProgress.Format(new EpochReport(1, 2f, null, null, null, TimeSpan.FromSeconds(0.5))));
    }

    [Fact]
    public void Redirected_PrintsOnlyOnePlainLinePerEpoch()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(writer, interactive: false);

        for (int b = 0; b < 5; b++) progress.OnBatch(3, b, 5, 0.5f);
        progress.OnEpoch(Report);

        Assert.Equal(ConsoleProgress.Format(Report) + writer.NewLine, writer.ToString());
    }

    [Fact]
    public void Interactive_RedrawsInPlaceAndEndsEachEpochWithANewLine()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(writer, interactive: true);

        progress.OnBatch(3, 0, 4, 0.5f);
        progress.OnBatch(3, 3, 4, 0.25f); // the last batch always draws, however soon after the previous one
        progress.OnEpoch(Report);

        string text = writer.ToString();
        Assert.StartsWith("\repoch 3 [#######.......................] 1/4 loss 0.5000", text);
        Assert.Contains("\repoch 3 [##############################] 4/4 loss 0.2500", text);
        // The summary is longer than the bar line, so it needs no blank padding after it.
        Assert.EndsWith("\r" + ConsoleProgress.Format(Report) + writer.NewLine, text);
    }
}
