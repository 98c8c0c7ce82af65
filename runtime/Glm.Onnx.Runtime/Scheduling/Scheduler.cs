using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>
/// Continuous batching over a paged cache. Each step: every running sequence (oldest first) gets its next chunk (one
/// token when decoding, up to the remaining budget when prefilling); then waiting sequences are admitted, oldest
/// first, while the token budget, the sequence limit and free blocks allow. When a running sequence needs a block and
/// none is free, the newest running sequence is preempted (its blocks released, its tokens kept; it is recomputed
/// later, reusing whatever of its prefix is still cached). A waiting sequence that does not fit simply waits.
/// The oldest running sequence is never preempted by another, so every request finishes.
/// Not thread-safe: the engine's step thread owns it.
/// </summary>
public sealed class Scheduler
{
    private readonly BlockAllocator _allocator;
    private readonly SchedulerOptions _options;
    private readonly List<Sequence> _running = new();
    private readonly LinkedList<Sequence> _waiting = new();

    public Scheduler(BlockAllocator allocator, SchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _allocator = allocator;
        _options = options;
    }

    public BlockAllocator Allocator => _allocator;

    public IReadOnlyList<Sequence> Running => _running;

    public int WaitingCount => _waiting.Count;

    public bool HasWork => _running.Count > 0 || _waiting.Count > 0;

    public long PreemptionCount { get; private set; }

    /// <summary>Tokens the whole pool can hold: the longest sequence that can ever run.</summary>
    public int CapacityTokens => _allocator.NumBlocks * _allocator.BlockSize;

    public void Add(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Status != SequenceStatus.Waiting || sequence.Admitted)
            throw new InvalidOperationException($"Sequence {sequence.Id} was already added.");
        if (sequence.Tokens.Count > CapacityTokens)
            throw new ArgumentException(
                $"Sequence {sequence.Id} has {sequence.Tokens.Count} tokens but the KV cache pool holds at most {CapacityTokens} " +
                $"({_allocator.NumBlocks} blocks of {_allocator.BlockSize}).");
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
            int needed = BlocksFor(sequence.ComputedLength + count) - sequence.Blocks.Count;
            while (_allocator.FreeBlockCount < needed)
            {
                var victim = _running[^1];
                Preempt(victim);
                preempted = true;
                if (victim == sequence)
                    break;
            }
            if (sequence.Status != SequenceStatus.Running)
                break;
            for (int b = 0; b < needed; b++)
                sequence.MutableBlocks.Add(_allocator.Allocate());
            chunks.Add(new ScheduledChunk(sequence, sequence.ComputedLength, count));
            budget -= count;
        }

        // New work waits while older work is being squeezed out of the pool.
        while (!preempted && budget > 0 && _waiting.First is { } node && _running.Count < _options.MaxSequences)
        {
            var sequence = node.Value;
            if (!sequence.Admitted && _options.EnablePrefixCaching)
                sequence.ReusedPromptTokens = ReuseCachedPrefix(sequence);
            else if (_options.EnablePrefixCaching)
                ReuseCachedPrefix(sequence);
            int count = Math.Min(sequence.Tokens.Count - sequence.ComputedLength, budget);
            int needed = BlocksFor(sequence.ComputedLength + count) - sequence.Blocks.Count;
            if (_allocator.FreeBlockCount < needed)
            {
                ReleaseBlocks(sequence);
                break;
            }
            for (int b = 0; b < needed; b++)
                sequence.MutableBlocks.Add(_allocator.Allocate());
            _waiting.RemoveFirst();
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
    /// Call before appending the tokens sampled from the step.
    /// </summary>
    public void Complete(ScheduledStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        foreach (var chunk in step.Chunks)
        {
            var sequence = chunk.Sequence;
            if (sequence.Status != SequenceStatus.Running || sequence.ComputedLength != chunk.Start)
                continue; // finished or preempted meanwhile
            sequence.ComputedLength += chunk.Count;
            if (_options.EnablePrefixCaching)
                CacheFullBlocks(sequence);
        }
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

    private int BlocksFor(int tokens) => (tokens + _allocator.BlockSize - 1) / _allocator.BlockSize;

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
        // Last block first: the allocator evicts earlier-released cached blocks first, so a prefix outlives its tail.
        for (int j = sequence.MutableBlocks.Count - 1; j >= 0; j--)
            _allocator.Release(sequence.MutableBlocks[j]);
        sequence.MutableBlocks.Clear();
        sequence.BlockHashes.Clear();
        sequence.ComputedLength = 0;
    }

    /// <summary>
    /// Takes references on the cached blocks that hold this sequence's leading full blocks and counts them as
    /// computed. At least one token is always left to compute, because its logits choose the next token.
    /// </summary>
    private int ReuseCachedPrefix(Sequence sequence)
    {
        int blockSize = _allocator.BlockSize;
        int reusable = (sequence.Tokens.Count - 1) / blockSize;
        ulong parent = PrefixHash.Root;
        for (int j = 0; j < reusable; j++)
        {
            var tokens = sequence.TokenSpan(j * blockSize, blockSize);
            int block = _allocator.TryReuse(parent, tokens);
            if (block < 0)
                break;
            parent = PrefixHash.Of(parent, tokens);
            sequence.MutableBlocks.Add(block);
            sequence.BlockHashes.Add(parent);
        }
        sequence.ComputedLength = sequence.Blocks.Count * blockSize;
        return sequence.ComputedLength;
    }

    private void CacheFullBlocks(Sequence sequence)
    {
        int blockSize = _allocator.BlockSize;
        while ((sequence.BlockHashes.Count + 1) * blockSize <= sequence.ComputedLength)
        {
            int j = sequence.BlockHashes.Count;
            ulong parent = j == 0 ? PrefixHash.Root : sequence.BlockHashes[j - 1];
            sequence.BlockHashes.Add(_allocator.MarkFull(sequence.Blocks[j], parent, sequence.TokenSpan(j * blockSize, blockSize)));
        }
    }
}
