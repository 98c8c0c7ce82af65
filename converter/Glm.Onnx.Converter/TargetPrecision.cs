namespace Glm.Onnx.Converter;

/// <summary>
/// How weights are stored in the artifacts. Activations are float32 in every case.
/// <list type="bullet">
/// <item><c>Fp32</c>: every weight float32 (FP8 sources dequantised); the CPU / verification target.</item>
/// <item><c>Bf16</c>: bf16 source matrices stay bf16 (exact); norms, biases and the router float32; block-FP8 source
/// weights are kept as FP8 + scales (rounding them to bf16 would double their size and lose precision).</item>
/// <item><c>Fp8</c>: the checkpoint's block-FP8 tensors kept as float8e4m3fn + float32 block scales; everything else
/// as in Bf16. The converter does not quantise to FP8: for a bf16 source, fp8 equals bf16.</item>
/// <item><c>Int8</c> / <c>Int4</c>: weight-only symmetric quantisation in groups of consecutive input columns with
/// float16 group scales (docs/artifacts.md, "Quantized weights"); FP8 sources are dequantised per block first.
/// Embeddings stay a bf16 lookup; the router and norms stay float32.</item>
/// </list>
/// <see cref="PrecisionPolicy"/> applies a target (and per-part overrides) to each tensor.
/// </summary>
public enum TargetPrecision
{
    Fp32,
    Bf16,
    Fp8,
    Int8,
    Int4,
}

public static class TargetPrecisionNames
{
    public static string Name(this TargetPrecision p) => p switch
    {
        TargetPrecision.Fp32 => "fp32",
        TargetPrecision.Bf16 => "bf16",
        TargetPrecision.Fp8 => "fp8",
        TargetPrecision.Int8 => "int8",
        TargetPrecision.Int4 => "int4",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>Bits of an integer precision, 0 for the float ones.</summary>
    public static int IntBits(this TargetPrecision p) => p switch
    {
        TargetPrecision.Int8 => 8,
        TargetPrecision.Int4 => 4,
        _ => 0,
    };

    public static TargetPrecision Parse(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "float32" => TargetPrecision.Fp32,
        "bf16" or "bfloat16" => TargetPrecision.Bf16,
        "fp8" => TargetPrecision.Fp8,
        "int8" or "q8" => TargetPrecision.Int8,
        "int4" or "q4" => TargetPrecision.Int4,
        _ => throw new ArgumentException($"precision '{text}' is not supported: expected fp32, bf16, fp8, int8 or int4"),
    };
}
