using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>Binds config.json to <see cref="GlmConfig"/>, resolving the derived fields; every error names the field.</summary>
internal static class GlmConfigBinder
{
    public static GlmConfig Bind(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new CheckpointFormatException(source, null, $"malformed config JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(source, null, $"config must be a JSON object, found {doc.RootElement.ValueKind}");
            var r = new FieldReader(doc.RootElement, source);

            string modelType = r.RequiredString("model_type");
            if (modelType != "glm_moe_dsa")
                throw CheckpointFormatException.ForField(source, "model_type", $"expected \"glm_moe_dsa\", found \"{modelType}\"");
            if (r.OptionalInt("q_lora_rank") is null)
                throw CheckpointFormatException.ForField(source, "q_lora_rank",
                    "expected a positive integer: configs without a q LoRA (plain q_proj) are not supported by GLM-5.x tooling");

            int layers = r.RequiredInt("num_hidden_layers");
            int routed = r.OptionalInt("n_routed_experts") ?? r.OptionalInt("num_local_experts") ?? r.OptionalInt("num_experts")
                ?? throw CheckpointFormatException.ForField(source, "n_routed_experts", "missing required field");
            int? firstKDense = r.OptionalInt("first_k_dense_replace");

            var config = new GlmConfig
            {
                ModelType = modelType,
                Architectures = r.OptionalStringList("architectures") ?? [],
                VocabSize = r.RequiredInt("vocab_size"),
                HiddenSize = r.RequiredInt("hidden_size"),
                IntermediateSize = r.RequiredInt("intermediate_size"),
                MoeIntermediateSize = r.RequiredInt("moe_intermediate_size"),
                NumHiddenLayers = layers,
                NumAttentionHeads = r.RequiredInt("num_attention_heads"),
                NumKeyValueHeads = r.OptionalInt("num_key_value_heads") ?? r.RequiredInt("num_attention_heads"),
                QLoraRank = r.RequiredInt("q_lora_rank"),
                KvLoraRank = r.RequiredInt("kv_lora_rank"),
                QkNopeHeadDim = r.RequiredInt("qk_nope_head_dim"),
                QkRopeHeadDim = r.RequiredInt("qk_rope_head_dim"),
                VHeadDim = r.RequiredInt("v_head_dim"),
                HeadDimInConfig = r.OptionalInt("head_dim"),
                NRoutedExperts = routed,
                NSharedExperts = r.OptionalInt("n_shared_experts") ?? 0,
                NumExpertsPerTok = r.RequiredInt("num_experts_per_tok"),
                NGroup = r.OptionalInt("n_group") ?? 1,
                TopkGroup = r.OptionalInt("topk_group") ?? 1,
                RoutedScalingFactor = r.OptionalDouble("routed_scaling_factor") ?? 1.0,
                NormTopkProb = r.OptionalBool("norm_topk_prob") ?? true,
                ScoringFunc = r.OptionalString("scoring_func") ?? "sigmoid",
                TopkMethod = r.OptionalString("topk_method") ?? "noaux_tc",
                MoeRouterDtype = r.OptionalString("moe_router_dtype"),
                FirstKDenseReplace = firstKDense,
                MoeLayerFreq = r.OptionalInt("moe_layer_freq") ?? 1,
                MlpLayerTypes = BindMlpLayerTypes(r, source, layers, firstKDense),
                IndexTopK = r.RequiredInt("index_topk"),
                IndexHeadDim = r.RequiredInt("index_head_dim"),
                IndexNHeads = r.RequiredInt("index_n_heads"),
                IndexerTypes = BindIndexerTypes(r, source, layers),
                IndexTopkFreq = r.OptionalInt("index_topk_freq"),
                IndexSkipTopkOffset = r.OptionalInt("index_skip_topk_offset"),
                IndexShareForMtpIteration = r.OptionalBool("index_share_for_mtp_iteration") ?? false,
                IndexerRopeInterleave = r.OptionalBool("indexer_rope_interleave") ?? true,
                RopeInterleave = r.OptionalBool("rope_interleave") ?? true,
                Rope = BindRope(r, source),
                MaxPositionEmbeddings = r.RequiredLong("max_position_embeddings"),
                RmsNormEps = r.OptionalDouble("rms_norm_eps") ?? 1e-5,
                InitializerRange = r.OptionalDouble("initializer_range") ?? 0.02,
                TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
                HiddenAct = r.OptionalString("hidden_act") ?? "silu",
                NumNextnPredictLayers = r.OptionalInt("num_nextn_predict_layers") ?? 0,
                EosTokenIds = r.OptionalLongOrList("eos_token_id") ?? [],
                BosTokenId = r.OptionalLong("bos_token_id"),
                PadTokenId = r.OptionalLong("pad_token_id"),
                Dtype = r.OptionalString("dtype") ?? r.OptionalString("torch_dtype"),
                TransformersVersion = r.OptionalString("transformers_version"),
                Quantization = BindQuantization(r, source),
            };

            // Fields the model family fixes: reject values we would silently compute wrong.
            if (r.OptionalBool("attention_bias") == true)
                throw CheckpointFormatException.ForField(source, "attention_bias", "expected false: attention projections with bias are not supported");
            if (r.OptionalBool("mlp_bias") == true)
                throw CheckpointFormatException.ForField(source, "mlp_bias", "expected false: MLP projections with bias are not supported");
            if (r.OptionalInt("qk_head_dim") is int qkHead && qkHead != config.QkHeadDim)
                throw CheckpointFormatException.ForField(source, "qk_head_dim",
                    $"expected qk_nope_head_dim + qk_rope_head_dim = {config.QkNopeHeadDim} + {config.QkRopeHeadDim} = {config.QkHeadDim}, found {qkHead}");

            CheckLayerTypes(r, source, layers);
            config.Validate(source);
            return config;
        }
    }

