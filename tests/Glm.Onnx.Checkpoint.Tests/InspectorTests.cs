using System.Text.Json;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class InspectorTests
{
    public static TheoryData<string> Names => new(Fixtures.GlmNames);

    /// <summary>Sum of elements of every non-scale tensor, read straight from the header JSON (independent of the reader).</summary>
    private static long HeaderParameterCount(string file)
    {
        using var f = File.OpenRead(file);
        var len = new byte[8];
        f.ReadExactly(len);
        var json = new byte[BitConverter.ToInt64(len)];
        f.ReadExactly(json);
        using var doc = JsonDocument.Parse(json);
        long total = 0;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__" || p.Name.EndsWith("_scale_inv")) continue;
            total += p.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64());
        }
        return total;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Inspect_json_reports_exact_parameters_and_no_missing_tensors(string name)
    {
        var report = CheckpointInspector.Inspect(Fixtures.GlmDir(name));
        using var doc = JsonDocument.Parse(InspectionJson.Write(report));
        var root = doc.RootElement;
        long expected = HeaderParameterCount(Path.Combine(Fixtures.GlmDir(name), "model.safetensors"));
        Assert.Equal(expected, root.GetProperty("parameters").GetProperty("total").GetInt64());
        Assert.Equal(expected, root.GetProperty("parameters").GetProperty("expected_total").GetInt64());
        Assert.Empty(root.GetProperty("missing_tensors").EnumerateArray());
        Assert.Empty(root.GetProperty("unexpected_tensors").EnumerateArray());
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.True(root.GetProperty("parameters").GetProperty("active_per_token").GetInt64() > 0);

        var config = GlmConfig.Load(Path.Combine(Fixtures.GlmDir(name), "config.json"));
        var full = root.GetProperty("layers").GetProperty("full_indexer").EnumerateArray().Select(e => e.GetInt32());
        Assert.Equal(Enumerable.Range(0, config.NumHiddenLayers).Where(i => config.IndexerTypes[i] == IndexerType.Full), full);
        // bf16 latent (kv_lora 32 + rope 8) per layer plus 16-wide indexer keys per full layer.
        long kv = 2L * config.NumHiddenLayers * (32 + 8) + 2L * full.Count() * 16;
        Assert.Equal(kv, root.GetProperty("kv_cache").GetProperty("bytes_per_token_bf16").GetInt64());
    }

    [Fact]
    public void Active_parameters_of_a_fixture_follow_the_definition()
    {
        // glm52-tiny: hidden 64, 8 layers (1 dense), 8 experts top-2, 1 shared, 4 full indexer layers, vocab 256.
        long h = 64;
        long mla = 48 * h + 48 + 4 * 24 * 48 + 40 * h + 32 + 4 * 32 * 32 + h * 4 * 16 + 2 * h;
        long expert = 3 * 32 * h;
        long moe = 3 * expert + 8 * h + 8;       // top-2 routed + 1 shared, router weight + bias
        long indexer = 512 * 48 + 16 * h + 2 * 16 + 32 * h;
        long active = 8 * mla + 3 * 96 * h + 7 * moe + 4 * indexer + h + 256 * h;
        Assert.Equal(active, CheckpointInspector.Inspect(Fixtures.GlmDir("glm52-tiny")).ActiveParametersPerToken);
    }

    [Fact]
    public void Incomplete_checkpoint_reports_missing_unexpected_and_wrong_shape()
    {
        using var source = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        using var dir = Fixtures.NewTempDir();
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json"), dir.File("config.json"));
        const string dropped = "model.layers.6.self_attn.indexer.wk.weight";
        const string reshaped = "model.norm.weight";
        var tensors = source.Tensors.Values.Where(t => t.Name != dropped && t.Name != reshaped)
            .Select(t => (new TensorSpec(t.Name, t.DType, t.Shape), source.GetBytes(t.Name).ToArray())).ToList();
        tensors.Add((new TensorSpec(reshaped, DType.BF16, [32]), new byte[64]));
        tensors.Add((new TensorSpec("model.layers.3.self_attn.indexer.wk.weight", DType.BF16, [16, 64]), new byte[2048]));
        tensors.Add((new TensorSpec("lm_head.weight_scale_inv", DType.F32, [1, 1]), new byte[4]));
        SafetensorsWriter.WriteFile(dir.File("model.safetensors"), tensors);

        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.False(report.IsComplete);
        Assert.Equal([dropped], report.MissingTensors);
        Assert.Equal(["lm_head.weight_scale_inv", "model.layers.3.self_attn.indexer.wk.weight"], report.UnexpectedTensors);
        Assert.Equal([new TensorMismatch(reshaped, "[64]", "[32]")], report.WrongShape);
        var text = InspectionText.Write(report);
        Assert.Contains("INCOMPLETE", text);
        Assert.Contains(dropped, text);
    }

    [Fact]
    public void Fp8_weight_in_an_unquantised_checkpoint_is_a_wrong_dtype()
    {
        using var dir = Fixtures.NewTempDir();
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json"), dir.File("config.json"));
        using (var source = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny-fp8")))
            SafetensorsWriter.WriteFile(dir.File("model.safetensors"),
                source.Tensors.Values.Select(t => (new TensorSpec(t.Name, t.DType, t.Shape), source.GetBytes(t.Name).ToArray())));
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.False(report.IsComplete);
        Assert.Contains(report.WrongDType, m => m.Name == "model.layers.0.self_attn.q_a_proj.weight" && m.Found == "F8_E4M3");
        Assert.Contains("model.layers.0.self_attn.q_a_proj.weight_scale_inv", report.UnexpectedTensors);
    }

    [Fact]
    public void Invalid_config_is_reported_not_thrown()
    {
        using var dir = Fixtures.NewTempDir();
        File.WriteAllText(dir.File("config.json"), """{"model_type": "glm_moe_dsa"}""");
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "model.safetensors"), dir.File("model.safetensors"));
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.False(report.IsComplete);
        Assert.Contains(report.Errors, e => e.Contains("config.json") && e.Contains("field '"));
        Assert.True(report.TotalParameters > 0);
        using var doc = JsonDocument.Parse(InspectionJson.Write(report));
        Assert.False(doc.RootElement.GetProperty("complete").GetBoolean());
    }
}
