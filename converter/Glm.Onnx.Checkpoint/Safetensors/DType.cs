namespace Glm.Onnx.Checkpoint;

/// <summary>Element types a GLM checkpoint may hold, named as the safetensors header spells them.</summary>
public enum DType
{
    /// <summary>IEEE float32 ("F32").</summary>
    F32,
    /// <summary>IEEE float16 ("F16").</summary>
    F16,
    /// <summary>bfloat16 ("BF16"): the upper half of a float32.</summary>
    BF16,
    /// <summary>float8_e4m3fn ("F8_E4M3"): 1 sign, 4 exponent (bias 7), 3 mantissa bits, no infinities, NaN = S.1111.111.</summary>
    F8_E4M3,
    /// <summary>int32 ("I32").</summary>
    I32,
    /// <summary>int64 ("I64").</summary>
    I64,
}

/// <summary>Sizes and header spellings of <see cref="DType"/>.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.F8_E4M3 => 1,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for the floating-point types (F32, F16, BF16, F8_E4M3).</summary>
    public static bool IsFloat(this DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16 or DType.F8_E4M3;

    /// <summary>The safetensors header spelling ("F32", "BF16", "F8_E4M3", ...).</summary>
    public static string HeaderName(this DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        DType.F8_E4M3 => "F8_E4M3",
        DType.I32 => "I32",
        DType.I64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Parses a safetensors header dtype; false for any other spelling (e.g. "F8_E5M2", "U8").</summary>
    public static bool TryParseHeaderName(string text, out DType dtype)
    {
        switch (text)
        {
            case "F32": dtype = DType.F32; return true;
            case "F16": dtype = DType.F16; return true;
            case "BF16": dtype = DType.BF16; return true;
            case "F8_E4M3": dtype = DType.F8_E4M3; return true;
            case "I32": dtype = DType.I32; return true;
            case "I64": dtype = DType.I64; return true;
            default: dtype = default; return false;
        }
    }
}
