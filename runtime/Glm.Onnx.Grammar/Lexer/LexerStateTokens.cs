using System.Collections.Concurrent;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar.Lexer;

/// <summary>
/// What the whole vocabulary does from one lexer state without the parser (docs/structured-output.md, "Masks"): the
/// tokens whose bytes all stay inside the current lexeme (allowed whatever the parser says, since the parser chose
/// the lexemes this state lexes), from the slices taken whole and from walks of the other tries, in one set; and per
/// trie the nodes where a lexeme would end, which only the parser can decide. Computed once per lexer state and
/// shared by every state of a compiled grammar, so a mask in a state seen before costs one OR of the inside tokens
/// plus parser walks under the boundary nodes alone (inside a free string: one OR).
/// </summary>
internal sealed class LexerStateTokens
{
    /// <summary>Inside tokens as a bit mask when there are many (OR-ed a vector at a time), else null.</summary>
    public ulong[]? InsideMask { get; private init; }

    /// <summary>Inside tokens as ids when there are few, else empty.</summary>
    public int[] InsideIds { get; private init; } = [];

    /// <summary>Per trie (see <see cref="TokenVocabulary.Trie"/>), the nodes whose byte cannot
    /// extend the lexeme while it may end there (the parser decides), or null when there are none.</summary>
    public int[]?[] BoundaryNodes { get; private init; } = [];

    /// <summary>Per trie and boundary node, the lexer state before its byte.</summary>
    public int[]?[] BoundaryStates { get; private init; } = [];

    [ThreadStatic]
    private static ulong[]? t_scratch;

    public static LexerStateTokens Build(CompiledGrammar g, int state)
    {
        var vocab = g.Vocabulary;
        var dfa = g.Dfa;
        var maskWords = vocab.MaskWords;
        var slices = vocab.Slices.Length;
        // Inside tokens go straight into a bit mask (one OR per token, no list to grow); a thread's scratch mask is
        // reused, and copied out only when the entry keeps a mask.
        var bits = t_scratch is { } scratch && scratch.Length == maskWords ? scratch : t_scratch = new ulong[maskWords];
        Array.Clear(bits);
        var insideCount = 0;
        var boundaryNodes = new int[]?[slices + 2];
        var boundaryStates = new int[]?[slices + 2];
        var nodes = new List<int>();
        var states = new List<int>();
        void WalkTrie(int index)
        {
            nodes.Clear();
            states.Clear();
            insideCount += Walk(dfa, vocab.Trie(index), state, bits, nodes, states);
            if (nodes.Count > 0)
            {
                boundaryNodes[index] = nodes.ToArray();
                boundaryStates[index] = states.ToArray();
            }
        }
        var allMixed = true;
        for (var s = 0; s < slices && allMixed; s++)
            allMixed = g.SliceVerdictOf(state, s) == SliceVerdict.Mixed;
        if (allMixed)
            WalkTrie(slices + 1);
        else
        {
            var run = 0;
            while (run < slices && g.SliceVerdictOf(state, run) == SliceVerdict.Always)
                run++;
            if (run > 0)
            {
                MaskOps.Or(bits, vocab.SlicePrefixMasks[run - 1]);
                insideCount += vocab.SlicePrefixCounts[run - 1];
            }
            for (var s = run; s < slices; s++)
            {
                var verdict = g.SliceVerdictOf(state, s);
                if (verdict == SliceVerdict.Always)
                {
                    MaskOps.Or(bits, vocab.SliceMasks[s]);
                    insideCount += vocab.SliceCounts[s];
                }
                else if (verdict == SliceVerdict.Mixed)
                    WalkTrie(s);
            }
        }
        WalkTrie(slices);
        ulong[]? mask = null;
        int[] ids = [];
        // A mask costs maskWords words to OR; ids cost one store each: keep whichever is cheaper.
        if (insideCount > maskWords / 4)
            mask = (ulong[])bits.Clone();
        else
        {
            ids = new int[insideCount];
            var next = 0;
            for (var w = 0; w < bits.Length && next < ids.Length; w++)
            {
                var word = bits[w];
                while (word != 0)
                {
                    ids[next++] = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                }
            }
        }
        return new LexerStateTokens
        {
            InsideMask = mask,
            InsideIds = ids,
            BoundaryNodes = boundaryNodes,
            BoundaryStates = boundaryStates,
        };
    }

    /// <summary>Walks one trie from <paramref name="state"/> without the parser: sets the inside tokens' bits, lists the
    /// boundary nodes, returns how many inside tokens it found.</summary>
    private static int Walk(LexerDfa dfa, TokenTrie trie, int state, ulong[] bits, List<int> boundaryNodes,
        List<int> boundaryStates)
    {
        var n = trie.NodeCount;
        var nodeByte = trie.Byte;
        var nodeEnd = trie.End;
        var tokStart = trie.TokenStart;
        var tokIds = trie.TokenIds;
        var insideCount = 0;
        var frameEnd = new int[64];
        var frameState = new int[64];
        var top = 0;
        frameEnd[0] = n;
        frameState[0] = state;
        var i = 1;
        while (i < n)
        {
            while (i >= frameEnd[top])
                top--;
            var s = frameState[top];
            var t = dfa.Next(s, nodeByte[i]);
            if (t == LexerDfa.Dead)
            {
                if (dfa.Accepting(s).Length > 0)
                {
                    boundaryNodes.Add(i);
                    boundaryStates.Add(s);
                }
                i = nodeEnd[i];
                continue;
            }
            var k1 = tokStart[i + 1];
            for (var k = tokStart[i]; k < k1; k++)
            {
                var id = tokIds[k];
                bits[id >> 6] |= 1UL << (id & 63);
            }
            insideCount += k1 - tokStart[i];
            if (nodeEnd[i] > i + 1)
            {
                if (++top == frameEnd.Length)
                {
                    Array.Resize(ref frameEnd, top * 2);
                    Array.Resize(ref frameState, top * 2);
                }
                frameEnd[top] = nodeEnd[i];
                frameState[top] = t;
            }
            i++;
        }
        return insideCount;
    }
}

/// <summary>The <see cref="LexerStateTokens"/> of one compiled grammar, per lexer state, bounded in size.</summary>
internal sealed class LexerStateTokenCache
{
    /// <summary>Entries kept; past it, masks in new states walk the tries directly (still exact, just slower).</summary>
    public const int MaxEntries = 20_000;

    /// <summary>Entries that keep a whole bit mask (a vocabulary's worth of bits each) are bounded apart.</summary>
    public const int MaxMaskEntries = 2_000;

    private readonly ConcurrentDictionary<int, LexerStateTokens> _entries = new();
    private int _maskEntries;

    public LexerStateTokens? Get(CompiledGrammar g, int state)
    {
        if (_entries.TryGetValue(state, out var found))
            return found;
        if (_entries.Count >= MaxEntries || Volatile.Read(ref _maskEntries) >= MaxMaskEntries)
            return null;
        var built = LexerStateTokens.Build(g, state);
        var kept = _entries.GetOrAdd(state, built);
        if (ReferenceEquals(kept, built) && built.InsideMask is not null)
            Interlocked.Increment(ref _maskEntries);
        return kept;
    }
}
