using Glm.Onnx.Grammar.Lexer;

namespace Glm.Onnx.Grammar.Parser;

/// <summary>
/// The Earley chart of one sequence: rows of items (program position, origin row) in flat arrays. A row is added per
/// scanned lexeme and removed by truncating the arrays, so the mask walk pushes and pops rows as it descends and
/// climbs the token trie, and rollback after rejected draft tokens is a pointer move. Nullable nonterminals use the
/// Aycock-Horspool prediction rule, so completion never has to revisit the current row. Each item also carries a key
/// set (a bit per named property of an any-order object, see <see cref="Grammar.KeyBit"/>): scanning a key whose bit
/// is set is refused, and a rule with required bits completes only when they are all set, so an object's properties
/// may come in any order, each at most once, with the required ones present (docs/structured-output.md).
/// </summary>
internal sealed class EarleyChart
{
    public const int MaxItemsPerRow = 50_000;

    private readonly Grammar _g;
    private readonly LexerDfa _dfa;
    private long[] _items;
    private long[] _keys;
    private int _itemCount;
    private int[] _rowStart;
    private int[] _rowSet;
    private bool[] _rowAccepting;
    private int _rowCount;
    private int[] _rowSerial;
    private int _nextSerial = 1;
    private readonly Dictionary<long, CachedRow> _scanCache = new();
    private readonly HashSet<long> _seen = new();
    private readonly HashSet<(long Item, long Keys)> _seenKeyed = new();

    /// <summary>A row as scanning lexemes of one lexer state from one parent row produced it: rows are a function of
    /// (parent row, lexer state), so the mask walk, which ends the same lexeme under many trie branches, copies the
    /// row instead of recomputing its closure (docs/structured-output.md: rows reused when scanned again).</summary>
    private sealed record CachedRow(long[]? Items, long[]? Keys, int Set, bool Accepting, int Serial);

    private const int MaxCachedRows = 100_000;
    private readonly List<int> _lexemes = new();

    public EarleyChart(Grammar g, LexerDfa dfa)
    {
        _g = g;
        _dfa = dfa;
        _items = new long[256];
        _keys = new long[256];
        _rowStart = new int[64];
        _rowSet = new int[64];
        _rowAccepting = new bool[64];
        _rowSerial = new int[64];
        _rowStart[0] = 0;
        _rowCount = 0;
        BeginRow();
        Add(_g.StartRulePos, 0);
        if (!CloseRow())
            throw new GrammarException("the grammar accepts nothing");
    }

    private EarleyChart(EarleyChart other)
    {
        _g = other._g;
        _dfa = other._dfa;
        _items = other._items[..Math.Max(other._itemCount, 16)];
        _keys = other._keys[..Math.Max(other._itemCount, 16)];
        _itemCount = other._itemCount;
        _rowStart = other._rowStart[..(other._rowCount + 1)];
        _rowSet = other._rowSet[..Math.Max(other._rowCount, 1)];
        _rowAccepting = other._rowAccepting[..Math.Max(other._rowCount, 1)];
        _rowSerial = other._rowSerial[..Math.Max(other._rowCount, 1)];
        _rowCount = other._rowCount;
        _nextSerial = other._nextSerial;
    }

    public EarleyChart Clone() => new(this);

    public int RowCount => _rowCount;

    /// <summary>The lexeme set (see <see cref="LexerDfa.InternSet"/>) the last row allows next.</summary>
    public int CurrentSet => _rowSet[_rowCount - 1];

    public bool CurrentAccepting => _rowAccepting[_rowCount - 1];

    /// <summary>Drops rows above <paramref name="rowCount"/>.</summary>
    public void Truncate(int rowCount)
    {
        _rowCount = rowCount;
        _itemCount = _rowStart[rowCount];
    }

    /// <summary>Adds a row for a scanned lexeme that is any of <paramref name="lexemes"/> (sorted); false, with no row
    /// added, when no item expects them.</summary>
    public bool Scan(int[] lexemes, int lexerState)
    {
        var key = ((long)_rowSerial[_rowCount - 1] << 32) | (uint)lexerState;
        if (_scanCache.TryGetValue(key, out var cached))
        {
            if (cached.Items is null)
                return false;
            BeginRow();
            var n = cached.Items.Length;
            while (_itemCount + n > _items.Length)
                Grow();
            cached.Items.CopyTo(_items, _itemCount);
            cached.Keys!.CopyTo(_keys, _itemCount);
            _itemCount += n;
            var k = _rowCount - 1;
            _rowStart[k + 1] = _itemCount;
            _rowSet[k] = cached.Set;
            _rowAccepting[k] = cached.Accepting;
            _rowSerial[k] = cached.Serial;
            return true;
        }
        if (_scanCache.Count >= MaxCachedRows)
            _scanCache.Clear();
        var ok = ScanUncached(lexemes);
        if (!ok)
        {
            _scanCache[key] = new CachedRow(null, null, 0, false, 0);
            return false;
        }
        var row = _rowCount - 1;
        var serial = _nextSerial++;
        _rowSerial[row] = serial;
        _scanCache[key] = new CachedRow(_items[_rowStart[row].._itemCount], _keys[_rowStart[row].._itemCount], _rowSet[row],
            _rowAccepting[row], serial);
        return true;
    }

