using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace FashionMnist;

/// <summary>Images from an IDX file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> bytes, row-major, one after another.</summary>
internal sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads the gzipped IDX files MNIST and Fashion-MNIST ship as (http://yann.lecun.com/exdb/mnist/): a
/// big-endian magic number <c>0x00 0x00 type dims</c> (type 0x08 = unsigned byte), one big-endian 32-bit
/// size per dimension, then the bytes. Anything else fails with an <see cref="InvalidDataException"/> that
/// names the file and what was wrong with it.
/// </summary>
internal static class IdxReader
{
    /// <summary>Unsigned bytes, 3 dimensions: images.</summary>
    public const int ImagesMagic = 0x803;

    /// <summary>Unsigned bytes, 1 dimension: labels.</summary>
    public const int LabelsMagic = 0x801;

    /// <summary>Reads an <c>idx3-ubyte.gz</c> file of images.</summary>
    public static IdxImages ReadImages(string path)
    {
        (int[] dims, byte[] data) = Read(path, ImagesMagic, "images (idx3-ubyte)");
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads an <c>idx1-ubyte.gz</c> file of labels.</summary>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic, "labels (idx1-ubyte)").Data;

    private static (int[] Dims, byte[] Data) Read(string path, int expectedMagic, string what)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var stream = new BufferedStream(gzip, 1 << 16);

            Span<byte> word = stackalloc byte[4];
            ReadHeader(stream, word, path, "the magic number");
            int magic = BinaryPrimitives.ReadInt32BigEndian(word);
            if (magic != expectedMagic)
            {
                string found = magic switch
                {
                    ImagesMagic => " (an images file)",
                    LabelsMagic => " (a labels file)",
                    _ => "",
                };
                throw Bad(path, $"is not {what}: its magic number is 0x{magic:X8}{found}, expected 0x{expectedMagic:X8}.");
            }

            int[] dims = new int[expectedMagic & 0xFF];
            long length = 1;
            for (int d = 0; d < dims.Length; d++)
            {
                ReadHeader(stream, word, path, $"dimension {d}");
                dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
                if (dims[d] <= 0) throw Bad(path, $"has size {dims[d]} in dimension {d}; sizes must be positive.");
                length *= dims[d];
                if (length > Array.MaxLength) throw Bad(path, $"declares {string.Join(" × ", dims[..(d + 1)])} bytes or more, too many to load.");
            }

            string size = dims.Length == 1 ? $"{length}" : $"{string.Join(" × ", dims)} = {length}";
            var data = new byte[length];
            int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read < data.Length)
                throw Bad(path, $"is truncated: the header declares {size} bytes of data, but only {read} follow.");
            if (stream.ReadByte() >= 0)
                throw Bad(path, $"has bytes after the {size} bytes of data its header declares.");
            return (dims, data);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // GZipStream's own complaint: the file is not gzip, or its compressed data is corrupt.
            throw Bad(path, $"is not a valid gzip file ({e.Message}).");
        }
    }

    private static void ReadHeader(Stream stream, Span<byte> word, string path, string field)
    {
        if (stream.ReadAtLeast(word, word.Length, throwOnEndOfStream: false) < word.Length)
            throw Bad(path, $"is truncated: it ends inside the header, before {field}.");
    }

    private static InvalidDataException Bad(string path, string problem) => new($"{path} {problem}");
}
