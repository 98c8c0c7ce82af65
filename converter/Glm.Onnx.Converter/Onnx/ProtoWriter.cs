using System.Buffers.Binary;
using System.Text;

namespace Glm.Onnx.Converter.Onnx;

/// <summary>
/// A minimal protocol-buffers wire encoder: enough of the format (varints, fixed32, length-delimited fields,
/// nested messages) to write ONNX ModelProto. Nested messages are encoded into their own writer first because the
/// wire format puts a message's byte length before its body.
/// </summary>
public sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireVarint);
        // Negative values are encoded as their 64-bit two's complement (10 bytes), as protobuf does for int64/int32.
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteInt32(int field, int value) => WriteInt64(field, value);

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireFixed32);
        Ensure(4);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireLengthDelimited);
        WriteVarint((ulong)value.Length);
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    /// <summary>Writes a nested message: the callback fills a fresh writer whose bytes become the field's payload.</summary>
    public void WriteMessage(int field, Action<ProtoWriter> writeBody)
    {
        var nested = new ProtoWriter();
        writeBody(nested);
        WriteBytes(field, nested.WrittenSpan);
    }

    private void WriteTag(int field, int wireType)
    {
        if (field <= 0) throw new ArgumentOutOfRangeException(nameof(field), field, "protobuf field numbers start at 1");
        WriteVarint(((ulong)field << 3) | (uint)wireType);
    }

    private void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    private void Ensure(int extra)
    {
        long needed = (long)_length + extra;
        if (needed <= _buffer.Length) return;
        // ONNX graphs with external weights are small, but a protobuf must stay below 2 GiB anyway.
        if (needed > int.MaxValue - 64)
            throw new InvalidOperationException("ONNX protobuf would exceed 2 GiB; move weights to external data");
        long size = Math.Max(needed, Math.Min((long)_buffer.Length * 2, int.MaxValue - 64));
        Array.Resize(ref _buffer, (int)size);
    }
}
