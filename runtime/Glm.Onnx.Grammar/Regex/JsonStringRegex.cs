namespace Glm.Onnx.Grammar.Regex;

/// <summary>
/// Byte regexes for the inside of JSON strings. Constrained strings (length, pattern, format) count one character per
/// JSON character and use the canonical encoding the MaskBench serializer produces: characters literal in UTF-8,
/// except '"', '\' and control characters, which are escaped (\" \\ \b \f \n \r \t, else \u00XX). Unconstrained
/// strings also take any other JSON escape (\/, \uXXXX).
/// </summary>
internal static class JsonStringRegex
{
    /// <summary>One JSON-encoded character drawn from <paramref name="set"/>.</summary>
    public static int Char(RegexBuilder rx, CodePointSet set)
    {
        var plain = set.Minus(CodePointSet.Of((0, 0x1F), ('"', '"'), ('\\', '\\')));
        var parts = new List<int> { Utf8Regex.FromSet(rx, plain) };
        if (set.Contains('"'))
            parts.Add(rx.Literal("\\\""));
        if (set.Contains('\\'))
            parts.Add(rx.Literal("\\\\"));
        foreach (var (lo, hi) in set.Ranges)
        {
            if (lo > 0x1F)
                break;
            for (var c = lo; c <= Math.Min(hi, 0x1F); c++)
                parts.Add(ControlEscape(rx, c));
        }
        return rx.Or(parts);
    }

    private static int ControlEscape(RegexBuilder rx, int c)
    {
        var shortForm = c switch { 8 => "\\b", 9 => "\\t", 10 => "\\n", 12 => "\\f", 13 => "\\r", _ => null };
        if (shortForm is not null)
            return rx.Literal(shortForm);
        var hex = c.ToString("x2");
        return rx.Seq(rx.Literal("\\u00"), HexDigit(rx, hex[0]), HexDigit(rx, hex[1]));
    }

    private static int HexDigit(RegexBuilder rx, char digit) =>
        char.IsAsciiLetter(digit) ? rx.Or(rx.Byte(char.ToLowerInvariant(digit)), rx.Byte(char.ToUpperInvariant(digit))) : rx.Byte(digit);

    /// <summary>Any JSON string body character, every escape form allowed (unconstrained strings).</summary>
    public static int AnyChar(RegexBuilder rx)
    {
        var plain = Utf8Regex.FromSet(rx, CodePointSet.All.Minus(CodePointSet.Of((0, 0x1F), ('"', '"'), ('\\', '\\'))));
        var hex = rx.Or([rx.ByteRange('0', '9'), rx.ByteRange('a', 'f'), rx.ByteRange('A', 'F')]);
        var simple = rx.Concat(rx.Byte('\\'), rx.Or([rx.Byte('"'), rx.Byte('\\'), rx.Byte('/'), rx.Byte('b'), rx.Byte('f'),
            rx.Byte('n'), rx.Byte('r'), rx.Byte('t')]));
        var unicode = rx.Seq(rx.Literal("\\u"), hex, hex, hex, hex);
        return rx.Or([plain, simple, unicode]);
    }

    /// <summary>A whole JSON string: quotes around <paramref name="body"/>.</summary>
    public static int Quoted(RegexBuilder rx, int body) => rx.Seq(rx.Byte('"'), body, rx.Byte('"'));

    /// <summary>The canonical JSON encoding of a string (no surrounding quotes), as the regexes above expect.</summary>
    public static string Escape(string value)
    {
        var sb = new System.Text.StringBuilder(value.Length + 2);
        foreach (var ch in value)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (ch < 0x20)
                        sb.Append("\\u").Append(((int)ch).ToString("x4"));
                    else
                        sb.Append(ch);
                    break;
            }
        }
        return sb.ToString();
    }
}
