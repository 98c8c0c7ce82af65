namespace Glm.Onnx.Checkpoint;

/// <summary>Whether a decoder layer runs its own DSA indexer ("full") or reuses the previous full layer's top-k ("shared").</summary>
public enum IndexerType
{
    /// <summary>Has indexer weights and an indexer-key cache; computes its own top-k.</summary>
    Full,
    /// <summary>No indexer weights; reuses the selection of the most recent full layer (GLM-5.2 IndexShare).</summary>
    Shared,
}

/// <summary>Dense SwiGLU MLP or routed mixture of experts.</summary>
public enum MlpLayerType
{
    /// <summary>gate/up/down of size <c>intermediate_size</c>.</summary>
    Dense,
    /// <summary>Router + <c>n_routed_experts</c> experts + shared experts of size <c>moe_intermediate_size</c>.</summary>
    Sparse,
}

/// <summary>
/// Rotary embedding parameters (<c>rope_parameters</c>, or the legacy top-level <c>rope_theta</c> + <c>rope_scaling</c>).
/// Only "default" and "yarn" are known; yarn fields are null for "default".
/// </summary>
public sealed record RopeParameters(
    string RopeType,
    double RopeTheta,
    double? Factor = null,
    long? OriginalMaxPositionEmbeddings = null,
    double? BetaFast = null,
    double? BetaSlow = null,
    double? Mscale = null,
    double? MscaleAllDim = null);

/// <summary>
/// Block-FP8 <c>quantization_config</c> as in the official FP8 checkpoints: weights float8_e4m3fn with a float32
/// <c>weight_scale_inv</c> per <see cref="BlockRows"/> x <see cref="BlockCols"/> block (dequantised value = fp8 x scale).
/// </summary>
/// <param name="QuantMethod">Always "fp8".</param>
/// <param name="Fmt">"e4m3".</param>
/// <param name="ActivationScheme">"dynamic".</param>
/// <param name="BlockRows">First entry of <c>weight_block_size</c> (output rows per block).</param>
/// <param name="BlockCols">Second entry of <c>weight_block_size</c> (input columns per block).</param>
/// <param name="ModulesToNotConvert">Module-name substrings left unquantised; null when the config gives none.</param>
public sealed record QuantizationConfig(
    string QuantMethod,
    string Fmt,
    string ActivationScheme,
    int BlockRows,
    int BlockCols,
    IReadOnlyList<string>? ModulesToNotConvert);
