using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace ResidualDepth;

/// <summary>The experiment's picture: final training loss against depth, and per-block gradient norms of the deepest pair.</summary>
internal static class Figure
{
    private static readonly Color PlainColor = Colors.OrangeRed;
    private static readonly Color ResidualColor = Colors.RoyalBlue;

    /// <summary>Writes both panels side by side into one PNG at <paramref name="path"/>.</summary>
    public static void Save(string path, Family family, IReadOnlyList<RunResult> results, int steps)
    {
        var multiplot = new Multiplot(LossPanel(family, results, steps)); // a parameterless Multiplot starts with an empty plot
        multiplot.AddPlot(GradientPanel(family, results));
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, 1400, 560);
    }

    // Depth on a log2 axis (2, 8, 32, 64 are evenly spread that way), loss on a linear one; a diverged run has no point.
    private static Plot LossPanel(Family family, IReadOnlyList<RunResult> results, int steps)
    {
        var plot = new Plot();
        foreach (bool residual in new[] { false, true })
        {
            RunResult[] runs = results.Where(r => r.Residual == residual && float.IsFinite(r.TrainLoss)).OrderBy(r => r.Depth).ToArray();
            var line = plot.Add.Scatter(runs.Select(r => Math.Log2(r.Depth)).ToArray(), runs.Select(r => (double)r.TrainLoss).ToArray());
            line.LegendText = residual ? "residual" : "plain";
            line.Color = residual ? ResidualColor : PlainColor;
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (int depth in results.Select(r => r.Depth).Distinct().Order()) ticks.AddMajor(Math.Log2(depth), depth.ToString());
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.Label.Text = $"blocks (2 {family.Layers} each)";
        plot.Axes.Left.Label.Text = "final training loss (all 60,000 images)";
        plot.Axes.Title.Label.Text = $"Training loss after {steps} SGD steps, {family.Name} networks";
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    // ScottPlot has no log axis: plot log10 of the norms and label the ticks as powers of ten.
    private static Plot GradientPanel(Family family, IReadOnlyList<RunResult> results)
    {
        var plot = new Plot();
        int deepest = results.Max(r => r.Depth);
        foreach (RunResult run in results.Where(r => r.Depth == deepest).OrderBy(r => r.Residual))
        {
            double[] norms = run.AtInit.Blocks;
            var line = plot.Add.Scatter(
                Enumerable.Range(0, norms.Length).Select(i => (double)i).ToArray(),
                norms.Select(n => Math.Log10(Math.Max(n, 1e-30))).ToArray());
            line.LegendText = run.Residual ? $"residual {deepest}" : $"plain {deepest}";
            line.Color = run.Residual ? ResidualColor : PlainColor;
            line.LineWidth = 2;
            line.MarkerSize = 4;
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => $"1e{y:0}",
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        };
        plot.Axes.Bottom.Label.Text = "block index (0 = next to the stem)";
        plot.Axes.Left.Label.Text = $"‖dL/dW‖ of the block's {family.FirstLayer} at initialisation";
        plot.Axes.Title.Label.Text = $"Gradient norms per block, depth {deepest}, log scale";
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
