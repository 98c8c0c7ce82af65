using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Lexer;

/// <summary>What the mask may do with one vocabulary slice from one lexer state.</summary>
internal enum SliceVerdict : byte
{
    Unknown = 0,
    /// <summary>Every token of the slice keeps the lexer alive without ending a lexeme: OR its mask.</summary>
    Always = 1,
    /// <summary>Undecided: walk the slice's trie.</summary>
    Mixed = 2,
    /// <summary>Every token of the slice dies inside the current lexeme: skip the slice.</summary>
    Never = 3,
}

/// <summary>
/// Decides, for one lexer state, what runs of safe characters (complete UTF-8 without '"', '\' or control characters:
/// the text of the vocabulary's slices) do to the lexer, character count by character count, so that every slice
/// (tokens of a range of character counts, see <see cref="Vocabulary.TokenVocabulary"/>) gets a verdict from one
/// search (docs/structured-output.md, "Masks"). The search goes one character at a time over the set of lexer states
/// reachable after exactly j characters, byte class by byte class, and records the first character at which some
/// path dies and the first at which a lexeme may end (the parser would decide). A slice of counts [lo, hi] is then
/// Always when nothing dies or ends up to character hi, and Never when every path has died by character lo with no
/// lexeme end on the way. Inside a bounded string with k characters left, that makes the slices up to k Always and
/// the longer ones Never, so its first mask walks no slice trie at all. The search is bounded; past the bound the
/// undecided slices are Mixed (walked), which is always exact.
/// </summary>
internal sealed class SafeTextSearch
{
    private const int NoRemainder = -1;
    private const int MaxPairsPerState = 1024;

    private readonly LexerDfa _dfa;
    private readonly byte[] _classes;
    /// <summary>Per remainder of the one-character regex and byte class: the next remainder or NoRemainder.</summary>
    private readonly int[][] _next;
    /// <summary>Per remainder: a character is complete (the remainder is nullable).</summary>
    private readonly bool[] _complete;
    /// <summary>Per remainder: some byte extends it (false once a character is complete and nothing may follow).</summary>
    private readonly bool[] _continues;

    private readonly HashSet<long> _seenPairs = new();
    private readonly HashSet<LevelKey> _seenLevels = new();
    private readonly List<(int State, int Remainder)> _queue = new();
    private readonly HashSet<int> _inNextLevel = new();

    /// <param name="dfa">The grammar's lexer (its lock must be held by callers of <see cref="Decide"/>).</param>
    /// <param name="safeChar">Regex of one safe character.</param>
    /// <param name="classes">One byte per class of bytes no byte set of the grammar tells apart.</param>
    public SafeTextSearch(LexerDfa dfa, int safeChar, byte[] classes)
    {
        _dfa = dfa;
        _classes = classes;
        var rx = dfa.Regexes;
        var ids = new Dictionary<int, int> { [safeChar] = 0 };
        var order = new List<int> { safeChar };
        var next = new List<int[]>();
        for (var i = 0; i < order.Count; i++)
        {
            var row = new int[classes.Length];
            for (var c = 0; c < classes.Length; c++)
            {
                var d = rx.Derive(order[i], classes[c]);
                if (d == RegexBuilder.Nothing)
                {
                    row[c] = NoRemainder;
                    continue;
                }
                if (!ids.TryGetValue(d, out var id))
                {
                    id = order.Count;
                    ids[d] = id;
                    order.Add(d);
                }
                row[c] = id;
            }
            next.Add(row);
        }
        _next = next.ToArray();
        _complete = order.Select(rx.IsNullable).ToArray();
        _continues = _next.Select(row => row.Any(r => r != NoRemainder)).ToArray();
    }

