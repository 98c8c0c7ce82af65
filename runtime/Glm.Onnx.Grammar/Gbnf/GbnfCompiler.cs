using System.Text;
using Glm.Onnx.Grammar.Lexer;
using Glm.Onnx.Grammar.Parser;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Gbnf;

/// <summary>
/// llama.cpp GBNF grammars (docs/structured-output.md): <c>name ::= alternatives</c>, string literals, character
/// classes, <c>.</c>, groups, <c>* + ? {m} {m,} {m,n}</c>, <c>#</c> comments; the start rule is <c>root</c>. Every
/// character is its own lexeme, so the result is exact whatever the grammar (no greedy-lexing surprises) at the cost
/// of slower masks than the JSON Schema path.
/// </summary>
internal sealed class GbnfCompiler
{
    private const int MaxRepeat = 1000;

    /// <summary>Groups nested deeper than this are refused: the parser recurses per group.</summary>
    private const int MaxNesting = 100;

    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private readonly RegexBuilder _rx = new();
    private readonly LexerDfa _dfa;
    private readonly GrammarBuilder _gb = new();
    private readonly Dictionary<string, int> _rules = new();
    private readonly HashSet<string> _defined = new();
    private readonly Dictionary<string, int> _firstUse = new();
    private readonly CompileClock _clock;
    private int _nesting;

    private GbnfCompiler(string text, CompileClock clock)
    {
        _text = text;
        _clock = clock;
        _dfa = new LexerDfa(_rx);
    }

    public static (Parser.Grammar, LexerDfa) Compile(string text, CompileClock clock)
    {
        var c = new GbnfCompiler(text, clock);
        c.ParseAll();
        if (!c._defined.Contains("root"))
            throw new GrammarException("GBNF: no root rule");
        foreach (var (name, line) in c._firstUse)
            if (!c._defined.Contains(name))
                throw new GrammarException($"GBNF line {line}: rule \"{name}\" is used but not defined");
        return (c._gb.Build(c.Rule("root")), c._dfa);
    }

    private GrammarException Error(string what) => new($"GBNF line {_line}: {what}");

