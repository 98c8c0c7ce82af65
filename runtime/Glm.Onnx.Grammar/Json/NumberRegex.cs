using System.Numerics;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>
/// JSON numbers with bounds as digit-level regexes (docs/structured-output.md), so the lexer itself refuses a digit
/// that cannot lead to an in-range value. Bounds on non-integers must be integer-valued; bounded numbers are written
/// without an exponent.
/// </summary>
internal static class NumberRegex
{
    public static int Digit(RegexBuilder rx) => rx.ByteRange('0', '9');

    /// <summary>Canonical non-negative integers (no leading zeros).</summary>
    public static int NonNegative(RegexBuilder rx) =>
        rx.Or(rx.Byte('0'), rx.Concat(rx.ByteRange('1', '9'), rx.Star(Digit(rx))));

    public static int AnyInteger(RegexBuilder rx) => rx.Concat(rx.Optional(rx.Byte('-')), NonNegative(rx));

    public static int AnyNumber(RegexBuilder rx)
    {
        var frac = rx.Optional(rx.Concat(rx.Byte('.'), rx.Plus(Digit(rx))));
        var exp = rx.Optional(rx.Seq(rx.Or(rx.Byte('e'), rx.Byte('E')), rx.Optional(rx.Or(rx.Byte('+'), rx.Byte('-'))),
            rx.Plus(Digit(rx))));
        return rx.Seq(AnyInteger(rx), frac, exp);
    }

    /// <summary>Integers in [lo, hi] (null = unbounded).</summary>
    public static int IntegerRange(RegexBuilder rx, BigInteger? lo, BigInteger? hi)
    {
        if (lo is { } l && hi is { } h && l > h)
            return RegexBuilder.Nothing;
        var parts = new List<int>();
        if (hi is null || hi >= 0)
            parts.Add(NonNegRange(rx, BigInteger.Max(lo ?? 0, 0), hi));
        if (lo is null || lo < 0)
        {
            var mlo = hi is { } hh && hh < 0 ? -hh : 1;
            BigInteger? mhi = lo is { } ll ? -ll : null;
            parts.Add(rx.Concat(rx.Byte('-'), NonNegRange(rx, mlo, mhi)));
        }
        return rx.Or(parts);
    }

    /// <summary>Numbers v with lo (&lt;|&lt;=) v (&lt;|&lt;=) hi (null = unbounded), written without an exponent.</summary>
    public static int DecimalRange(RegexBuilder rx, decimal? lo, bool loExcl, decimal? hi, bool hiExcl)
    {
        if (lo is { } l0 && hi is { } h0 && (l0 > h0 || (l0 == h0 && (loExcl || hiExcl))))
            return RegexBuilder.Nothing;
        var parts = new List<int>();
        // v >= 0: magnitude within [max(lo, 0), hi].
        if (hi is null || hi > 0 || (hi == 0 && !hiExcl))
        {
            var nonNegLo = lo is { } l && l >= 0 ? l : 0m;
            var nonNegExcl = lo is { } l2 && l2 >= 0 && loExcl;
            parts.Add(Magnitude(rx, nonNegLo, nonNegExcl, hi, hiExcl));
        }
        // v < 0: magnitude m = -v > 0 within [-hi, -lo].
        if (lo is null || lo < 0)
        {
            var mlo = hi is { } h && h < 0 ? -h : 0m;
            var mloExcl = hi is { } h2 && h2 < 0 ? hiExcl : true;
            parts.Add(rx.Concat(rx.Byte('-'), Magnitude(rx, mlo, mloExcl, lo is { } ll ? -ll : null, loExcl)));
        }
        return rx.Or(parts);
    }

    /// <summary>Unsigned decimals m (digits, optional fraction) with lo (&lt;|&lt;=) m and m (&lt;|&lt;=) hi: the
    /// intersection of a lower-bound and an upper-bound regex, each split into integer part and fraction digits.</summary>
    private static int Magnitude(RegexBuilder rx, decimal lo, bool loExcl, decimal? hi, bool hiExcl)
    {
        var digit = Digit(rx);
        var anyFrac = rx.Optional(rx.Concat(rx.Byte('.'), rx.Plus(digit)));
        var any = rx.Concat(NonNegRange(rx, 0, null), anyFrac);
        var lower = lo == 0 && !loExcl ? any : Lower(rx, lo, loExcl, anyFrac);
        var upper = hi is { } h ? Upper(rx, h, hiExcl, anyFrac) : any;
        return rx.And(lower, upper);
    }

    private static (BigInteger Int, string Frac) Split(decimal d)
    {
        var text = d.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dot = text.IndexOf('.');
        return dot < 0 ? (BigInteger.Parse(text), "") : (BigInteger.Parse(text[..dot]), text[(dot + 1)..].TrimEnd('0'));
    }

    private static int Lower(RegexBuilder rx, decimal bound, bool exclusive, int anyFrac)
    {
        var (a, b) = Split(bound);
        var frac = exclusive ? FracGreater(rx, b) : FracAtLeast(rx, b);
        return rx.Or(rx.Concat(NonNegRange(rx, a + 1, null), anyFrac), rx.Concat(NonNegRange(rx, a, a), FractionPart(rx, frac)));
    }

