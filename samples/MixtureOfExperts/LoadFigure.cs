using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace MixtureSample;

/// <summary>Each expert's load per epoch, one panel per mixture model, with the balanced band [0.5/N, 2/N].</summary>
internal static class LoadFigure
{
    public static void Save(string path, IReadOnlyDictionary<string, List<float[]>> loads)
    {
        Plot[] plots = loads.Select(pair => Panel(pair.Key, pair.Value)).ToArray();
        var multiplot = new Multiplot(plots[0]);
        foreach (Plot plot in plots.Skip(1)) multiplot.AddPlot(plot);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, 700 * plots.Length, 480);
    }

    private static Plot Panel(string name, List<float[]> epochs)
    {
        var plot = new Plot();
        int experts = epochs[0].Length;
        double[] x = Enumerable.Range(1, epochs.Count).Select(e => (double)e).ToArray();
        var band = plot.Add.VerticalSpan(0.5 / experts, 2.0 / experts);
        band.FillStyle.Color = Colors.LightGreen.WithAlpha(0.25);
        band.LegendText = "[0.5/N, 2/N]";
        for (int e = 0; e < experts; e++)
        {
            var line = plot.Add.Scatter(x, epochs.Select(load => (double)load[e]).ToArray());
            line.LegendText = $"expert {e}";
            line.LineWidth = 2;
            line.MarkerSize = 5;
        }
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.Left.Label.Text = "share of the routing assignments (epoch mean)";
        plot.Axes.Title.Label.Text = name;
        plot.Axes.SetLimitsY(0, System.Math.Max(0.6, epochs.Max(l => l.Max()) * 1.1));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
