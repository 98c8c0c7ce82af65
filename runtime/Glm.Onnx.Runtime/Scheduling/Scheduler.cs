using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>
/// Continuous batching over a paged cache. Each step: every running sequence (oldest first) gets its next chunk (one
/// token when decoding, up to the remaining budget when prefilling); then waiting sequences are admitted, oldest
/// first, while the token budget, the sequence limit and free blocks allow. When a running sequence needs a block and
/// none is free, the newest running sequence is preempted (its blocks released, its tokens kept; it is recomputed
/// later, reusing whatever of its prefix is still cached). A waiting sequence that does not fit simply waits.
/// The oldest running sequence is never preempted by another, so every request finishes. A decoding sequence with a
/// <see cref="Sequence.DraftLimit"/> gets a verify chunk (its last token plus draft positions, counted in the budget);
/// <see cref="CompleteVerified"/> then keeps only what was accepted (docs/architecture.md, "Speculative decoding").
/// Not thread-safe: the engine's step thread owns it.
/// </summary>
public sealed class Scheduler
{
    private readonly BlockManager _blocks;
    private readonly SchedulerOptions _options;
    private readonly List<Sequence> _running = new();
    private readonly LinkedList<Sequence> _waiting = new();

    /// <param name="allocator">The block pool (borrowed); the scheduler's block manager works on it.</param>
    /// <param name="options">Step limits, and whether the block manager reuses cached prefixes.</param>
    public Scheduler(BlockAllocator allocator, SchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _blocks = new BlockManager(allocator, options.EnablePrefixCaching);
        _options = options;
    }

    public int WaitingCount => _waiting.Count;

    /// <summary>Sequences admitted and holding blocks (the running batch).</summary>
    public int RunningCount => _running.Count;

    /// <summary>Prompt tokens of admitted sequences looked up in the prefix cache (first admission only).</summary>
    public long PrefixQueriedTokens { get; private set; }

    /// <summary>Of <see cref="PrefixQueriedTokens"/>, those found cached (not recomputed).</summary>
    public long PrefixHitTokens { get; private set; }

    public bool HasWork => _running.Count > 0 || _waiting.Count > 0;

    public long PreemptionCount { get; private set; }

    /// <summary>Tokens the whole pool can hold: the longest sequence that can ever run.</summary>
    public int CapacityTokens => _blocks.CapacityTokens;

