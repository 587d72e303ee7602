using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace CharGpt;

/// <summary>The training curve: held-out and running training loss against training minutes.</summary>
internal static class CurveFigure
{
    public static void Save(string path, IReadOnlyList<(long Characters, double Minutes, float TrainLoss, float ValidationLoss)> points)
    {
        var plot = new Plot();
        double[] minutes = points.Select(p => p.Minutes).ToArray();
        var validation = plot.Add.Scatter(minutes, points.Select(p => (double)p.ValidationLoss).ToArray());
        validation.LegendText = "held-out fortunes (the first 256 windows; the last point all of them)";
        validation.Color = Colors.Navy;
        validation.LineWidth = 2;
        var train = plot.Add.Scatter(minutes, points.Select(p => (double)p.TrainLoss).ToArray());
        train.LegendText = "training (running mean over the epoch)";
        train.Color = Colors.Salmon;
        train.LinePattern = LinePattern.Dashed;
        train.LineWidth = 2;
        foreach (double goal in new[] { 1.8, 1.6 })
        {
            var line = plot.Add.HorizontalLine(goal);
            line.Color = Colors.Gray;
            line.LinePattern = LinePattern.Dotted;
        }
        plot.Axes.Bottom.Label.Text = "training time (minutes, 2 threads)";
        plot.Axes.Left.Label.Text = "loss (nats per character)";
        plot.Axes.Title.Label.Text = "Character-level GPT on Debian's fortunes";
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 520);
    }
}
