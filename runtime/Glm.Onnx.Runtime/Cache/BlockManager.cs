namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// A sequence's side of the paged cache: grows its <see cref="BlockTable"/>, finds its cached prefix when it is
/// admitted, registers each block under its chained prefix hash once the block is full and computed, and gives the
/// blocks back. The <see cref="BlockAllocator"/> underneath counts references and evicts; the scheduler only decides
/// who runs. Not thread-safe: the engine's step thread owns it.
/// </summary>
public sealed class BlockManager
{
    private readonly BlockAllocator _allocator;

    /// <param name="allocator">The block pool (borrowed).</param>
    /// <param name="prefixCaching">Reuse cached full blocks of an identical prompt prefix; off, no block is hashed.</param>
    public BlockManager(BlockAllocator allocator, bool prefixCaching = true)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        _allocator = allocator;
        PrefixCaching = prefixCaching;
    }

    public bool PrefixCaching { get; }

    public int NumBlocks => _allocator.NumBlocks;

    public int BlockSize => _allocator.BlockSize;

    public int FreeBlockCount => _allocator.FreeBlockCount;

    /// <summary>Tokens the whole pool can hold: the longest sequence that can ever run.</summary>
    public int CapacityTokens => NumBlocks * BlockSize;

    /// <summary>Blocks <paramref name="table"/> still lacks to hold <paramref name="tokens"/> tokens (0 when it has them).</summary>
    public int BlocksMissing(BlockTable table, int tokens)
    {
        ArgumentNullException.ThrowIfNull(table);
        return Math.Max(0, (tokens + BlockSize - 1) / BlockSize - table.Count);
    }

    /// <summary>Allocates the blocks <paramref name="table"/> lacks to hold <paramref name="tokens"/> tokens.</summary>
    public void Grow(BlockTable table, int tokens)
    {
        for (int missing = BlocksMissing(table, tokens); missing > 0; missing--)
            table.MutableBlocks.Add(_allocator.Allocate());
    }

    /// <summary>
    /// Gives back the blocks of <paramref name="table"/> beyond those that hold <paramref name="tokens"/> tokens: the
    /// tail a rejected speculative run had allocated. Those blocks were never hashed (only accepted, full blocks are).
    /// </summary>
    public void Shrink(BlockTable table, int tokens)
    {
        ArgumentNullException.ThrowIfNull(table);
        int keep = (tokens + BlockSize - 1) / BlockSize;
        if (keep < table.HashedCount)
            throw new InvalidOperationException($"Shrinking to {tokens} tokens would drop {table.HashedCount - keep} hashed blocks.");
        for (int j = table.Count - 1; j >= keep; j--)
        {
            _allocator.Release(table.Blocks[j]);
            table.MutableBlocks.RemoveAt(j);
        }
    }

    /// <summary>
    /// On admission: takes references on the cached blocks that hold the leading full blocks of
    /// <paramref name="tokens"/> and returns how many tokens they cover (0 with prefix caching off). At least one
    /// token is always left to compute, because its logits choose the next token. A table that
    /// <see cref="BlockTable.TracksDraftCache"/> searches its own hash chain and leaves the last found block out: the
    /// draft row at that block's end was computed from the first token after the block, which only a matching next
    /// block vouches for.
    /// </summary>
    public int ReuseCachedPrefix(BlockTable table, ReadOnlySpan<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Count != 0)
            throw new InvalidOperationException($"A prefix is looked up for an empty block table only; this one holds {table.Count} blocks.");
        if (!PrefixCaching)
            return 0;
        // With a draft cache the dropped last block already leaves tokens to compute.
        int reusable = table.TracksDraftCache ? tokens.Length / BlockSize : (tokens.Length - 1) / BlockSize;
        ulong parent = table.HashRoot;
        for (int j = 0; j < reusable; j++)
        {
            var block = tokens.Slice(j * BlockSize, BlockSize);
            int id = _allocator.TryReuse(parent, block);
            if (id < 0)
                break;
            parent = PrefixHash.Of(parent, block);
            table.MutableBlocks.Add(id);
            table.Hashes.Add(parent);
        }
        if (table.TracksDraftCache && table.Count > 0)
        {
            _allocator.Release(table.Blocks[^1]);
            table.MutableBlocks.RemoveAt(table.Count - 1);
            table.Hashes.RemoveAt(table.Hashes.Count - 1);
        }
        return table.Count * BlockSize;
    }

    /// <summary>
    /// After a step: makes every block of <paramref name="table"/> that <paramref name="computed"/> (the sequence's
    /// computed tokens, from position 0) now fills findable by its prefix hash.
    /// </summary>
    public void RegisterFullBlocks(BlockTable table, ReadOnlySpan<int> computed)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (!PrefixCaching)
            return;
        var hashes = table.Hashes;
        while ((hashes.Count + 1) * BlockSize <= computed.Length)
        {
            int j = hashes.Count;
            ulong parent = j == 0 ? table.HashRoot : hashes[j - 1];
            hashes.Add(_allocator.MarkFull(table.Blocks[j], parent, computed.Slice(j * BlockSize, BlockSize)));
        }
    }

    /// <summary>Returns every block of <paramref name="table"/> to the allocator and empties it.</summary>
    public void Release(BlockTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        // Last block first: the allocator evicts earlier-released cached blocks first, so a prefix outlives its tail.
        for (int j = table.Count - 1; j >= 0; j--)
            _allocator.Release(table.Blocks[j]);
        table.MutableBlocks.Clear();
        table.Hashes.Clear();
    }
}
