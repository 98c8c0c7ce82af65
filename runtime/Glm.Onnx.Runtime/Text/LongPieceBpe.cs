using System.Text;
using Glm.Onnx.Contracts.Text;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// BPE merging for very long pre-tokens (a run of letters or punctuation with no spaces, thousands of bytes
/// long). Microsoft.ML.Tokenizers' merge loop is quadratic in the pre-token length; this one keeps the symbols in
/// a linked list and the candidate merges in a priority queue ordered by (rank, position), as Hugging Face
/// tokenizers does, so it is O(n log n) and gives the same ids (lowest rank first, leftmost among equals).
/// </summary>
internal sealed class LongPieceBpe
{
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[] _byteIds;

    private LongPieceBpe(Dictionary<long, (int Rank, int Id)> merges, int[] byteIds)
    {
        _merges = merges;
        _byteIds = byteIds;
    }

    /// <summary>Builds the merge table; null when some byte has no single-byte token (then this path is unusable).</summary>
    public static LongPieceBpe? Create(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<string> merges)
    {
        var byteIds = new int[256];
        for (var b = 0; b < 256; b++)
        {
            if (!vocabulary.TryGetValue(ByteLevelAlphabet.ToChar((byte)b).ToString(), out byteIds[b]))
                return null;
        }

        var table = new Dictionary<long, (int Rank, int Id)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var merge = merges[rank];
            var space = merge.IndexOf(' ');
            if (space <= 0)
                continue;
            var left = merge[..space];
            var right = merge[(space + 1)..];
            if (vocabulary.TryGetValue(left, out var l) && vocabulary.TryGetValue(right, out var r) &&
                vocabulary.TryGetValue(left + right, out var id))
                table.TryAdd(Key(l, r), (rank, id));
        }

        return new LongPieceBpe(table, byteIds);
    }

    public void Encode(ReadOnlySpan<char> piece, List<int> output)
    {
        var bytes = Encoding.UTF8.GetBytes(piece.ToArray());
        var n = bytes.Length;
        var ids = new int[n];
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        for (var i = 0; i < n; i++)
        {
            ids[i] = _byteIds[bytes[i]];
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }

        var queue = new PriorityQueue<(int Pos, int Id), long>();
        for (var i = 0; i + 1 < n; i++)
            Enqueue(queue, ids, i, i + 1);

        while (queue.TryDequeue(out var candidate, out _))
        {
            var pos = candidate.Pos;
            if (!alive[pos] || next[pos] < 0)
                continue;
            var right = next[pos];
            // Stale entry: one side was merged since it was queued.
            if (!_merges.TryGetValue(Key(ids[pos], ids[right]), out var merge) || merge.Id != candidate.Id)
                continue;

            ids[pos] = merge.Id;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0)
                prev[next[pos]] = pos;
            if (prev[pos] >= 0)
                Enqueue(queue, ids, prev[pos], pos);
            if (next[pos] >= 0)
                Enqueue(queue, ids, pos, next[pos]);
        }

        for (var i = 0; i >= 0 && i < n; i = next[i])
            output.Add(ids[i]);
    }

    private void Enqueue(PriorityQueue<(int Pos, int Id), long> queue, int[] ids, int left, int right)
    {
        if (_merges.TryGetValue(Key(ids[left], ids[right]), out var merge))
            queue.Enqueue((left, merge.Id), ((long)merge.Rank << 32) | (uint)left); // rank, then position
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
