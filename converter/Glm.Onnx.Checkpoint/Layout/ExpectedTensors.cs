namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The complete list of tensors a GLM-5.x checkpoint must hold for a <see cref="GlmConfig"/>, with names as on disk
/// (per-expert 2-D tensors, not transformers' fused gate_up_proj), in transformers' module order.
/// Rules: shared-indexer layers have no indexer tensors; tied embeddings have no lm_head.weight; MTP layers
/// (<c>model.layers.{num_hidden_layers + k}</c>, only when num_nextn_predict_layers &gt; 0) are MoE decoder layers with an
/// indexer plus enorm, hnorm, eh_proj and shared_head.norm (no embed_tokens / shared_head.head copies, as in the
/// official checkpoints); block-FP8 configs add a float32 <c>weight_scale_inv</c>
/// [ceil(out / block_rows), ceil(in / block_cols)] after each quantised weight.
/// </summary>
public static class ExpectedTensors
{
    /// <summary>
    /// The expected tensors. For an FP8 config, <paramref name="isQuantized"/> decides per quantizable weight whether it
    /// is stored as F8_E4M3 (default: <see cref="DefaultIsQuantized"/>); unquantizable tensors are never quantised.
    /// </summary>
    public static IReadOnlyList<ExpectedTensor> For(GlmConfig config, Func<string, bool>? isQuantized = null)
    {
        var list = new List<ExpectedTensor>();
        var q = config.Quantization;
        Func<string, bool> quantized = isQuantized ?? (name => DefaultIsQuantized(config, name));
        int h = config.HiddenSize;

        void Add(string name, long[] shape, TensorGroup group, int? layer = null, int? expert = null, DType dtype = DType.BF16)
            => list.Add(new ExpectedTensor(name, shape, dtype, group, layer, expert, Quantizable: false));

        void Linear(string name, long rows, long cols, TensorGroup group, int? layer, int? expert = null)
        {
            bool fp8 = q is not null && quantized(name);
            list.Add(new ExpectedTensor(name, [rows, cols], fp8 ? DType.F8_E4M3 : DType.BF16, group, layer, expert, Quantizable: true));
            if (fp8)
                list.Add(new ExpectedTensor(ScaleName(name), [CeilDiv(rows, q!.BlockRows), CeilDiv(cols, q.BlockCols)],
                    DType.F32, TensorGroup.QuantScale, layer, expert, Quantizable: false));
        }

        void DecoderLayer(int i, bool withIndexer, bool moe)
        {
            string p = $"model.layers.{i}.";
            string a = p + "self_attn.";
            Linear(a + "q_a_proj.weight", config.QLoraRank, h, TensorGroup.Attention, i);
            Add(a + "q_a_layernorm.weight", [config.QLoraRank], TensorGroup.Norm, i);
            Linear(a + "q_b_proj.weight", (long)config.NumAttentionHeads * config.QkHeadDim, config.QLoraRank, TensorGroup.Attention, i);
            Linear(a + "kv_a_proj_with_mqa.weight", config.KvLoraRank + config.QkRopeHeadDim, h, TensorGroup.Attention, i);
            Add(a + "kv_a_layernorm.weight", [config.KvLoraRank], TensorGroup.Norm, i);
            Linear(a + "kv_b_proj.weight", (long)config.NumAttentionHeads * (config.QkNopeHeadDim + config.VHeadDim), config.KvLoraRank, TensorGroup.Attention, i);
            Linear(a + "o_proj.weight", h, (long)config.NumAttentionHeads * config.VHeadDim, TensorGroup.Attention, i);
            if (withIndexer)
            {
                string x = a + "indexer.";
                Linear(x + "wq_b.weight", (long)config.IndexNHeads * config.IndexHeadDim, config.QLoraRank, TensorGroup.Indexer, i);
                Linear(x + "wk.weight", config.IndexHeadDim, h, TensorGroup.Indexer, i);
                Add(x + "k_norm.weight", [config.IndexHeadDim], TensorGroup.Norm, i);
                Add(x + "k_norm.bias", [config.IndexHeadDim], TensorGroup.Norm, i);
                Add(x + "weights_proj.weight", [config.IndexNHeads, h], TensorGroup.Indexer, i);
            }
            string m = p + "mlp.";
            if (moe)
            {
                long mi = config.MoeIntermediateSize;
                for (int e = 0; e < config.NRoutedExperts; e++)
                {
                    string ex = $"{m}experts.{e}.";
                    Linear(ex + "gate_proj.weight", mi, h, TensorGroup.RoutedExpert, i, e);
                    Linear(ex + "up_proj.weight", mi, h, TensorGroup.RoutedExpert, i, e);
                    Linear(ex + "down_proj.weight", h, mi, TensorGroup.RoutedExpert, i, e);
                }
                Add(m + "gate.weight", [config.NRoutedExperts, h], TensorGroup.Router, i);
                Add(m + "gate.e_score_correction_bias", [config.NRoutedExperts], TensorGroup.Router, i, dtype: DType.F32);
                if (config.NSharedExperts > 0)
                {
                    long si = mi * config.NSharedExperts;
                    Linear(m + "shared_experts.gate_proj.weight", si, h, TensorGroup.SharedExpert, i);
                    Linear(m + "shared_experts.up_proj.weight", si, h, TensorGroup.SharedExpert, i);
                    Linear(m + "shared_experts.down_proj.weight", h, si, TensorGroup.SharedExpert, i);
                }
            }
            else
            {
                long di = config.IntermediateSize;
                Linear(m + "gate_proj.weight", di, h, TensorGroup.DenseMlp, i);
                Linear(m + "up_proj.weight", di, h, TensorGroup.DenseMlp, i);
                Linear(m + "down_proj.weight", h, di, TensorGroup.DenseMlp, i);
            }
            Add(p + "input_layernorm.weight", [h], TensorGroup.Norm, i);
            Add(p + "post_attention_layernorm.weight", [h], TensorGroup.Norm, i);
        }

        Add("model.embed_tokens.weight", [config.VocabSize, h], TensorGroup.Embedding);
        for (int i = 0; i < config.NumHiddenLayers; i++)
            DecoderLayer(i, config.IndexerTypes[i] == IndexerType.Full, config.MlpLayerTypes[i] == MlpLayerType.Sparse);
        foreach (int i in config.MtpLayers)
        {
            string p = $"model.layers.{i}.";
            Add(p + "enorm.weight", [h], TensorGroup.Norm, i);
            Add(p + "hnorm.weight", [h], TensorGroup.Norm, i);
            Add(p + "eh_proj.weight", [h, 2L * h], TensorGroup.MtpProjection, i);
            Add(p + "shared_head.norm.weight", [h], TensorGroup.Norm, i);
            DecoderLayer(i, withIndexer: true, moe: true);
        }
        Add("model.norm.weight", [h], TensorGroup.Norm);
        if (!config.TieWordEmbeddings)
            Add("lm_head.weight", [config.VocabSize, h], TensorGroup.LmHead);
        return list;
    }

