using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Dsl;

namespace CharGpt;

/// <summary>
/// The fortune cookies of Debian's <c>fortunes</c> package: every data file in the directory (not the .dat indexes
/// or .u8 links), split into fortunes at the lines holding only '%'. A seeded shuffle holds out whole fortunes for
/// validation; each set is the fortunes joined as in the files (each followed by "%\n").
/// </summary>
internal static class Fortunes
{
    public const string DefaultDirectory = "/usr/share/games/fortunes";

    public static List<string> Read(string directory)
    {
        var fortunes = new List<string>();
        foreach (string file in Directory.GetFiles(directory).Where(f => Path.GetExtension(f) == "").OrderBy(f => f, StringComparer.Ordinal))
        {
            var current = new System.Text.StringBuilder();
            foreach (string line in File.ReadLines(file))
            {
                if (line == "%")
                {
                    Add();
                    continue;
                }
                current.Append(line).Append('\n');
            }
            Add();

            void Add()
            {
                if (current.ToString().Trim().Length > 0) fortunes.Add(current.ToString());
                current.Clear();
            }
        }
        return fortunes;
    }

    /// <summary>The held-out fraction of whole fortunes and the rest, each as one stream of character ids.</summary>
    public static (int[] Train, int[] Validation) Split(List<string> fortunes, double heldOut, int seed)
    {
        int[] order = Enumerable.Range(0, fortunes.Count).ToArray();
        new Rng(seed).Shuffle(order);
        int validation = (int)Math.Round(heldOut * fortunes.Count);
        string Join(IEnumerable<int> indices) => string.Concat(indices.Select(i => fortunes[i] + "%\n"));
        return (Characters.Encode(Join(order.Skip(validation))), Characters.Encode(Join(order.Take(validation))));
    }
}
