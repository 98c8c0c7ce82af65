using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Element conversions between checkpoint dtypes and float32. Decoding is exact for every dtype except I32/I64 values
/// beyond float32's 24-bit mantissa. Encoding (float32 to BF16 / F8_E4M3) rounds to nearest, ties to even.
/// All multi-byte values are little-endian, as safetensors stores them.
/// </summary>
public static class DTypeConversion
{
    private static readonly float[] E4M3Table = BuildE4M3Table();

    /// <summary>Largest finite float8_e4m3fn value.</summary>
    public const float E4M3Max = 448f;

    /// <summary>Converts <c>dest.Length</c> elements of <paramref name="dtype"/> from <paramref name="source"/> to float32.</summary>
    /// <exception cref="ArgumentException">source holds fewer than dest.Length elements.</exception>
    // Hot loop: skip tier-0 code, which is many times slower for vector intrinsics.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToFloat32(DType dtype, ReadOnlySpan<byte> source, Span<float> dest)
    {
        long need = (long)dest.Length * dtype.ElementSize();
        if (source.Length < need)
            throw new ArgumentException($"source holds {source.Length} bytes, {need} needed for {dest.Length} {dtype} elements", nameof(source));
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source[..(int)need]).CopyTo(dest);
                break;
            case DType.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(source[..(int)need]);
                for (int i = 0; i < dest.Length; i++) dest[i] = BFloat16ToSingle(bf[i]);
                break;
            case DType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(source[..(int)need]);
                for (int i = 0; i < dest.Length; i++) dest[i] = (float)h[i];
                break;
            case DType.F8_E4M3:
                var table = E4M3Table;
                for (int i = 0; i < dest.Length; i++) dest[i] = table[source[i]];
                break;
            case DType.I32:
                var i32 = MemoryMarshal.Cast<byte, int>(source[..(int)need]);
                for (int i = 0; i < dest.Length; i++) dest[i] = i32[i];
                break;
            case DType.I64:
                var i64 = MemoryMarshal.Cast<byte, long>(source[..(int)need]);
                for (int i = 0; i < dest.Length; i++) dest[i] = i64[i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    /// <summary>bfloat16 bits to float32 (exact).</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>float32 to bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN, overflow rounds to infinity.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFF + lsb) >> 16);
    }

    /// <summary>float8_e4m3fn byte to float32 (exact).</summary>
    public static float E4M3ToSingle(byte code) => E4M3Table[code];

    /// <summary>
    /// float32 to float8_e4m3fn, round to nearest even, saturating: magnitudes beyond 448 become +-448 (the format has
    /// no infinity; block-FP8 writers scale each block so this never triggers). NaN becomes 0x7F.
    /// </summary>
    public static byte SingleToE4M3(float value)
    {
        if (float.IsNaN(value)) return 0x7F;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        byte sign = (byte)((bits >> 24) & 0x80);
        float a = MathF.Abs(value);
        if (a >= 464f) return (byte)(sign | 0x7E); // 464 is the midpoint between 448 and the (unrepresentable) 480
        if (a < 0.015625f) // below the smallest normal 2^-6: subnormals are multiples of 2^-9
        {
            float q = MathF.Round(a * 512f, MidpointRounding.ToEven); // exact scaling by a power of two
            return (byte)(sign | (int)q); // q == 8 encodes 2^-6, the smallest normal, naturally
        }
        uint abits = BitConverter.SingleToUInt32Bits(a);
        int exp = (int)((abits >> 23) & 0xFF) - 127;
        uint mant = abits & 0x7FFFFF;
        uint m = mant >> 20;
        uint rest = mant & 0xFFFFF;
        if (rest > 0x80000 || (rest == 0x80000 && (m & 1) == 1)) m++;
        if (m == 8) { m = 0; exp++; }
        int code = ((exp + 7) << 3) | (int)m;
        if (code > 0x7E) code = 0x7E;
        return (byte)(sign | code);
    }

    /// <summary>float32 to float16 bits (round to nearest even, as <see cref="Half"/> does).</summary>
    public static ushort SingleToHalfBits(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Encodes float32 values as BF16 bytes into <paramref name="dest"/> (2 bytes per value).</summary>
    // Hot loop: skip tier-0 code, which is many times slower for vector intrinsics.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToBFloat16(ReadOnlySpan<float> source, Span<byte> dest)
    {
        if (dest.Length < source.Length * 2) throw new ArgumentException("destination too small", nameof(dest));
        var bits = MemoryMarshal.Cast<float, uint>(source);
        var output = MemoryMarshal.Cast<byte, ushort>(dest);
        for (int i = 0; i < bits.Length; i++)
        {
            uint b = bits[i];
            // Round to nearest even on the dropped 16 bits; NaN (exponent all ones, mantissa non-zero) stays quiet NaN.
            output[i] = (b & 0x7FFFFFFF) > 0x7F800000 ? (ushort)((b >> 16) | 0x0040) : (ushort)((b + 0x7FFF + ((b >> 16) & 1)) >> 16);
        }
    }

    private static float[] BuildE4M3Table()
    {
        var table = new float[256];
        for (int code = 0; code < 256; code++)
        {
            int exp = (code >> 3) & 0xF;
            int mant = code & 0x7;
            float magnitude;
            if (exp == 0xF && mant == 0x7) magnitude = float.NaN;
            else if (exp == 0) magnitude = mant / 512f;                   // subnormal: mant x 2^-9
            else magnitude = (1f + mant / 8f) * MathF.ScaleB(1f, exp - 7); // normal: bias 7
            table[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }
        return table;
    }
}
