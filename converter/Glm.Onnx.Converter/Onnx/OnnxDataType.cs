namespace Glm.Onnx.Converter.Onnx;

/// <summary>TensorProto.DataType values from onnx.proto (only those this project writes).</summary>
public enum OnnxDataType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
    BFloat16 = 16,
    Float8E4M3FN = 17,
}

public static class OnnxDataTypeExtensions
{
    /// <summary>Bytes per element as stored in raw or external data.</summary>
    public static int ElementSize(this OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 => 4,
        OnnxDataType.Int64 => 8,
        OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool or OnnxDataType.Float8E4M3FN => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ONNX data type"),
    };

    /// <summary>The name ONNX uses in type strings, e.g. tensor(float).</summary>
    public static string OnnxName(this OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float",
        OnnxDataType.UInt8 => "uint8",
        OnnxDataType.Int8 => "int8",
        OnnxDataType.Int32 => "int32",
        OnnxDataType.Int64 => "int64",
        OnnxDataType.Bool => "bool",
        OnnxDataType.Float16 => "float16",
        OnnxDataType.BFloat16 => "bfloat16",
        OnnxDataType.Float8E4M3FN => "float8e4m3fn",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ONNX data type"),
    };
}
