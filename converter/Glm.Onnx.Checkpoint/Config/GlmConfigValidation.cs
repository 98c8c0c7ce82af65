namespace Glm.Onnx.Checkpoint;

/// <summary>Consistency rules for <see cref="GlmConfig"/>; each failure names the field and the expected vs. found value.</summary>
internal static class GlmConfigValidation
{
    public const long MaxPositions = 1L << 24;

    public static void Validate(GlmConfig c, string source)
    {
        Positive(source, "vocab_size", c.VocabSize);
        Positive(source, "hidden_size", c.HiddenSize);
        Positive(source, "num_hidden_layers", c.NumHiddenLayers);
        Positive(source, "num_attention_heads", c.NumAttentionHeads);
        Positive(source, "q_lora_rank", c.QLoraRank);
        Positive(source, "kv_lora_rank", c.KvLoraRank);
        Positive(source, "qk_nope_head_dim", c.QkNopeHeadDim);
        Positive(source, "qk_rope_head_dim", c.QkRopeHeadDim);
        Positive(source, "v_head_dim", c.VHeadDim);
        Positive(source, "index_topk", c.IndexTopK);
        Positive(source, "index_head_dim", c.IndexHeadDim);
        Positive(source, "index_n_heads", c.IndexNHeads);
        Positive(source, "max_position_embeddings", c.MaxPositionEmbeddings);
        // Positions are int32 in the runtime's tables and GLM-5.2 uses 2^20: anything past 2^24 is a broken config.
        if (c.MaxPositionEmbeddings > MaxPositions)
            Fail(source, "max_position_embeddings", $"expected at most {MaxPositions} (2^24), found {c.MaxPositionEmbeddings}");
        if (c.Rope.OriginalMaxPositionEmbeddings is long original && (original <= 0 || original > c.MaxPositionEmbeddings))
            Fail(source, "rope_parameters.original_max_position_embeddings",
                $"expected 1..max_position_embeddings ({c.MaxPositionEmbeddings}), found {original}");
        if (c.NumNextnPredictLayers < 0) Fail(source, "num_nextn_predict_layers", $"expected >= 0, found {c.NumNextnPredictLayers}");
        if (!(c.RmsNormEps > 0)) Fail(source, "rms_norm_eps", $"expected > 0, found {c.RmsNormEps}");
        if (!(c.InitializerRange >= 0)) Fail(source, "initializer_range", $"expected >= 0, found {c.InitializerRange}");
        if (!(c.Rope.RopeTheta > 0)) Fail(source, "rope_parameters.rope_theta", $"expected > 0, found {c.Rope.RopeTheta}");
        if (c.Rope.RopeType is not ("default" or "yarn"))
            Fail(source, "rope_parameters.rope_type", $"unknown rope type \"{c.Rope.RopeType}\": expected \"default\" or \"yarn\"");

        if (c.NumKeyValueHeads != c.NumAttentionHeads)
            Fail(source, "num_key_value_heads",
                $"expected num_attention_heads ({c.NumAttentionHeads}): MLA shares one latent across all heads, found {c.NumKeyValueHeads}");
        if (c.QkRopeHeadDim % 2 != 0)
            Fail(source, "qk_rope_head_dim", $"expected an even number (rotary pairs), found {c.QkRopeHeadDim}");
        if (c.IndexHeadDim < c.QkRopeHeadDim)
            Fail(source, "index_head_dim",
                $"expected >= qk_rope_head_dim ({c.QkRopeHeadDim}): the indexer ropes its first qk_rope_head_dim dims, found {c.IndexHeadDim}");
        if (c.HiddenAct != "silu") Fail(source, "hidden_act", $"expected \"silu\", found \"{c.HiddenAct}\"");
        if (c.ScoringFunc != "sigmoid") Fail(source, "scoring_func", $"expected \"sigmoid\", found \"{c.ScoringFunc}\"");
        if (c.TopkMethod != "noaux_tc") Fail(source, "topk_method", $"expected \"noaux_tc\", found \"{c.TopkMethod}\"");

        if (c.MlpLayerTypes.Count != c.NumHiddenLayers)
            Fail(source, "mlp_layer_types", $"expected {c.NumHiddenLayers} entries (num_hidden_layers), found {c.MlpLayerTypes.Count}");
        if (c.IndexerTypes.Count != c.NumHiddenLayers)
            Fail(source, "indexer_types", $"expected {c.NumHiddenLayers} entries (num_hidden_layers), found {c.IndexerTypes.Count}");
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            if (c.IndexerTypes[i] == IndexerType.Full) break;
            Fail(source, $"indexer_types[{i}]", "layer is \"shared\" but no \"full\" indexer layer precedes it: expected the first layer to be \"full\"");
        }

        bool anyDense = c.MlpLayerTypes.Contains(MlpLayerType.Dense);
        bool anySparse = c.MlpLayerTypes.Contains(MlpLayerType.Sparse) || c.NumNextnPredictLayers > 0;
        if (anyDense) Positive(source, "intermediate_size", c.IntermediateSize);
        if (anySparse)
        {
            Positive(source, "moe_intermediate_size", c.MoeIntermediateSize);
            Positive(source, "n_routed_experts", c.NRoutedExperts);
            Positive(source, "num_experts_per_tok", c.NumExpertsPerTok);
            Positive(source, "n_group", c.NGroup);
            if (c.NSharedExperts < 0) Fail(source, "n_shared_experts", $"expected >= 0, found {c.NSharedExperts}");
            if (c.NRoutedExperts % c.NGroup != 0)
                Fail(source, "n_group", $"expected a divisor of n_routed_experts ({c.NRoutedExperts}), found {c.NGroup}");
            if (c.TopkGroup < 1 || c.TopkGroup > c.NGroup)
                Fail(source, "topk_group", $"expected 1..n_group ({c.NGroup}), found {c.TopkGroup}");
            int reachable = c.TopkGroup * (c.NRoutedExperts / c.NGroup);
            if (c.NumExpertsPerTok > reachable)
                Fail(source, "num_experts_per_tok",
                    $"expected <= topk_group x experts per group = {c.TopkGroup} x {c.NRoutedExperts / c.NGroup} = {reachable}, found {c.NumExpertsPerTok}");
            if (c.NGroup > 1 && c.NRoutedExperts / c.NGroup < 2)
                Fail(source, "n_group", $"expected at least 2 experts per group (group score = sum of top-2), found {c.NRoutedExperts / c.NGroup}");
        }

        if (c.Quantization is { } q)
        {
            if (q.QuantMethod != "fp8") Fail(source, "quantization_config.quant_method", $"unsupported quantization \"{q.QuantMethod}\": expected \"fp8\"");
            if (q.BlockRows <= 0 || q.BlockCols <= 0)
                Fail(source, "quantization_config.weight_block_size", $"expected two positive integers, found [{q.BlockRows}, {q.BlockCols}]");
        }
    }

    private static void Positive(string source, string field, long value)
    {
        if (value <= 0) Fail(source, field, $"expected a positive integer, found {value}");
    }

    private static void Fail(string source, string field, string message) =>
        throw CheckpointFormatException.ForField(source, field, message);
}