    // layer_types only names each layer's attention class (every GLM-5.x layer is MLA + DSA); a list of
    // the wrong length or another class would be a different model that we would convert wrongly without a word.
    private static void CheckLayerTypes(FieldReader r, string source, int layers)
    {
        if (r.OptionalStringList("layer_types") is not { } types)
            return;
        if (types.Count != layers)
            throw CheckpointFormatException.ForField(source, "layer_types",
                $"expected {layers} entries (num_hidden_layers), found {types.Count}");
        for (int i = 0; i < types.Count; i++)
            if (types[i] != "deepseek_sparse_attention")
                throw CheckpointFormatException.ForField(source, $"layer_types[{i}]",
                    $"expected \"deepseek_sparse_attention\" (every GLM-5.x layer is MLA with the sparse indexer), found \"{types[i]}\"");
    }

    private static IReadOnlyList<MlpLayerType> BindMlpLayerTypes(FieldReader r, string source, int layers, int? firstKDense)
    {
        var list = r.OptionalStringList("mlp_layer_types");
        if (list is null)
        {
            if (firstKDense is null)
                throw CheckpointFormatException.ForField(source, "first_k_dense_replace",
                    "missing: either mlp_layer_types or first_k_dense_replace is required");
            if (firstKDense < 0 || firstKDense > layers)
                throw CheckpointFormatException.ForField(source, "first_k_dense_replace",
                    $"expected 0..num_hidden_layers ({layers}), found {firstKDense}");
            return GlmConfig.DeriveMlpLayerTypes(layers, firstKDense.Value);
        }
        if (list.Count != layers)
            throw CheckpointFormatException.ForField(source, "mlp_layer_types",
                $"expected {layers} entries (num_hidden_layers), found {list.Count}");
        return list.Select((v, i) => v switch
        {
            "dense" => MlpLayerType.Dense,
            "sparse" => MlpLayerType.Sparse,
            _ => throw CheckpointFormatException.ForField(source, $"mlp_layer_types[{i}]", $"expected \"dense\" or \"sparse\", found \"{v}\""),
        }).ToArray();
    }

    private static IReadOnlyList<IndexerType> BindIndexerTypes(FieldReader r, string source, int layers)
    {
        var explicitList = r.OptionalStringList("indexer_types");
        if (explicitList is not null)
            return ParseIndexerList(explicitList, source, "indexer_types", layers);

        if (r.Has("index_topk_pattern"))
        {
            var element = r.Get("index_topk_pattern");
            IReadOnlyList<string> entries = element.ValueKind switch
            {
                JsonValueKind.String => element.GetString()!.Select(c => c.ToString()).ToArray(),
                JsonValueKind.Array => r.OptionalStringList("index_topk_pattern")!,
                _ => throw CheckpointFormatException.ForField(source, "index_topk_pattern",
                    $"expected a string of 'F'/'S' or a list, found {element.ValueKind}"),
            };
            return ParseIndexerList(entries, source, "index_topk_pattern", layers);
        }

        int freq = r.OptionalInt("index_topk_freq") ?? 1;
        int offset = r.OptionalInt("index_skip_topk_offset") ?? 2;
        if (freq < 0) throw CheckpointFormatException.ForField(source, "index_topk_freq", $"expected >= 0, found {freq}");
        return GlmConfig.DeriveIndexerTypes(layers, freq, offset);
    }

