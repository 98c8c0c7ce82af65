namespace Glm.Onnx.Checkpoint;

/// <summary>
/// A GLM-5.x (<c>model_type</c> "glm_moe_dsa") config, bound from config.json by <see cref="Load"/> / <see cref="Parse"/>
/// and validated. Property names mirror the JSON fields. Derived values follow transformers' <c>__post_init__</c>:
/// <list type="bullet">
/// <item><see cref="IndexerTypes"/>: the explicit <c>indexer_types</c>, else <c>index_topk_pattern</c>, else
/// full iff <c>max(i - index_skip_topk_offset + 1, 0) % max(index_topk_freq, 1) == 0</c> (defaults freq 1, offset 2:
/// every layer full).</item>
/// <item><see cref="MlpLayerTypes"/>: the explicit <c>mlp_layer_types</c>, else <c>first_k_dense_replace</c> dense layers then sparse.</item>
/// <item>The rope dimension is <see cref="QkRopeHeadDim"/>; config.json's <c>head_dim</c> is ignored (kept in <see cref="HeadDimInConfig"/>).</item>
/// </list>
/// Instances built in code must call <see cref="Validate"/>.
/// </summary>
public sealed record GlmConfig
{
    /// <summary>"glm_moe_dsa".</summary>
    public required string ModelType { get; init; }
    /// <summary><c>architectures</c> (e.g. GlmMoeDsaForCausalLM); may be empty.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];
    /// <summary><c>vocab_size</c>: embedding and lm_head rows.</summary>
    public required int VocabSize { get; init; }
    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }
    /// <summary><c>intermediate_size</c> of the dense MLP layers.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary><c>moe_intermediate_size</c> of each routed and shared expert.</summary>
    public required int MoeIntermediateSize { get; init; }
    /// <summary><c>num_hidden_layers</c> (main model; the MTP layers follow at this index).</summary>
    public required int NumHiddenLayers { get; init; }
    /// <summary><c>num_attention_heads</c>.</summary>
    public required int NumAttentionHeads { get; init; }
    /// <summary><c>num_key_value_heads</c> (equal to the attention heads for MLA).</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary><c>q_lora_rank</c>.</summary>
    public required int QLoraRank { get; init; }
    /// <summary><c>kv_lora_rank</c>: width of the cached latent.</summary>
    public required int KvLoraRank { get; init; }
    /// <summary><c>qk_nope_head_dim</c>.</summary>
    public required int QkNopeHeadDim { get; init; }
    /// <summary><c>qk_rope_head_dim</c>: the rope dimension for MLA and the indexer.</summary>
    public required int QkRopeHeadDim { get; init; }
    /// <summary><c>v_head_dim</c>.</summary>
    public required int VHeadDim { get; init; }
    /// <summary><c>head_dim</c> as written in config.json (ignored by the model; transformers overwrites it with qk_rope_head_dim).</summary>
    public int? HeadDimInConfig { get; init; }
    /// <summary>qk_nope_head_dim + qk_rope_head_dim (the softmax scale is its inverse square root).</summary>
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;
    /// <summary>Rope dimension = <see cref="QkRopeHeadDim"/>, whatever config.json's head_dim says.</summary>
    public int RopeDim => QkRopeHeadDim;

    /// <summary><c>n_routed_experts</c> (alias <c>num_local_experts</c> / <c>num_experts</c>).</summary>
    public required int NRoutedExperts { get; init; }
    /// <summary><c>n_shared_experts</c>: shared expert width = this x moe_intermediate_size.</summary>
    public required int NSharedExperts { get; init; }
    /// <summary><c>num_experts_per_tok</c> (top-k).</summary>
    public required int NumExpertsPerTok { get; init; }
    /// <summary><c>n_group</c> for group-limited routing.</summary>
    public int NGroup { get; init; } = 1;
    /// <summary><c>topk_group</c>: groups kept.</summary>
    public int TopkGroup { get; init; } = 1;
    /// <summary><c>routed_scaling_factor</c>.</summary>
    public double RoutedScalingFactor { get; init; } = 1.0;
    /// <summary><c>norm_topk_prob</c>.</summary>
    public bool NormTopkProb { get; init; } = true;
    /// <summary><c>scoring_func</c> ("sigmoid").</summary>
    public string ScoringFunc { get; init; } = "sigmoid";
    /// <summary><c>topk_method</c> ("noaux_tc").</summary>
    public string TopkMethod { get; init; } = "noaux_tc";
    /// <summary><c>moe_router_dtype</c> when given (routing is float32 regardless).</summary>
    public string? MoeRouterDtype { get; init; }
    /// <summary><c>first_k_dense_replace</c> when given.</summary>
    public int? FirstKDenseReplace { get; init; }
    /// <summary><c>moe_layer_freq</c> (informational; transformers uses mlp_layer_types).</summary>
    public int MoeLayerFreq { get; init; } = 1;
    /// <summary>Per main-model layer: dense or sparse MLP.</summary>
    public required IReadOnlyList<MlpLayerType> MlpLayerTypes { get; init; }

    /// <summary><c>index_topk</c>: keys each query attends to.</summary>
    public required int IndexTopK { get; init; }
    /// <summary><c>index_head_dim</c>.</summary>
    public required int IndexHeadDim { get; init; }
    /// <summary><c>index_n_heads</c>.</summary>
    public required int IndexNHeads { get; init; }
    /// <summary>Per main-model layer: full or shared indexer.</summary>
    public required IReadOnlyList<IndexerType> IndexerTypes { get; init; }
    /// <summary><c>index_topk_freq</c> when given.</summary>
    public int? IndexTopkFreq { get; init; }
    /// <summary><c>index_skip_topk_offset</c> when given.</summary>
    public int? IndexSkipTopkOffset { get; init; }
    /// <summary><c>index_share_for_mtp_iteration</c>.</summary>
    public bool IndexShareForMtpIteration { get; init; }
    /// <summary><c>indexer_rope_interleave</c> (GLM: true).</summary>
    public bool IndexerRopeInterleave { get; init; } = true;
    /// <summary><c>rope_interleave</c> (GLM: true).</summary>
    public bool RopeInterleave { get; init; } = true;

    /// <summary>Rotary parameters.</summary>
    public required RopeParameters Rope { get; init; }
    /// <summary><c>max_position_embeddings</c>.</summary>
    public required long MaxPositionEmbeddings { get; init; }
    /// <summary><c>rms_norm_eps</c> of the decoder norms (q_a/kv_a norms and the indexer k_norm use 1e-6).</summary>
    public double RmsNormEps { get; init; } = 1e-5;
    /// <summary><c>initializer_range</c> (std of the normal init).</summary>
    public double InitializerRange { get; init; } = 0.02;
    /// <summary><c>tie_word_embeddings</c>: lm_head reuses embed_tokens (no lm_head.weight on disk).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary><c>hidden_act</c> ("silu").</summary>
    public string HiddenAct { get; init; } = "silu";
    /// <summary><c>num_nextn_predict_layers</c>: MTP layers stored after the main layers (0 when absent).</summary>
    public int NumNextnPredictLayers { get; init; }

    /// <summary><c>eos_token_id</c> as a list (a single id becomes a one-element list).</summary>
    public IReadOnlyList<long> EosTokenIds { get; init; } = [];
    /// <summary><c>bos_token_id</c>.</summary>
    public long? BosTokenId { get; init; }
    /// <summary><c>pad_token_id</c>.</summary>
    public long? PadTokenId { get; init; }
    /// <summary><c>dtype</c> / <c>torch_dtype</c> ("bfloat16").</summary>
    public string? Dtype { get; init; }
    /// <summary><c>transformers_version</c>.</summary>
    public string? TransformersVersion { get; init; }
    /// <summary>Block-FP8 quantization, or null for an unquantised checkpoint.</summary>
    public QuantizationConfig? Quantization { get; init; }

    /// <summary>Width of one latent cache row: kv_lora_rank + qk_rope_head_dim.</summary>
    public int LatentCacheWidth => KvLoraRank + QkRopeHeadDim;

    /// <summary>Main-model layers that run their own indexer, ascending.</summary>
    public IReadOnlyList<int> FullIndexerLayers => Enumerable.Range(0, NumHiddenLayers).Where(i => IndexerTypes[i] == IndexerType.Full).ToArray();

    /// <summary>Main-model layers that reuse a previous layer's selection, ascending.</summary>
    public IReadOnlyList<int> SharedIndexerLayers => Enumerable.Range(0, NumHiddenLayers).Where(i => IndexerTypes[i] == IndexerType.Shared).ToArray();

    /// <summary>Main-model layers with a dense MLP.</summary>
    public IReadOnlyList<int> DenseLayers => Enumerable.Range(0, NumHiddenLayers).Where(i => MlpLayerTypes[i] == MlpLayerType.Dense).ToArray();

    /// <summary>Main-model layers with a mixture of experts.</summary>
    public IReadOnlyList<int> MoeLayers => Enumerable.Range(0, NumHiddenLayers).Where(i => MlpLayerTypes[i] == MlpLayerType.Sparse).ToArray();

    /// <summary>The layer whose top-k selection layer <paramref name="layer"/> uses: itself when full, else the most recent full layer.</summary>
    public int IndexSourceLayer(int layer)
    {
        for (int i = layer; i >= 0; i--)
            if (IndexerTypes[i] == IndexerType.Full) return i;
        throw new InvalidOperationException($"layer {layer} is shared but no full indexer layer precedes it");
    }

    /// <summary>Layer indices of the MTP layers (num_hidden_layers .. num_hidden_layers + num_nextn_predict_layers - 1).</summary>
    public IReadOnlyList<int> MtpLayers => Enumerable.Range(NumHiddenLayers, NumNextnPredictLayers).ToArray();

    /// <summary>Loads and validates <paramref name="path"/> (a config.json).</summary>
    /// <exception cref="CheckpointFormatException">Missing or invalid field, inconsistent dimensions, unsupported feature.</exception>
    public static GlmConfig Load(string path)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: config.json not found", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Binds and validates config JSON text; <paramref name="source"/> names it in errors.</summary>
    public static GlmConfig Parse(string json, string source) => GlmConfigBinder.Bind(json, source);

    /// <summary>Serialises to a Hugging Face style config.json (every field, derived lists written out).</summary>
    public string ToJson() => GlmConfigWriter.Write(this);

    /// <summary>
    /// Index types from transformers' rule: full iff <c>max(i - offset + 1, 0) % max(freq, 1) == 0</c>.
    /// GLM-5.2 (78 layers, freq 4, offset 3): full = {0, 1, 2, 6, 10, ..., 74}.
    /// </summary>
    public static IReadOnlyList<IndexerType> DeriveIndexerTypes(int layers, int freq, int offset)
    {
        int f = Math.Max(freq, 1);
        return Enumerable.Range(0, layers)
            .Select(i => Math.Max(i - offset + 1, 0) % f == 0 ? IndexerType.Full : IndexerType.Shared).ToArray();
    }

    /// <summary><paramref name="firstKDense"/> dense layers, then sparse.</summary>
    public static IReadOnlyList<MlpLayerType> DeriveMlpLayerTypes(int layers, int firstKDense) =>
        Enumerable.Range(0, layers).Select(i => i < firstKDense ? MlpLayerType.Dense : MlpLayerType.Sparse).ToArray();

    /// <summary>Checks dimensions and layer maps; throws naming the field. <paramref name="source"/> names the config.</summary>
    public void Validate(string source) => GlmConfigValidation.Validate(this, source);
}
