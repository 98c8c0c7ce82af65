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
    private readonly int _safeChar;
    private readonly byte[] _byteClasses;
    private SliceVerdict[] _sliceVerdicts = new SliceVerdict[1024];
    /// <summary>Made on the first mask (not at compile time, which TTFM counts only once either way); guarded by
    /// Dfa.Sync.</summary>
    private SafeTextSearch? _safeText;

    internal CompiledGrammar(Parser.Grammar grammar, LexerDfa dfa, TokenVocabulary vocabulary)
    {
        Grammar = grammar;
        Dfa = dfa;
        Vocabulary = vocabulary;
        var rx = dfa.Regexes;
        // One safe character (the text of the vocabulary's slices); made before the byte classes so they tell its
        // bytes apart too.
        _safeChar = JsonStringRegex.Char(rx, CodePointSet.All.Minus(CodePointSet.Of((0, 0x1F), ('"', '"'), ('\\', '\\'))));
        _byteClasses = rx.ByteClasses(out var classOf);
        dfa.UseByteClasses(classOf, rx.ByteSetCount);
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
    /// What the mask may do with slice <paramref name="slice"/> from lexer state <paramref name="state"/> (see
    /// <see cref="SafeTextSearch"/>): decided for all slices of a state at once, on its first mask, then read without
    /// a lock.
    /// </summary>
    internal SliceVerdict SliceVerdictOf(int state, int slice)
    {
        var slices = TokenVocabulary.SliceMaxChars.Length;
        var index = state * slices + slice;
        var flags = _sliceVerdicts;
        if (index < flags.Length && flags[index] != SliceVerdict.Unknown)
            return flags[index];
        lock (Dfa.Sync)
        {
            var first = state * slices;
            if (first + slices > _sliceVerdicts.Length)
            {
                var grown = new SliceVerdict[Math.Max(_sliceVerdicts.Length * 2, first + slices + 1024)];
                Array.Copy(_sliceVerdicts, grown, _sliceVerdicts.Length);
                _sliceVerdicts = grown;
            }
            if (_sliceVerdicts[index] == SliceVerdict.Unknown)
            {
                Span<SliceVerdict> verdicts = stackalloc SliceVerdict[slices];
                _safeText ??= new SafeTextSearch(Dfa, _safeChar, _byteClasses);
                _safeText.Decide(state, TokenVocabulary.SliceMinChars, TokenVocabulary.SliceMaxChars, verdicts);
                // The array may be read concurrently: every byte written is a final verdict.
                verdicts.CopyTo(_sliceVerdicts.AsSpan(first, slices));
            }
            return _sliceVerdicts[index];
        }
    }
}
