using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// A .NET regex that matches code points the way the Rust (Oniguruma) engine behind Hugging Face tokenizers does.
/// .NET regexes see UTF-16 code units, so a character outside the BMP (an emoji, a CJK Extension B ideograph, a
/// math letter) is two surrogates of category Cs and fails \p{L}, \p{S}, ... When the input holds surrogate
/// pairs, each pair is replaced by one BMP stand-in of the same Unicode general category, the regex runs on that
/// text, and match offsets are mapped back. Stand-ins come from the end of the BMP (half/full-width forms and
/// specials), which tokenizer patterns do not name in explicit character ranges.
/// </summary>
internal sealed class CodePointRegex
{
    private static readonly char[] StandIns = BuildStandIns();

    private readonly Regex _regex;

    public CodePointRegex(Regex regex) => _regex = regex;

    public Regex Regex => _regex;

    /// <summary>Adds the (start, length) of every match in <paramref name="text"/>[start..start+length).</summary>
    public void FindMatches(string text, int start, int length, List<(int Start, int Length)> matches)
    {
        var span = text.AsSpan(start, length);
        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in _regex.EnumerateMatches(span))
                matches.Add((start + m.Index, m.Length));
            return;
        }

        // Map each surrogate pair to one stand-in char; offsets[i] is the original index of mapped char i.
        var mapped = new StringBuilder(length);
        var offsets = new int[length + 1];
        var n = 0;
        for (var i = 0; i < length; i++)
        {
            offsets[n] = i;
            var c = span[i];
            if (char.IsHighSurrogate(c) && i + 1 < length && char.IsLowSurrogate(span[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, span[i + 1]));
                mapped.Append(StandIns[(int)category]);
                i++;
            }
            else
            {
                mapped.Append(c);
            }

            n++;
        }

        offsets[n] = length;
        var mappedText = mapped.ToString();
        foreach (var m in _regex.EnumerateMatches(mappedText))
        {
            var from = offsets[m.Index];
            var to = offsets[m.Index + m.Length];
            matches.Add((start + from, to - from));
        }
    }

    private static char[] BuildStandIns()
    {
        var categories = Enum.GetValues<UnicodeCategory>();
        var table = new char[categories.Length];
        var found = new bool[categories.Length];
        for (var cp = 0xFFFD; cp >= 0x80; cp--)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
                continue;
            var category = (int)CharUnicodeInfo.GetUnicodeCategory(cp);
            if (!found[category])
            {
                found[category] = true;
                table[category] = (char)cp;
            }
        }

        // Categories with no BMP member above U+0080 (none in practice) fall back to the replacement character.
        for (var i = 0; i < table.Length; i++)
            if (!found[i])
                table[i] = '\uFFFD';
        return table;
    }
}
