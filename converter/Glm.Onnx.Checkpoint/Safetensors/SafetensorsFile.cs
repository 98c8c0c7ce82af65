using System.IO.MemoryMappedFiles;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// One safetensors file: the header is parsed and validated on open; the data section is memory-mapped on first
/// access, so reading one tensor touches only that tensor's pages and the file is never loaded whole.
/// Spans returned by this type point into the mapping and are valid until <see cref="Dispose"/>.
/// Thread-safe for concurrent reads.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly object _mapLock = new();
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private bool _disposed;

    private SafetensorsFile(string path, SafetensorsHeader header)
    {
        FilePath = path;
        Header = header;
    }

    /// <summary>Full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The validated header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors => Header.Tensors;

    /// <summary>The <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>Opens <paramref name="path"/> and validates its header (see <see cref="SafetensorsHeader"/>).</summary>
    /// <exception cref="CheckpointFormatException">The file is truncated or its header is invalid.</exception>
    public static SafetensorsFile Open(string path)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: safetensors file not found", path);
        return new SafetensorsFile(path, SafetensorsHeader.Read(path));
    }

    /// <summary>The header entry of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor (the message names file and tensor).</exception>
    public TensorInfo GetInfo(string name) =>
        Header.Tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{FilePath}: tensor '{name}' not found in this file");

    /// <summary>All bytes of a tensor smaller than 2 GiB; use the ranged overload for larger ones.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = GetInfo(name);
        if (info.ByteLength > int.MaxValue)
            throw new InvalidOperationException(
                $"{FilePath}: tensor '{name}' is {info.ByteLength} bytes, over the 2 GiB span limit: read it in ranges with GetBytes(name, byteOffset, byteCount)");
        return GetBytes(name, 0, (int)info.ByteLength);
    }

    /// <summary><paramref name="byteCount"/> bytes of a tensor starting <paramref name="byteOffset"/> bytes into it.</summary>
    public ReadOnlySpan<byte> GetBytes(string name, long byteOffset, int byteCount)
    {
        var info = GetInfo(name);
        if (byteOffset < 0 || byteCount < 0 || byteOffset + byteCount > info.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"{FilePath}: tensor '{name}': range [{byteOffset}, {byteOffset + byteCount}) outside its {info.ByteLength} bytes");
        byte* start = DataPointer() + info.DataOffset + byteOffset;
        return new ReadOnlySpan<byte>(start, byteCount);
    }

    /// <summary>
    /// Converts <c>dest.Length</c> elements of tensor <paramref name="name"/>, starting at element
    /// <paramref name="firstElement"/> (row-major), to float32. Works for tensors of any size.
    /// </summary>
    public void CopyAsFloat32(string name, Span<float> dest, long firstElement = 0)
    {
        var info = GetInfo(name);
        if (firstElement < 0 || firstElement + dest.Length > info.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(firstElement),
                $"{FilePath}: tensor '{name}': elements [{firstElement}, {firstElement + dest.Length}) outside its {info.ElementCount} elements");
        int size = info.DType.ElementSize();
        // Convert in slices so a single span never exceeds 2 GiB of source bytes.
        const int slice = 1 << 24;
        for (int done = 0; done < dest.Length; done += slice)
        {
            int n = Math.Min(slice, dest.Length - done);
            var bytes = GetBytes(name, (firstElement + done) * size, n * size);
            DTypeConversion.ToFloat32(info.DType, bytes, dest.Slice(done, n));
        }
    }

    /// <summary>The whole tensor as a new float32 array (for tensors under 2^31 elements).</summary>
    public float[] ReadFloat32(string name)
    {
        var info = GetInfo(name);
        if (info.ElementCount > Array.MaxLength)
            throw new InvalidOperationException($"{FilePath}: tensor '{name}' has {info.ElementCount} elements, too many for one array");
        var result = new float[info.ElementCount];
        CopyAsFloat32(name, result);
        return result;
    }

    private byte* DataPointer()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_base != null) return _base + Header.DataStart;
        lock (_mapLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_base == null)
            {
                _map = MemoryMappedFile.CreateFromFile(FilePath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* p = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                _base = p + _view.PointerOffset;
            }
        }
        return _base + Header.DataStart;
    }

    /// <summary>Unmaps the file; spans obtained earlier become invalid.</summary>
    public void Dispose()
    {
        lock (_mapLock)
        {
            if (_disposed) return;
            _disposed = true;
            if (_view is not null)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
            }
            _map?.Dispose();
            _base = null;
        }
    }
}