    private static int Upper(RegexBuilder rx, decimal bound, bool exclusive, int anyFrac)
    {
        var (c, d) = Split(bound);
        var frac = exclusive ? FracLess(rx, d) : FracAtMost(rx, d);
        var below = c >= 1 ? rx.Concat(NonNegRange(rx, 0, c - 1), anyFrac) : RegexBuilder.Nothing;
        return rx.Or(below, rx.Concat(NonNegRange(rx, c, c), FractionPart(rx, frac)));
    }

    /// <summary>"" or "." + digits, for a set of fraction digit strings (the empty string meaning no fraction).</summary>
    private static int FractionPart(RegexBuilder rx, int digits) =>
        rx.Or(rx.IsNullable(digits) ? RegexBuilder.Epsilon : RegexBuilder.Nothing,
            rx.Concat(rx.Byte('.'), rx.And(digits, rx.Plus(Digit(rx)))));

    // Fraction digit strings s compared as 0.s against 0.b (b without trailing zeros).
    private static int FracAtLeast(RegexBuilder rx, string b)
    {
        if (b.Length == 0)
            return rx.Star(Digit(rx));
        var d = b[0];
        var higher = d < '9' ? rx.Concat(rx.ByteRange(d + 1, '9'), rx.Star(Digit(rx))) : RegexBuilder.Nothing;
        return rx.Or(higher, rx.Concat(rx.Byte(d), FracAtLeast(rx, b[1..])));
    }

    private static int FracGreater(RegexBuilder rx, string b)
    {
        if (b.Length == 0)
            return rx.Seq(rx.Star(Digit(rx)), rx.ByteRange('1', '9'), rx.Star(Digit(rx)));
        var d = b[0];
        var higher = d < '9' ? rx.Concat(rx.ByteRange(d + 1, '9'), rx.Star(Digit(rx))) : RegexBuilder.Nothing;
        return rx.Or(higher, rx.Concat(rx.Byte(d), FracGreater(rx, b[1..])));
    }

    private static int FracAtMost(RegexBuilder rx, string b)
    {
        if (b.Length == 0)
            return rx.Star(rx.Byte('0'));
        var d = b[0];
        var lower = d > '0' ? rx.Concat(rx.ByteRange('0', d - 1), rx.Star(Digit(rx))) : RegexBuilder.Nothing;
        return rx.Or([RegexBuilder.Epsilon, lower, rx.Concat(rx.Byte(d), FracAtMost(rx, b[1..]))]);
    }

    private static int FracLess(RegexBuilder rx, string b)
    {
        if (b.Length == 0)
            return RegexBuilder.Nothing;
        var d = b[0];
        var lower = d > '0' ? rx.Concat(rx.ByteRange('0', d - 1), rx.Star(Digit(rx))) : RegexBuilder.Nothing;
        return rx.Or([RegexBuilder.Epsilon, lower, rx.Concat(rx.Byte(d), FracLess(rx, b[1..]))]);
    }

    /// <summary>Canonical digit strings of the integers in [lo, hi], lo &gt;= 0, hi null = unbounded.</summary>
    public static int NonNegRange(RegexBuilder rx, BigInteger lo, BigInteger? hi)
    {
        if (hi is { } h && h < lo)
            return RegexBuilder.Nothing;
        var loDigits = lo.ToString();
        var parts = new List<int>();
        var maxLen = hi?.ToString().Length ?? loDigits.Length;
        for (var len = loDigits.Length; len <= maxLen; len++)
        {
            var first = len == 1 ? BigInteger.Zero : BigInteger.Pow(10, len - 1);
            var last = BigInteger.Pow(10, len) - 1;
            var a = BigInteger.Max(first, lo);
            var b = hi is { } hh ? BigInteger.Min(last, hh) : last;
            if (a <= b)
                parts.Add(SameLength(rx, a.ToString(), b.ToString()));
        }
        if (hi is null)
            parts.Add(rx.Seq(rx.ByteRange('1', '9'), rx.Repeat(Digit(rx), loDigits.Length, -1)));
        return rx.Or(parts);
    }

    private static int SameLength(RegexBuilder rx, string a, string b)
    {
        if (a.Length == 0)
            return RegexBuilder.Epsilon;
        if (a[0] == b[0])
            return rx.Concat(rx.Byte(a[0]), SameLength(rx, a[1..], b[1..]));
        var rest = a.Length - 1;
        var parts = new List<int>
        {
            rx.Concat(rx.Byte(a[0]), SameLength(rx, a[1..], new string('9', rest))),
            rx.Concat(rx.Byte(b[0]), SameLength(rx, new string('0', rest), b[1..])),
        };
        if (b[0] - a[0] > 1)
            parts.Add(rx.Concat(rx.ByteRange(a[0] + 1, b[0] - 1), rx.Repeat(Digit(rx), rest, rest)));
        return rx.Or(parts);
    }
}
