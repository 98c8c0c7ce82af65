using System.Runtime.CompilerServices;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Lexer;

/// <summary>
/// The lexer: a DFA over bytes built lazily from regex derivatives (docs/structured-output.md). A state is the vector
/// of (lexeme, derivative) pairs still alive for one set of lexemes the parser allows; transitions are cached in one
/// int[256] per state, so the token-trie walk pays one array load per byte once a state has been seen. Shared by all
/// states of one compiled grammar: new states are made under a lock, cached transitions are read without one.
/// </summary>
internal sealed class LexerDfa
{
    public const int Dead = -1;
    private const int Unknown = -2;

    private readonly RegexBuilder _rx;
    private readonly List<int> _lexemeRegex = new();
    private readonly List<string> _lexemeNames = new();
    private readonly Dictionary<int, int> _lexemeByRegex = new();
    private readonly List<int[]> _sets = new();
    private readonly Dictionary<int, List<int>> _setIdsByHash = new();
    private readonly List<int> _setStart = new();
    private readonly Dictionary<int[], int> _stateIds = new(PairsComparer.Instance);
    private readonly List<int[]> _statePairs = new();
    private int[][] _trans = new int[64][];
    private int[][] _accepting = new int[64][];
    private int _stateCount;
    private readonly object _sync = new();
    /// <summary>The next state's pairs while a transition is derived (under the lock).</summary>
    private int[] _scratch = new int[64];
    /// <summary>Per byte, the bytes of its class (equal derivatives for every regex), or null before the grammar's
    /// byte classes are known.</summary>
    private byte[][]? _classMembers;
    private int _classByteSets;

    /// <summary>Held while the regex builder or the state tables change (also by slice checks that derive).</summary>
    internal object Sync => _sync;

    internal RegexBuilder Regexes => _rx;

    public LexerDfa(RegexBuilder rx) => _rx = rx;

    public int MaxStates { get; set; } = 200_000;

    public int LexemeCount => _lexemeRegex.Count;

    public int StateCount => _stateCount;

    public string LexemeName(int lexeme) => _lexemeNames[lexeme];

    /// <summary>The lexeme for a regex; equal regexes share one lexeme.</summary>
    public int AddLexeme(int regex, string name)
    {
        if (_rx.IsNullable(regex))
            throw new GrammarException($"lexeme {name} matches the empty string");
        if (regex == RegexBuilder.Nothing)
            throw new GrammarException($"lexeme {name} matches nothing");
        if (_lexemeByRegex.TryGetValue(regex, out var id))
            return id;
        id = _lexemeRegex.Count;
        _lexemeRegex.Add(regex);
        _lexemeNames.Add(name);
        _lexemeByRegex[regex] = id;
        return id;
    }

    /// <summary>Interns a sorted set of lexemes (what one parser row allows next).</summary>
    public int InternSet(ReadOnlySpan<int> sortedLexemes)
    {
        var hash = 17;
        foreach (var l in sortedLexemes)
            hash = hash * 31 + l;
        lock (_sync)
        {
            if (_setIdsByHash.TryGetValue(hash, out var candidates))
            {
                foreach (var c in candidates)
                    if (sortedLexemes.SequenceEqual(_sets[c]))
                        return c;
            }
            else
            {
                candidates = new List<int>(1);
                _setIdsByHash[hash] = candidates;
            }
            var id = _sets.Count;
            _sets.Add(sortedLexemes.ToArray());
            candidates.Add(id);
            var pairs = new int[sortedLexemes.Length * 2];
            for (var i = 0; i < sortedLexemes.Length; i++)
            {
                pairs[2 * i] = sortedLexemes[i];
                pairs[2 * i + 1] = _lexemeRegex[sortedLexemes[i]];
            }
            _setStart.Add(sortedLexemes.Length == 0 ? Dead : StateFor(pairs));
            return id;
        }
    }

