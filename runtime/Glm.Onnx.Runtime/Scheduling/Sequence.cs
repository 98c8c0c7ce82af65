using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Scheduling;

public enum SequenceStatus
{
    Waiting,
    Running,
    Finished,
}

/// <summary>
/// One request's tokens and cache state as the scheduler sees them: all tokens so far (prompt then output), how
/// many of them are in the cache, and the blocks that hold them.
/// </summary>
public sealed class Sequence
{
    private readonly List<int> _tokens;

    public Sequence(long id, ReadOnlySpan<int> prompt)
    {
        if (prompt.IsEmpty)
            throw new ArgumentException("A sequence needs at least one prompt token.", nameof(prompt));
        Id = id;
        _tokens = new List<int>(prompt.Length + 16);
        foreach (var token in prompt)
            _tokens.Add(token);
        PromptLength = prompt.Length;
    }

    public long Id { get; }

    public int PromptLength { get; }

    public SequenceStatus Status { get; internal set; } = SequenceStatus.Waiting;

    /// <summary>Prompt then generated tokens.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    public int OutputLength => _tokens.Count - PromptLength;

    /// <summary>Tokens whose cache rows are written (the rest still need a forward pass).</summary>
    public int ComputedLength { get; internal set; }

    /// <summary>Prompt tokens served from the prefix cache when the request was first admitted.</summary>
    public int ReusedPromptTokens { get; internal set; }

    /// <summary>Times this sequence lost its blocks to make room for an older one.</summary>
    public int Preemptions { get; internal set; }

    /// <summary>The sequence's block table: block j holds positions [j * block_size, (j + 1) * block_size).</summary>
    public IReadOnlyList<int> Blocks => BlockTable.Blocks;

    /// <summary>Its blocks and their prefix hashes, kept by the <see cref="BlockManager"/>.</summary>
    internal BlockTable BlockTable { get; } = new();

    internal bool Admitted { get; set; }

    /// <summary>
    /// Most draft tokens the scheduler may add to this sequence's next decode step (speculative decoding; 0 = plain
    /// decode). The engine lowers it near the request's token limit so that a verify step never runs past it.
    /// </summary>
    public int DraftLimit { get; internal set; }

    /// <summary>
    /// Positions whose rows in the draft layer's own cache (the MTP layer's latent and indexer-key rows) hold what a
    /// teacher-forced pass over the accepted tokens would hold; -1 when the sequence keeps no draft cache. It never
    /// exceeds <see cref="ComputedLength"/>, and only blocks below it are registered for prefix reuse
    /// (docs/architecture.md, "Speculative decoding").
    /// </summary>
    public int DraftCacheLength { get; internal set; } = -1;

    /// <summary>True when the sequence keeps a draft cache (<see cref="DraftCacheLength"/> is tracked).</summary>
    public bool TracksDraftCache => DraftCacheLength >= 0;

    /// <summary>
    /// Makes the sequence keep a draft cache: its blocks are hashed under their own prefix root (a block cached by a
    /// sequence without draft rows is never reused by one that needs them, and the reverse) and the last block of a
    /// reused prefix is left out, because the draft row at a block's end depends on the first token after it.
    /// </summary>
    internal void TrackDraftCache()
    {
        if (Admitted)
            throw new InvalidOperationException($"Sequence {Id} is already admitted; a draft cache is chosen before.");
        DraftCacheLength = 0;
        BlockTable.TracksDraftCache = true;
    }

    /// <summary>The draft layer's rows for [0, <paramref name="length"/>) are now written.</summary>
    internal void MarkDraftCache(int length)
    {
        if (!TracksDraftCache || length < DraftCacheLength || length > ComputedLength)
            throw new InvalidOperationException(
                $"Sequence {Id}: draft cache length {length} is outside [{DraftCacheLength}, {ComputedLength}] or not tracked.");
        DraftCacheLength = length;
    }

    public void AppendToken(int token)
    {
        if (Status == SequenceStatus.Finished)
            throw new InvalidOperationException($"Sequence {Id} is finished; no tokens can be appended.");
        _tokens.Add(token);
    }

    /// <summary>Copies the tokens in [start, start + count) into <paramref name="destination"/>.</summary>
    public void CopyTokens(int start, int count, Span<int> destination) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens).Slice(start, count).CopyTo(destination);

    internal ReadOnlySpan<int> TokenSpan(int start, int count) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens).Slice(start, count);
}
