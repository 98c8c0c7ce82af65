using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Converter.Verification;

/// <summary>
/// The paged cache pools of one sequence: a latent pool per layer and an indexer-key pool per full-indexer layer,
/// each [num_blocks, block_size, width] float32, allocated once and bound to every step as the same OrtValue (the
/// custom ops write new rows in place). The block table deliberately maps logical blocks to physical blocks in
/// reverse order, so a kernel that ignores the table fails verification instead of passing by accident.
/// </summary>
public sealed class SequenceCache : IDisposable
{
    private readonly Dictionary<string, OrtValue> _pools = new(StringComparer.Ordinal);

    internal SequenceCache(int maxTokens, int blockSize, IEnumerable<(string Name, int Width)> pools)
    {
        if (maxTokens <= 0) throw new ArgumentOutOfRangeException(nameof(maxTokens), "a sequence needs room for at least one token");
        BlockSize = blockSize;
        NumBlocks = (maxTokens + blockSize - 1) / blockSize;
        MaxTokens = NumBlocks * blockSize;
        BlockTable = Enumerable.Range(0, NumBlocks).Select(i => NumBlocks - 1 - i).ToArray();
        foreach (var (name, width) in pools)
        {
            var data = new float[(long)NumBlocks * blockSize * width];
            _pools[name] = OrtValue.CreateTensorValueFromMemory(data, [NumBlocks, blockSize, width]);
        }
    }

    public int BlockSize { get; }
    public int NumBlocks { get; }
    public int MaxTokens { get; }

    /// <summary>Tokens already in the cache (the sequence's past length).</summary>
    public int Length { get; internal set; }

    /// <summary>Physical block of each logical block.</summary>
    public int[] BlockTable { get; }

    internal OrtValue Pool(string name) =>
        _pools.TryGetValue(name, out var v) ? v : throw new InvalidOperationException($"no cache pool named '{name}'");

    public void Dispose()
    {
        foreach (var v in _pools.Values) v.Dispose();
        _pools.Clear();
    }
}
