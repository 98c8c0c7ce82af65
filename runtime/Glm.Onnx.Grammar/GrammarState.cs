using System.Runtime.CompilerServices;
using Glm.Onnx.Grammar.Lexer;
using Glm.Onnx.Grammar.Parser;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar;

/// <summary>A point in a <see cref="GrammarState"/>'s history to roll back to (rejected draft tokens).</summary>
public readonly record struct GrammarCheckpoint(int Rows, int Lexer, int LexemeBytes);

/// <summary>
/// The constraint state of one sequence: Earley chart plus the lexer state inside the current lexeme. Lexing is
/// greedy: a lexeme ends only when the next byte cannot extend it (docs/structured-output.md). Not thread-safe; clone
/// it for another sequence.
/// </summary>
public sealed class GrammarState
{
    private readonly CompiledGrammar _g;
    private readonly LexerDfa _dfa;
    private readonly EarleyChart _chart;
    private int _lex;
    private int _lexBytes;
    private int[] _frameEnd = new int[64];
    private int[] _frameState = new int[64];
    private int[] _frameRows = new int[64];

    internal GrammarState(CompiledGrammar g, EarleyChart chart)
    {
        _g = g;
        _dfa = g.Dfa;
        _chart = chart;
        _lex = _dfa.StartState(chart.CurrentSet);
    }

    private GrammarState(GrammarState other)
    {
        _g = other._g;
        _dfa = other._dfa;
        _chart = other._chart.Clone();
        _lex = other._lex;
        _lexBytes = other._lexBytes;
    }

    public CompiledGrammar Grammar => _g;

    /// <summary>The lexer state inside the current lexeme (tests look at what masks decide from it).</summary>
    internal int LexerState => _lex;

    public GrammarState Clone() => new(this);

    public GrammarCheckpoint Checkpoint() => new(_chart.RowCount, _lex, _lexBytes);

    /// <summary>Returns to a checkpoint taken earlier on this state (after tokens that were then rejected).</summary>
    public void Rollback(GrammarCheckpoint checkpoint)
    {
        if (checkpoint.Rows > _chart.RowCount || checkpoint.Rows < 1)
            throw new ArgumentException("checkpoint is not from this state's history", nameof(checkpoint));
        _chart.Truncate(checkpoint.Rows);
        _lex = checkpoint.Lexer;
        _lexBytes = checkpoint.LexemeBytes;
    }

    /// <summary>True when the output may end here.</summary>
    public bool IsAccepting
    {
        get
        {
            if (_lexBytes == 0)
                return _chart.CurrentAccepting;
            if (_lex == LexerDfa.Dead)
                return false;
            var acc = _dfa.Accepting(_lex);
            if (acc.Length == 0)
                return false;
            var rows = _chart.RowCount;
            if (!_chart.Scan(acc, _lex))
                return false;
            var accepting = _chart.CurrentAccepting;
            _chart.Truncate(rows);
            return accepting;
        }
    }

