using System.Globalization;
using System.Text;

namespace Glm.Onnx.Runtime.Text.Unicode;

/// <summary>
/// Unicode normalization (NFC, NFD, NFKC, NFKD, UAX #15) from tables generated into this folder
/// (normalization.txt, by scripts/gen-unicode-normalization.py), so it works whatever the host's globalization mode:
/// with InvariantGlobalization (this repo's setting, and a common one for services embedding the runtime)
/// <see cref="string.Normalize()"/> returns its input unchanged, which silently broke tokenizers that declare NFC.
/// Lone surrogates pass through untouched. Thread-safe; the tables load once on first use.
/// </summary>
internal static class UnicodeNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Tables.Load);

    public static string Normalize(string text, NormalizationForm form)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool compat = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        // Below these code points no character decomposes, reorders or composes with its neighbour (U+00A0 is the
        // first compatibility mapping, U+00C0 the first canonical one, U+0300 the first combining mark).
        int stableBelow = compat ? 0xA0 : compose ? 0x300 : 0xC0;
        int k = 0;
        while (k < text.Length && text[k] < stableBelow)
            k++;
        if (k == text.Length)
            return text;

        var tables = Data.Value;
        var points = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);
            tables.Decompose(cp, compat, points);
        }

        tables.ReorderCanonically(points);
        if (compose)
            tables.Compose(points);

        var sb = new StringBuilder(points.Count);
        foreach (var cp in points)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
                sb.Append((char)cp); // a lone surrogate from the input
            else
                sb.Append(char.ConvertFromUtf32(cp));
        }

        return sb.ToString();
    }

    private sealed class Tables
    {
        private readonly Dictionary<int, byte> _combiningClass = [];
        private readonly Dictionary<int, int[]> _canonical = [];
        private readonly Dictionary<int, int[]> _compatibility = [];
        private readonly Dictionary<long, int> _composites = [];

        public static Tables Load()
        {
            var tables = new Tables();
            var excluded = new HashSet<int>();
            using var stream = typeof(UnicodeNormalizer).Assembly.GetManifestResourceStream("Glm.Onnx.Runtime.Text.Unicode.normalization.txt")
                ?? throw new InvalidOperationException("the embedded Unicode normalization tables are missing from Glm.Onnx.Runtime");
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0 || line[0] == '#')
                    continue;
                var parts = line.Split(' ');
                switch (parts[0])
                {
                    case "c":
                        for (int cp = Hex(parts[1]); cp <= Hex(parts[2]); cp++)
                            tables._combiningClass[cp] = byte.Parse(parts[3], CultureInfo.InvariantCulture);
                        break;
                    case "d":
                        tables._canonical[Hex(parts[1])] = [.. parts.Skip(2).Select(Hex)];
                        break;
                    case "k":
                        tables._compatibility[Hex(parts[1])] = [.. parts.Skip(2).Select(Hex)];
                        break;
                    case "x":
                        excluded.Add(Hex(parts[1]));
                        break;
                }
            }

            // Primary composites: canonical pairs whose source is not excluded from composition.
            foreach (var (composite, pair) in tables._canonical)
                if (pair.Length == 2 && !excluded.Contains(composite))
                    tables._composites[Key(pair[0], pair[1])] = composite;
            return tables;
        }

        public int CombiningClass(int cp) => _combiningClass.TryGetValue(cp, out var ccc) ? ccc : 0;

        // Full (recursive) decomposition; compatibility mappings only for the K forms.
        public void Decompose(int cp, bool compat, List<int> output)
        {
            if (cp is >= SBase and < SBase + SCount)
            {
                int s = cp - SBase;
                output.Add(LBase + s / NCount);
                output.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0)
                    output.Add(TBase + s % TCount);
                return;
            }

            if (_canonical.TryGetValue(cp, out var mapping) || (compat && _compatibility.TryGetValue(cp, out mapping)))
            {
                foreach (var part in mapping)
                    Decompose(part, compat, output);
                return;
            }

            output.Add(cp);
        }

        // Stable sort of each run of non-starters by combining class (insertion sort: runs are short).
        public void ReorderCanonically(List<int> points)
        {
            for (int i = 1; i < points.Count; i++)
            {
                int ccc = CombiningClass(points[i]);
                if (ccc == 0)
                    continue;
                int j = i;
                var cp = points[i];
                while (j > 0 && CombiningClass(points[j - 1]) > ccc)
                {
                    points[j] = points[j - 1];
                    j--;
                }

                points[j] = cp;
            }
        }

        // The canonical composition algorithm: each character joins the last starter unless blocked.
        public void Compose(List<int> points)
        {
            if (points.Count == 0)
                return;
            int starter = -1;
            int lastClass = -1;
            int write = 0;
            for (int read = 0; read < points.Count; read++)
            {
                int cp = points[read];
                int ccc = CombiningClass(cp);
                if (starter >= 0 && (lastClass < ccc || (lastClass == 0 && write - 1 == starter))
                    && TryCompose(points[starter], cp, out var composite))
                {
                    points[starter] = composite;
                    continue;
                }

                if (ccc == 0)
                {
                    starter = write;
                    lastClass = 0;
                }
                else
                    lastClass = ccc;
                points[write++] = cp;
            }

            points.RemoveRange(write, points.Count - write);
        }

        private bool TryCompose(int first, int second, out int composite)
        {
            if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
            {
                composite = SBase + ((first - LBase) * VCount + second - VBase) * TCount;
                return true;
            }

            if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
            {
                composite = first + second - TBase;
                return true;
            }

            return _composites.TryGetValue(Key(first, second), out composite);
        }

        private static long Key(int first, int second) => ((long)first << 21) | (uint)second;

        private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
