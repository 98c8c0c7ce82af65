using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Runtime.Execution.Pools;

/// <summary>
/// One float32 pool [num_blocks, block_size, width] in host memory or in a CUDA device's memory, with the OrtValue
/// that wraps that same memory (with the matching memory info, so ORT never copies it). The OrtValue is bound to the
/// session once; the custom ops write new rows through its pointer, so nothing is ever copied per step.
/// </summary>
public sealed class CachePool : IDisposable
{
    private readonly NativeBuffer? _buffer;
    private readonly DevicePool? _device;
    private readonly OrtMemoryInfo? _deviceMemory;

    public CachePool(string name, int numBlocks, int blockSize, int width)
    {
        CheckShape(name, numBlocks, blockSize, width);
        Name = name;
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        Width = width;
        Device = StageDevice.Cpu;
        _buffer = new NativeBuffer((long)numBlocks * blockSize * width * sizeof(float));
        Value = OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [numBlocks, blockSize, width], _buffer.Pointer, _buffer.Bytes);
    }

    /// <summary>A pool in the memory of <paramref name="device"/>, allocated through a CUDA session's allocator.</summary>
    internal CachePool(string name, int numBlocks, int blockSize, int width, StageDevice device, OrtAllocator allocator)
    {
        CheckShape(name, numBlocks, blockSize, width);
        Name = name;
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        Width = width;
        Device = device;
        _device = new DevicePool(allocator, device, name, (long)numBlocks * blockSize * width * sizeof(float));
        try
        {
            _deviceMemory = CudaPlacement.DeviceMemory(device);
            Value = OrtValue.CreateTensorValueWithData(
                _deviceMemory, TensorElementType.Float, [numBlocks, blockSize, width], _device.Pointer, _device.Bytes);
        }
        catch
        {
            _deviceMemory?.Dispose();
            _device.Dispose();
            throw;
        }
    }

    /// <summary>Where the pool's memory is: the CPU, or the CUDA device of the stage that uses it.</summary>
    public StageDevice Device { get; }

    /// <summary>The graph input name, e.g. latent_pool.3.</summary>
    public string Name { get; }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public int Width { get; }

    public long Bytes => _buffer?.Bytes ?? _device!.Bytes;

    /// <summary>Start of the pool's memory (what the kernels see): a host address, or a device address for a CUDA pool.</summary>
    public IntPtr Pointer => _buffer?.Pointer ?? _device!.Pointer;

    public OrtValue Value { get; }

    /// <summary>A copy of the row that holds position <paramref name="row"/> of block <paramref name="block"/> (inspection and tests).</summary>
    public unsafe float[] ReadRow(int block, int row)
    {
        if ((uint)block >= (uint)NumBlocks || (uint)row >= (uint)BlockSize)
            throw new ArgumentOutOfRangeException(nameof(block), $"Pool '{Name}': row ({block}, {row}) is outside [{NumBlocks}, {BlockSize}].");
        long offset = ((long)block * BlockSize + row) * Width;
        if (_device is not null)
        {
            // Device memory: copied back once the device has finished every queued step.
            var copy = new float[Width];
            _device.CopyToHost(offset * sizeof(float), System.Runtime.InteropServices.MemoryMarshal.AsBytes(copy.AsSpan()));
            return copy;
        }
        return new ReadOnlySpan<float>((float*)Pointer + offset, Width).ToArray();
    }

    public void Dispose()
    {
        Value.Dispose();
        _buffer?.Dispose();
        _device?.Dispose();
        _deviceMemory?.Dispose();
    }

    private static void CheckShape(string name, int numBlocks, int blockSize, int width)
    {
        if (numBlocks <= 0 || blockSize <= 0 || width <= 0)
            throw new ArgumentException($"Pool '{name}': shape [{numBlocks}, {blockSize}, {width}] must be positive.");
    }
}