    private bool ScanUncached(int[] lexemes)
    {
        var prevStart = _rowStart[_rowCount - 1];
        var prevEnd = _itemCount;
        BeginRow();
        var program = _g.Program;
        var keyBit = _g.KeyBit;
        for (var i = prevStart; i < prevEnd; i++)
        {
            var item = _items[i];
            var pos = (int)item;
            var sym = program[pos];
            if (sym < 0 && sym != Grammar.End && Array.BinarySearch(lexemes, Grammar.LexemeOf(sym)) >= 0)
            {
                var keys = _keys[i];
                var bit = keyBit[pos];
                if ((keys & bit) != 0)
                    continue; // this object already has that key
                Add(pos + 1, (int)(item >> 32), keys | bit);
            }
        }
        if (_itemCount == _rowStart[_rowCount - 1])
        {
            _rowCount--;
            return false;
        }
        if (!CloseRow())
        {
            Truncate(_rowCount - 1);
            return false;
        }
        return true;
    }

    private void BeginRow()
    {
        if (_rowCount + 2 > _rowStart.Length)
        {
            Array.Resize(ref _rowStart, _rowStart.Length * 2);
            Array.Resize(ref _rowSet, _rowStart.Length);
            Array.Resize(ref _rowAccepting, _rowStart.Length);
            Array.Resize(ref _rowSerial, _rowStart.Length);
        }
        _rowStart[_rowCount] = _itemCount;
        _rowCount++;
        _rowStart[_rowCount] = _itemCount;
        _seen.Clear();
        _seenKeyed.Clear();
    }

    private void Grow()
    {
        Array.Resize(ref _items, _items.Length * 2);
        Array.Resize(ref _keys, _items.Length);
    }

    private void Add(int pos, int origin, long keys = 0)
    {
        var item = ((long)origin << 32) | (uint)pos;
        if ((keys & _g.PendingKeyBit[pos]) != 0)
            return; // the key this rule still has to scan is already in the object
        if (keys == 0 ? !_seen.Add(item) : !_seenKeyed.Add((item, keys)))
            return;
        if (_itemCount == _items.Length)
            Grow();
        _keys[_itemCount] = keys;
        _items[_itemCount++] = item;
        if (_itemCount - _rowStart[_rowCount - 1] > MaxItemsPerRow)
            throw new GrammarException($"an Earley row grew past {MaxItemsPerRow} items (grammar too ambiguous)");
    }

    /// <summary>Prediction and completion for the row being built; records its lexeme set. False when the row
    /// allows neither a further lexeme nor the end of input.</summary>
    private bool CloseRow()
    {
        var k = _rowCount - 1;
        var start = _rowStart[k];
        var program = _g.Program;
        var carries = _g.CarriesKeys;
        var requiredAtEnd = _g.RequiredAtEnd;
        var accepting = false;
        _lexemes.Clear();
        for (var i = start; i < _itemCount; i++)
        {
            var item = _items[i];
            var pos = (int)item;
            var origin = (int)(item >> 32);
            var sym = program[pos];
            if (sym == Grammar.End)
            {
                var keys = _keys[i];
                var required = requiredAtEnd[pos];
                if ((keys & required) != required)
                    continue; // a required property is missing
                var lhs = _g.LhsAtEnd[pos];
                var carry = carries[lhs];
                if (pos == _g.Program.Length - 1 && origin == 0 && lhs == _g.Names.Length - 1)
                    accepting = true;
                var oStart = _rowStart[origin];
                var oEnd = origin == k ? _itemCount : _rowStart[origin + 1];
                for (var j = oStart; j < oEnd; j++)
                {
                    var other = _items[j];
                    if (program[(int)other] == lhs)
                        Add((int)other + 1, (int)(other >> 32), carry ? keys : _keys[j]);
                }
            }
            else if (sym >= 0)
            {
                foreach (var rulePos in _g.RulesOf[sym])
                    Add(rulePos, k);
                if (_g.Nullable[sym])
                    Add(pos + 1, origin, _keys[i]);
            }
            else
            {
                _lexemes.Add(Grammar.LexemeOf(sym));
            }
        }
        _rowStart[k + 1] = _itemCount;
        _lexemes.Sort();
        var unique = 0;
        for (var i = 0; i < _lexemes.Count; i++)
            if (i == 0 || _lexemes[i] != _lexemes[i - 1])
                _lexemes[unique++] = _lexemes[i];
        _lexemes.RemoveRange(unique, _lexemes.Count - unique);
        _rowSet[k] = _dfa.InternSet(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_lexemes));
        _rowAccepting[k] = accepting;
        return accepting || _lexemes.Count > 0;
    }
}
