namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The MLA weights of one decoder layer (<c>self_attn.*</c>, docs/architecture.md "MLA"): the query goes through a
/// q_lora_rank bottleneck, keys and values through the kv_lora_rank latent that the cache stores.
/// </summary>
/// <param name="QAProj">[q_lora_rank, hidden].</param>
/// <param name="QALayerNorm">[q_lora_rank] (RMSNorm, eps 1e-6).</param>
/// <param name="QBProj">[heads x (qk_nope + qk_rope), q_lora_rank].</param>
/// <param name="KvAProjWithMqa">[kv_lora_rank + qk_rope, hidden]: the latent, then the shared rope key.</param>
/// <param name="KvALayerNorm">[kv_lora_rank] (RMSNorm of the latent only, eps 1e-6).</param>
/// <param name="KvBProj">[heads x (qk_nope + v_head_dim), kv_lora_rank]: head-major blocks, split into W_UK / W_UV.</param>
/// <param name="OProj">[hidden, heads x v_head_dim].</param>
public sealed record AttentionTensors(ModelTensor QAProj, ModelTensor QALayerNorm, ModelTensor QBProj,
    ModelTensor KvAProjWithMqa, ModelTensor KvALayerNorm, ModelTensor KvBProj, ModelTensor OProj)
{
    /// <summary>The tensors in checkpoint (transformers module) order.</summary>
    public IEnumerable<ModelTensor> All => [QAProj, QALayerNorm, QBProj, KvAProjWithMqa, KvALayerNorm, KvBProj, OProj];
}

/// <summary>
/// The DSA lightning-indexer weights of a full-indexer layer (<c>self_attn.indexer.*</c>, docs/architecture.md
/// "Lightning indexer"). Shared (IndexShare) layers have none.
/// </summary>
/// <param name="WqB">[index_n_heads x index_head_dim, q_lora_rank]: queries from the MLA q_resid.</param>
/// <param name="Wk">[index_head_dim, hidden]: the one key per token the indexer cache stores.</param>
/// <param name="KNorm">[index_head_dim]: LayerNorm weight of the key.</param>
/// <param name="KNormBias">[index_head_dim]: LayerNorm bias of the key.</param>
/// <param name="WeightsProj">[index_n_heads, hidden]: per-head score weights (never quantised).</param>
public sealed record IndexerTensors(ModelTensor WqB, ModelTensor Wk, ModelTensor KNorm, ModelTensor KNormBias, ModelTensor WeightsProj)
{
    /// <summary>The tensors in checkpoint order.</summary>
    public IEnumerable<ModelTensor> All => [WqB, Wk, KNorm, KNormBias, WeightsProj];
}

/// <summary>
/// The extra weights of an MTP layer (<c>model.layers.{num_hidden_layers + k}.*</c>) around its decoder layer. The
/// official checkpoints carry no embed_tokens / shared_head.head copies: the main model's are reused.
/// </summary>
/// <param name="ENorm">[hidden]: RMSNorm of the next token's embedding.</param>
/// <param name="HNorm">[hidden]: RMSNorm of the main model's last hidden state.</param>
/// <param name="EhProj">[hidden, 2 x hidden]: projects concat(embedding, hidden) back to hidden.</param>
/// <param name="SharedHeadNorm">[hidden]: the norm before the shared lm_head.</param>
public sealed record MtpTensors(ModelTensor ENorm, ModelTensor HNorm, ModelTensor EhProj, ModelTensor SharedHeadNorm)
{
    /// <summary>The tensors in checkpoint order.</summary>
    public IEnumerable<ModelTensor> All => [ENorm, HNorm, EhProj, SharedHeadNorm];
}