    /// <summary>Fills <paramref name="verdicts"/> (one per slice, slice i holding tokens of
    /// <paramref name="minChars"/>[i] .. <paramref name="maxChars"/>[i] characters, int.MaxValue = unbounded).</summary>
    public void Decide(int state, int[] minChars, int[] maxChars, Span<SliceVerdict> verdicts)
    {
        int maxLevel = 0, maxLo = 0, minHi = int.MaxValue;
        foreach (var lo in minChars)
            maxLo = Math.Max(maxLo, lo);
        foreach (var hi in maxChars)
        {
            minHi = Math.Min(minHi, hi);
            if (hi != int.MaxValue)
                maxLevel = Math.Max(maxLevel, hi);
        }
        maxLevel = Math.Max(maxLevel, maxLo);
        var firstDeath = int.MaxValue;   // first character at which some path dies (no lexeme may end there)
        var firstEnd = int.MaxValue;     // first character at which a lexeme may end: the parser decides
        var emptyAt = int.MaxValue;      // first character count after which no path is alive
        var stable = false;              // the set of states after j characters repeats an earlier one
        var explored = 0;                // character counts fully explored
        var pairs = 0;
        var level = new List<int> { state };
        var nextLevel = new List<int>();
        _seenLevels.Clear();
        _seenLevels.Add(new LevelKey([state]));
        for (var j = 1; j <= maxLevel + 1; j++)
        {
            _seenPairs.Clear();
            _queue.Clear();
            nextLevel.Clear();
            _inNextLevel.Clear();
            foreach (var s in level)
                _queue.Add((s, 0));
            var budgetHit = false;
            for (var q = 0; q < _queue.Count; q++)
            {
                var (s, r) = _queue[q];
                var row = _next[r];
                for (var c = 0; c < row.Length; c++)
                {
                    var r2 = row[c];
                    if (r2 == NoRemainder)
                        continue;
                    var s2 = _dfa.Next(s, _classes[c]);
                    if (s2 == LexerDfa.Dead)
                    {
                        if (_dfa.Accepting(s).Length > 0)
                            firstEnd = Math.Min(firstEnd, j);
                        else
                            firstDeath = Math.Min(firstDeath, j);
                        continue;
                    }
                    if (_complete[r2] && _inNextLevel.Add(s2))
                        nextLevel.Add(s2);
                    if (_continues[r2] && _seenPairs.Add(((long)s2 << 32) | (uint)r2))
                    {
                        _queue.Add((s2, r2));
                        if (++pairs > MaxPairsPerState)
                        {
                            budgetHit = true;
                            break;
                        }
                    }
                }
                if (budgetHit)
                    break;
            }
            if (budgetHit)
                break;
            explored = j;
            if (nextLevel.Count == 0)
            {
                emptyAt = j;
                break;
            }
            nextLevel.Sort();
            if (!_seenLevels.Add(new LevelKey(nextLevel.ToArray())))
            {
                stable = true;
                break;
            }
            // No slice can be Always any more, nor Never (a lexeme may end, or every slice's shortest count is
            // passed with paths still alive): all the rest is Mixed, stop here.
            if (Math.Min(firstDeath, firstEnd) <= minHi && (firstEnd != int.MaxValue || j >= maxLo))
                break;
            (level, nextLevel) = (nextLevel, level);
        }
        var firstBad = Math.Min(firstDeath, firstEnd);
        for (var i = 0; i < verdicts.Length; i++)
        {
            var lo = minChars[i];
            var hi = maxChars[i];
            // Levels past `explored` are known only when the search ended on an empty or repeating level.
            var coveredTo = stable || emptyAt != int.MaxValue ? int.MaxValue : explored;
            var always = hi == int.MaxValue
                ? firstBad == int.MaxValue && coveredTo == int.MaxValue
                : firstBad > hi && hi <= coveredTo;
            if (always)
                verdicts[i] = SliceVerdict.Always;
            else if (emptyAt <= lo && firstEnd == int.MaxValue)
                verdicts[i] = SliceVerdict.Never;
            else
                verdicts[i] = SliceVerdict.Mixed;
        }
    }

    /// <summary>A sorted set of lexer states, compared by content.</summary>
    private readonly struct LevelKey(int[] states) : IEquatable<LevelKey>
    {
        private readonly int[] _states = states;

        public bool Equals(LevelKey other) => _states.AsSpan().SequenceEqual(other._states);

        public override bool Equals(object? obj) => obj is LevelKey k && Equals(k);

        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var s in _states)
                h.Add(s);
            return h.ToHashCode();
        }
    }
}
