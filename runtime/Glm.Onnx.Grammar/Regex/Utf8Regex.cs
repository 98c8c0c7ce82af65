namespace Glm.Onnx.Grammar.Regex;

/// <summary>
/// Code-point sets to byte-level regexes: the lexer runs on UTF-8 bytes (tokens split characters), so a class such as
/// [a-zé] becomes the union of byte-range sequences that encode exactly those scalar values (no surrogates, no
/// overlong forms).
/// </summary>
internal static class Utf8Regex
{
    public static int FromSet(RegexBuilder rx, CodePointSet set)
    {
        var parts = new List<int>();
        foreach (var (lo, hi) in set.Ranges)
        {
            // Surrogates are not scalar values: cut them out.
            if (lo <= 0xDFFF && hi >= 0xD800)
            {
                if (lo < 0xD800)
                    AddRange(rx, lo, 0xD7FF, parts);
                if (hi > 0xDFFF)
                    AddRange(rx, 0xE000, hi, parts);
            }
            else
            {
                AddRange(rx, lo, hi, parts);
            }
        }
        return rx.Or(parts);
    }

    private static void AddRange(RegexBuilder rx, int lo, int hi, List<int> parts)
    {
        int[] limits = [0x7F, 0x7FF, 0xFFFF, 0x10FFFF];
        foreach (var limit in limits)
        {
            if (lo > hi)
                return;
            if (lo <= limit)
            {
                var top = Math.Min(hi, limit);
                Split(rx, lo, top, parts);
                lo = top + 1;
            }
        }
    }

    /// <summary>Splits [lo, hi] (same encoded length) until every byte position is an independent range.</summary>
    private static void Split(RegexBuilder rx, int lo, int hi, List<int> parts)
    {
        var length = EncodedLength(lo);
        for (var i = 1; i < length; i++)
        {
            var m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m))
            {
                if ((lo & m) != 0)
                {
                    Split(rx, lo, lo | m, parts);
                    Split(rx, (lo | m) + 1, hi, parts);
                    return;
                }
                if ((hi & m) != m)
                {
                    Split(rx, lo, (hi & ~m) - 1, parts);
                    Split(rx, hi & ~m, hi, parts);
                    return;
                }
            }
        }
        Span<byte> a = stackalloc byte[4];
        Span<byte> b = stackalloc byte[4];
        Encode(lo, a);
        Encode(hi, b);
        var r = RegexBuilder.Epsilon;
        for (var k = length - 1; k >= 0; k--)
            r = rx.Concat(rx.ByteRange(a[k], b[k]), r);
        parts.Add(r);
    }

    private static int EncodedLength(int c) => c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;

    private static void Encode(int c, Span<byte> dst)
    {
        switch (EncodedLength(c))
        {
            case 1:
                dst[0] = (byte)c;
                break;
            case 2:
                dst[0] = (byte)(0xC0 | (c >> 6));
                dst[1] = (byte)(0x80 | (c & 0x3F));
                break;
            case 3:
                dst[0] = (byte)(0xE0 | (c >> 12));
                dst[1] = (byte)(0x80 | ((c >> 6) & 0x3F));
                dst[2] = (byte)(0x80 | (c & 0x3F));
                break;
            default:
                dst[0] = (byte)(0xF0 | (c >> 18));
                dst[1] = (byte)(0x80 | ((c >> 12) & 0x3F));
                dst[2] = (byte)(0x80 | ((c >> 6) & 0x3F));
                dst[3] = (byte)(0x80 | (c & 0x3F));
                break;
        }
    }
}
