using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class GlmConfigTests
{
    private static JsonObject RealConfigJson()
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.RealLayoutPath))!.AsObject();
        return root["config"]!.AsObject().DeepClone().AsObject();
    }

    [Fact]
    public void Real_glm52_config_binds_with_21_full_indexer_layers()
    {
        var c = GlmConfig.Parse(RealConfigJson().ToJsonString(), "glm52-layout.json");
        int[] full = [0, 1, 2, .. Enumerable.Range(0, 18).Select(k => 6 + 4 * k)];
        Assert.Equal(21, full.Length);
        Assert.Equal(74, full[^1]);
        Assert.Equal(full, c.FullIndexerLayers);
        Assert.Equal([0, 1, 2], c.DenseLayers);
        Assert.Equal(75, c.MoeLayers.Count);
        Assert.Equal(64, c.RopeDim);
        Assert.Equal(256, c.QkHeadDim);
        Assert.Equal(576, c.LatentCacheWidth);
        Assert.Equal(2, c.IndexSourceLayer(5));
        Assert.Equal(74, c.IndexSourceLayer(77));
        Assert.Null(c.Quantization);
    }

    [Fact]
    public void Indexer_types_derive_from_freq_and_offset_when_absent()
    {
        var json = RealConfigJson();
        json.Remove("indexer_types");
        json["index_topk_freq"] = 4;
        json["index_skip_topk_offset"] = 3;
        var c = GlmConfig.Parse(json.ToJsonString(), "cfg");
        var expected = Enumerable.Range(0, 78).Where(i => i < 3 || (i - 2) % 4 == 0).ToArray();
        Assert.Equal(expected, c.FullIndexerLayers);
    }

    [Fact]
    public void Indexer_types_default_to_all_full_and_pattern_beats_freq()
    {
        var json = RealConfigJson();
        json.Remove("indexer_types");
        Assert.Equal(78, GlmConfig.Parse(json.ToJsonString(), "cfg").FullIndexerLayers.Count);

        json["num_hidden_layers"] = 4;
        json["mlp_layer_types"] = new JsonArray("dense", "sparse", "sparse", "sparse");
        json["layer_types"] = null;
        json["index_topk_freq"] = 4;
        json["index_topk_pattern"] = "FSFS";
        Assert.Equal([0, 2], GlmConfig.Parse(json.ToJsonString(), "cfg").FullIndexerLayers);
        json["index_topk_pattern"] = new JsonArray("F", "F", "S", "S");
        Assert.Equal([0, 1], GlmConfig.Parse(json.ToJsonString(), "cfg").FullIndexerLayers);
    }

    [Fact]
    public void Mlp_layer_types_derive_from_first_k_dense_replace()
    {
        var json = RealConfigJson();
        json.Remove("mlp_layer_types");
        json["first_k_dense_replace"] = 5;
        Assert.Equal([0, 1, 2, 3, 4], GlmConfig.Parse(json.ToJsonString(), "cfg").DenseLayers);
    }

    [Fact]
    public void Head_dim_is_ignored_and_eos_becomes_a_list()
    {
        var json = RealConfigJson();
        json["head_dim"] = 192;
        json["eos_token_id"] = new JsonArray(154820, 154827, 154829);
        var c = GlmConfig.Parse(json.ToJsonString(), "cfg");
        Assert.Equal(64, c.RopeDim);
        Assert.Equal(192, c.HeadDimInConfig);
        Assert.Equal([154820L, 154827L, 154829L], c.EosTokenIds);
        json["eos_token_id"] = 7;
        Assert.Equal([7L], GlmConfig.Parse(json.ToJsonString(), "cfg").EosTokenIds);
    }

    [Fact]
    public void Fp8_fixture_config_has_block_quantization()
    {
        var c = GlmConfig.Load(Path.Combine(Fixtures.GlmDir("glm52-tiny-fp8"), "config.json"));
        Assert.NotNull(c.Quantization);
        Assert.Equal(new QuantizationConfig("fp8", "e4m3", "dynamic", 128, 128, null), c.Quantization with { ModulesToNotConvert = null });
    }

    [Fact]
    public void Written_config_binds_back_to_the_same_values()
    {
        var c = GlmConfig.Load(Path.Combine(Fixtures.GlmDir("glm52-grouped"), "config.json"));
        var back = GlmConfig.Parse(c.ToJson(), "roundtrip");
        Assert.Equal(c.IndexerTypes, back.IndexerTypes);
        Assert.Equal(c.MlpLayerTypes, back.MlpLayerTypes);
        Assert.Equal(c.EosTokenIds, back.EosTokenIds);
        Assert.Equal(c with { IndexerTypes = back.IndexerTypes, MlpLayerTypes = back.MlpLayerTypes, EosTokenIds = back.EosTokenIds, Architectures = back.Architectures }, back);
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        // mutation (a JSON merge applied to the real config), field the error must name, phrase it must contain
        { """{"hidden_size": null}""", "hidden_size", "missing" },
        { """{"kv_lora_rank": 0}""", "kv_lora_rank", "positive" },
        { """{"qk_head_dim": 250}""", "qk_head_dim", "192 + 64" },
        { """{"num_key_value_heads": 8}""", "num_key_value_heads", "expected num_attention_heads" },
        { """{"indexer_types": ["shared"]}""", "indexer_types", "expected 78 entries" },
        { """{"mlp_layer_types": ["dense","dense","bogus"]}""", "mlp_layer_types", "expected 78 entries" },
        { """{"rope_parameters": {"rope_theta": 10000, "rope_type": "linear"}}""", "rope_parameters.rope_type", "unknown rope type" },
        { """{"quantization_config": {"quant_method": "gptq"}}""", "quantization_config.quant_method", "unsupported quantization" },
        { """{"quantization_config": {"quant_method": "fp8", "activation_scheme": "static", "weight_block_size": [128, 128]}}""", "quantization_config.activation_scheme", "unsupported" },
        { """{"quantization_config": {"quant_method": "fp8"}}""", "quantization_config.weight_block_size", "block-wise" },
        { """{"model_type": "llama"}""", "model_type", "glm_moe_dsa" },
        { """{"num_experts_per_tok": 300}""", "num_experts_per_tok", "<=" },
        { """{"n_group": 3}""", "n_group", "divisor" },
        { """{"hidden_act": "gelu"}""", "hidden_act", "silu" },
        { """{"q_lora_rank": null}""", "q_lora_rank", "not supported" },
        { """{"vocab_size": "big"}""", "vocab_size", "expected an integer" },
        { """{"layer_types": ["deepseek_sparse_attention", "deepseek_sparse_attention"]}""", "layer_types", "expected 78 entries" },
        { """{"max_position_embeddings": 1000000000000000}""", "max_position_embeddings", "at most 16777216" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bad_config_names_the_field(string patch, string field, string phrase)
    {
        var json = RealConfigJson();
        foreach (var (k, v) in JsonNode.Parse(patch)!.AsObject()) json[k] = v?.DeepClone();
        var e = Assert.Throws<CheckpointFormatException>(() => GlmConfig.Parse(json.ToJsonString(), "bad-config.json"));
        Assert.Equal(field, e.FieldName);
        Assert.Contains($"field '{field}'", e.Message);
        Assert.Contains("bad-config.json", e.Message);
        Assert.Contains(phrase, e.Message);
    }

    [Fact]
    public void Shared_layer_before_any_full_layer_is_rejected()
    {
        var json = RealConfigJson();
        var types = json["indexer_types"]!.AsArray();
        types[0] = "shared";
        var e = Assert.Throws<CheckpointFormatException>(() => GlmConfig.Parse(json.ToJsonString(), "cfg"));
        Assert.Equal("indexer_types[0]", e.FieldName);
        Assert.Contains("no \"full\" indexer layer precedes it", e.Message);
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => GlmConfig.Parse("{ not json", "/x/config.json"));
        Assert.StartsWith("/x/config.json: malformed config JSON", e.Message);
    }

    [Fact]
    public void Layer_type_other_than_sparse_attention_is_rejected()
    {
        var json = RealConfigJson();
        json["layer_types"] = new JsonArray([.. Enumerable.Range(0, 78).Select(i => (JsonNode?)JsonValue.Create(i == 5 ? "sliding_attention" : "deepseek_sparse_attention"))]);
        var e = Assert.Throws<CheckpointFormatException>(() => GlmConfig.Parse(json.ToJsonString(), "cfg"));
        Assert.Equal("layer_types[5]", e.FieldName);
        Assert.Contains("sliding_attention", e.Message);
    }
}
