namespace Glm.Onnx.Grammar.Regex;

/// <summary>
/// Hash-consed regular expressions over bytes with Brzozowski derivatives (docs/structured-output.md): every node is
/// an int, structurally equal nodes share one id, so a derivative vector identifies a lexer DFA state. Supports
/// intersection and complement (string constraints combined with patterns, keys other than the named properties).
/// Not thread-safe: the lexer DFA calls it under its own lock.
/// </summary>
internal sealed class RegexBuilder
{
    public const int Nothing = 0;
    public const int Epsilon = 1;
    /// <summary>Any byte string (complement of nothing).</summary>
    public const int Everything = 2;

    private enum Kind : byte { Nothing, Epsilon, Bytes, Concat, Or, And, Not, Repeat }

    private Kind[] _kind = new Kind[1024];
    private int[] _a = new int[1024];
    private int[] _b = new int[1024];
    private int[] _min = new int[1024];
    private int[] _max = new int[1024];
    private bool[] _nullable = new bool[1024];
    private int _count;
    private readonly Dictionary<(Kind, int, int, int, int), int> _intern = new();
    private readonly List<ulong[]> _byteSets = new();
    private readonly Dictionary<(ulong, ulong, ulong, ulong), int> _byteSetIds = new();
    private readonly Dictionary<long, int> _derivatives = new();
    /// <summary>Per node, 4 words: a superset of the bytes whose derivative is not Nothing (see <see cref="MayStart"/>).</summary>
    private ulong[] _first = new ulong[4096];
    private bool[] _firstKnown = new bool[1024];

    /// <summary>Nodes made so far; the grammar compiler bounds it so no input can blow up memory.</summary>
    public int Count => _count;

    public int MaxNodes { get; set; } = 2_000_000;

    public RegexBuilder()
    {
        Make(Kind.Nothing, 0, 0, 0, 0, false);
        Make(Kind.Epsilon, 0, 0, 0, 0, true);
        Make(Kind.Not, Nothing, 0, 0, 0, true);
    }

    public bool IsNullable(int node) => _nullable[node];

    private int Make(Kind kind, int a, int b, int min, int max, bool nullable)
    {
        var key = (kind, a, b, min, max);
        if (_intern.TryGetValue(key, out var id))
            return id;
        if (_count >= MaxNodes)
            throw new GrammarException($"regular expressions grew past {MaxNodes} nodes (a pattern or length bound too large)");
        if (_count == _kind.Length)
        {
            var n = _count * 2;
            Array.Resize(ref _kind, n); Array.Resize(ref _a, n); Array.Resize(ref _b, n);
            Array.Resize(ref _min, n); Array.Resize(ref _max, n); Array.Resize(ref _nullable, n);
        }
        id = _count++;
        _kind[id] = kind; _a[id] = a; _b[id] = b; _min[id] = min; _max[id] = max; _nullable[id] = nullable;
        _intern[key] = id;
        return id;
    }

    /// <summary>A set of bytes given as four 64-bit words (bit i = byte i).</summary>
    public int Bytes(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        if ((w0 | w1 | w2 | w3) == 0)
            return Nothing;
        var key = (w0, w1, w2, w3);
        if (!_byteSetIds.TryGetValue(key, out var set))
        {
            set = _byteSets.Count;
            _byteSets.Add([w0, w1, w2, w3]);
            _byteSetIds[key] = set;
        }
        return Make(Kind.Bytes, set, 0, 0, 0, false);
    }

    public int ByteRange(int lo, int hi)
    {
        Span<ulong> w = stackalloc ulong[4];
        for (var c = lo; c <= hi; c++)
            w[c >> 6] |= 1UL << (c & 63);
        return Bytes(w[0], w[1], w[2], w[3]);
    }

    public int Byte(int value) => ByteRange(value, value);

    public int Literal(ReadOnlySpan<byte> bytes)
    {
        var r = Epsilon;
        for (var i = bytes.Length - 1; i >= 0; i--)
            r = Concat(Byte(bytes[i]), r);
        return r;
    }

