using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The parsed and validated header of one safetensors file: 8-byte little-endian header length N, N bytes of UTF-8
/// JSON <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>, then the
/// data section. Parsed with <see cref="Utf8JsonReader"/> so duplicate names are caught (a DOM would keep the last).
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private SafetensorsHeader(IReadOnlyDictionary<string, TensorInfo> tensors, IReadOnlyList<TensorInfo> ordered,
        IReadOnlyDictionary<string, string> metadata, long dataStart)
    {
        Tensors = tensors;
        InFileOrder = ordered;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>Tensors sorted by data offset.</summary>
    public IReadOnlyList<TensorInfo> InFileOrder { get; }

    /// <summary>The optional <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Absolute file offset of the data section (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/> without touching the data section.</summary>
    public static SafetensorsHeader Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        return Read(stream, path);
    }

    /// <summary>Reads and validates a header from the start of <paramref name="stream"/> (length must be known).</summary>
    public static SafetensorsHeader Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new CheckpointFormatException(path, null,
                $"truncated file: expected at least 8 bytes (header length), found {fileLength}");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointFormatException(path, null,
                $"header length {headerLength} bytes exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)headerLength > fileLength - 8)
            throw new CheckpointFormatException(path, null,
                $"header length {headerLength} bytes runs beyond the end of the file ({fileLength} bytes, {fileLength - 8} after the length field)");
        var json = new byte[(int)headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        return Parse(json, path, dataStart, fileLength - dataStart);
    }

    /// <summary>Parses header JSON bytes and validates every entry against a data section of <paramref name="dataLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, string path, long dataStart, long dataLength)
    {
        var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            Expect(ref reader, JsonTokenType.StartObject, path, null, "the header to be a JSON object");
            bool sawMetadata = false;
            while (true)
            {
                Read(ref reader, path, null);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string name = reader.GetString()!;
                if (name == "__metadata__")
                {
                    if (sawMetadata)
                        throw new CheckpointFormatException(path, null, "duplicate '__metadata__' entry in the header");
                    sawMetadata = true;
                    ReadMetadata(ref reader, path, metadata);
                    continue;
                }
                if (tensors.ContainsKey(name))
                    throw new CheckpointFormatException(path, name, "duplicate tensor name in the header");
                tensors.Add(name, ReadTensor(ref reader, path, name, dataLength));
            }
            // Trailing bytes after the object may only be the space padding writers add to align the data section.
            if (reader.Read())
                throw new CheckpointFormatException(path, null, $"unexpected JSON after the header object: {reader.TokenType}");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, null, $"malformed header JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader checks UTF-8 only when a string is read (GetString), and reports it this way.
            throw new CheckpointFormatException(path, null, $"the header holds a tensor name or string that is not valid UTF-8: {e.Message}", e);
        }

        var ordered = tensors.Values.OrderBy(t => t.DataOffset).ThenBy(t => t.ByteLength).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            var prev = ordered[i - 1];
            var cur = ordered[i];
            if (cur.DataOffset < prev.DataOffset + prev.ByteLength)
                throw new CheckpointFormatException(path, cur.Name,
                    $"data_offsets [{cur.DataOffset}, {cur.DataOffset + cur.ByteLength}] overlap tensor '{prev.Name}' " +
                    $"at [{prev.DataOffset}, {prev.DataOffset + prev.ByteLength}]");
        }
        return new SafetensorsHeader(tensors, ordered, metadata, dataStart);
    }

    private static TensorInfo ReadTensor(ref Utf8JsonReader reader, string path, string name, long dataLength)
    {
        Expect(ref reader, JsonTokenType.StartObject, path, name, "an object with dtype, shape and data_offsets");
        string? dtypeText = null;
        List<long>? shape = null;
        List<long>? offsets = null;
        while (true)
        {
            Read(ref reader, path, name);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    Expect(ref reader, JsonTokenType.String, path, name, "'dtype' to be a string");
                    dtypeText = reader.GetString();
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, path, name, "shape");
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(ref reader, path, name, "data_offsets");
                    break;
                default:
                    throw new CheckpointFormatException(path, name,
                        $"unknown field '{field}': expected only dtype, shape, data_offsets");
            }
        }
        if (dtypeText is null) throw new CheckpointFormatException(path, name, "missing field 'dtype'");
        if (shape is null) throw new CheckpointFormatException(path, name, "missing field 'shape'");
        if (offsets is null) throw new CheckpointFormatException(path, name, "missing field 'data_offsets'");
        if (!DTypeInfo.TryParseHeaderName(dtypeText, out var dtype))
            throw new CheckpointFormatException(path, name,
                $"unknown dtype '{dtypeText}': expected one of F32, F16, BF16, F8_E4M3, I32, I64");
        if (offsets.Count != 2)
            throw new CheckpointFormatException(path, name,
                $"data_offsets must hold 2 numbers [begin, end], found {offsets.Count}");
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin)
            throw new CheckpointFormatException(path, name, $"invalid data_offsets [{begin}, {end}]: expected 0 <= begin <= end");
        if (end > dataLength)
            throw new CheckpointFormatException(path, name,
                $"data_offsets [{begin}, {end}] out of range: the data section holds {dataLength} bytes");
        foreach (var d in shape)
            if (d < 0) throw new CheckpointFormatException(path, name, $"negative dimension in shape {ShapeMath.Format(shape)}");
        long elements;
        try { elements = ShapeMath.ElementCount(shape.ToArray()); }
        catch (OverflowException) { throw new CheckpointFormatException(path, name, $"shape {ShapeMath.Format(shape)} overflows"); }
        long expectedBytes = elements > long.MaxValue / dtype.ElementSize() ? -1 : elements * dtype.ElementSize();
        if (expectedBytes != end - begin)
            throw new CheckpointFormatException(path, name,
                $"byte length {end - begin} does not match dtype x shape: {dtypeText} {ShapeMath.Format(shape)} needs {expectedBytes} bytes");
        return new TensorInfo(name, dtype, shape.ToArray(), path, begin, end - begin);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata)
    {
        Read(ref reader, path, null);
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new CheckpointFormatException(path, null, $"'__metadata__' must be an object of strings, found {reader.TokenType}");
        while (true)
        {
            Read(ref reader, path, null);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string key = reader.GetString()!;
            Expect(ref reader, JsonTokenType.String, path, null, $"'__metadata__.{key}' to be a string");
            metadata[key] = reader.GetString()!;
        }
    }

    private static List<long> ReadIntegers(ref Utf8JsonReader reader, string path, string name, string field)
    {
        Expect(ref reader, JsonTokenType.StartArray, path, name, $"'{field}' to be an array of integers");
        var values = new List<long>();
        while (true)
        {
            Read(ref reader, path, name);
            if (reader.TokenType == JsonTokenType.EndArray) return values;
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v))
                throw new CheckpointFormatException(path, name, $"'{field}' must hold integers, found {reader.TokenType}");
            values.Add(v);
        }
    }

    private static void Read(ref Utf8JsonReader reader, string path, string? name)
    {
        if (!reader.Read())
            throw new CheckpointFormatException(path, name, "malformed header JSON: ends early");
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string path, string? name, string what)
    {
        Read(ref reader, path, name);
        if (reader.TokenType != type)
            throw new CheckpointFormatException(path, name, $"expected {what}, found {reader.TokenType}");
    }
}
