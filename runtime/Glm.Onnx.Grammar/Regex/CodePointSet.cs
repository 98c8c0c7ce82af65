namespace Glm.Onnx.Grammar.Regex;

/// <summary>A set of Unicode scalar values as sorted, disjoint, inclusive ranges (character classes of patterns).</summary>
internal sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    private readonly List<(int Lo, int Hi)> _ranges;

    private CodePointSet(List<(int, int)> ranges) => _ranges = ranges;

    public IReadOnlyList<(int Lo, int Hi)> Ranges => _ranges;

    public static CodePointSet Empty => new([]);

    public static CodePointSet All => Of((0, MaxCodePoint));

    public static CodePointSet Of(params (int Lo, int Hi)[] ranges) => Normalize(ranges);

    public static CodePointSet Single(int c) => Of((c, c));

    public bool IsEmpty => _ranges.Count == 0;

    public bool Contains(int c)
    {
        foreach (var (lo, hi) in _ranges)
            if (c >= lo && c <= hi)
                return true;
        return false;
    }

    public CodePointSet Union(CodePointSet other) => Normalize(_ranges.Concat(other._ranges));

    public CodePointSet Complement()
    {
        var result = new List<(int, int)>();
        var next = 0;
        foreach (var (lo, hi) in _ranges)
        {
            if (lo > next)
                result.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint)
            result.Add((next, MaxCodePoint));
        return new CodePointSet(result);
    }

    public CodePointSet Minus(CodePointSet other) => Complement().Union(other).Complement();

    private static CodePointSet Normalize(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var sorted = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<(int, int)>();
        foreach (var (lo, hi) in sorted)
        {
            if (merged.Count > 0 && lo <= merged[^1].Item2 + 1)
                merged[^1] = (merged[^1].Item1, Math.Max(merged[^1].Item2, hi));
            else
                merged.Add((lo, hi));
        }
        return new CodePointSet(merged);
    }
}