    public int Literal(string text) => Literal(System.Text.Encoding.UTF8.GetBytes(text));

    public int Concat(int a, int b)
    {
        if (a == Nothing || b == Nothing)
            return Nothing;
        if (a == Epsilon)
            return b;
        if (b == Epsilon)
            return a;
        if (_kind[a] == Kind.Concat)
            return Concat(_a[a], Concat(_b[a], b));
        return Make(Kind.Concat, a, b, 0, 0, _nullable[a] && _nullable[b]);
    }

    public int Seq(params int[] parts)
    {
        var r = Epsilon;
        for (var i = parts.Length - 1; i >= 0; i--)
            r = Concat(parts[i], r);
        return r;
    }

    public int Or(int a, int b) => Combine(Kind.Or, [a, b]);

    public int Or(IEnumerable<int> parts) => Combine(Kind.Or, parts.ToList());

    public int And(int a, int b) => Combine(Kind.And, [a, b]);

    public int Not(int a)
    {
        if (_kind[a] == Kind.Not)
            return _a[a];
        return Make(Kind.Not, a, 0, 0, 0, !_nullable[a]);
    }

    /// <summary>a{min,max}; max &lt; 0 means unbounded.</summary>
    public int Repeat(int a, int min, int max)
    {
        if (max >= 0 && max < min)
            return Nothing;
        if (max == 0)
            return Epsilon;
        if (a == Nothing)
            return min == 0 ? Epsilon : Nothing;
        if (a == Epsilon)
            return Epsilon;
        if (min == 1 && max == 1)
            return a;
        return Make(Kind.Repeat, a, 0, min, max, min == 0 || _nullable[a]);
    }

    public int Star(int a) => Repeat(a, 0, -1);

    public int Plus(int a) => Repeat(a, 1, -1);

    public int Optional(int a) => Or(a, Epsilon);

    /// <summary>Or/And over a flattened, sorted, duplicate-free list, stored as a right-nested binary chain so the
    /// intern table keys stay fixed-size.</summary>
    private int Combine(Kind kind, List<int> parts)
    {
        var flat = new List<int>(parts.Count + 2);
        void Add(int p)
        {
            if (_kind[p] == kind)
            {
                Add(_a[p]);
                Add(_b[p]);
            }
            else
            {
                flat.Add(p);
            }
        }
        foreach (var p in parts)
            Add(p);
        var absorbing = kind == Kind.Or ? Everything : Nothing;
        var neutral = kind == Kind.Or ? Nothing : Everything;
        if (flat.Contains(absorbing))
            return absorbing;
        flat.RemoveAll(p => p == neutral);
        flat.Sort();
        var r = -1;
        for (var i = flat.Count - 1; i >= 0; i--)
        {
            if (i + 1 < flat.Count && flat[i] == flat[i + 1])
                continue;
            if (r < 0)
            {
                r = flat[i];
                continue;
            }
            var nullable = kind == Kind.Or ? _nullable[flat[i]] || _nullable[r] : _nullable[flat[i]] && _nullable[r];
            r = Make(kind, flat[i], r, 0, 0, nullable);
        }
        return r < 0 ? neutral : r;
    }

    /// <summary>Byte sets made so far: byte classes computed earlier stay valid while this does not change.</summary>
    public int ByteSetCount => _byteSets.Count;

    /// <summary>One byte from each class of bytes that no byte set tells apart: derivatives (hence lexer
    /// transitions) are equal for all bytes of a class, so exhaustive checks need only these.</summary>
    public byte[] ByteClassRepresentatives() => ByteClasses(out _);

