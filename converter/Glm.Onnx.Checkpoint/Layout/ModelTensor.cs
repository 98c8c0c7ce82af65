namespace Glm.Onnx.Checkpoint;

/// <summary>
/// One tensor of the Hugging Face GLM-5.x layout: its name on disk, its shape as the config implies it, and what it
/// belongs to (docs/architecture.md "Tensor names"). Built only by <see cref="ModelTensors"/>, so every name and
/// shape is spelled in one place.
/// </summary>
/// <param name="Name">Name on disk.</param>
/// <param name="Shape">[out, in] for linear weights (nn.Linear's layout), [n] for norms and biases.</param>
/// <param name="Group">What the tensor belongs to (parameter accounting, synthesis).</param>
/// <param name="Layer">Decoder layer index (MTP layers follow the main ones), or null for embeddings, final norm, lm_head.</param>
/// <param name="Expert">Routed expert index, or null.</param>
/// <param name="IsLinear">A projection that block-FP8 checkpoints may store as F8_E4M3 plus <c>weight_scale_inv</c>.
/// False for embeddings, lm_head, norms, the router, the indexer's weights_proj and MTP eh_proj.</param>
/// <param name="DType">Canonical unquantised dtype: BF16, except F32 for <c>e_score_correction_bias</c>.</param>
public sealed record ModelTensor(string Name, long[] Shape, TensorGroup Group, int? Layer, int? Expert = null,
    bool IsLinear = false, DType DType = DType.BF16)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>First dimension: output rows of a matrix, length of a vector.</summary>
    public long Rows => Shape[0];

    /// <summary>Second dimension of a matrix (input features of a linear weight).</summary>
    public long Cols => Shape.Length == 2
        ? Shape[1]
        : throw new InvalidOperationException($"tensor '{Name}' is {ShapeMath.Format(Shape)}, not a matrix");
}
