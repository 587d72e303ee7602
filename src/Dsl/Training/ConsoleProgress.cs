using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;

namespace Dsl;

/// <summary>
/// Shows training progress as text. On a terminal it redraws one line in place (<c>\r</c>) with a bar,
/// batch count and running loss, at most every 100 ms so drawing never slows training; each epoch then
/// leaves a summary line. When output is redirected (a log file, CI) it prints only the epoch lines, since
/// carriage-return redraws would fill the log.
/// </summary>
public sealed class ConsoleProgress : ITrainingObserver
{
    private const int BarWidth = 30;
    private static readonly long RedrawTicks = Stopwatch.Frequency / 10;

    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private long _lastDraw;
    private int _lastLength;

    /// <summary>Writes to <see cref="Console.Out"/>, redrawing in place unless <see cref="Console.IsOutputRedirected"/>.</summary>
    public ConsoleProgress() : this(Console.Out, !Console.IsOutputRedirected) { }

    /// <summary>Writes to <paramref name="writer"/>; <paramref name="interactive"/> selects in-place redraws over plain epoch lines.</summary>
    public ConsoleProgress(TextWriter writer, bool interactive)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _interactive = interactive;
    }

    /// <inheritdoc/>
    public void OnBatch(int epoch, int batchIndex, int batchCount, float runningLoss)
    {
        if (!_interactive) return;
        long now = Stopwatch.GetTimestamp();
        bool edge = batchIndex == 0 || batchIndex == batchCount - 1;
        if (!edge && now - _lastDraw < RedrawTicks) return;
        _lastDraw = now;

        int done = batchIndex + 1;
        int filled = (int)((long)BarWidth * done / Math.Max(1, batchCount));
        var line = new StringBuilder(80);
        line.Append(CultureInfo.InvariantCulture, $"epoch {epoch} [");
        line.Append('#', filled).Append('.', BarWidth - filled);
        line.Append(CultureInfo.InvariantCulture, $"] {done}/{batchCount} loss {runningLoss:F4}");
        Redraw(line.ToString());
    }

    /// <inheritdoc/>
    public void OnEpoch(EpochReport report)
    {
        string line = Format(report, ShowPerplexity);
        if (_interactive)
        {
            Redraw(line);
            _writer.WriteLine();
            _lastLength = 0;
        }
        else
        {
            _writer.WriteLine(line);
        }
        _writer.Flush();
    }

    /// <summary>Whether epoch lines show the validation perplexity (<c>val_ppl</c>) after its loss: for a language model's per-token cross-entropy.</summary>
    public bool ShowPerplexity { get; init; }

    /// <summary>The one-line summary printed per epoch, e.g. <c>epoch 3: loss 0.1234, acc 96.50%, val_loss 0.1500, val_acc 95.80%, 1.25 s</c>.</summary>
    public static string Format(EpochReport report) => Format(report, showPerplexity: false);

    private static string Format(EpochReport report, bool showPerplexity)
    {
        var line = new StringBuilder(100);
        line.Append(CultureInfo.InvariantCulture, $"epoch {report.Epoch}: loss {report.TrainLoss:F4}");
        if (report.TrainAccuracy is float acc) line.Append(CultureInfo.InvariantCulture, $", acc {acc * 100:F2}%");
        if (report.ValidationLoss is float vloss) line.Append(CultureInfo.InvariantCulture, $", val_loss {vloss:F4}");
        if (showPerplexity && report.ValidationPerplexity is float ppl) line.Append(CultureInfo.InvariantCulture, $", val_ppl {ppl:F2}");
        if (report.ValidationAccuracy is float vacc) line.Append(CultureInfo.InvariantCulture, $", val_acc {vacc * 100:F2}%");
        line.Append(CultureInfo.InvariantCulture, $", {report.Elapsed.TotalSeconds:F2} s");
        if (report.Mixtures.Count > 0) line.Append(CultureInfo.InvariantCulture, $", aux {report.AuxiliaryLoss:F4}");
        foreach (MixtureReport m in report.Mixtures)
            line.Append(CultureInfo.InvariantCulture, $"; {m.Name} load {m.MinLoad:F3}-{m.MaxLoad:F3} of {m.Load.Count}, entropy {m.RouterEntropy:F2}");
        return line.ToString();
    }

    // Pads with spaces to the previous line's length, because "\r" only moves the cursor and a shorter line
    // would leave the old one's tail visible.
    private void Redraw(string line)
    {
        _writer.Write('\r');
        _writer.Write(line);
        if (line.Length < _lastLength) _writer.Write(new string(' ', _lastLength - line.Length));
        _lastLength = line.Length;
        _writer.Flush();
    }
}
