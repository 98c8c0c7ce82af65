using System.Runtime.InteropServices;

namespace Glm.Onnx.Runtime.Execution.Pools;

/// <summary>
/// One native, 64-byte-aligned allocation with a single owner. Cache pools live here rather than in managed arrays:
/// they can exceed 2 GB, never move, and are handed to ONNX Runtime by pointer.
/// </summary>
public sealed unsafe class NativeBuffer : SafeHandle
{
    public NativeBuffer(long bytes) : base(IntPtr.Zero, ownsHandle: true)
    {
        if (bytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "a native buffer needs at least one byte");
        Bytes = bytes;
        try
        {
            SetHandle((IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64));
        }
        catch (OutOfMemoryException e)
        {
            throw new OutOfMemoryException($"Could not allocate a KV cache pool of {bytes:N0} bytes; lower the cache budget or block count.", e);
        }
    }

    public long Bytes { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public IntPtr Pointer => IsClosed ? throw new ObjectDisposedException(nameof(NativeBuffer)) : handle;

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
