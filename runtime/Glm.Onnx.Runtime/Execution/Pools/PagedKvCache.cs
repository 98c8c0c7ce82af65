using Glm.Onnx.Contracts;
using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Execution.Pools;

/// <summary>
/// The pools of a model's paged KV cache, laid out by a <see cref="CacheGeometry"/>: one latent pool per decoder layer
/// and one indexer-key pool per full-indexer layer. Allocated once at load; the executor binds each pool to its stage
/// session once.
/// </summary>
public sealed class PagedKvCache : IDisposable
{
    private readonly CachePool[] _latent;
    private readonly Dictionary<int, CachePool> _index;

    private PagedKvCache(CacheGeometry geometry, CachePool[] latent, Dictionary<int, CachePool> index)
    {
        Geometry = geometry;
        _latent = latent;
        _index = index;
    }

    public CacheGeometry Geometry { get; }

    public int NumBlocks => Geometry.NumBlocks;

    public int BlockSize => Geometry.BlockSize;

    public long TotalBytes => _latent.Sum(p => p.Bytes) + _index.Values.Sum(p => p.Bytes);

    public CachePool LatentPool(int layer) =>
        (uint)layer < (uint)_latent.Length ? _latent[layer] : throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the model has {_latent.Length} layers");

    public CachePool IndexPool(int layer) =>
        _index.TryGetValue(layer, out var pool) ? pool : throw new ArgumentException($"Layer {layer} has no indexer-key pool (it is not a full indexer layer).");

    public IEnumerable<CachePool> Pools => _latent.Concat(_index.Values);

    /// <summary>
    /// Allocates every pool; <paramref name="allocate"/> decides where each layer's pools live (default: host memory,
    /// see <see cref="CachePool(string, int, int, int)"/>).
    /// </summary>
    public static PagedKvCache Create(CacheGeometry geometry, CachePoolFactory? allocate = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        allocate ??= static (_, name, numBlocks, blockSize, width) => new CachePool(name, numBlocks, blockSize, width);
        var latent = new CachePool[geometry.NumLayers];
        var index = new Dictionary<int, CachePool>();
        try
        {
            for (int layer = 0; layer < geometry.NumLayers; layer++)
                latent[layer] = allocate(layer, GraphNames.LatentPool(layer), geometry.NumBlocks, geometry.BlockSize, geometry.LatentWidth);
            foreach (var layer in geometry.IndexLayers)
                index[layer] = allocate(layer, GraphNames.IndexPool(layer), geometry.NumBlocks, geometry.BlockSize, geometry.IndexWidth);
        }
        catch
        {
            foreach (var pool in latent.Where(p => p is not null).Concat(index.Values))
                pool.Dispose();
            throw;
        }
        return new PagedKvCache(geometry, latent, index);
    }

    public void Dispose()
    {
        foreach (var pool in Pools)
            pool.Dispose();
    }
}
