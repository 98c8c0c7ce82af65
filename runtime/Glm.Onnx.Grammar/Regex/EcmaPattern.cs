namespace Glm.Onnx.Grammar.Regex;

/// <summary>
/// ECMA-262 regular expressions (JSON Schema <c>pattern</c>) compiled to a byte regex over the JSON-encoded string
/// body. Search semantics: an unanchored pattern matches when it occurs anywhere; ^ and $ anchor a top-level
/// alternative. Features that are not regular or not supported (lookaround, backreferences, word boundaries, \p{..},
/// anchors inside groups) are a <see cref="GrammarException"/>, never silently approximated.
/// </summary>
internal sealed class EcmaPattern
{
    private readonly RegexBuilder _rx;
    private readonly int[] _text;
    private readonly string _source;
    private int _pos;
    private int _nesting;

    /// <summary>Groups nested deeper than this are refused: the parser recurses per group.</summary>
    private const int MaxNesting = 100;

    private EcmaPattern(RegexBuilder rx, string pattern)
    {
        _rx = rx;
        _source = pattern;
        var runes = new List<int>();
        foreach (var r in pattern.EnumerateRunes())
            runes.Add(r.Value);
        _text = runes.ToArray();
    }

    /// <summary>The byte regex of string bodies matching <paramref name="pattern"/> (search semantics).</summary>
    public static int Compile(RegexBuilder rx, string pattern) => new EcmaPattern(rx, pattern).CompileTop();

    /// <summary>The byte regex of string bodies fully matching <paramref name="pattern"/> (implicitly anchored).</summary>
    public static int CompileAnchored(RegexBuilder rx, string pattern)
    {
        var p = new EcmaPattern(rx, pattern);
        var r = p.ParseAlternation();
        if (p._pos != p._text.Length)
            throw p.Error("unbalanced ')'");
        return r;
    }

    private GrammarException Error(string what) =>
        new($"pattern \"{_source}\": {what} (at character {_pos})");

    private int CompileTop()
    {
        var any = _rx.Star(JsonStringRegex.Char(_rx, CodePointSet.All));
        var branches = new List<int>();
        while (true)
        {
            var anchoredStart = Peek('^');
            if (anchoredStart)
                _pos++;
            var seq = ParseSequence(topLevel: true, out var anchoredEnd);
            branches.Add(_rx.Seq(anchoredStart ? RegexBuilder.Epsilon : any, seq, anchoredEnd ? RegexBuilder.Epsilon : any));
            if (_pos >= _text.Length)
                break;
            if (Peek('|'))
            {
                _pos++;
                continue;
            }
            throw Error("unbalanced ')'");
        }
        return _rx.Or(branches);
    }

    private bool Peek(int c) => _pos < _text.Length && _text[_pos] == c;

    private int ParseAlternation()
    {
        var branches = new List<int> { ParseSequence(false, out _) };
        while (Peek('|'))
        {
            _pos++;
            branches.Add(ParseSequence(false, out _));
        }
        return _rx.Or(branches);
    }

    private int ParseSequence(bool topLevel, out bool anchoredEnd)
    {
        anchoredEnd = false;
        var items = new List<int>();
        while (_pos < _text.Length && !Peek('|') && !Peek(')'))
        {
            if (Peek('$'))
            {
                _pos++;
                if (topLevel && (_pos == _text.Length || Peek('|')))
                {
                    anchoredEnd = true;
                    break;
                }
                throw Error("'$' is only supported at the end of a top-level alternative");
            }
            if (Peek('^'))
                throw Error("'^' is only supported at the start of a top-level alternative");
            var atom = ParseAtom();
            items.Add(ParseQuantifier(atom));
        }
        return _rx.Seq(items.ToArray());
    }

    private int ParseQuantifier(int atom)
    {
        if (_pos >= _text.Length)
            return atom;
        int min, max;
        switch (_text[_pos])
        {
            case '*': min = 0; max = -1; _pos++; break;
            case '+': min = 1; max = -1; _pos++; break;
            case '?': min = 0; max = 1; _pos++; break;
            case '{':
            {
                var save = _pos;
                _pos++;
                var a = ReadInt();
                if (a < 0)
                {
                    // ECMA (Annex B) reads a '{' that does not start a quantifier as a literal.
                    _pos = save;
                    return atom;
                }
                min = a;
                max = a;
                if (Peek(','))
                {
                    _pos++;
                    var b = ReadInt();
                    max = b < 0 ? -1 : b;
                }
                if (!Peek('}'))
                {
                    _pos = save;
                    return atom;
                }
                _pos++;
                if (max >= 0 && max < min)
                    throw Error("quantifier {n,m} with m < n");
                break;
            }
            default:
                return atom;
        }
        if (Peek('?'))
            _pos++; // lazy: same language
        if (Peek('*') || Peek('+') || (Peek('?')))
            throw Error("nothing to repeat");
        if (min > 10000 || max > 10000)
            throw Error("repetition count above 10000");
        return _rx.Repeat(atom, min, max);
    }

    private int ReadInt()
    {
        var start = _pos;
        long v = 0;
        while (_pos < _text.Length && _text[_pos] >= '0' && _text[_pos] <= '9')
        {
            v = Math.Min(v * 10 + (_text[_pos] - '0'), int.MaxValue);
            _pos++;
        }
        return _pos == start ? -1 : (int)v;
    }

