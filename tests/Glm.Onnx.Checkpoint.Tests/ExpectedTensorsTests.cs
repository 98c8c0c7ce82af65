using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class ExpectedTensorsTests
{
    /// <summary>The real layout's names and shapes, with fused experts expanded to the per-expert names on disk.</summary>
    private static readonly Lazy<(GlmConfig Config, Dictionary<string, long[]> Shapes, long ParamCount)> Layout = new(LoadRealLayout);

    private static (GlmConfig Config, Dictionary<string, long[]> Shapes, long ParamCount) RealLayout() => Layout.Value;

    private static (GlmConfig Config, Dictionary<string, long[]> Shapes, long ParamCount) LoadRealLayout()
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.RealLayoutPath))!.AsObject();
        var config = GlmConfig.Parse(root["config"]!.ToJsonString(), "glm52-layout.json");
        var shapes = new Dictionary<string, long[]>();
        var fused = new Regex(@"^(model\.layers\.\d+\.mlp\.experts)\.(gate_up_proj|down_proj)$");
        foreach (var (name, node) in root["shapes"]!.AsObject())
        {
            var shape = node!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var m = fused.Match(name);
            if (!m.Success) { shapes.Add(name, shape); continue; }
            for (int e = 0; e < shape[0]; e++)
            {
                string p = $"{m.Groups[1].Value}.{e}.";
                if (m.Groups[2].Value == "gate_up_proj")
                {
                    // [E, 2I, D]: gate rows first, then up.
                    shapes.Add(p + "gate_proj.weight", [shape[1] / 2, shape[2]]);
                    shapes.Add(p + "up_proj.weight", [shape[1] / 2, shape[2]]);
                }
                else shapes.Add(p + "down_proj.weight", [shape[1], shape[2]]);
            }
        }
        return (config, shapes, root["param_count"]!.GetValue<long>());
    }

    [Fact]
    public void Real_glm52_layout_matches_every_name_and_shape_and_parameter_count()
    {
        var (config, shapes, paramCount) = RealLayout();
        var expected = ExpectedTensors.For(config);
        Assert.Equal(shapes.Keys.Order(StringComparer.Ordinal), expected.Select(t => t.Name).Order(StringComparer.Ordinal));
        var wrong = expected.Where(t => !shapes[t.Name].SequenceEqual(t.Shape)).Select(t => t.Name).ToList();
        Assert.Empty(wrong);
        Assert.Equal(743_377_019_904L, paramCount);
        Assert.Equal(743_377_019_904L, ExpectedTensors.ParameterCount(expected));
        Assert.Equal(paramCount, shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        // Only the 21 full layers carry indexer tensors.
        var indexerLayers = expected.Where(t => t.Name.Contains(".indexer.")).Select(t => t.Layer!.Value).Distinct().Order();
        Assert.Equal(config.FullIndexerLayers, indexerLayers);
    }

    [Fact]
    public void Real_glm52_description_counts_without_listing_the_experts()
    {
        var (config, shapes, _) = RealLayout();
        var model = ModelTensors.For(config);
        Assert.Equal(shapes.Count, model.TensorCount);
        Assert.Equal(743_377_019_904L, model.ParameterCount);
        // Typed access: layer 3 is the first MoE layer and a shared-indexer layer; layer 2 is dense with an indexer.
        var moe = model.Layer(3);
        Assert.Null(moe.Indexer);
        Assert.Null(moe.Mlp);
        Assert.Equal("model.layers.3.mlp.experts.255.up_proj.weight", moe.Moe!.Experts[255].UpProj.Name);
        Assert.Equal(shapes["model.layers.3.mlp.experts.255.up_proj.weight"], moe.Moe.Experts[255].UpProj.Shape);
        Assert.Equal(shapes["model.layers.3.self_attn.kv_b_proj.weight"], moe.Attention.KvBProj.Shape);
        var dense = model.Layer(2);
        Assert.Null(dense.Moe);
        Assert.Equal(shapes["model.layers.2.self_attn.indexer.wq_b.weight"], dense.Indexer!.WqB.Shape);
        Assert.Equal(shapes["model.layers.2.mlp.down_proj.weight"], dense.Mlp!.DownProj.Shape);
        Assert.Equal("lm_head.weight", model.OutputProjection.Name);
    }

    [Fact]
    public void Real_glm52_active_parameters_follow_the_definition()
    {
        var (config, _, _) = RealLayout();
        var expected = ExpectedTensors.For(config);
        // Independent sum from per-block formulas (docs/architecture.md "Tensor names" lists the shapes).
        long h = 6144, qr = 2048, kvr = 512, heads = 64;
        long mla = qr * h + qr + heads * 256 * qr + 576 * h + kvr + heads * 448 * kvr + h * heads * 256 + 2 * h;
        long dense = 3 * 12288 * h;
        long expert = 3 * 2048 * h;
        long moe = 9 * expert + 256 * h + 256;
        long indexer = 4096 * qr + 128 * h + 2 * 128 + 32 * h;
        long active = 78 * mla + 3 * dense + 75 * moe + 21 * indexer + h + 154880 * h;
        Assert.Equal(active, ExpectedTensors.ActiveParameterCount(config, expected));
        Assert.InRange(active, 40_200_000_000L, 40_400_000_000L); // docs/architecture.md: about 40.3 B
    }

    [Fact]
    public void Mtp_layer_is_expected_only_with_num_nextn_predict_layers()
    {
        var (config, _, _) = RealLayout();
        var withMtp = ExpectedTensors.For(config with { NumNextnPredictLayers = 1 });
        var mtp = withMtp.Where(t => t.Layer == 78).ToList();
        Assert.Contains(mtp, t => t.Name == "model.layers.78.eh_proj.weight" && t.Shape.SequenceEqual(new long[] { 6144, 12288 }));
        Assert.Contains(mtp, t => t.Name == "model.layers.78.self_attn.indexer.wq_b.weight");
        Assert.Contains(mtp, t => t.Name == "model.layers.78.mlp.experts.255.down_proj.weight");
        Assert.DoesNotContain(mtp, t => t.Name.Contains("embed_tokens") || t.Name.Contains("shared_head.head"));
        // docs/architecture.md "Tensor names": the MTP layer adds about 9.95 B to the 743.4 B main model.
        Assert.InRange(ExpectedTensors.ParameterCount(mtp), 9_900_000_000L, 10_000_000_000L);
        // Active parameters exclude MTP.
        Assert.Equal(ExpectedTensors.ActiveParameterCount(config, ExpectedTensors.For(config)), ExpectedTensors.ActiveParameterCount(config, withMtp));
    }

    [Fact]
    public void Fp8_default_policy_adds_cropped_block_scales()
    {
        var (config, _, _) = RealLayout();
        var fp8 = config with { Quantization = new QuantizationConfig("fp8", "e4m3", "dynamic", 128, 128, null) };
        var list = ExpectedTensors.For(fp8).ToDictionary(t => t.Name);
        Assert.Equal(DType.F8_E4M3, list["model.layers.0.self_attn.kv_a_proj_with_mqa.weight"].DType);
        Assert.Equal(new long[] { 5, 48 }, list["model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv"].Shape);
        Assert.Equal(new long[] { 32, 16 }, list["model.layers.0.self_attn.indexer.wq_b.weight_scale_inv"].Shape);
        Assert.Equal(new long[] { 1, 48 }, list["model.layers.0.self_attn.indexer.wk.weight_scale_inv"].Shape);
        Assert.Equal(DType.BF16, list["model.layers.0.self_attn.indexer.weights_proj.weight"].DType);
        Assert.Equal(DType.BF16, list["model.layers.3.mlp.gate.weight"].DType);
        Assert.Equal(DType.F32, list["model.layers.3.mlp.gate.e_score_correction_bias"].DType);
        Assert.False(list.ContainsKey("lm_head.weight_scale_inv"));
        Assert.False(list.ContainsKey("model.embed_tokens.weight_scale_inv"));
        // Scales are not parameters.
        Assert.Equal(743_377_019_904L, ExpectedTensors.ParameterCount(list.Values));

        var skip = fp8 with { Quantization = fp8.Quantization! with { ModulesToNotConvert = ["indexer.wq_b", "kv_a_proj_with_mqa"] } };
        var skipped = ExpectedTensors.For(skip).ToDictionary(t => t.Name);
        Assert.Equal(DType.BF16, skipped["model.layers.0.self_attn.indexer.wq_b.weight"].DType);
        Assert.False(skipped.ContainsKey("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv"));
    }

    public static TheoryData<string> Names => new(Fixtures.GlmNames);

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_fixture_matches_its_expected_list(string name)
    {
        using var ckpt = GlmCheckpoint.Open(Fixtures.GlmDir(name));
        var expected = ExpectedTensors.ForCheckpoint(ckpt.Config, ckpt.Tensors);
        Assert.Equal(ckpt.Tensors.Keys.Order(StringComparer.Ordinal), expected.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var t in expected)
        {
            var stored = ckpt.Tensors[t.Name];
            Assert.True(stored.Shape.SequenceEqual(t.Shape), $"{t.Name}: file {stored.ShapeText}, expected {ShapeMath.Format(t.Shape)}");
            Assert.True(t.AcceptsDType(stored.DType), $"{t.Name}: file {stored.DType}, expected {t.DType}");
        }
        Assert.Equal(name == "glm52-grouped", !expected.Any(t => t.Name == "lm_head.weight"));
        if (name == "glm52-tiny-fp8") Assert.Contains(expected, t => t.Group == TensorGroup.QuantScale);
    }
}
