namespace Glm.Onnx.Converter.Weights;

/// <summary>How quantised rows are laid out in an initializer.</summary>
public enum QuantizedLayout
{
    /// <summary>
    /// The shared weight-format contract read by MoeExperts (docs/artifacts.md, "Quantized weights"): int8 one
    /// signed byte per column; int4 two columns per byte (column 2j low nibble, 2j+1 high, each q + 8; an odd row
    /// ends with a high nibble of 8). Scales float16 [rows, groups].
    /// </summary>
    Contract,

    /// <summary>
    /// ONNX Runtime's com.microsoft.MatMulNBits: B uint8 [rows, groups, group * bits / 8], each value stored as
    /// q + 2^(bits-1) (the op's default zero point, so no zero-point input), int4 with the even column in the low
    /// nibble; the last group is padded with zeros (stored 2^(bits-1)). Scales float32 [rows, groups] holding the
    /// float16-rounded values, so both layouts decode to the same numbers.
    /// </summary>
    MatMulNBits,
}

public static class QuantizedPacking
{
    /// <summary>Bytes of one packed row.</summary>
    public static long RowBytes(QuantizedLayout layout, int bits, long cols, int group) => layout switch
    {
        QuantizedLayout.Contract => bits == 8 ? cols : (cols + 1) / 2,
        _ => (long)GroupQuantizer.GroupCount(cols, group) * group * bits / 8,
    };

    /// <summary>Bytes of one scale.</summary>
    public static int ScaleBytes(QuantizedLayout layout) => layout == QuantizedLayout.Contract ? 2 : 4;

    /// <summary>Packs one row of q values into <paramref name="dest"/> (exactly <see cref="RowBytes"/> long).</summary>
    public static void PackRow(QuantizedLayout layout, int bits, int group, ReadOnlySpan<sbyte> q, Span<byte> dest)
    {
        if (dest.Length != RowBytes(layout, bits, q.Length, group))
            throw new ArgumentException($"a packed row of {q.Length} columns needs {RowBytes(layout, bits, q.Length, group)} bytes, got {dest.Length}");
        if (bits == 8)
        {
            // Contract: the two's-complement byte itself; MatMulNBits: q + 128 with padding 128 (zero).
            byte offset = layout == QuantizedLayout.Contract ? (byte)0 : (byte)128;
            for (int i = 0; i < q.Length; i++) dest[i] = unchecked((byte)(q[i] + offset));
            dest[q.Length..].Fill(128);
            return;
        }
        // int4: both layouts pair columns (2j, 2j+1) in one byte; MatMulNBits pads to whole groups (group is even, so
        // a group never splits a byte) and so only has more trailing bytes of 0x88.
        int pairs = q.Length / 2;
        for (int j = 0; j < pairs; j++)
            dest[j] = (byte)((q[2 * j] + 8) | ((q[2 * j + 1] + 8) << 4));
        int used = pairs;
        if (q.Length % 2 == 1) dest[used++] = (byte)((q[^1] + 8) | (8 << 4));
        dest[used..].Fill(0x88);
    }

    /// <summary>Writes <paramref name="scales"/> as the layout stores them (float16 bits or float32).</summary>
    public static void PackScales(QuantizedLayout layout, ReadOnlySpan<Half> scales, Span<byte> dest)
    {
        int size = ScaleBytes(layout);
        if (dest.Length != scales.Length * size) throw new ArgumentException($"{scales.Length} scales need {scales.Length * size} bytes, got {dest.Length}");
        for (int i = 0; i < scales.Length; i++)
        {
            if (layout == QuantizedLayout.Contract)
                System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(dest.Slice(i * 2, 2), scales[i]);
            else
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(dest.Slice(i * 4, 4), (float)scales[i]);
        }
    }
}
