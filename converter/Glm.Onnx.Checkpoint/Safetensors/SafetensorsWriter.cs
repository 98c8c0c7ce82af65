using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>A tensor to be written: name, dtype, shape.</summary>
public sealed record TensorSpec(string Name, DType DType, long[] Shape)
{
    /// <summary>Bytes the tensor occupies.</summary>
    public long ByteLength => checked(ShapeMath.ElementCount(Shape) * DType.ElementSize());
}

/// <summary>
/// Streams one safetensors file: the header (all names, dtypes, shapes, offsets) is written on <see cref="Create"/>,
/// then the tensors' bytes in the declared order, each in one call or in pieces, so memory stays bounded by what the
/// caller holds. <see cref="Complete"/> checks every tensor was written in full; disposing an incomplete writer
/// deletes the partial file so no truncated checkpoint is left behind.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly IReadOnlyList<TensorSpec> _tensors;
    private int _index;          // tensor currently being written
    private long _writtenInCurrent;
    private bool _completed;
    private bool _disposed;

    private SafetensorsWriter(string path, FileStream stream, IReadOnlyList<TensorSpec> tensors)
    {
        FilePath = path;
        _stream = stream;
        _tensors = tensors;
    }

    /// <summary>Path being written.</summary>
    public string FilePath { get; }

    /// <summary>The tensor expecting bytes next, or null when all are written.</summary>
    public TensorSpec? Current => _index < _tensors.Count ? _tensors[_index] : null;

    /// <summary>
    /// Creates <paramref name="path"/> (overwriting) and writes the header for <paramref name="tensors"/>, whose data
    /// follow in list order. The header is padded with spaces to a multiple of 8 bytes so the data section is aligned.
    /// </summary>
    public static SafetensorsWriter Create(string path, IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (t.Name == "__metadata__" || !names.Add(t.Name))
                throw new ArgumentException($"{path}: tensor '{t.Name}' declared twice or reserved", nameof(tensors));
            foreach (var d in t.Shape)
                if (d < 0) throw new ArgumentException($"{path}: tensor '{t.Name}' has a negative dimension in {ShapeMath.Format(t.Shape)}", nameof(tensors));
        }
        byte[] header = BuildHeader(tensors, metadata);
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        try
        {
            Span<byte> length = stackalloc byte[8];
            BitConverter.TryWriteBytes(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }
        var writer = new SafetensorsWriter(path, stream, tensors);
        writer.SkipEmpty();
        return writer;
    }

    /// <summary>Writes a whole small file in one go (tests, reference outputs).</summary>
    public static void WriteFile(string path, IEnumerable<(TensorSpec Spec, byte[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var writer = Create(path, list.Select(t => t.Spec).ToList(), metadata);
        foreach (var (spec, data) in list) writer.WriteTensor(spec.Name, data);
        writer.Complete();
    }

    /// <summary>Writes all bytes of the next tensor, which must be <paramref name="name"/>.</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        var cur = RequireCurrent();
        if (cur.Name != name || _writtenInCurrent != 0)
            throw new InvalidOperationException($"{FilePath}: tensor '{name}' written out of order: expected the start of '{cur.Name}'");
        if (data.Length != cur.ByteLength)
            throw new ArgumentException($"{FilePath}: tensor '{name}': {data.Length} bytes given, {cur.ByteLength} expected for {cur.DType} {ShapeMath.Format(cur.Shape)}");
        Append(data);
    }

    /// <summary>Appends bytes to the current tensor (moving on to the next once it is full); a piece may not span two tensors.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        var cur = RequireCurrent();
        if (_writtenInCurrent + data.Length > cur.ByteLength)
            throw new ArgumentException(
                $"{FilePath}: tensor '{cur.Name}': {_writtenInCurrent + data.Length} bytes written, more than its {cur.ByteLength}");
        _stream.Write(data);
        _writtenInCurrent += data.Length;
        if (_writtenInCurrent == cur.ByteLength)
        {
            _index++;
            _writtenInCurrent = 0;
            SkipEmpty();
        }
    }

    /// <summary>Appends float32 values to the current tensor, encoded in its dtype (F32, BF16 round-to-nearest-even, or F16).</summary>
    public void AppendFloats(ReadOnlySpan<float> values)
    {
        var cur = RequireCurrent();
        const int chunk = 1 << 16;
        Span<byte> buffer = new byte[chunk * 4];
        for (int done = 0; done < values.Length; done += chunk)
        {
            var part = values.Slice(done, Math.Min(chunk, values.Length - done));
            switch (cur.DType)
            {
                case DType.F32:
                    Append(MemoryMarshal.AsBytes(part));
                    break;
                case DType.BF16:
                    DTypeConversion.ToBFloat16(part, buffer);
                    Append(buffer[..(part.Length * 2)]);
                    break;
                case DType.F16:
                    var halves = MemoryMarshal.Cast<byte, ushort>(buffer);
                    for (int i = 0; i < part.Length; i++) halves[i] = DTypeConversion.SingleToHalfBits(part[i]);
                    Append(buffer[..(part.Length * 2)]);
                    break;
                default:
                    throw new InvalidOperationException($"{FilePath}: tensor '{cur.Name}' is {cur.DType}; AppendFloats writes F32, BF16 or F16 only");
            }
        }
    }

    /// <summary>Checks every declared tensor was written in full and flushes the file to disk.</summary>
    public void Complete()
    {
        if (Current is { } cur)
            throw new InvalidOperationException(
                $"{FilePath}: incomplete: tensor '{cur.Name}' has {_writtenInCurrent} of {cur.ByteLength} bytes and {_tensors.Count - _index - 1} tensors follow");
        _stream.Flush(flushToDisk: false);
        _completed = true;
    }

    /// <summary>Closes the file; deletes it when <see cref="Complete"/> was not reached.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Dispose();
        if (!_completed) File.Delete(FilePath);
    }

    private TensorSpec RequireCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Current ?? throw new InvalidOperationException($"{FilePath}: every declared tensor is already written");
    }

    private void SkipEmpty()
    {
        while (_index < _tensors.Count && _tensors[_index].ByteLength == 0) _index++;
    }

    private static byte[] BuildHeader(IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.HeaderName());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.ByteLength;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 7) / 8 * 8;
        var bytes = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(bytes);
        bytes.AsSpan(length).Fill((byte)' ');
        return bytes;
    }
}
