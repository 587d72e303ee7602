using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace EmbeddedClassifier;

/// <summary>
/// The PNGs the classifier takes: 28×28, 8-bit greyscale (colour type 0), not interlaced (https://www.w3.org/TR/png/).
/// The IDAT chunks are one zlib stream of 28 rows, each a filter-type byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)
/// and 28 filtered bytes; CRCs are not checked (zlib's Adler-32 guards the pixels).
/// </summary>
internal static class Png
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private const int Side = FashionImages.Side;
    private const int Stride = Side + 1; // the filter-type byte, then the row

    public static void Read(Stream file, string path, Span<byte> pixels)
    {
        Span<byte> eight = stackalloc byte[8];
        FashionImages.ReadExactly(file, eight, path, "the PNG signature");
        if (!eight.SequenceEqual(Signature)) throw FashionImages.Bad(path, "is not a PNG: its signature is wrong.");

        // The compressed pixels: the IDAT chunks' data, concatenated (a 28×28 image's is a few hundred bytes).
        using var compressed = new MemoryStream();
        bool header = false;
        while (true)
        {
            FashionImages.ReadExactly(file, eight, path, "a chunk header");
            int length = BinaryPrimitives.ReadInt32BigEndian(eight);
            uint type = BinaryPrimitives.ReadUInt32BigEndian(eight[4..]);
            if (length < 0 || length > 1 << 20) throw FashionImages.Bad(path, $"has a chunk of {length} bytes; a 28 × 28 image needs far fewer.");
            byte[] data = new byte[length];
            FashionImages.ReadExactly(file, data, path, "a chunk");
            FashionImages.ReadExactly(file, eight[..4], path, "a chunk's CRC");
            if (type == Type("IHDR"))
            {
                CheckHeader(data, path);
                header = true;
            }
            else if (!header) throw FashionImages.Bad(path, "is not a PNG: its first chunk is not IHDR.");
            else if (type == Type("IDAT")) compressed.Write(data);
            else if (type == Type("IEND")) break;
            else if ((type >> 24 & 0x20) == 0) throw FashionImages.Bad(path, $"has a critical chunk '{Name(type)}' this reader does not know (a palette image?).");
            // Other ancillary chunks (gAMA, tEXt, ...) do not change the pixels.
        }

        Span<byte> rows = stackalloc byte[Side * Stride];
        compressed.Position = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            FashionImages.ReadExactly(zlib, rows, path, "the image data");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw FashionImages.Bad(path, $"has corrupt image data ({e.Message}).");
        }
        Unfilter(rows, pixels, path);
    }

    private static void CheckHeader(byte[] ihdr, string path)
    {
        if (ihdr.Length != 13) throw FashionImages.Bad(path, "has an IHDR chunk that is not 13 bytes.");
        int width = BinaryPrimitives.ReadInt32BigEndian(ihdr), height = BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4));
        byte depth = ihdr[8], colour = ihdr[9], interlace = ihdr[12];
        if (width != Side || height != Side) throw FashionImages.Bad(path, $"is a {width} × {height} PNG; the networks take {Side} × {Side}.");
        if (depth != 8 || colour != 0)
            throw FashionImages.Bad(path, $"is a PNG of colour type {colour} at {depth} bits; only 8-bit greyscale (type 0) is read.");
        if (ihdr[10] != 0 || ihdr[11] != 0) throw FashionImages.Bad(path, "uses a compression or filter method other than PNG's only one (0).");
        if (interlace != 0) throw FashionImages.Bad(path, "is interlaced (Adam7); only non-interlaced PNGs are read.");
    }

    /// <summary>Undoes each row's filter, left to right, top to bottom; with one byte per pixel, "left" is the previous byte.</summary>
    private static void Unfilter(ReadOnlySpan<byte> rows, Span<byte> pixels, string path)
    {
        Span<byte> zeros = stackalloc byte[Side]; // the row above the first
        for (int y = 0; y < Side; y++)
        {
            byte filter = rows[y * Stride];
            ReadOnlySpan<byte> row = rows.Slice(y * Stride + 1, Side);
            Span<byte> output = pixels.Slice(y * Side, Side);
            ReadOnlySpan<byte> above = y > 0 ? pixels.Slice((y - 1) * Side, Side) : zeros;
            for (int x = 0; x < Side; x++)
            {
                int a = x > 0 ? output[x - 1] : 0, b = above[x], c = x > 0 ? above[x - 1] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) >> 1,
                    4 => Paeth(a, b, c),
                    _ => throw FashionImages.Bad(path, $"has filter type {filter} on row {y}; PNG defines 0 to 4."),
                };
                output[x] = (byte)(row[x] + predictor);
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint Type(string name) => (uint)(name[0] << 24 | name[1] << 16 | name[2] << 8 | name[3]);

    private static string Name(uint type) => string.Create(4, type, (s, t) =>
    {
        for (int i = 0; i < 4; i++) s[i] = (char)(t >> (24 - 8 * i) & 0xFF);
    });
}