    /// <summary>The byte classes (see <see cref="ByteClassRepresentatives"/>): returns one representative per class
    /// and sets <paramref name="classOf"/> to each byte's class index.</summary>
    public byte[] ByteClasses(out byte[] classOf)
    {
        var cls = new int[256];
        var classes = 1;
        var map = new int[512];
        foreach (var set in _byteSets)
        {
            Array.Fill(map, -1, 0, 2 * classes);
            var next = 0;
            for (var b = 0; b < 256; b++)
            {
                var key = 2 * cls[b] + (int)((set[b >> 6] >> (b & 63)) & 1);
                if (map[key] < 0)
                    map[key] = next++;
                cls[b] = map[key];
            }
            classes = next;
        }
        var reps = new List<byte>();
        var index = new int[classes];
        Array.Fill(index, -1);
        classOf = new byte[256];
        for (var b = 0; b < 256; b++)
        {
            if (index[cls[b]] < 0)
            {
                index[cls[b]] = reps.Count;
                reps.Add((byte)b);
            }
            classOf[b] = (byte)index[cls[b]];
        }
        return reps.ToArray();
    }

    /// <summary>
    /// False only when the derivative of <paramref name="node"/> by <paramref name="b"/> is surely Nothing: a bit test
    /// that lets the lexer skip, without a derivative lookup, the lexemes a byte cannot continue (most of a key
    /// position's property names for most bytes). The set is a superset (an intersection or complement is not
    /// narrowed), so a true answer still derives.
    /// </summary>
    public bool MayStart(int node, byte b)
    {
        if (node >= _firstKnown.Length || !_firstKnown[node])
            FirstBytes(node);
        return (_first[4 * node + (b >> 6)] & (1UL << (b & 63))) != 0;
    }

    private void FirstBytes(int node)
    {
        if (node >= _firstKnown.Length)
        {
            var n = Math.Max(_firstKnown.Length * 2, node + 1);
            Array.Resize(ref _firstKnown, n);
            Array.Resize(ref _first, 4 * n);
        }
        if (_firstKnown[node])
            return;
        Span<ulong> w = stackalloc ulong[4];
        switch (_kind[node])
        {
            case Kind.Nothing:
            case Kind.Epsilon:
                break;
            case Kind.Bytes:
                _byteSets[_a[node]].CopyTo(w);
                break;
            case Kind.Concat:
                Union(w, _a[node]);
                if (_nullable[_a[node]])
                    Union(w, _b[node]);
                break;
            case Kind.Or:
            case Kind.And:
                Union(w, _a[node]);
                Union(w, _b[node]);
                break;
            case Kind.Repeat:
                Union(w, _a[node]);
                break;
            default:
                // A complement's derivative is never Nothing.
                w.Fill(ulong.MaxValue);
                break;
        }
        w.CopyTo(_first.AsSpan(4 * node, 4));
        _firstKnown[node] = true;
    }

    private void Union(Span<ulong> w, int child)
    {
        FirstBytes(child);
        for (var i = 0; i < 4; i++)
            w[i] |= _first[4 * child + i];
    }

    /// <summary>The derivative of <paramref name="node"/> by one byte: the strings s with (b s) in the language.</summary>
    public int Derive(int node, byte b)
    {
        var key = ((long)node << 8) | b;
        if (_derivatives.TryGetValue(key, out var cached))
            return cached;
        var result = DeriveUncached(node, b);
        _derivatives[key] = result;
        return result;
    }

    private int DeriveUncached(int node, byte b)
    {
        switch (_kind[node])
        {
            case Kind.Nothing:
            case Kind.Epsilon:
                return Nothing;
            case Kind.Bytes:
                return (_byteSets[_a[node]][b >> 6] & (1UL << (b & 63))) != 0 ? Epsilon : Nothing;
            case Kind.Concat:
            {
                var head = Concat(Derive(_a[node], b), _b[node]);
                return _nullable[_a[node]] ? Or(head, Derive(_b[node], b)) : head;
            }
            case Kind.Or:
                return Or(Derive(_a[node], b), Derive(_b[node], b));
            case Kind.And:
                return And(Derive(_a[node], b), Derive(_b[node], b));
            case Kind.Not:
                return Not(Derive(_a[node], b));
            case Kind.Repeat:
            {
                var max = _max[node];
                var rest = Repeat(_a[node], Math.Max(_min[node] - 1, 0), max < 0 ? -1 : max - 1);
                return Concat(Derive(_a[node], b), rest);
            }
            default:
                throw new InvalidOperationException("unknown regex node kind");
        }
    }

}
