namespace Glm.Onnx.Runtime.Execution.Pools;

/// <summary>Allocates the pool <paramref name="name"/> of decoder layer <paramref name="layer"/> where that layer runs.</summary>
public delegate CachePool CachePoolFactory(int layer, string name, int numBlocks, int blockSize, int width);
