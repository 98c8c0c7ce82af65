namespace Glm.Onnx.Grammar.Vocabulary;

/// <summary>
/// A flat token trie in pre-order (docs/structured-output.md): node i's subtree is [i, End[i]), so the mask walk is a
/// loop over arrays that skips a dead subtree with one assignment. Node 0 is the root (no byte). Tokens ending at
/// node i are TokenIds[TokenStart[i] .. TokenStart[i + 1]).
/// </summary>
internal sealed class TokenTrie
{
    public byte[] Byte { get; }
    public int[] End { get; }
    public int[] TokenStart { get; }
    public int[] TokenIds { get; }
    public int NodeCount => Byte.Length;

    public TokenTrie(IReadOnlyList<(byte[] Bytes, int Id)> tokens)
    {
        var sorted = tokens.OrderBy(t => t.Bytes, ByteArrayComparer.Instance).ThenBy(t => t.Id).ToList();
        var bytes = new List<byte> { 0 };
        var ends = new List<int> { 0 };
        var tokStart = new List<int> { 0 };
        var ids = new List<int>();
        var path = new List<int> { 0 }; // node index per depth
        byte[] prev = [];
        foreach (var (tok, id) in sorted)
        {
            var common = 0;
            while (common < prev.Length && common < tok.Length && prev[common] == tok[common])
                common++;
            // Close nodes deeper than the common prefix.
            while (path.Count - 1 > common)
            {
                ends[path[^1]] = bytes.Count;
                path.RemoveAt(path.Count - 1);
            }
            for (var d = common; d < tok.Length; d++)
            {
                path.Add(bytes.Count);
                bytes.Add(tok[d]);
                ends.Add(0);
                tokStart.Add(ids.Count);
            }
            // Tokens attach to the node just made or reached: the ids list is in node order because of the sort.
            ids.Add(id);
            prev = tok;
        }
        while (path.Count > 0)
        {
            ends[path[^1]] = bytes.Count;
            path.RemoveAt(path.Count - 1);
        }
        tokStart.Add(ids.Count);
        Byte = bytes.ToArray();
        End = ends.ToArray();
        TokenStart = tokStart.ToArray();
        TokenIds = ids.ToArray();
    }

    private sealed class ByteArrayComparer : IComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