    public void Add(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Status != SequenceStatus.Waiting || sequence.Admitted)
            throw new InvalidOperationException($"Sequence {sequence.Id} was already added.");
        if (sequence.Tokens.Count > CapacityTokens)
            throw new ArgumentException(
                $"Sequence {sequence.Id} has {sequence.Tokens.Count} tokens but the KV cache pool holds at most {CapacityTokens} " +
                $"({_blocks.NumBlocks} blocks of {_blocks.BlockSize}).");
        _waiting.AddLast(sequence);
    }

    /// <summary>Plans the next step; null when nothing can run.</summary>
    public ScheduledStep? Schedule()
    {
        var chunks = new List<ScheduledChunk>();
        int budget = _options.MaxTokensPerStep;
        bool preempted = false;

        for (int i = 0; i < _running.Count && budget > 0; i++)
        {
            var sequence = _running[i];
            int count = Math.Min(sequence.Tokens.Count - sequence.ComputedLength, budget);
            if (count <= 0)
                continue;
            // A decode step may carry draft tokens to verify; they count against the budget like any token.
            int drafts = count == 1 ? Math.Min(sequence.DraftLimit, budget - 1) : 0;
            count += drafts;
            int tokens = sequence.ComputedLength + count;
            while (_blocks.FreeBlockCount < _blocks.BlocksMissing(sequence.BlockTable, tokens))
            {
                var victim = _running[^1];
                Preempt(victim);
                preempted = true;
                if (victim == sequence)
                    break;
            }
            if (sequence.Status != SequenceStatus.Running)
                break;
            _blocks.Grow(sequence.BlockTable, tokens);
            chunks.Add(new ScheduledChunk(sequence, sequence.ComputedLength, count, drafts));
            budget -= count;
        }

        // New work waits while older work is being squeezed out of the pool.
        while (!preempted && budget > 0 && _waiting.First is { } node && _running.Count < _options.MaxSequences)
        {
            var sequence = node.Value;
            sequence.ComputedLength = _blocks.ReuseCachedPrefix(sequence.BlockTable, sequence.TokenSpan(0, sequence.Tokens.Count));
            if (sequence.TracksDraftCache)
                sequence.DraftCacheLength = sequence.ComputedLength; // reused blocks bring their draft rows along
            if (!sequence.Admitted)
                sequence.ReusedPromptTokens = sequence.ComputedLength; // a recompute after preemption is not a reuse
            int count = Math.Min(sequence.Tokens.Count - sequence.ComputedLength, budget);
            int tokens = sequence.ComputedLength + count;
            if (_blocks.FreeBlockCount < _blocks.BlocksMissing(sequence.BlockTable, tokens))
            {
                ReleaseBlocks(sequence);
                break;
            }
            _blocks.Grow(sequence.BlockTable, tokens);
            _waiting.RemoveFirst();
            if (!sequence.Admitted && _options.EnablePrefixCaching)
            {
                PrefixQueriedTokens += sequence.PromptLength;
                PrefixHitTokens += sequence.ReusedPromptTokens;
            }
            sequence.Admitted = true;
            sequence.Status = SequenceStatus.Running;
            _running.Add(sequence);
            chunks.Add(new ScheduledChunk(sequence, sequence.ComputedLength, count));
            budget -= count;
        }

        return chunks.Count == 0 ? null : new ScheduledStep(chunks);
    }

    /// <summary>
    /// Records that a step's chunks are now in the cache, and makes blocks that became full findable by prefix.
    /// Call before appending the tokens sampled from the step. Chunks with drafts are left for
    /// <see cref="CompleteVerified"/>, once the engine knows how many of their positions were accepted.
    /// </summary>
    public void Complete(ScheduledStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        foreach (var chunk in step.Chunks)
            if (chunk.Drafts == 0)
                Advance(chunk, chunk.Count);
    }

    /// <summary>
    /// Records a verify chunk's outcome: its first <paramref name="acceptedPositions"/> positions (the last known
    /// token and the accepted drafts) stay in the cache; the rest leave no trace: the sequence's length stops before
    /// them and blocks that held only rejected positions go back to the allocator. Call after appending the accepted
    /// tokens, so that a block they fill is registered with its real content.
    /// </summary>
    public void CompleteVerified(ScheduledChunk chunk, int acceptedPositions)
    {
        if (chunk.Drafts == 0 || acceptedPositions < 1 || acceptedPositions > chunk.Count)
            throw new ArgumentOutOfRangeException(nameof(acceptedPositions), acceptedPositions,
                $"a verify chunk of {chunk.Count} positions ({chunk.Drafts} drafts) keeps 1 to {chunk.Count} of them");
        if (Advance(chunk, acceptedPositions))
            _blocks.Shrink(chunk.Sequence.BlockTable, chunk.Sequence.ComputedLength);
    }

    /// <summary>
    /// Registers the full blocks of a sequence whose draft cache caught up (hashes wait for the draft rows, so that a
    /// reused block always brings valid ones).
    /// </summary>
    public void RegisterDraftRows(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Status == SequenceStatus.Running)
            Register(sequence);
    }

    private bool Advance(ScheduledChunk chunk, int positions)
    {
        var sequence = chunk.Sequence;
        if (sequence.Status != SequenceStatus.Running || sequence.ComputedLength != chunk.Start)
            return false; // finished or preempted meanwhile
        sequence.ComputedLength += positions;
        Register(sequence);
        return true;
    }

    // Only what every cache of the sequence holds is hashed: with a draft cache, the shorter of the two.
    private void Register(Sequence sequence)
    {
        int length = sequence.TracksDraftCache ? Math.Min(sequence.ComputedLength, sequence.DraftCacheLength) : sequence.ComputedLength;
        _blocks.RegisterFullBlocks(sequence.BlockTable, sequence.TokenSpan(0, length));
    }

    /// <summary>Removes a sequence (finished or cancelled) and returns its blocks to the allocator at once.</summary>
    public void Finish(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Status == SequenceStatus.Finished)
            return;
        if (sequence.Status == SequenceStatus.Running)
            _running.Remove(sequence);
        else
            _waiting.Remove(sequence);
        ReleaseBlocks(sequence);
        sequence.Status = SequenceStatus.Finished;
    }

    private void Preempt(Sequence sequence)
    {
        _running.Remove(sequence);
        ReleaseBlocks(sequence);
        sequence.Status = SequenceStatus.Waiting;
        sequence.Preemptions++;
        PreemptionCount++;
        _waiting.AddFirst(sequence);
    }

    private void ReleaseBlocks(Sequence sequence)
    {
        _blocks.Release(sequence.BlockTable);
        sequence.ComputedLength = 0;
        if (sequence.TracksDraftCache)
            sequence.DraftCacheLength = 0;
    }
}