    private int ParseAtom()
    {
        var c = _text[_pos];
        switch (c)
        {
            case '(':
            {
                _pos++;
                if (Peek('?'))
                {
                    _pos++;
                    if (Peek(':'))
                        _pos++;
                    else if (Peek('<') && _pos + 1 < _text.Length && _text[_pos + 1] != '=' && _text[_pos + 1] != '!')
                    {
                        while (_pos < _text.Length && _text[_pos] != '>')
                            _pos++;
                        _pos++;
                    }
                    else
                        throw Error("lookaround assertions are not supported");
                }
                if (++_nesting > MaxNesting)
                    throw Error($"groups nested deeper than {MaxNesting}");
                var inner = ParseAlternation();
                _nesting--;
                if (!Peek(')'))
                    throw Error("missing ')'");
                _pos++;
                return inner;
            }
            case '[':
                _pos++;
                return Char(ParseClass());
            case '.':
                _pos++;
                return Char(CodePointSet.Of((0, 9), (11, 12), (14, 0x2027), (0x202A, CodePointSet.MaxCodePoint)));
            case '\\':
                _pos++;
                return Char(ParseEscape(inClass: false));
            case '*' or '+' or '?':
                throw Error("nothing to repeat");
            case ')':
                throw Error("unbalanced ')'");
            default:
                _pos++;
                return Char(CodePointSet.Single(c));
        }
    }

    private int Char(CodePointSet set) => JsonStringRegex.Char(_rx, set);

    private CodePointSet ParseClass()
    {
        var negate = false;
        if (Peek('^'))
        {
            negate = true;
            _pos++;
        }
        var set = CodePointSet.Empty;
        while (true)
        {
            if (_pos >= _text.Length)
                throw Error("missing ']'");
            if (Peek(']'))
            {
                _pos++;
                break;
            }
            var lo = ClassAtom(out var loSet);
            if (loSet is null && Peek('-') && _pos + 1 < _text.Length && _text[_pos + 1] != ']')
            {
                _pos++;
                var hi = ClassAtom(out var hiSet);
                if (hiSet is not null)
                    throw Error("a class escape cannot end a range");
                if (hi < lo)
                    throw Error("range out of order in character class");
                set = set.Union(CodePointSet.Of((lo, hi)));
            }
            else
            {
                set = set.Union(loSet ?? CodePointSet.Single(lo));
            }
        }
        return negate ? set.Complement() : set;
    }

    private int ClassAtom(out CodePointSet? set)
    {
        set = null;
        var c = _text[_pos++];
        if (c != '\\')
            return c;
        var s = ParseEscape(inClass: true);
        if (s.Ranges.Count == 1 && s.Ranges[0].Lo == s.Ranges[0].Hi)
            return s.Ranges[0].Lo;
        set = s;
        return -1;
    }

    private static readonly CodePointSet Digits = CodePointSet.Of(('0', '9'));
    private static readonly CodePointSet Word = CodePointSet.Of(('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z'));
    private static readonly CodePointSet Space = CodePointSet.Of((9, 13), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680),
        (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF));

    private CodePointSet ParseEscape(bool inClass)
    {
        if (_pos >= _text.Length)
            throw Error("pattern ends with '\\'");
        var c = _text[_pos++];
        switch (c)
        {
            case 'd': return Digits;
            case 'D': return Digits.Complement();
            case 'w': return Word;
            case 'W': return Word.Complement();
            case 's': return Space;
            case 'S': return Space.Complement();
            case 'n': return CodePointSet.Single('\n');
            case 'r': return CodePointSet.Single('\r');
            case 't': return CodePointSet.Single('\t');
            case 'f': return CodePointSet.Single('\f');
            case 'v': return CodePointSet.Single('\v');
            case '0' when !(_pos < _text.Length && char.IsAsciiDigit((char)_text[_pos])): return CodePointSet.Single(0);
            case 'b' when inClass: return CodePointSet.Single('\b');
            case 'b' or 'B': throw Error("word boundaries are not supported");
            case 'x': return CodePointSet.Single(ReadHex(2));
            case 'u':
            {
                int v;
                if (Peek('{'))
                {
                    _pos++;
                    v = 0;
                    while (!Peek('}'))
                    {
                        if (_pos >= _text.Length)
                            throw Error("missing '}' in \\u{...}");
                        v = v * 16 + HexValue(_text[_pos++]);
                        if (v > CodePointSet.MaxCodePoint)
                            throw Error("code point out of range");
                    }
                    _pos++;
                }
                else
                {
                    v = ReadHex(4);
                    if (v is >= 0xD800 and <= 0xDBFF && _pos + 5 < _text.Length && _text[_pos] == '\\' && _text[_pos + 1] == 'u')
                    {
                        _pos += 2;
                        var low = ReadHex(4);
                        if (low is < 0xDC00 or > 0xDFFF)
                            throw Error("unpaired surrogate escape");
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00);
                    }
                    else if (v is >= 0xD800 and <= 0xDFFF)
                        throw Error("unpaired surrogate escape");
                }
                return CodePointSet.Single(v);
            }
            case 'c': throw Error("control escapes \\cX are not supported");
            case 'p' or 'P': throw Error("unicode property escapes are not supported");
            case 'k': throw Error("named backreferences are not supported");
            default:
                if (c >= '1' && c <= '9')
                    throw Error("backreferences are not supported");
                return CodePointSet.Single(c);
        }
    }

    private int ReadHex(int digits)
    {
        var v = 0;
        for (var i = 0; i < digits; i++)
        {
            if (_pos >= _text.Length)
                throw Error("truncated hex escape");
            v = v * 16 + HexValue(_text[_pos++]);
        }
        return v;
    }

    private int HexValue(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => throw Error("bad hex digit"),
    };
}