    /// <summary>True when the output may end here and no byte may follow: the grammar has nothing left to match.</summary>
    public bool IsComplete
    {
        get
        {
            if (!IsAccepting)
                return false;
            Span<byte> one = stackalloc byte[1];
            for (var b = 0; b < 256; b++)
            {
                var cp = Checkpoint();
                one[0] = (byte)b;
                if (AdvanceBytes(one))
                {
                    Rollback(cp);
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Feeds one token; false (state unchanged) when the grammar does not allow it.</summary>
    public bool Advance(int tokenId)
    {
        var bytes = _g.Vocabulary.Bytes(tokenId);
        return !bytes.IsEmpty && AdvanceBytes(bytes);
    }

    /// <summary>Feeds raw bytes; false (state unchanged) when they are not a valid continuation.</summary>
    public bool AdvanceBytes(ReadOnlySpan<byte> bytes)
    {
        var save = Checkpoint();
        foreach (var b in bytes)
        {
            var rows = _chart.RowCount;
            var t = _lex == LexerDfa.Dead ? LexerDfa.Dead : Step(_lex, b);
            if (t == LexerDfa.Dead)
            {
                Rollback(save);
                return false;
            }
            _lexBytes = _chart.RowCount != rows ? 1 : _lexBytes + 1;
            _lex = t;
        }
        return true;
    }

    /// <summary>
    /// Bytes every valid continuation starts with (jump-forward): followed while exactly one byte is possible and the
    /// output cannot end. Empty when there is a choice.
    /// </summary>
    public byte[] ForcedBytes(int limit = 1024)
    {
        var probe = Clone();
        var forced = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        while (forced.Count < limit && !probe.IsAccepting)
        {
            var only = -1;
            for (var b = 0; b < 256; b++)
            {
                var cp = probe.Checkpoint();
                one[0] = (byte)b;
                if (!probe.AdvanceBytes(one))
                    continue;
                probe.Rollback(cp);
                if (only >= 0)
                {
                    only = -2;
                    break;
                }
                only = b;
            }
            if (only < 0)
                break;
            one[0] = (byte)only;
            probe.AdvanceBytes(one);
            forced.Add((byte)only);
        }
        return forced.ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Step(int s, byte b)
    {
        var t = _dfa.Next(s, b);
        return t != LexerDfa.Dead ? t : EndLexemeAndStep(s, b);
    }

    /// <summary>The byte cannot extend the current lexeme: end it (if it may end) and start the next one with it.</summary>
    private int EndLexemeAndStep(int s, byte b)
    {
        var acc = _dfa.Accepting(s);
        if (acc.Length == 0 || !_chart.Scan(acc, s))
            return LexerDfa.Dead;
        var s0 = _dfa.StartState(_chart.CurrentSet);
        return s0 == LexerDfa.Dead ? LexerDfa.Dead : _dfa.Next(s0, b);
    }

    /// <summary>
    /// Sets bit i of <paramref name="mask"/> iff token i's bytes are a valid continuation (any tokenization, not just
    /// the canonical one). Special tokens stay 0: the caller allows EOS when <see cref="IsAccepting"/>.
    /// </summary>
    public void ComputeMask(Span<ulong> mask)
    {
        var vocab = _g.Vocabulary;
        if (mask.Length < vocab.MaskWords)
            throw new ArgumentException($"mask needs {vocab.MaskWords} words for {vocab.Size} tokens", nameof(mask));
        if (_lex == LexerDfa.Dead)
        {
            mask.Clear();
            return;
        }
        var entry = _g.StateTokens.Get(_g, _lex);
        if (entry is null)
        {
            mask.Clear();
            ComputeMaskUncached(mask);
            return;
        }
        // The inside tokens are the mask's start: copied over it rather than cleared and OR-ed.
        if (entry.InsideMask is { } inside)
        {
            inside.CopyTo(mask);
            mask[inside.Length..].Clear();
        }
        else
            mask.Clear();
        foreach (var id in entry.InsideIds)
            mask[id >> 6] |= 1UL << (id & 63);
        for (var t = 0; t < entry.BoundaryNodes.Length; t++)
            if (entry.BoundaryNodes[t] is { } nodes)
                WalkBoundaries(vocab.Trie(t), nodes, entry.BoundaryStates[t]!, mask);
    }

    /// <summary>The mask without the grammar's per-state cache (when it is full): slices by verdict, other tries
    /// walked whole with the parser.</summary>
    private void ComputeMaskUncached(Span<ulong> mask)
    {
        var vocab = _g.Vocabulary;
        for (var s = 0; s < vocab.Slices.Length; s++)
        {
            switch (_g.SliceVerdictOf(_lex, s))
            {
                case SliceVerdict.Always:
                    MaskOps.Or(mask, vocab.SliceMasks[s]);
                    break;
                case SliceVerdict.Mixed:
                    WalkRange(vocab.Slices[s], mask, 1, vocab.Slices[s].NodeCount, _lex);
                    break;
            }
        }
        WalkRange(vocab.Rest, mask, 1, vocab.Rest.NodeCount, _lex);
    }

    /// <summary>The parser's part of a cached mask: for each boundary node of one trie, end the lexeme, and if the
    /// parser takes it, the node's tokens and the subtree below it (walked with the parser).</summary>
    private void WalkBoundaries(TokenTrie trie, int[] nodes, int[] states, Span<ulong> mask)
    {
        var tokStart = trie.TokenStart;
        var tokIds = trie.TokenIds;
        var baseRows = _chart.RowCount;
        for (var b = 0; b < nodes.Length; b++)
        {
            var node = nodes[b];
            var t = EndLexemeAndStep(states[b], trie.Byte[node]);
            if (t != LexerDfa.Dead)
            {
                for (var k = tokStart[node]; k < tokStart[node + 1]; k++)
                {
                    var id = tokIds[k];
                    mask[id >> 6] |= 1UL << (id & 63);
                }
                if (trie.End[node] > node + 1)
                    WalkRange(trie, mask, node + 1, trie.End[node], t);
            }
            if (_chart.RowCount != baseRows)
                _chart.Truncate(baseRows);
        }
    }

    /// <summary>Walks trie nodes [from, to) (a whole subtree, or the whole trie from 1) from lexer state
    /// <paramref name="state"/>, running the parser where a lexeme ends.</summary>
    private void WalkRange(TokenTrie trie, Span<ulong> mask, int from, int to, int state)
    {
        var n = to;
        if (from >= n)
            return;
        var nodeByte = trie.Byte;
        var nodeEnd = trie.End;
        var tokStart = trie.TokenStart;
        var tokIds = trie.TokenIds;
        var baseRows = _chart.RowCount;
        var top = 0;
        _frameEnd[0] = n;
        _frameState[0] = state;
        _frameRows[0] = baseRows;
        var i = from;
        while (i < n)
        {
            while (i >= _frameEnd[top])
                top--;
            if (_chart.RowCount != _frameRows[top])
                _chart.Truncate(_frameRows[top]);
            var t = Step(_frameState[top], nodeByte[i]);
            if (t == LexerDfa.Dead)
            {
                i = nodeEnd[i];
                continue;
            }
            for (var k = tokStart[i]; k < tokStart[i + 1]; k++)
            {
                var id = tokIds[k];
                mask[id >> 6] |= 1UL << (id & 63);
            }
            if (nodeEnd[i] > i + 1)
            {
                top++;
                if (top == _frameEnd.Length)
                {
                    Array.Resize(ref _frameEnd, top * 2);
                    Array.Resize(ref _frameState, top * 2);
                    Array.Resize(ref _frameRows, top * 2);
                }
                _frameEnd[top] = nodeEnd[i];
                _frameState[top] = t;
                _frameRows[top] = _chart.RowCount;
            }
            i++;
        }
        _chart.Truncate(baseRows);
    }
}
