using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution.Pools;

/// <summary>
/// Device memory for one cache pool, allocated once through the CUDA allocator of the session that uses the pool
/// (ORT's own allocator: the kernels and ORT agree on device and context). It is freed through that allocator, so it
/// must be disposed before the session.
/// </summary>
internal sealed class DevicePool : IDisposable
{
    private readonly OrtMemoryAllocation _allocation;

    public DevicePool(OrtAllocator allocator, StageDevice device, string name, long bytes)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        // The managed allocator API takes a 32-bit size. At float32 and 576 latent floats per token that is 1.8 M
        // tokens per layer, more than one device holds for a whole model, so the limit only bites on a wrong budget.
        if (bytes <= 0 || bytes > uint.MaxValue)
            throw new ArgumentException(
                $"Pool '{name}' on {device}: {bytes:N0} bytes; one device pool must be 1 to {uint.MaxValue:N0} bytes. Lower the cache budget or block count.");
        Device = device;
        Bytes = bytes;
        try
        {
            _allocation = allocator.Allocate((uint)bytes);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OutOfMemoryException($"Could not allocate KV cache pool '{name}' ({bytes:N0} bytes) on {device}: {e.Message} Lower the cache budget or block count.", e);
        }
    }

    public StageDevice Device { get; }

    public long Bytes { get; }

    /// <summary>The device address (never dereferenced on the host).</summary>
    // OrtMemoryAllocation is a SafeHandle over the allocated address; this object owns it for its whole life.
    public IntPtr Pointer => _allocation.DangerousGetHandle();

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting at <paramref name="offset"/> to the host.</summary>
    public void CopyToHost(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Bytes)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + destination.Length}) are outside the pool's {Bytes}.");
        CudaRuntime.CopyToHost(Device.DeviceId, Pointer + (nint)offset, destination);
    }

    public void Dispose() => _allocation.Dispose();
}
