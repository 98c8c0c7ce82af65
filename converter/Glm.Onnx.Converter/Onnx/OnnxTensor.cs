namespace Glm.Onnx.Converter.Onnx;

/// <summary>Where an externally stored tensor's bytes are: a file relative to the model, an offset and a length.</summary>
public sealed record ExternalDataLocation(string File, long Offset, long Length);

/// <summary>
/// An ONNX TensorProto: either small inline data (raw_data) or a reference into an external data file
/// (data_location = EXTERNAL with location / offset / length entries). Weights always go external so that the
/// protobuf stays small.
/// </summary>
public sealed class OnnxTensor
{
    private OnnxTensor(string name, OnnxDataType dataType, long[] dims, byte[]? raw, ExternalDataLocation? external)
    {
        Name = name;
        DataType = dataType;
        Dims = dims;
        RawData = raw;
        External = external;
    }

    public string Name { get; }
    public OnnxDataType DataType { get; }
    public IReadOnlyList<long> Dims { get; }
    public byte[]? RawData { get; }
    public ExternalDataLocation? External { get; }

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    public long ByteLength => ElementCount * DataType.ElementSize();

    public static OnnxTensor Inline(string name, OnnxDataType type, long[] dims, byte[] raw)
    {
        var tensor = new OnnxTensor(name, type, dims, raw, null);
        if (raw.Length != tensor.ByteLength)
            throw new ArgumentException(
                $"tensor '{name}': {raw.Length} bytes given, expected {tensor.ByteLength} for {type.OnnxName()} [{string.Join(",", dims)}]");
        return tensor;
    }

    public static OnnxTensor ExternalData(string name, OnnxDataType type, long[] dims, ExternalDataLocation location)
    {
        var tensor = new OnnxTensor(name, type, dims, null, location);
        if (location.Length != tensor.ByteLength)
            throw new ArgumentException(
                $"tensor '{name}': external length {location.Length}, expected {tensor.ByteLength} for {type.OnnxName()} [{string.Join(",", dims)}]");
        return tensor;
    }

    public static OnnxTensor Int64(string name, long[] dims, ReadOnlySpan<long> values) =>
        Inline(name, OnnxDataType.Int64, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    public static OnnxTensor Float(string name, long[] dims, ReadOnlySpan<float> values) =>
        Inline(name, OnnxDataType.Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    // TensorProto field numbers (onnx.proto): dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14.
    internal void WriteTo(ProtoWriter w)
    {
        foreach (var d in Dims) w.WriteInt64(1, d);
        w.WriteInt32(2, (int)DataType);
        w.WriteString(8, Name);
        if (RawData is not null)
        {
            w.WriteBytes(9, RawData);
            return;
        }
        var ext = External!;
        WriteEntry(w, "location", ext.File);
        WriteEntry(w, "offset", ext.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WriteEntry(w, "length", ext.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteInt32(14, 1); // DataLocation.EXTERNAL
    }

    // StringStringEntryProto: key 1, value 2.
    private static void WriteEntry(ProtoWriter w, string key, string value) =>
        w.WriteMessage(13, e => { e.WriteString(1, key); e.WriteString(2, value); });
}
