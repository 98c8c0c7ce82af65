namespace Glm.Onnx.Checkpoint;

/// <summary>What part of the model a tensor belongs to (drives parameter accounting and quantisation).</summary>
public enum TensorGroup
{
    /// <summary><c>model.embed_tokens.weight</c>.</summary>
    Embedding,
    /// <summary><c>lm_head.weight</c>.</summary>
    LmHead,
    /// <summary>RMSNorm / LayerNorm weights and the indexer k_norm bias (including the final <c>model.norm</c>).</summary>
    Norm,
    /// <summary>MLA projections (q_a, q_b, kv_a_proj_with_mqa, kv_b, o).</summary>
    Attention,
    /// <summary>DSA indexer projections (wq_b, wk, weights_proj) of a full-indexer layer.</summary>
    Indexer,
    /// <summary>Dense SwiGLU MLP (gate, up, down).</summary>
    DenseMlp,
    /// <summary>MoE router weight and its <c>e_score_correction_bias</c>.</summary>
    Router,
    /// <summary>One routed expert's gate/up/down.</summary>
    RoutedExpert,
    /// <summary>Shared experts' gate/up/down.</summary>
    SharedExpert,
    /// <summary>MTP <c>eh_proj</c>.</summary>
    MtpProjection,
    /// <summary>Block-FP8 <c>weight_scale_inv</c> (not a parameter).</summary>
    QuantScale,
}

/// <summary>
/// One tensor a checkpoint must hold.
/// </summary>
/// <param name="Name">Name on disk.</param>
/// <param name="Shape">Shape on disk ([out, in] for linear weights).</param>
/// <param name="DType">Canonical dtype: BF16 for weights and norms, F32 for <c>e_score_correction_bias</c> and scales,
/// F8_E4M3 for quantised weights. Checkpoints may store unquantised floats as F32/F16/BF16 (see <see cref="AcceptsDType"/>).</param>
/// <param name="Group">What the tensor belongs to.</param>
/// <param name="Layer">Decoder layer index (MTP layers follow the main ones), or null for embeddings, final norm, lm_head.</param>
/// <param name="Expert">Routed expert index, or null.</param>
/// <param name="Quantizable">A linear weight that block-FP8 checkpoints may store as F8_E4M3 + <c>weight_scale_inv</c>.</param>
public sealed record ExpectedTensor(string Name, long[] Shape, DType DType, TensorGroup Group, int? Layer, int? Expert, bool Quantizable)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>True for everything except quantisation scales.</summary>
    public bool IsParameter => Group != TensorGroup.QuantScale;

    /// <summary>
    /// Whether a stored dtype is acceptable: F8_E4M3 entries accept only F8_E4M3, scales only F32, every other entry
    /// any of F32 / F16 / BF16 (real checkpoints keep e_score_correction_bias in F32, the fixtures in BF16).
    /// </summary>
    public bool AcceptsDType(DType stored) => DType switch
    {
        DType.F8_E4M3 => stored == DType.F8_E4M3,
        _ when Group == TensorGroup.QuantScale => stored == DType.F32,
        _ => stored is DType.F32 or DType.F16 or DType.BF16,
    };
}
