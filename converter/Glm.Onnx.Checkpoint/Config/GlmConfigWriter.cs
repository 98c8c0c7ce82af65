using System.Text;
using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>Writes a <see cref="GlmConfig"/> as a Hugging Face config.json (snake_case, derived lists spelled out).</summary>
internal static class GlmConfigWriter
{
    public static string Write(GlmConfig c)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            foreach (var a in c.Architectures.Count > 0 ? c.Architectures : ["GlmMoeDsaForCausalLM"]) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteString("model_type", c.ModelType);
            w.WriteBoolean("attention_bias", false);
            w.WriteNumber("attention_dropout", 0.0);
            if (c.BosTokenId is long bos) w.WriteNumber("bos_token_id", bos);
            w.WriteString("dtype", c.Dtype ?? "bfloat16");
            w.WriteStartArray("eos_token_id");
            foreach (var id in c.EosTokenIds) w.WriteNumberValue(id);
            w.WriteEndArray();
            if (c.FirstKDenseReplace is int fk) w.WriteNumber("first_k_dense_replace", fk);
            w.WriteNumber("head_dim", c.HeadDimInConfig ?? c.QkRopeHeadDim);
            w.WriteString("hidden_act", c.HiddenAct);
            w.WriteNumber("hidden_size", c.HiddenSize);
            w.WriteNumber("index_head_dim", c.IndexHeadDim);
            w.WriteNumber("index_n_heads", c.IndexNHeads);
            w.WriteBoolean("index_share_for_mtp_iteration", c.IndexShareForMtpIteration);
            if (c.IndexSkipTopkOffset is int off) w.WriteNumber("index_skip_topk_offset", off);
            w.WriteNumber("index_topk", c.IndexTopK);
            if (c.IndexTopkFreq is int freq) w.WriteNumber("index_topk_freq", freq);
            w.WriteBoolean("indexer_rope_interleave", c.IndexerRopeInterleave);
            w.WriteStartArray("indexer_types");
            foreach (var t in c.IndexerTypes) w.WriteStringValue(t == IndexerType.Full ? "full" : "shared");
            w.WriteEndArray();
            w.WriteNumber("initializer_range", c.InitializerRange);
            w.WriteNumber("intermediate_size", c.IntermediateSize);
            w.WriteNumber("kv_lora_rank", c.KvLoraRank);
            w.WriteNumber("max_position_embeddings", c.MaxPositionEmbeddings);
            w.WriteBoolean("mlp_bias", false);
            w.WriteStartArray("mlp_layer_types");
            foreach (var t in c.MlpLayerTypes) w.WriteStringValue(t == MlpLayerType.Dense ? "dense" : "sparse");
            w.WriteEndArray();
            w.WriteNumber("moe_intermediate_size", c.MoeIntermediateSize);
            w.WriteNumber("moe_layer_freq", c.MoeLayerFreq);
            if (c.MoeRouterDtype is { } rd) w.WriteString("moe_router_dtype", rd);
            w.WriteNumber("n_group", c.NGroup);
            w.WriteNumber("n_routed_experts", c.NRoutedExperts);
            w.WriteNumber("n_shared_experts", c.NSharedExperts);
            w.WriteBoolean("norm_topk_prob", c.NormTopkProb);
            w.WriteNumber("num_attention_heads", c.NumAttentionHeads);
            w.WriteNumber("num_experts_per_tok", c.NumExpertsPerTok);
            w.WriteNumber("num_hidden_layers", c.NumHiddenLayers);
            w.WriteNumber("num_key_value_heads", c.NumKeyValueHeads);
            w.WriteNumber("num_nextn_predict_layers", c.NumNextnPredictLayers);
            if (c.PadTokenId is long pad) w.WriteNumber("pad_token_id", pad);
            w.WriteNumber("q_lora_rank", c.QLoraRank);
            w.WriteNumber("qk_head_dim", c.QkHeadDim);
            w.WriteNumber("qk_nope_head_dim", c.QkNopeHeadDim);
            w.WriteNumber("qk_rope_head_dim", c.QkRopeHeadDim);
            if (c.Quantization is { } q)
            {
                w.WriteStartObject("quantization_config");
                w.WriteString("quant_method", q.QuantMethod);
                w.WriteString("fmt", q.Fmt);
                w.WriteString("activation_scheme", q.ActivationScheme);
                w.WriteStartArray("weight_block_size");
                w.WriteNumberValue(q.BlockRows);
                w.WriteNumberValue(q.BlockCols);
                w.WriteEndArray();
                if (q.ModulesToNotConvert is { } skip)
                {
                    w.WriteStartArray("modules_to_not_convert");
                    foreach (var m in skip) w.WriteStringValue(m);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteNumber("rms_norm_eps", c.RmsNormEps);
            w.WriteBoolean("rope_interleave", c.RopeInterleave);
            w.WriteStartObject("rope_parameters");
            w.WriteNumber("rope_theta", c.Rope.RopeTheta);
            w.WriteString("rope_type", c.Rope.RopeType);
            if (c.Rope.Factor is double f) w.WriteNumber("factor", f);
            if (c.Rope.OriginalMaxPositionEmbeddings is long omp) w.WriteNumber("original_max_position_embeddings", omp);
            if (c.Rope.BetaFast is double bf) w.WriteNumber("beta_fast", bf);
            if (c.Rope.BetaSlow is double bs) w.WriteNumber("beta_slow", bs);
            if (c.Rope.Mscale is double ms) w.WriteNumber("mscale", ms);
            if (c.Rope.MscaleAllDim is double msa) w.WriteNumber("mscale_all_dim", msa);
            w.WriteEndObject();
            w.WriteNumber("routed_scaling_factor", c.RoutedScalingFactor);
            w.WriteString("scoring_func", c.ScoringFunc);
            w.WriteBoolean("tie_word_embeddings", c.TieWordEmbeddings);
            w.WriteNumber("topk_group", c.TopkGroup);
            w.WriteString("topk_method", c.TopkMethod);
            w.WriteString("transformers_version", c.TransformersVersion ?? "5.17.0");
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("v_head_dim", c.VHeadDim);
            w.WriteNumber("vocab_size", c.VocabSize);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