    private int Rule(string name)
    {
        if (!_rules.TryGetValue(name, out var nt))
        {
            nt = _gb.NewNonterminal(name);
            _rules[name] = nt;
        }
        return nt;
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                    _pos++;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (c == '\n')
                    _line++;
                _pos++;
            }
            else
                break;
        }
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_';

    private string? PeekName(out int end)
    {
        end = _pos;
        while (end < _text.Length && IsNameChar(_text[end]))
            end++;
        return end > _pos ? _text[_pos..end] : null;
    }

    private bool AtRuleStart()
    {
        var name = PeekName(out var end);
        if (name is null)
            return false;
        var p = end;
        while (p < _text.Length && char.IsWhiteSpace(_text[p]))
            p++;
        return string.CompareOrdinal(_text, p, "::=", 0, 3) == 0;
    }

    private void ParseAll()
    {
        SkipSpace();
        while (_pos < _text.Length)
        {
            var name = PeekName(out var end) ?? throw Error("expected a rule name");
            _pos = end;
            SkipSpace();
            if (string.CompareOrdinal(_text, _pos, "::=", 0, 3) != 0)
                throw Error($"expected '::=' after \"{name}\"");
            _pos += 3;
            if (!_defined.Add(name))
                throw Error($"rule \"{name}\" defined twice");
            ParseAlternatives(Rule(name), nested: false);
            SkipSpace();
        }
    }

    private void ParseAlternatives(int nt, bool nested)
    {
        while (true)
        {
            _clock.Check();
            _gb.AddRule(nt, ParseSequence(nested).ToArray());
            SkipSpace();
            if (_pos < _text.Length && _text[_pos] == '|')
            {
                _pos++;
                continue;
            }
            return;
        }
    }

    private List<int> ParseSequence(bool nested)
    {
        var seq = new List<int>();
        while (true)
        {
            SkipSpace();
            if (_pos >= _text.Length)
                break;
            var c = _text[_pos];
            if (c == '|' || c == ')')
                break;
            if (!nested && AtRuleStart())
                break;
            _clock.Check();
            var items = ParseItem();
            SkipSpace();
            seq.Add(ParseQuantifier(items));
        }
        return seq;
    }

    /// <summary>One item as a nonterminal (or lexeme symbol).</summary>
    private int ParseItem()
    {
        var c = _text[_pos];
        if (c == '"')
        {
            _pos++;
            var nt = _gb.NewNonterminal("<literal>");
            var syms = new List<int>();
            while (true)
            {
                if (_pos >= _text.Length)
                    throw Error("unterminated string");
                if (_text[_pos] == '"')
                {
                    _pos++;
                    break;
                }
                syms.Add(CharLexeme(CodePointSet.Single(ReadChar())));
            }
            _gb.AddRule(nt, syms.ToArray());
            return nt;
        }
        if (c == '[')
        {
            _pos++;
            var negate = _pos < _text.Length && _text[_pos] == '^';
            if (negate)
                _pos++;
            var set = CodePointSet.Empty;
            while (true)
            {
                if (_pos >= _text.Length)
                    throw Error("unterminated character class");
                if (_text[_pos] == ']')
                {
                    _pos++;
                    break;
                }
                var lo = ReadChar();
                var hi = lo;
                if (_pos + 1 < _text.Length && _text[_pos] == '-' && _text[_pos + 1] != ']')
                {
                    _pos++;
                    hi = ReadChar();
                    if (hi < lo)
                        throw Error("character range out of order");
                }
                set = set.Union(CodePointSet.Of((lo, hi)));
            }
            return CharLexeme(negate ? set.Complement() : set);
        }
        if (c == '.')
        {
            _pos++;
            return CharLexeme(CodePointSet.All);
        }
        if (c == '(')
        {
            _pos++;
            if (++_nesting > MaxNesting)
                throw Error($"groups nested deeper than {MaxNesting}");
            var nt = _gb.NewNonterminal("<group>");
            ParseAlternatives(nt, nested: true);
            _nesting--;
            SkipSpace();
            if (_pos >= _text.Length || _text[_pos] != ')')
                throw Error("missing ')'");
            _pos++;
            return nt;
        }
        var name = PeekName(out var end) ?? throw Error($"unexpected character '{c}'");
        _pos = end;
        _firstUse.TryAdd(name, _line);
        return Rule(name);
    }

    private int CharLexeme(CodePointSet set)
    {
        if (set.IsEmpty)
            throw Error("empty character class");
        return Parser.Grammar.Lexeme(_dfa.AddLexeme(Utf8Regex.FromSet(_rx, set), "char"));
    }

    private int ReadChar()
    {
        var c = _text[_pos];
        if (c != '\\')
        {
            var r = Rune.GetRuneAt(_text, _pos);
            _pos += r.Utf16SequenceLength;
            if (c == '\n')
                _line++;
            return r.Value;
        }
        _pos++;
        if (_pos >= _text.Length)
            throw Error("escape at end of input");
        var e = _text[_pos++];
        return e switch
        {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '\\' => '\\',
            '"' => '"',
            '[' => '[',
            ']' => ']',
            '-' => '-',
            '^' => '^',
            'x' => Hex(2),
            'u' => Hex(4),
            'U' => Hex(8),
            _ => throw Error($"unknown escape \\{e}"),
        };
    }

    private int Hex(int digits)
    {
        if (_pos + digits > _text.Length)
            throw Error("truncated hex escape");
        if (!int.TryParse(_text.AsSpan(_pos, digits), System.Globalization.NumberStyles.HexNumber, null, out var v) ||
            v > CodePointSet.MaxCodePoint || v is >= 0xD800 and <= 0xDFFF)
            throw Error("bad hex escape");
        _pos += digits;
        return v;
    }

    private int ParseQuantifier(int item)
    {
        if (_pos >= _text.Length)
            return item;
        int min, max;
        switch (_text[_pos])
        {
            case '*': min = 0; max = -1; _pos++; break;
            case '+': min = 1; max = -1; _pos++; break;
            case '?': min = 0; max = 1; _pos++; break;
            case '{':
            {
                var close = _text.IndexOf('}', _pos);
                if (close < 0)
                    throw Error("missing '}'");
                var inner = _text[(_pos + 1)..close].Split(',');
                if (!int.TryParse(inner[0].Trim(), out min) || inner.Length > 2)
                    throw Error("bad repetition");
                max = inner.Length == 1 ? min : inner[1].Trim().Length == 0 ? -1 : int.TryParse(inner[1].Trim(), out var m) ? m : throw Error("bad repetition");
                if (min > MaxRepeat || max > MaxRepeat || (max >= 0 && max < min))
                    throw Error($"repetition bounds must satisfy 0 <= m <= n <= {MaxRepeat}");
                _pos = close + 1;
                break;
            }
            default:
                return item;
        }
        var nt = _gb.NewNonterminal("<repeat>");
        var prefix = Enumerable.Repeat(item, min).ToList();
        if (max < 0)
        {
            var star = _gb.NewNonterminal("<star>");
            _gb.AddRule(star);
            _gb.AddRule(star, star, item);
            prefix.Add(star);
            _gb.AddRule(nt, prefix.ToArray());
            return nt;
        }
        // Optional tail of (max - min) items as nested optionals: opt_k -> eps | item opt_{k-1}.
        var tail = -1;
        for (var k = 0; k < max - min; k++)
        {
            _clock.Check();
            var opt = _gb.NewNonterminal("<optional>");
            _gb.AddRule(opt);
            _gb.AddRule(opt, tail < 0 ? [item] : [item, tail]);
            tail = opt;
        }
        if (tail >= 0)
            prefix.Add(tail);
        _gb.AddRule(nt, prefix.ToArray());
        return nt;
    }
}
