namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The architecture of a GLM-5.x checkpoint as tensors, built once from a <see cref="GlmConfig"/>: the one place that
/// spells each Hugging Face tensor name and derives its shape (docs/architecture.md "Tensor names"). The inspector
/// checks checkpoints against it (<see cref="ExpectedTensors"/> is its flattening), the synthesizer writes it, and the
/// converter's graph builder and weight writer read weights through it. Layers are described on demand, so a config
/// with absurd sizes costs nothing until something walks it.
/// </summary>
public sealed class ModelTensors
{
    /// <summary>Suffix of a block-FP8 weight's scale tensor (<c>X.weight</c> -> <c>X.weight_scale_inv</c>).</summary>
    public const string ScaleSuffix = "_scale_inv";

    private const string LayerPrefix = "model.layers.";

    private readonly GlmConfig _c;

    private ModelTensors(GlmConfig config)
    {
        _c = config;
        long h = config.HiddenSize;
        EmbedTokens = new ModelTensor("model.embed_tokens.weight", [config.VocabSize, h], TensorGroup.Embedding, null);
        Norm = new ModelTensor("model.norm.weight", [h], TensorGroup.Norm, null);
        LmHead = config.TieWordEmbeddings ? null : new ModelTensor("lm_head.weight", [config.VocabSize, h], TensorGroup.LmHead, null);
    }

    /// <summary>The description of <paramref name="config"/> (a validated config).</summary>
    public static ModelTensors For(GlmConfig config) => new(config);

    /// <summary><c>model.embed_tokens.weight</c> [vocab_size, hidden].</summary>
    public ModelTensor EmbedTokens { get; }

    /// <summary><c>model.norm.weight</c> [hidden]: the final RMSNorm.</summary>
    public ModelTensor Norm { get; }

    /// <summary><c>lm_head.weight</c> [vocab_size, hidden], or null when tie_word_embeddings reuses <see cref="EmbedTokens"/>.</summary>
    public ModelTensor? LmHead { get; }

    /// <summary>The matrix that produces logits: <see cref="LmHead"/>, or <see cref="EmbedTokens"/> when tied.</summary>
    public ModelTensor OutputProjection => LmHead ?? EmbedTokens;

    /// <summary>Main layers plus MTP layers.</summary>
    public int LayerCount => _c.NumHiddenLayers + _c.NumNextnPredictLayers;

