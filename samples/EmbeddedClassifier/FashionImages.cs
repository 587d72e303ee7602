using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace EmbeddedClassifier;

/// <summary>
/// 28×28 grey images for the Fashion-MNIST networks, read straight into a caller's buffer: an image of an IDX file
/// (gzipped or not), a binary PGM (P5) or an 8-bit greyscale PNG. Nothing is read beyond what the image needs: an
/// IDX image is streamed through <see cref="GZipStream"/> up to its last byte, never the whole file. Malformed input
/// fails with an <see cref="InvalidDataException"/> naming the file and what is wrong. Shared, as a linked file, by
/// the ONNX Runtime console (samples/EmbeddedClassifier.Onnx), so both programs read the same bytes the same way.
/// </summary>
internal static class FashionImages
{
    public const int Side = 28;
    public const int Pixels = Side * Side;

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package (scripts/install-data.sh) installs the test set.</summary>
    public const string TestImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    public const string TestLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

    /// <summary>Fashion-MNIST's labels 0..9 (https://github.com/zalandoresearch/fashion-mnist#labels).</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    // The FashionMnist sample trained on (p / 255 − mean) / std with the training set's mean and std.
    private const float PixelMean = 0.2860f;
    private const float PixelStd = 0.3530f;

    /// <summary>The pixels as the networks were trained on them: <c>(p / 255 − 0.2860) / 0.3530</c>.</summary>
    public static void Normalize(ReadOnlySpan<byte> pixels, Span<float> input)
    {
        const float scale = 1f / (255f * PixelStd), shift = PixelMean / PixelStd;
        for (int i = 0; i < pixels.Length; i++) input[i] = pixels[i] * scale - shift;
    }

    /// <summary>
    /// Reads image <paramref name="index"/> of <paramref name="path"/> into <paramref name="pixels"/> (784 bytes): a PNG
    /// or PGM (by their signatures; <paramref name="index"/> must be 0), otherwise an IDX images file, gzipped or not.
    /// </summary>
    public static void Read(string path, int index, Span<byte> pixels)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
        Span<byte> signature = stackalloc byte[2];
        int got = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool png = got == 2 && signature[0] == 0x89 && signature[1] == (byte)'P';
        bool pgm = got == 2 && signature[0] == (byte)'P' && signature[1] == (byte)'5';
        if ((png || pgm) && index != 0) throw Bad(path, $"holds one image; index {index} is for IDX files.");
        if (png) Png.Read(file, path, pixels);
        else if (pgm) ReadPgm(file, path, pixels);
        else ReadIdx(file, path, index, count: 1, pixels);
    }

    /// <summary>
    /// Streams images <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> − 1 of an IDX images
    /// file (gzipped when it starts with gzip's signature) into <paramref name="pixels"/>, 784 bytes each.
    /// </summary>
    public static void ReadIdx(Stream file, string path, int first, int count, Span<byte> pixels)
    {
        try
        {
            using Stream stream = OpenMaybeGzip(file);
            Span<byte> header = stackalloc byte[16];
            ReadExactly(stream, header, path, "the 16-byte header");
            int magic = BinaryPrimitives.ReadInt32BigEndian(header);
            int images = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
            int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
            int columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
            if (magic != 0x803) throw Bad(path, $"is not an IDX images file: its magic number is 0x{magic:X8}, expected 0x00000803.");
            if (rows != Side || columns != Side) throw Bad(path, $"holds {rows} × {columns} images; the networks take {Side} × {Side}.");
            if (first < 0 || count < 0 || (long)first + count > images)
                throw Bad(path, $"holds {images} images; asked for {count} from index {first}.");
            Skip(stream, (long)first * Pixels, path);
            ReadExactly(stream, pixels[..(count * Pixels)], path, $"image {first + count - 1}");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw Bad(path, $"is not a valid gzip file ({e.Message}).");
        }
    }

    /// <summary>Streams the first <paramref name="labels"/>.Length labels of an IDX labels file.</summary>
    public static void ReadLabels(string path, Span<byte> labels)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
        using Stream stream = OpenMaybeGzip(file);
        Span<byte> header = stackalloc byte[8];
        ReadExactly(stream, header, path, "the 8-byte header");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (magic != 0x801) throw Bad(path, $"is not an IDX labels file: its magic number is 0x{magic:X8}, expected 0x00000801.");
        if (labels.Length > count) throw Bad(path, $"holds {count} labels; asked for {labels.Length}.");
        ReadExactly(stream, labels, path, $"label {labels.Length - 1}");
    }

    // A decompressing stream over the file when it starts with gzip's signature, else the file itself (disposing
    // either disposes the file, which the caller's using disposes again: harmless).
    private static Stream OpenMaybeGzip(Stream file)
    {
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        return b0 == 0x1F && b1 == 0x8B ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static void Skip(Stream stream, long bytes, string path)
    {
        if (bytes == 0) return;
        if (stream.CanSeek)
        {
            stream.Seek(bytes, SeekOrigin.Current);
            return;
        }
        Span<byte> discard = stackalloc byte[4096];
        while (bytes > 0)
        {
            int n = (int)Math.Min(bytes, discard.Length);
            ReadExactly(stream, discard[..n], path, "the images before the one asked for");
            bytes -= n;
        }
    }

    /// <summary>A binary PGM: <c>P5</c>, width, height, maxval 255 (whitespace and # comments between), one byte per pixel.</summary>
    private static void ReadPgm(Stream file, string path, Span<byte> pixels)
    {
        file.Position = 2;
        int width = PgmNumber(file, path, "width"), height = PgmNumber(file, path, "height"), maxValue = PgmNumber(file, path, "maximum value");
        if (width != Side || height != Side) throw Bad(path, $"is a {width} × {height} PGM; the networks take {Side} × {Side}.");
        if (maxValue != 255) throw Bad(path, $"has maximum value {maxValue}; only 8-bit PGMs (255) are read.");
        // PgmNumber consumed the single whitespace byte that ends the header.
        ReadExactly(file, pixels[..Pixels], path, "the pixels");
    }

    private static int PgmNumber(Stream file, string path, string field)
    {
        int c = file.ReadByte();
        while (c == '#' || c is ' ' or '\t' or '\r' or '\n')
        {
            if (c == '#') while (c >= 0 && c != '\n') c = file.ReadByte();
            c = file.ReadByte();
        }
        if (c is < '0' or > '9') throw Bad(path, $"is not a binary PGM: no {field} in its header.");
        int value = 0;
        for (; c is >= '0' and <= '9'; c = file.ReadByte())
        {
            value = value * 10 + (c - '0');
            if (value > 65535) throw Bad(path, $"has {field} over 65535.");
        }
        if (c is not (' ' or '\t' or '\r' or '\n')) throw Bad(path, $"is not a binary PGM: its {field} is not followed by whitespace.");
        return value;
    }

    internal static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        if (stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length)
            throw Bad(path, $"is truncated: it ends before the end of {what}.");
    }

    internal static InvalidDataException Bad(string path, string problem) => new($"{path} {problem}");
}
