namespace Glm.Onnx.Converter;

/// <summary>
/// How weights are stored in the artifacts. Activations are float32 in every case.
/// <list type="bullet">
/// <item><c>Fp32</c>: every weight float32 (FP8 sources dequantised); the CPU / verification target.</item>
/// <item><c>Bf16</c>: bf16 source matrices stay bf16 (exact); norms, biases and the router float32; block-FP8 source
/// weights are kept as FP8 + scales (rounding them to bf16 would double their size and lose precision).</item>
/// <item><c>Fp8</c>: the checkpoint's block-FP8 tensors kept as float8e4m3fn + float32 block scales; everything else
/// as in Bf16. The converter does not quantise: for a bf16 source, fp8 equals bf16.</item>
/// </list>
/// </summary>
public enum TargetPrecision
{
    Fp32,
    Bf16,
    Fp8,
}

public static class TargetPrecisionNames
{
    public static string Name(this TargetPrecision p) => p switch
    {
        TargetPrecision.Fp32 => "fp32",
        TargetPrecision.Bf16 => "bf16",
        TargetPrecision.Fp8 => "fp8",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    public static TargetPrecision Parse(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "float32" => TargetPrecision.Fp32,
        "bf16" or "bfloat16" => TargetPrecision.Bf16,
        "fp8" => TargetPrecision.Fp8,
        _ => throw new ArgumentException($"precision '{text}' is not supported: expected fp32, bf16 or fp8"),
    };
}