    /// <summary>
    /// The expected tensors of an existing checkpoint: each quantizable weight counts as quantised exactly when the
    /// checkpoint stores it as F8_E4M3 (official FP8 checkpoints and the fixtures differ on which small projections
    /// they quantise, and neither choice is wrong).
    /// </summary>
    public static IReadOnlyList<ExpectedTensor> ForCheckpoint(GlmConfig config, IReadOnlyDictionary<string, TensorInfo> stored) =>
        For(config, name => stored.TryGetValue(name, out var t) && t.DType == DType.F8_E4M3);

    /// <summary>
    /// Default FP8 policy for writing: every quantizable linear weight is quantised unless a
    /// <c>modules_to_not_convert</c> entry occurs in its module name (substring match, as transformers does).
    /// Never quantised: embeddings, lm_head, norms, router, indexer weights_proj, MTP eh_proj.
    /// </summary>
    public static bool DefaultIsQuantized(GlmConfig config, string weightName)
    {
        if (config.Quantization is not { } q) return false;
        string module = weightName.EndsWith(".weight", StringComparison.Ordinal) ? weightName[..^".weight".Length] : weightName;
        return q.ModulesToNotConvert is not { } skip || !skip.Any(s => s.Length > 0 && module.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>Name of the block scale of <paramref name="weightName"/> (<c>X.weight</c> -> <c>X.weight_scale_inv</c>).</summary>
    public static string ScaleName(string weightName) => weightName + "_scale_inv";

    /// <summary>Sum of parameter elements (scales excluded).</summary>
    public static long ParameterCount(IEnumerable<ExpectedTensor> tensors) => tensors.Where(t => t.IsParameter).Sum(t => t.ElementCount);

    /// <summary>
    /// Active parameters per token of the main model (MTP layers excluded): attention (MLA projections and norms) of every
    /// layer, dense MLPs, top-k routed experts plus shared experts and the router of every MoE layer, the indexers of
    /// full layers, the final norm and lm_head (the embedding matrix when tied). Embeddings are excluded: a lookup, not
    /// a matmul.
    /// </summary>
    public static long ActiveParameterCount(GlmConfig config, IEnumerable<ExpectedTensor> tensors)
    {
        long active = 0;
        foreach (var t in tensors)
        {
            if (!t.IsParameter || t.Layer >= config.NumHiddenLayers) continue;
            active += t.Group switch
            {
                TensorGroup.Embedding => config.TieWordEmbeddings ? t.ElementCount : 0,
                TensorGroup.RoutedExpert => t.Expert < config.NumExpertsPerTok ? t.ElementCount : 0,
                _ => t.ElementCount,
            };
        }
        return active;
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
