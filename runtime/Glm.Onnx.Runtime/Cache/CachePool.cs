using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// One float32 pool [num_blocks, block_size, width] in native memory, with the OrtValue that wraps that same memory.
/// The OrtValue is bound to the session once; the custom ops write new rows through its pointer, so nothing is ever
/// copied per step.
/// </summary>
public sealed class CachePool : IDisposable
{
    private readonly NativeBuffer _buffer;

    public CachePool(string name, int numBlocks, int blockSize, int width)
    {
        if (numBlocks <= 0 || blockSize <= 0 || width <= 0)
            throw new ArgumentException($"Pool '{name}': shape [{numBlocks}, {blockSize}, {width}] must be positive.");
        Name = name;
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        Width = width;
        _buffer = new NativeBuffer((long)numBlocks * blockSize * width * sizeof(float));
        Value = OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [numBlocks, blockSize, width], _buffer.Pointer, _buffer.Bytes);
    }

    /// <summary>The graph input name, e.g. latent_pool.3.</summary>
    public string Name { get; }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public int Width { get; }

    public long Bytes => _buffer.Bytes;

    /// <summary>Start of the pool's memory (what the kernels see).</summary>
    public IntPtr Pointer => _buffer.Pointer;

    public OrtValue Value { get; }

    /// <summary>A copy of the row that holds position <paramref name="row"/> of block <paramref name="block"/> (inspection and tests).</summary>
    public unsafe float[] ReadRow(int block, int row)
    {
        if ((uint)block >= (uint)NumBlocks || (uint)row >= (uint)BlockSize)
            throw new ArgumentOutOfRangeException(nameof(block), $"Pool '{Name}': row ({block}, {row}) is outside [{NumBlocks}, {BlockSize}].");
        var start = (float*)Pointer + ((long)block * BlockSize + row) * Width;
        return new ReadOnlySpan<float>(start, Width).ToArray();
    }

    public void Dispose()
    {
        Value.Dispose();
        _buffer.Dispose();
    }
}
