namespace Glm.Onnx.Runtime.Cache;

/// <summary>How big the paged cache is: an explicit block count, or as many blocks as a memory budget holds.</summary>
/// <param name="NumBlocks">Blocks in every pool; wins over the budget when set.</param>
/// <param name="MemoryBudgetBytes">Bytes for all pools together (latent pools of every layer and indexer pools).</param>
/// <param name="BlockSize">Tokens per block; default the manifest's cache.block_size.</param>
/// <param name="BlockOrder">The order in which blocks are handed out (<see cref="Cache.BlockOrder.Reversed"/> for verification).</param>
public sealed record KvCacheOptions(
    int? NumBlocks = null,
    long MemoryBudgetBytes = KvCacheOptions.DefaultBudget,
    int? BlockSize = null,
    BlockOrder BlockOrder = BlockOrder.Ascending)
{
    public const long DefaultBudget = 256L << 20;
}
