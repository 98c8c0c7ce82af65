namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// One sequence's cache blocks (block j holds positions [j * block_size, (j + 1) * block_size)) and the chained
/// prefix hash of each leading block that is full and computed. Only <see cref="BlockManager"/> changes it.
/// </summary>
public sealed class BlockTable
{
    private readonly List<int> _blocks = new();
    private readonly List<ulong> _hashes = new();

    public IReadOnlyList<int> Blocks => _blocks;

    public int Count => _blocks.Count;

    /// <summary>Prefix hash of blocks [0, HashedCount): the chain the allocator caches them under.</summary>
    public int HashedCount => _hashes.Count;

    /// <summary>
    /// The blocks also hold a draft layer's rows (speculative decoding): they are hashed from
    /// <see cref="PrefixHash.DraftRoot"/>, and a reused prefix leaves out its last block (<see cref="BlockManager.ReuseCachedPrefix"/>).
    /// </summary>
    public bool TracksDraftCache { get; internal set; }

    /// <summary>Parent hash of the first block.</summary>
    internal ulong HashRoot => TracksDraftCache ? PrefixHash.DraftRoot : PrefixHash.Root;

    internal List<int> MutableBlocks => _blocks;

    internal List<ulong> Hashes => _hashes;
}
