using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace PruningSample;

/// <summary>The sweep's picture: test accuracy against sparsity (gradual and one-shot, blocks and single weights), and the batch-1 speed-up.</summary>
internal static class SweepFigure
{
    public static void Save(string path, string model, IReadOnlyList<SweepRow> rows, double denseAccuracy)
    {
        var accuracy = new Plot();
        foreach (var group in rows.GroupBy(r => (r.Method, r.Unstructured)))
        {
            SweepRow[] points = group.OrderBy(r => r.Sparsity).ToArray();
            var line = accuracy.Add.Scatter(points.Select(r => 100.0 * r.Sparsity).ToArray(), points.Select(r => r.Accuracy).ToArray());
            line.LegendText = $"{group.Key.Method}, {points[0].Granularity}";
            line.Color = group.Key.Method == "gradual" ? (group.Key.Unstructured ? Colors.SteelBlue : Colors.Navy) : (group.Key.Unstructured ? Colors.Salmon : Colors.DarkRed);
            line.LinePattern = group.Key.Unstructured ? LinePattern.Dashed : LinePattern.Solid;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        var dense = accuracy.Add.HorizontalLine(denseAccuracy);
        dense.LegendText = $"dense {denseAccuracy:F4}";
        dense.Color = Colors.Gray;
        var kept = accuracy.Add.HorizontalLine(0.98 * denseAccuracy);
        kept.LegendText = "98 % of dense";
        kept.Color = Colors.LightGray;
        kept.LinePattern = LinePattern.Dotted;
        accuracy.Axes.Bottom.Label.Text = "sparsity of the pruned layers (%)";
        accuracy.Axes.Left.Label.Text = "test accuracy";
        accuracy.Axes.Title.Label.Text = $"Fashion-MNIST {model.ToUpperInvariant()}: accuracy against sparsity";
        accuracy.ShowLegend(Alignment.LowerLeft);

        var speed = new Plot();
        foreach (var group in rows.Where(r => r.Method == "gradual").GroupBy(r => r.Unstructured))
        {
            SweepRow[] points = group.OrderBy(r => r.Sparsity).ToArray();
            var line = speed.Add.Scatter(points.Select(r => 100.0 * r.Sparsity).ToArray(), points.Select(r => r.SpeedUp).ToArray());
            line.LegendText = points[0].Granularity;
            line.Color = group.Key ? Colors.SteelBlue : Colors.Navy;
            line.LinePattern = group.Key ? LinePattern.Dashed : LinePattern.Solid;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        var one = speed.Add.HorizontalLine(1);
        one.Color = Colors.Gray;
        speed.Axes.Bottom.Label.Text = "sparsity of the pruned layers (%)";
        speed.Axes.Left.Label.Text = "batch-1 speed-up over dense (Stopwatch, rough)";
        speed.Axes.Title.Label.Text = "Inference speed against sparsity";
        speed.ShowLegend(Alignment.UpperLeft);

        var multiplot = new Multiplot(accuracy);
        multiplot.AddPlot(speed);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, 1400, 560);
    }
}
