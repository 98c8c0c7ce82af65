using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// The paged KV cache of a model: one latent pool per decoder layer and one indexer-key pool per full-indexer layer,
/// all with the same number of blocks, so one block id addresses a token range in every pool at once. Allocated once
/// at load; the executor binds each pool to its stage session once.
/// </summary>
public sealed class PagedKvCache : IDisposable
{
    private readonly CachePool[] _latent;
    private readonly Dictionary<int, CachePool> _index;

    private PagedKvCache(int numBlocks, int blockSize, CachePool[] latent, Dictionary<int, CachePool> index)
    {
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _latent = latent;
        _index = index;
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public long TotalBytes => _latent.Sum(p => p.Bytes) + _index.Values.Sum(p => p.Bytes);

    public CachePool LatentPool(int layer) =>
        (uint)layer < (uint)_latent.Length ? _latent[layer] : throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the model has {_latent.Length} layers");

    public CachePool IndexPool(int layer) =>
        _index.TryGetValue(layer, out var pool) ? pool : throw new ArgumentException($"Layer {layer} has no indexer-key pool (it is not a full indexer layer).");

    public IEnumerable<CachePool> Pools => _latent.Concat(_index.Values);

    /// <summary>Bytes one block costs across all pools.</summary>
    public static long BytesPerBlock(CacheLayout layout, int numLayers, int blockSize) =>
        (long)blockSize * sizeof(float) * ((long)numLayers * layout.LatentWidth + (long)layout.IndexLayers.Count * layout.IndexWidth);

    /// <summary>
    /// Allocates every pool; <paramref name="allocate"/> decides where each layer's pools live (default: host memory,
    /// see <see cref="CachePool(string, int, int, int)"/>).
    /// </summary>
    public static PagedKvCache Create(CacheLayout layout, int numLayers, KvCacheOptions options, CachePoolFactory? allocate = null)
    {
        allocate ??= static (_, name, numBlocks, blockSize, width) => new CachePool(name, numBlocks, blockSize, width);
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
        int numBlocks = (int)blocks;

        var latent = new CachePool[numLayers];
        var index = new Dictionary<int, CachePool>();
        try
        {
            for (int layer = 0; layer < numLayers; layer++)
                latent[layer] = allocate(layer, GraphNames.LatentPool(layer), numBlocks, blockSize, layout.LatentWidth);
            foreach (var layer in layout.IndexLayers)
                index[layer] = allocate(layer, GraphNames.IndexPool(layer), numBlocks, blockSize, layout.IndexWidth);
        }
        catch
        {
            foreach (var pool in latent.Where(p => p is not null).Concat(index.Values))
                pool.Dispose();
            throw;
        }
        return new PagedKvCache(numBlocks, blockSize, latent, index);
    }

    public void Dispose()
    {
        foreach (var pool in Pools)
            pool.Dispose();
    }
}
