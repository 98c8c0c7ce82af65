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

    /// <summary>Numbers v with lo (&lt;|&lt;=) v (&lt;|&lt;=) hi, integer-valued bounds, no exponent.</summary>
    public static int DecimalRange(RegexBuilder rx, BigInteger? lo, bool loExcl, BigInteger? hi, bool hiExcl)
    {
        var parts = new List<int>();
        // v >= 0 part.
        if (hi is null || hi > 0 || (hi == 0 && !hiExcl))
        {
            if (lo is { } l && l >= 0)
                parts.Add(Magnitude(rx, l, loExcl, hi, hiExcl));
            else
                parts.Add(Magnitude(rx, 0, false, hi, hiExcl));
        }
        // v < 0 part: magnitude m = -v > 0.
        if (lo is null || lo < 0)
        {
            BigInteger mlo;
            bool mloExcl;
            if (hi is { } h && h < 0)
            {
                mlo = -h;
                mloExcl = hiExcl;
            }
            else
            {
                mlo = 0;
                mloExcl = true;
            }
            BigInteger? mhi = lo is { } ll ? -ll : null;
            parts.Add(rx.Concat(rx.Byte('-'), Magnitude(rx, mlo, mloExcl, mhi, loExcl)));
        }
        return rx.Or(parts);
    }

    private static int Magnitude(RegexBuilder rx, BigInteger lo, bool loExcl, BigInteger? hi, bool hiExcl)
    {
        var digit = Digit(rx);
        var anyFrac = rx.Optional(rx.Concat(rx.Byte('.'), rx.Plus(digit)));
        var nonZeroFrac = rx.Seq(rx.Byte('.'), rx.Star(digit), rx.ByteRange('1', '9'), rx.Star(digit));
        var zeroFrac = rx.Optional(rx.Concat(rx.Byte('.'), rx.Plus(rx.Byte('0'))));
        var parts = new List<int>();
        var a = loExcl ? lo + 1 : lo;
        BigInteger? b = hi is { } h ? h - 1 : null;
        if (b is null || a <= b)
            parts.Add(rx.Concat(NonNegRange(rx, a, b), anyFrac));
        if (loExcl && (hi is null || lo < hi))
            parts.Add(rx.Concat(NonNegRange(rx, lo, lo), nonZeroFrac));
        if (hi is { } hv && !hiExcl && (loExcl ? hv > lo : hv >= lo))
            parts.Add(rx.Concat(NonNegRange(rx, hv, hv), zeroFrac));
        return rx.Or(parts);
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
