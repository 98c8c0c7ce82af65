using System.Collections.Concurrent;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar.Lexer;

/// <summary>
/// What a token trie walk from one lexer state finds without the parser (docs/structured-output.md, "Masks"): the
/// tokens whose bytes all stay inside the current lexeme (allowed whatever the parser says, since the parser chose
/// the lexemes this state lexes), and the trie nodes where a lexeme would end, which only the parser can decide.
/// Computed once per (lexer state, trie) and shared by every state of a compiled grammar, so a mask in a state seen
/// before costs an OR of the inside tokens plus parser walks under the boundary nodes alone.
/// </summary>
internal sealed class LexerStateTokens
{
    /// <summary>Inside tokens as a bit mask when there are many (OR-ed a vector at a time), else null.</summary>
    public ulong[]? InsideMask { get; private init; }

    /// <summary>Inside tokens as ids when there are few, else empty.</summary>
    public int[] InsideIds { get; private init; } = [];

    /// <summary>Trie nodes whose byte cannot extend the lexeme while it may end there: the parser decides.</summary>
    public int[] BoundaryNodes { get; private init; } = [];

    /// <summary>Per boundary node, the lexer state before its byte.</summary>
    public int[] BoundaryStates { get; private init; } = [];

    public static LexerStateTokens Build(LexerDfa dfa, TokenTrie trie, int state, int maskWords)
    {
        var n = trie.NodeCount;
        var nodeByte = trie.Byte;
        var nodeEnd = trie.End;
        var tokStart = trie.TokenStart;
        var tokIds = trie.TokenIds;
        var inside = new List<int>();
        var boundaryNodes = new List<int>();
        var boundaryStates = new List<int>();
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
            for (var k = tokStart[i]; k < tokStart[i + 1]; k++)
                inside.Add(tokIds[k]);
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
        ulong[]? mask = null;
        int[] ids = [];
        // A mask costs maskWords words to OR; ids cost one store each: keep whichever is cheaper.
        if (inside.Count > maskWords / 4)
        {
            mask = new ulong[maskWords];
            foreach (var id in inside)
                mask[id >> 6] |= 1UL << (id & 63);
        }
        else
            ids = inside.ToArray();
        return new LexerStateTokens
        {
            InsideMask = mask,
            InsideIds = ids,
            BoundaryNodes = boundaryNodes.ToArray(),
            BoundaryStates = boundaryStates.ToArray(),
        };
    }
}

/// <summary>The <see cref="LexerStateTokens"/> of one compiled grammar, per (lexer state, trie), bounded in size.</summary>
internal sealed class LexerStateTokenCache
{
    /// <summary>Entries kept; past it, masks in new states walk the trie directly (still exact, just slower).</summary>
    public const int MaxEntries = 20_000;

    private readonly ConcurrentDictionary<long, LexerStateTokens> _entries = new();

    public LexerStateTokens? Get(LexerDfa dfa, TokenTrie trie, int trieIndex, int state, int maskWords)
    {
        var key = ((long)state << 8) | (uint)trieIndex;
        if (_entries.TryGetValue(key, out var found))
            return found;
        if (_entries.Count >= MaxEntries)
            return null;
        var built = LexerStateTokens.Build(dfa, trie, state, maskWords);
        return _entries.GetOrAdd(key, built);
    }
}