    /// <summary>
    /// Lets a transition, once computed for one byte, be stored for every byte of its class: the first visit of a
    /// state then derives once per class instead of once per byte the token trie shows it. Only while the regex
    /// builder has made no byte set since the classes were computed (derivatives make none).
    /// </summary>
    public void UseByteClasses(byte[] classOf, int byteSetCount)
    {
        var classes = classOf.Max() + 1;
        var members = new List<byte>[classes];
        for (var c = 0; c < classes; c++)
            members[c] = new List<byte>();
        for (var b = 0; b < 256; b++)
            members[classOf[b]].Add((byte)b);
        var byByte = new byte[256][];
        for (var b = 0; b < 256; b++)
            byByte[b] = members[classOf[b]].ToArray();
        lock (_sync)
        {
            _classMembers = byByte;
            _classByteSets = byteSetCount;
        }
    }

    /// <summary>The DFA state with nothing of the next lexeme read yet; Dead when the set is empty.</summary>
    public int StartState(int setId) => _setStart[setId];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(int state, byte b)
    {
        var t = _trans[state][b];
        return t != Unknown ? t : Compute(state, b);
    }

    /// <summary>Lexemes that end at this state (sorted); empty when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int[] Accepting(int state) => _accepting[state];

    private int Compute(int state, byte b)
    {
        lock (_sync)
        {
            var row = _trans[state];
            if (row[b] != Unknown)
                return row[b];
            var pairs = _statePairs[state];
            if (_scratch.Length < pairs.Length)
                _scratch = new int[pairs.Length];
            var count = 0;
            for (var i = 0; i < pairs.Length; i += 2)
            {
                if (!_rx.MayStart(pairs[i + 1], b))
                    continue;
                var d = _rx.Derive(pairs[i + 1], b);
                if (d != RegexBuilder.Nothing)
                {
                    _scratch[count++] = pairs[i];
                    _scratch[count++] = d;
                }
            }
            var target = count == 0 ? Dead : StateFor(_scratch.AsSpan(0, count));
            if (_classMembers is { } members && _rx.ByteSetCount == _classByteSets)
                foreach (var other in members[b])
                    row[other] = target;
            else
                row[b] = target;
            return target;
        }
    }

    private int StateFor(ReadOnlySpan<int> span)
    {
        // Looked up by span: the pair vector is copied only for a new state.
        if (_stateIds.GetAlternateLookup<ReadOnlySpan<int>>().TryGetValue(span, out var id))
            return id;
        var pairs = span.ToArray();
        if (_stateCount >= MaxStates)
            throw new GrammarException($"the lexer grew past {MaxStates} states (regexes too large to run)");
        id = _stateCount;
        if (id == _trans.Length)
        {
            var trans = new int[id * 2][];
            Array.Copy(_trans, trans, id);
            var acc = new int[id * 2][];
            Array.Copy(_accepting, acc, id);
            _accepting = acc;
            _trans = trans;
        }
        var row = new int[256];
        Array.Fill(row, Unknown);
        var accepting = new List<int>();
        for (var i = 0; i < pairs.Length; i += 2)
            if (_rx.IsNullable(pairs[i + 1]))
                accepting.Add(pairs[i]);
        _accepting[id] = accepting.ToArray();
        _trans[id] = row;
        _statePairs.Add(pairs);
        _stateIds[pairs] = id;
        _stateCount = id + 1;
        return id;
    }

    /// <summary>Structural equality for (lexeme, regex) pair vectors, the identity of a lexer state.</summary>
    private sealed class PairsComparer : IEqualityComparer<int[]>, IAlternateEqualityComparer<ReadOnlySpan<int>, int[]>
    {
        public static readonly PairsComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] obj) => GetHashCode((ReadOnlySpan<int>)obj);

        public bool Equals(ReadOnlySpan<int> alternate, int[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<int> alternate)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(alternate));
            return h.ToHashCode();
        }

        public int[] Create(ReadOnlySpan<int> alternate) => alternate.ToArray();
    }
}
