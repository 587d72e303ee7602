using System;
using Dsl.Kernels;

namespace Dsl;

/// <summary>
/// Random crop with padding and horizontal flip of channel-major images (<c>[C, H, W]</c> per sample), as
/// torchvision's <c>RandomCrop((H, W), padding)</c> followed by <c>RandomHorizontalFlip()</c>: each training sample
/// is shifted by (dy, dx), each uniform in [−<see cref="Padding"/>, <see cref="Padding"/>], the uncovered border set
/// to <see cref="Fill"/>, then mirrored left to right with probability 1/2 when <see cref="HorizontalFlip"/>.
/// Set <see cref="Trainer.Augmentation"/> to use it: <see cref="Trainer.Fit"/> applies it to each sample it gathers
/// (a copy: the data set is unchanged), never to evaluation. A sample's draw is a pure function of
/// (<see cref="Workspace.Seed"/>, the batch's number, the sample's row in the batch), the keys dropout uses, so a
/// run is reproducible and the same for any <see cref="Trainer.Threads"/>; it allocates nothing.
/// </summary>
/// <remarks>
/// torchvision pads the raw image, whose zeros are black. On normalised inputs <c>(v − mean) / std</c>, black is
/// <c>−mean / std</c>: pass that as <see cref="Fill"/> to match (the Fashion-MNIST samples: −0.2860 / 0.3530).
/// </remarks>
public sealed class ImageAugmentation
{
    // A layer index no step has: the draws never share a key with a dropout mask.
    private const int KeyLayer = -1;

    /// <summary>Describes the images and the augmentation.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, or <paramref name="padding"/> is negative or not smaller than both height and width.</exception>
    /// <exception cref="ArgumentException"><paramref name="fill"/> is not finite.</exception>
    public ImageAugmentation(int channels, int height, int width, int padding = 4, bool horizontalFlip = true, float fill = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (padding < 0 || padding >= height || padding >= width)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Must be in [0, {Math.Min(height, width)}) for {height}x{width} images.");
        if (!float.IsFinite(fill)) throw new ArgumentException("The fill value must be finite.", nameof(fill));
        if ((long)channels * height * width > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(channels), "The image is too large.");
        Channels = channels;
        Height = height;
        Width = width;
        Padding = padding;
        HorizontalFlip = horizontalFlip;
        Fill = fill;
    }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Rows per channel.</summary>
    public int Height { get; }

    /// <summary>Columns per row.</summary>
    public int Width { get; }

    /// <summary>The largest shift, in pixels, in each direction (torchvision's <c>padding</c>); 0 crops nothing.</summary>
    public int Padding { get; }

    /// <summary>Whether half of the samples are mirrored left to right.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>The value of the pixels a shift uncovers.</summary>
    public float Fill { get; }

    /// <summary>Floats per image: <c>Channels · Height · Width</c>.</summary>
    public int Size => Channels * Height * Width;

    /// <summary>
    /// The draw for a sample: the shift, so that <c>out[c, i, j] = in[c, i + Dy, j + Dx]</c> (<see cref="Fill"/>
    /// outside), and whether the result is mirrored. Dy, Dx and the flip come from one 32-bit key by division,
    /// uniform up to 2⁻²⁴ when the padding is at most 64.
    /// </summary>
    public (int Dy, int Dx, bool Flip) Draw(ulong seed, long step, long sample)
    {
        uint key = DropoutKernels.RowKey(seed, step, KeyLayer, sample);
        uint choices = (uint)(2 * Padding + 1);
        int dy = (int)(key % choices) - Padding;
        key /= choices;
        int dx = (int)(key % choices) - Padding;
        key /= choices;
        return (dy, dx, HorizontalFlip && (key & 1) != 0);
    }

    /// <summary>Augments one image in place with the draw for (<paramref name="seed"/>, <paramref name="step"/>, <paramref name="sample"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="image"/> does not hold <see cref="Size"/> floats.</exception>
    public void Apply(Span<float> image, ulong seed, long step, long sample)
    {
        if (image.Length != Size) throw new ArgumentException($"The image must hold {Channels}x{Height}x{Width} = {Size} floats, but holds {image.Length}.", nameof(image));
        (int dy, int dx, bool flip) = Draw(seed, step, sample);
        int plane = Height * Width;
        for (int c = 0; c < Channels; c++)
        {
            Span<float> channel = image.Slice(c * plane, plane);
            if (dy != 0 || dx != 0) Shift(channel, dy, dx);
            if (flip)
                for (int i = 0; i < Height; i++) channel.Slice(i * Width, Width).Reverse();
        }
    }

    // out[i, j] = in[i + dy, j + dx], in place: rows are visited so that a source row is read before it is
    // overwritten (ascending when moving rows up, dy ≥ 0), and CopyTo handles the overlap within a row (dy = 0).
    private void Shift(Span<float> channel, int dy, int dx)
    {
        int from = Math.Max(0, -dx), to = Math.Min(Width, Width - dx); // destination columns whose source is inside
        for (int step = 0; step < Height; step++)
        {
            int i = dy >= 0 ? step : Height - 1 - step;
            Span<float> row = channel.Slice(i * Width, Width);
            int source = i + dy;
            if (source < 0 || source >= Height)
            {
                row.Fill(Fill);
                continue;
            }
            channel.Slice(source * Width + from + dx, to - from).CopyTo(row.Slice(from, to - from));
            row.Slice(0, from).Fill(Fill);
            row.Slice(to).Fill(Fill);
        }
    }
}
