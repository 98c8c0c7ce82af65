using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// The shape of a model's paged cache: one latent pool per decoder layer and one indexer-key pool per full-indexer
/// layer, all [NumBlocks, BlockSize, width] float32, so that one block id addresses a token range in every pool.
/// Pure arithmetic: where the pools live and how they are allocated is the executor's business.
/// </summary>
public sealed record CacheGeometry(int NumBlocks, int BlockSize, int NumLayers, int LatentWidth, int IndexWidth, IReadOnlyList<int> IndexLayers)
{
    /// <summary>Bytes one block costs across all pools.</summary>
    private static long BytesPerBlock(CacheLayout layout, int numLayers, int blockSize) =>
        (long)blockSize * sizeof(float) * ((long)numLayers * layout.LatentWidth + (long)layout.IndexLayers.Count * layout.IndexWidth);

    /// <summary>Sizes the cache of a manifest's layout: an explicit block count, or as many blocks as the budget holds.</summary>
    public static CacheGeometry Plan(CacheLayout layout, int numLayers, KvCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        if (layout.DType != "float32")
            throw new NotSupportedException($"cache.dtype '{layout.DType}' is not supported; this runtime allocates float32 pools.");
        int blockSize = options.BlockSize ?? layout.BlockSize;
        if (blockSize <= 0)
            throw new ArgumentException($"Cache block size must be positive, got {blockSize}.");
        long perBlock = BytesPerBlock(layout, numLayers, blockSize);
        long blocks = options.NumBlocks ?? options.MemoryBudgetBytes / perBlock;
        if (blocks <= 0)
            throw new ArgumentException(
                $"The KV cache budget of {options.MemoryBudgetBytes:N0} bytes holds no block (one block of {blockSize} tokens costs {perBlock:N0} bytes).");
        if (blocks > int.MaxValue / blockSize)
            throw new ArgumentException($"{blocks} blocks of {blockSize} tokens exceed the int32 positions of the graph contract.");
        return new CacheGeometry((int)blocks, blockSize, numLayers, layout.LatentWidth, layout.IndexWidth, layout.IndexLayers);
    }
}