    private static IndexerType[] ParseIndexerList(IReadOnlyList<string> entries, string source, string field, int layers)
    {
        if (entries.Count != layers)
            throw CheckpointFormatException.ForField(source, field, $"expected {layers} entries (num_hidden_layers), found {entries.Count}");
        return entries.Select((v, i) => v switch
        {
            "full" or "F" or "f" => IndexerType.Full,
            "shared" or "S" or "s" => IndexerType.Shared,
            _ => throw CheckpointFormatException.ForField(source, $"{field}[{i}]", $"expected \"full\"/\"shared\" (or 'F'/'S'), found \"{v}\""),
        }).ToArray();
    }

    private static RopeParameters BindRope(FieldReader r, string source)
    {
        // transformers 5 writes rope_parameters; older configs use top-level rope_theta plus optional rope_scaling.
        if (r.Has("rope_parameters"))
        {
            var p = r.Object("rope_parameters");
            return BindRopeObject(p, source, "rope_parameters", p.OptionalDouble("rope_theta") ?? r.OptionalDouble("rope_theta")
                ?? throw CheckpointFormatException.ForField(source, "rope_parameters.rope_theta", "missing required field"));
        }
        double theta = r.OptionalDouble("rope_theta")
            ?? throw CheckpointFormatException.ForField(source, "rope_parameters", "missing: expected rope_parameters or rope_theta");
        if (r.Has("rope_scaling"))
            return BindRopeObject(r.Object("rope_scaling"), source, "rope_scaling", theta);
        return new RopeParameters("default", theta);
    }

    private static RopeParameters BindRopeObject(FieldReader p, string source, string field, double theta)
    {
        string type = p.OptionalString("rope_type") ?? p.OptionalString("type") ?? "default";
        return type switch
        {
            "default" => new RopeParameters("default", theta),
            "yarn" => new RopeParameters("yarn", theta,
                Factor: p.OptionalDouble("factor") ?? throw CheckpointFormatException.ForField(source, $"{field}.factor", "missing: yarn needs a factor"),
                OriginalMaxPositionEmbeddings: p.OptionalLong("original_max_position_embeddings"),
                BetaFast: p.OptionalDouble("beta_fast"),
                BetaSlow: p.OptionalDouble("beta_slow"),
                Mscale: p.OptionalDouble("mscale"),
                MscaleAllDim: p.OptionalDouble("mscale_all_dim")),
            _ => throw CheckpointFormatException.ForField(source, $"{field}.rope_type",
                $"unknown rope type \"{type}\": expected \"default\" or \"yarn\""),
        };
    }

    private static QuantizationConfig? BindQuantization(FieldReader r, string source)
    {
        if (!r.Has("quantization_config")) return null;
        var q = r.Object("quantization_config");
        string method = q.OptionalString("quant_method")
            ?? throw CheckpointFormatException.ForField(source, "quantization_config.quant_method", "missing required field");
        if (method != "fp8")
            throw CheckpointFormatException.ForField(source, "quantization_config.quant_method",
                $"unsupported quantization \"{method}\": expected \"fp8\" (block FP8 e4m3)");
        string fmt = q.OptionalString("fmt") ?? "e4m3";
        if (fmt != "e4m3")
            throw CheckpointFormatException.ForField(source, "quantization_config.fmt", $"unsupported FP8 format \"{fmt}\": expected \"e4m3\"");
        string scheme = q.OptionalString("activation_scheme") ?? "dynamic";
        if (scheme != "dynamic")
            throw CheckpointFormatException.ForField(source, "quantization_config.activation_scheme",
                $"unsupported activation scheme \"{scheme}\": expected \"dynamic\"");
        var block = q.OptionalLongOrList("weight_block_size")
            ?? throw CheckpointFormatException.ForField(source, "quantization_config.weight_block_size",
                "missing: only block-wise FP8 (e.g. [128, 128]) is supported");
        if (block.Count != 2 || block[0] <= 0 || block[1] <= 0 || block[0] > int.MaxValue || block[1] > int.MaxValue)
            throw CheckpointFormatException.ForField(source, "quantization_config.weight_block_size",
                $"expected two positive integers, found [{string.Join(", ", block)}]");
        return new QuantizationConfig(method, fmt, scheme, (int)block[0], (int)block[1], q.OptionalStringList("modules_to_not_convert"));
    }
}
