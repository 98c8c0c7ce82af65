namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// Hands out cache block ids with reference counts and keeps full blocks findable by their prefix hash after their
/// last user lets go, so a later request with the same prompt prefix reuses them instead of recomputing. Block ids
/// index every pool (latent and indexer) at once, so a reused block brings both caches along.
/// Free blocks sit in one queue: blocks without a cached prefix at the head (taken first, nothing is lost), cached
/// ones at the tail in release order (least recently used evicted first). Not thread-safe: the engine's step thread
/// owns it.
/// </summary>
public sealed class BlockAllocator
{
    private const int None = -1;

    private readonly int[] _refCounts;
    private readonly int[] _prev;
    private readonly int[] _next;
    private readonly bool[] _inFreeQueue;
    private readonly ulong[] _hash;
    private readonly ulong[] _parentHash;
    private readonly bool[] _hasHash;
    private readonly int[] _tokens; // [NumBlocks * BlockSize]: the tokens a cached block holds, to rule out collisions
    private readonly Dictionary<ulong, int> _cached = new();
    private int _head = None;
    private int _tail = None;

    public BlockAllocator(int numBlocks, int blockSize, BlockOrder order = BlockOrder.Ascending)
    {
        if (numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "needs at least one block");
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "must be positive");
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _refCounts = new int[numBlocks];
        _prev = new int[numBlocks];
        _next = new int[numBlocks];
        _inFreeQueue = new bool[numBlocks];
        _hash = new ulong[numBlocks];
        _parentHash = new ulong[numBlocks];
        _hasHash = new bool[numBlocks];
        _tokens = new int[(long)numBlocks * blockSize <= int.MaxValue ? numBlocks * blockSize : throw new ArgumentOutOfRangeException(nameof(numBlocks))];
        for (int b = 0; b < numBlocks; b++)
            PushTail(order == BlockOrder.Reversed ? numBlocks - 1 - b : b);
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    /// <summary>Blocks that can be allocated now: never used, released, or cached but unreferenced (evictable).</summary>
    public int FreeBlockCount { get; private set; }

    /// <summary>Full blocks currently findable by prefix hash (referenced or not).</summary>
    public int CachedBlockCount => _cached.Count;

    public int RefCount(int block) => _refCounts[CheckBlock(block)];

    public bool IsCached(int block) => _hasHash[CheckBlock(block)];

    /// <summary>Takes a block for new content (evicting the least recently used cached block if needed).</summary>
    public int Allocate()
    {
        if (_head == None)
            throw new InvalidOperationException($"The KV cache block pool is exhausted ({NumBlocks} blocks all referenced).");
        int block = _head;
        Unlink(block);
        if (_hasHash[block])
        {
            _cached.Remove(_hash[block]);
            _hasHash[block] = false;
        }
        _refCounts[block] = 1;
        return block;
    }

    /// <summary>Adds a user to a block that is already referenced (e.g. a forked sequence).</summary>
    public void AddRef(int block)
    {
        if (_refCounts[CheckBlock(block)] <= 0)
            throw new InvalidOperationException($"Block {block} is not allocated; use Allocate or TryReuse.");
        _refCounts[block]++;
    }

    /// <summary>Drops one user; at zero the block becomes free (and stays findable if it holds a cached prefix).</summary>
    public void Release(int block)
    {
        if (_refCounts[CheckBlock(block)] <= 0)
            throw new InvalidOperationException($"Block {block} released more often than it was taken.");
        if (--_refCounts[block] > 0)
            return;
        if (_hasHash[block])
            PushTail(block);
        else
            PushHead(block);
    }

    /// <summary>
    /// Finds the cached block that holds <paramref name="tokens"/> after the prefix hashed as
    /// <paramref name="parentHash"/>, takes a reference on it and returns its id; -1 when there is none.
    /// </summary>
    public int TryReuse(ulong parentHash, ReadOnlySpan<int> tokens)
    {
        CheckFullBlock(tokens);
        ulong hash = PrefixHash.Of(parentHash, tokens);
        if (!_cached.TryGetValue(hash, out int block) || _parentHash[block] != parentHash ||
            !tokens.SequenceEqual(_tokens.AsSpan(block * BlockSize, BlockSize)))
            return None;
        if (_refCounts[block] == 0)
            Unlink(block);
        _refCounts[block]++;
        return block;
    }

    /// <summary>
    /// Records that a referenced block now holds the full, computed <paramref name="tokens"/> following the prefix
    /// hashed as <paramref name="parentHash"/>; returns the block's hash (the parent hash of the next block). When
    /// another block already caches the same prefix, this one stays unhashed and is simply freed later.
    /// </summary>
    public ulong MarkFull(int block, ulong parentHash, ReadOnlySpan<int> tokens)
    {
        if (_refCounts[CheckBlock(block)] <= 0)
            throw new InvalidOperationException($"Block {block} is not allocated; only a referenced block can be cached.");
        CheckFullBlock(tokens);
        ulong hash = PrefixHash.Of(parentHash, tokens);
        if (_hasHash[block])
        {
            if (_hash[block] != hash)
                throw new InvalidOperationException($"Block {block} is already cached with different content.");
            return hash;
        }
        if (_cached.ContainsKey(hash))
            return hash;
        _cached[hash] = block;
        _hash[block] = hash;
        _parentHash[block] = parentHash;
        _hasHash[block] = true;
        tokens.CopyTo(_tokens.AsSpan(block * BlockSize, BlockSize));
        return hash;
    }

    private void CheckFullBlock(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length != BlockSize)
            throw new ArgumentException($"A cached block holds exactly {BlockSize} tokens, got {tokens.Length}.", nameof(tokens));
    }

    private int CheckBlock(int block)
    {
        if ((uint)block >= (uint)NumBlocks)
            throw new ArgumentOutOfRangeException(nameof(block), block, $"block ids are 0..{NumBlocks - 1}");
        return block;
    }

    private void PushHead(int block)
    {
        _prev[block] = None;
        _next[block] = _head;
        if (_head != None) _prev[_head] = block; else _tail = block;
        _head = block;
        _inFreeQueue[block] = true;
        FreeBlockCount++;
    }

    private void PushTail(int block)
    {
        _next[block] = None;
        _prev[block] = _tail;
        if (_tail != None) _next[_tail] = block; else _head = block;
        _tail = block;
        _inFreeQueue[block] = true;
        FreeBlockCount++;
    }

    private void Unlink(int block)
    {
        if (!_inFreeQueue[block])
            throw new InvalidOperationException($"Block {block} is not in the free queue.");
        int prev = _prev[block], next = _next[block];
        if (prev != None) _next[prev] = next; else _head = next;
        if (next != None) _prev[next] = prev; else _tail = prev;
        _inFreeQueue[block] = false;
        FreeBlockCount--;
    }
}