    /// <summary>
    /// Layer <paramref name="index"/>: a main layer (0 .. num_hidden_layers - 1, indexer and MLP kind from the config's
    /// layer maps) or an MTP layer (num_hidden_layers .. + num_nextn_predict_layers - 1: MoE with an indexer).
    /// </summary>
    public LayerTensors Layer(int index)
    {
        if ((uint)index >= (uint)LayerCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"expected 0..{LayerCount - 1} (main layers, then MTP layers)");
        bool mtp = index >= _c.NumHiddenLayers;
        bool indexer = mtp || _c.IndexerTypes[index] == IndexerType.Full;
        bool moe = mtp || _c.MlpLayerTypes[index] == MlpLayerType.Sparse;
        string p = $"{LayerPrefix}{index}.";
        long h = _c.HiddenSize;

        ModelTensor Linear(string name, long rows, long cols, TensorGroup group, int? expert = null) =>
            new(p + name, [rows, cols], group, index, expert, IsLinear: true);
        ModelTensor Vector(string name, long length) => new(p + name, [length], TensorGroup.Norm, index);
        MlpTensors SwiGlu(string prefix, long inner, TensorGroup group, int? expert = null) => new(
            Linear(prefix + "gate_proj.weight", inner, h, group, expert),
            Linear(prefix + "up_proj.weight", inner, h, group, expert),
            Linear(prefix + "down_proj.weight", h, inner, group, expert));

        long heads = _c.NumAttentionHeads;
        var attention = new AttentionTensors(
            Linear("self_attn.q_a_proj.weight", _c.QLoraRank, h, TensorGroup.Attention),
            Vector("self_attn.q_a_layernorm.weight", _c.QLoraRank),
            Linear("self_attn.q_b_proj.weight", heads * _c.QkHeadDim, _c.QLoraRank, TensorGroup.Attention),
            Linear("self_attn.kv_a_proj_with_mqa.weight", _c.LatentCacheWidth, h, TensorGroup.Attention),
            Vector("self_attn.kv_a_layernorm.weight", _c.KvLoraRank),
            Linear("self_attn.kv_b_proj.weight", heads * (_c.QkNopeHeadDim + _c.VHeadDim), _c.KvLoraRank, TensorGroup.Attention),
            Linear("self_attn.o_proj.weight", h, heads * _c.VHeadDim, TensorGroup.Attention));

        IndexerTensors? indexerTensors = indexer
            ? new IndexerTensors(
                Linear("self_attn.indexer.wq_b.weight", (long)_c.IndexNHeads * _c.IndexHeadDim, _c.QLoraRank, TensorGroup.Indexer),
                Linear("self_attn.indexer.wk.weight", _c.IndexHeadDim, h, TensorGroup.Indexer),
                Vector("self_attn.indexer.k_norm.weight", _c.IndexHeadDim),
                Vector("self_attn.indexer.k_norm.bias", _c.IndexHeadDim),
                new ModelTensor(p + "self_attn.indexer.weights_proj.weight", [_c.IndexNHeads, h], TensorGroup.Indexer, index))
            : null;

        MoeTensors? moeTensors = null;
        MlpTensors? dense = null;
        if (moe)
        {
            long inner = _c.MoeIntermediateSize;
            moeTensors = new MoeTensors(
                new ModelTensor(p + "mlp.gate.weight", [_c.NRoutedExperts, h], TensorGroup.Router, index),
                new ModelTensor(p + "mlp.gate.e_score_correction_bias", [_c.NRoutedExperts], TensorGroup.Router, index, DType: DType.F32),
                new RoutedExperts(_c.NRoutedExperts, inner, h, e => SwiGlu($"mlp.experts.{e}.", inner, TensorGroup.RoutedExpert, e)),
                _c.NSharedExperts > 0 ? SwiGlu("mlp.shared_experts.", inner * _c.NSharedExperts, TensorGroup.SharedExpert) : null);
        }
        else
        {
            dense = SwiGlu("mlp.", _c.IntermediateSize, TensorGroup.DenseMlp);
        }

        MtpTensors? mtpTensors = mtp
            ? new MtpTensors(Vector("enorm.weight", h), Vector("hnorm.weight", h),
                new ModelTensor(p + "eh_proj.weight", [h, 2 * h], TensorGroup.MtpProjection, index),
                Vector("shared_head.norm.weight", h))
            : null;

        return new LayerTensors(index, Vector("input_layernorm.weight", h), attention, indexerTensors, dense, moeTensors,
            Vector("post_attention_layernorm.weight", h), mtpTensors);
    }

    /// <summary>
    /// Every tensor in checkpoint order: embeddings, main layers, MTP layers, final norm, lm_head. Lazy: routed experts
    /// are described as the enumeration reaches them.
    /// </summary>
    public IEnumerable<ModelTensor> All()
    {
        yield return EmbedTokens;
        for (int i = 0; i < LayerCount; i++)
            foreach (var t in Layer(i).All()) yield return t;
        yield return Norm;
        if (LmHead is not null) yield return LmHead;
    }

    /// <summary>Number of tensors the config implies (scales excluded), without describing the routed experts.</summary>
    public long TensorCount => ModelLevel().LongCount() + Enumerable.Range(0, LayerCount).Sum(i => Layer(i).TensorCount);

    /// <summary>Parameters the config implies, without describing the routed experts.</summary>
    public long ParameterCount => ModelLevel().Sum(t => t.ElementCount) + Enumerable.Range(0, LayerCount).Sum(i => Layer(i).ParameterCount);

    /// <summary>
    /// The layer index a <c>model.layers.N.*</c> tensor name belongs to, else -1 (embeddings, final norm, lm_head,
    /// unknown names).
    /// </summary>
    public static int LayerOf(string name)
    {
        if (!name.StartsWith(LayerPrefix, StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', LayerPrefix.Length);
        return end > 0 && int.TryParse(name.AsSpan(LayerPrefix.Length, end - LayerPrefix.Length), out int layer) ? layer : -1;
    }

    private IEnumerable<ModelTensor> ModelLevel() => LmHead is null ? [EmbedTokens, Norm] : [EmbedTokens, Norm, LmHead];
}
