using Glm.Onnx.Grammar.Lexer;
using Glm.Onnx.Grammar.Parser;
using Glm.Onnx.Grammar.Regex;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar;

/// <summary>
/// A compiled constraint for one tokenizer: grammar, lexer and caches. Immutable to callers and safe to share between
/// sequences and threads (the lazily built lexer tables lock when they grow); cache it per schema text.
/// </summary>
public sealed class CompiledGrammar
{
    private readonly int[] _sliceRegex;
    private readonly byte[] _byteClasses;
    private byte[] _sliceFlags = new byte[1024];

    internal CompiledGrammar(Parser.Grammar grammar, LexerDfa dfa, TokenVocabulary vocabulary)
    {
        Grammar = grammar;
        Dfa = dfa;
        Vocabulary = vocabulary;
        var rx = dfa.Regexes;
        var safe = JsonStringRegex.Char(rx, CodePointSet.All.Minus(CodePointSet.Of((0, 0x1F), ('"', '"'), ('\\', '\\'))));
        _sliceRegex = new int[TokenVocabulary.SliceMaxChars.Length];
        var lo = 1;
        for (var i = 0; i < _sliceRegex.Length; i++)
        {
            var hi = TokenVocabulary.SliceMaxChars[i];
            _sliceRegex[i] = rx.Repeat(safe, lo, hi == int.MaxValue ? -1 : hi);
            lo = hi == int.MaxValue ? hi : hi + 1;
        }
        _byteClasses = rx.ByteClassRepresentatives();
        Initial = new EarleyChart(grammar, dfa);
    }

    internal Parser.Grammar Grammar { get; }

    internal LexerDfa Dfa { get; }

    internal EarleyChart Initial { get; }

    /// <summary>Per (lexer state, trie): tokens inside the current lexeme and lexeme-boundary nodes (masks).</summary>
    internal LexerStateTokenCache StateTokens { get; } = new();

    public TokenVocabulary Vocabulary { get; }

    /// <summary>Lexer states built so far (grows lazily while masks are computed).</summary>
    public int LexerStates => Dfa.StateCount;

    /// <summary>A fresh parse at the start of the output.</summary>
    public GrammarState NewState() => new(this, Initial.Clone());

    /// <summary>
    /// True when every token of slice <paramref name="slice"/> keeps the lexer alive from <paramref name="state"/>
    /// without ending a lexeme: then the whole slice is allowed whatever the parser says. Decided once per state by a
    /// search over (lexer state, slice-regex remainder) pairs, one byte per byte class, bounded in size (a search
    /// that runs out answers false, which only means the slice gets walked).
    /// </summary>
    internal bool SliceAlwaysAllowed(int state, int slice)
    {
        var index = state * _sliceRegex.Length + slice;
        var flags = _sliceFlags;
        if (index < flags.Length && flags[index] != 0)
            return flags[index] == 1;
        lock (Dfa.Sync)
        {
            var result = SearchSlice(state, _sliceRegex[slice]);
            if (index >= _sliceFlags.Length)
            {
                var grown = new byte[Math.Max(_sliceFlags.Length * 2, index + 1024)];
                Array.Copy(_sliceFlags, grown, _sliceFlags.Length);
                _sliceFlags = grown;
            }
            _sliceFlags[index] = result ? (byte)1 : (byte)2;
            return result;
        }
    }

    private bool SearchSlice(int state, int sliceRegex)
    {
        const int Budget = 512;
        // Every slice has one-character tokens such as "a", " " or "0": a state that refuses one of them is not inside
        // a free string, and this answers without the search.
        foreach (var b in "a 0Z"u8)
            if (Dfa.Next(state, b) == LexerDfa.Dead)
                return false;
        var rx = Dfa.Regexes;
        var start = ((long)state << 32) | (uint)sliceRegex;
        if (_aliveFrom.Contains(start))
            return true;
        var seen = new HashSet<long> { start };
        var queue = new Queue<(int, int)>();
        queue.Enqueue((state, sliceRegex));
        while (queue.Count > 0)
        {
            var (s, r) = queue.Dequeue();
            foreach (var b in _byteClasses)
            {
                var r2 = rx.Derive(r, b);
                if (r2 == RegexBuilder.Nothing)
                    continue;
                var s2 = Dfa.Next(s, b);
                if (s2 == LexerDfa.Dead)
                    return false;
                var pair = ((long)s2 << 32) | (uint)r2;
                // A pair a successful search has explored keeps every continuation alive: no need to go on from it.
                if (!_aliveFrom.Contains(pair) && seen.Add(pair))
                {
                    if (seen.Count > Budget)
                        return false;
                    queue.Enqueue((s2, r2));
                }
            }
        }
        if (_aliveFrom.Count < MaxAlivePairs)
            _aliveFrom.UnionWith(seen);
        return true;
    }

    /// <summary>(lexer state, slice-regex remainder) pairs from which every slice continuation keeps the lexer alive
    /// (found by successful searches; consecutive states of one string share most of them). Guarded by Dfa.Sync.</summary>
    private readonly HashSet<long> _aliveFrom = new();

    private const int MaxAlivePairs = 1_000_000;
}
