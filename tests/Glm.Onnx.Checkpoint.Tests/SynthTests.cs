using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class SynthTests
{
    private static SynthResult Synth(string dir, string dtype, ulong seed, long shardBytes = 5_000_000_000) =>
        CheckpointSynthesizer.Write(new SynthOptions(dir, SynthPresets.Get("tiny", fp8: dtype == "fp8"), seed, shardBytes));

    [Theory]
    [InlineData("bf16")]
    [InlineData("fp8")]
    public void Tiny_synth_opens_and_inspects_complete(string dtype)
    {
        using var dir = Fixtures.NewTempDir();
        var result = Synth(dir.Path, dtype, 1);
        using var ckpt = GlmCheckpoint.Open(dir.Path);
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.True(report.IsComplete, string.Join("; ", report.MissingTensors.Concat(report.UnexpectedTensors)));
        Assert.Equal(result.Parameters, report.TotalParameters);
        Assert.Equal(dtype == "fp8", ckpt.Config.Quantization is not null);
        Assert.Equal(dtype == "fp8", ckpt.Tensors.Values.Any(t => t.DType == DType.F8_E4M3));
        Assert.True(File.Exists(dir.File("generation_config.json")));
        // Same structure as the glm52-tiny fixture.
        using var fixture = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        Assert.Equal(fixture.Config.IndexerTypes, ckpt.Config.IndexerTypes);
        var fixtureShapes = fixture.Tensors.Values.ToDictionary(t => t.Name, t => t.Shape);
        foreach (var t in ckpt.Tensors.Values.Where(t => !t.Name.EndsWith("_scale_inv", StringComparison.Ordinal)))
            Assert.Equal(fixtureShapes[t.Name], t.Shape);
    }

    [Theory]
    [InlineData("bf16")]
    [InlineData("fp8")]
    public void Same_seed_gives_byte_identical_files(string dtype)
    {
        using var a = Fixtures.NewTempDir();
        using var b = Fixtures.NewTempDir();
        using var c = Fixtures.NewTempDir();
        Synth(a.Path, dtype, 42);
        Synth(b.Path, dtype, 42);
        Synth(c.Path, dtype, 43);
        foreach (var name in new[] { "model.safetensors", "config.json", "generation_config.json" })
            Assert.Equal(File.ReadAllBytes(a.File(name)), File.ReadAllBytes(b.File(name)));
        Assert.NotEqual(File.ReadAllBytes(a.File("model.safetensors")), File.ReadAllBytes(c.File("model.safetensors")));
    }

    [Fact]
    public void Sharded_synth_has_an_index_and_the_same_tensor_bytes()
    {
        using var one = Fixtures.NewTempDir();
        using var many = Fixtures.NewTempDir();
        Synth(one.Path, "bf16", 9);
        var result = Synth(many.Path, "bf16", 9, shardBytes: 300_000);
        Assert.True(result.WeightFiles.Count > 1);
        Assert.True(File.Exists(many.File(GlmCheckpoint.IndexFileName)));
        using var a = GlmCheckpoint.Open(one.Path);
        using var b = GlmCheckpoint.Open(many.Path);
        Assert.Equal(result.WeightFiles.Count, b.Files.Count);
        foreach (var name in a.Tensors.Keys) Assert.True(a.GetBytes(name).SequenceEqual(b.GetBytes(name)), name);
        Assert.True(CheckpointInspector.Inspect(many.Path).IsComplete);
    }

    [Fact]
    public void Weights_are_normal_with_initializer_std_norms_one_biases_zero()
    {
        using var dir = Fixtures.NewTempDir();
        Synth(dir.Path, "bf16", 3);
        using var ckpt = GlmCheckpoint.Open(dir.Path);
        var all = new List<float>();
        foreach (var name in ckpt.Tensors.Keys.Where(n => n.Contains("experts.") || n.Contains("embed_tokens")))
            all.AddRange(ckpt.ReadFloat32(name));
        double mean = all.Average(v => (double)v);
        double std = Math.Sqrt(all.Average(v => ((double)v - mean) * ((double)v - mean)));
        Assert.InRange(mean, -0.0005, 0.0005);
        Assert.InRange(std, 0.0196, 0.0204);
        // Two-sigma fraction of a normal is 95.45 %.
        double within2 = all.Count(v => Math.Abs(v) < 0.04) / (double)all.Count;
        Assert.InRange(within2, 0.950, 0.959);
        Assert.All(ckpt.ReadFloat32("model.layers.0.input_layernorm.weight"), v => Assert.Equal(1f, v));
        Assert.All(ckpt.ReadFloat32("model.layers.0.self_attn.indexer.k_norm.bias"), v => Assert.Equal(0f, v));
        Assert.All(ckpt.ReadFloat32("model.layers.1.mlp.gate.e_score_correction_bias"), v => Assert.Equal(0f, v));
        Assert.Equal(DType.F32, ckpt.GetInfo("model.layers.1.mlp.gate.e_score_correction_bias").DType);
    }

    [Fact]
    public void Fp8_weights_dequantise_close_to_the_bf16_weights_of_the_same_seed()
    {
        using var bdir = Fixtures.NewTempDir();
        using var fdir = Fixtures.NewTempDir();
        Synth(bdir.Path, "bf16", 5);
        Synth(fdir.Path, "fp8", 5);
        using var bf = GlmCheckpoint.Open(bdir.Path);
        using var f8 = GlmCheckpoint.Open(fdir.Path);
        const string name = "model.layers.2.mlp.experts.3.down_proj.weight"; // [64, 32]: one cropped 128x128 block
        var scale = f8.ReadFloat32(name + "_scale_inv");
        Assert.Single(scale);
        var codes = f8.GetBytes(name).ToArray();
        var reference = bf.ReadFloat32(name);
        float amax = 0;
        for (int i = 0; i < codes.Length; i++)
        {
            float deq = FixtureReaderTests.ReferenceE4M3(codes[i]) * scale[0];
            amax = Math.Max(amax, Math.Abs(deq));
            // e4m3 keeps 3 mantissa bits (relative step 1/8, error <= 1/16) plus bf16 rounding of the reference;
            // tiny values fall in e4m3's subnormal range with an absolute step of 2^-9 x scale.
            Assert.True(Math.Abs(deq - reference[i]) <= Math.Abs(reference[i]) * (1.0 / 16 + 1.0 / 128) + scale[0] * Math.Pow(2, -10) + 1e-9,
                $"element {i}: {deq} vs {reference[i]}");
        }
        Assert.Equal(448f * scale[0], amax, 1e-6f); // the block's largest magnitude maps to e4m3's largest value
    }

    [Fact]
    public void Fp8_scales_cover_cropped_edge_blocks()
    {
        // hidden 160: o_proj [160, 64] spans two row blocks (128 + a cropped 32); gate_proj [32, 160] two column blocks.
        var bf16Config = SynthPresets.Get("tiny") with { HiddenSize = 160 };
        var fp8Config = bf16Config with { Quantization = new QuantizationConfig("fp8", "e4m3", "dynamic", 128, 128, null) };
        using var bdir = Fixtures.NewTempDir();
        using var fdir = Fixtures.NewTempDir();
        CheckpointSynthesizer.Write(new SynthOptions(bdir.Path, bf16Config, 11));
        CheckpointSynthesizer.Write(new SynthOptions(fdir.Path, fp8Config, 11));
        Assert.True(CheckpointInspector.Inspect(fdir.Path).IsComplete);
        using var bf = GlmCheckpoint.Open(bdir.Path);
        using var f8 = GlmCheckpoint.Open(fdir.Path);
        foreach (var name in new[] { "model.layers.0.self_attn.o_proj.weight", "model.layers.1.mlp.experts.0.gate_proj.weight" })
        {
            var shape = f8.GetInfo(name).Shape;
            int rows = (int)shape[0], cols = (int)shape[1];
            var scaleInfo = f8.GetInfo(name + "_scale_inv");
            Assert.Equal(new long[] { (rows + 127) / 128, (cols + 127) / 128 }, scaleInfo.Shape);
            var scales = f8.ReadFloat32(name + "_scale_inv");
            var codes = f8.GetBytes(name).ToArray();
            var reference = bf.ReadFloat32(name);
            var blockMax = new float[scales.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    int b = r / 128 * (int)scaleInfo.Shape[1] + c / 128;
                    float deq = FixtureReaderTests.ReferenceE4M3(codes[r * cols + c]) * scales[b];
                    blockMax[b] = Math.Max(blockMax[b], Math.Abs(deq));
                    Assert.True(Math.Abs(deq - reference[r * cols + c]) <= Math.Abs(reference[r * cols + c]) * (1.0 / 16 + 1.0 / 128) + scales[b] * Math.Pow(2, -10) + 1e-9,
                        $"{name}[{r},{c}]");
                }
            for (int b = 0; b < scales.Length; b++) Assert.Equal(448f * scales[b], blockMax[b], 1e-6f);
        }
    }

    [Fact]
    public void Presets_have_the_intended_size_and_structure()
    {
        var small = SynthPresets.Get("small");
        long smallParams = ExpectedTensors.ParameterCount(ExpectedTensors.For(small));
        Assert.InRange(smallParams, 450_000_000L, 550_000_000L);
        Assert.Equal([0, 1, 2, 6, 10], small.FullIndexerLayers);

        var glm52 = SynthPresets.Get("glm52", layers: 6);
        Assert.Equal([0, 1, 2], glm52.DenseLayers);
        Assert.Equal([0, 1, 2], glm52.FullIndexerLayers);
        // Layer shapes equal the real layout's.
        var real = GlmConfig.Parse(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixtures.RealLayoutPath))!["config"]!.ToJsonString(), "layout");
        var realShapes = ExpectedTensors.For(real).ToDictionary(t => t.Name, t => t.Shape);
        foreach (var t in ExpectedTensors.For(glm52)) Assert.Equal(realShapes[t.Name], t.Shape);

        var e = Assert.Throws<ArgumentException>(() => SynthPresets.Get("huge"));
        Assert.Contains("unknown preset 'huge'", e.Message);
    }

    [Fact]
    public void Any_config_can_be_adapted_and_synthesised()
    {
        var grouped = GlmConfig.Load(Path.Combine(Fixtures.GlmDir("glm52-grouped"), "config.json"));
        var five = SynthPresets.Adapt(grouped, layers: 5, fp8: true);
        Assert.Equal(grouped.IndexerTypes.Take(5), five.IndexerTypes);
        Assert.Equal(grouped.MlpLayerTypes.Take(5), five.MlpLayerTypes);
        Assert.Equal(SynthPresets.DefaultFp8, five.Quantization);
        Assert.Null(SynthPresets.Adapt(five, fp8: false).Quantization);
        Assert.Throws<ArgumentOutOfRangeException>(() => SynthPresets.Adapt(grouped, layers: 7));
        using var dir = Fixtures.NewTempDir();
        CheckpointSynthesizer.Write(new SynthOptions(dir.Path, five, 4));
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.True(report.IsComplete);
        Assert.Equal(ExpectedTensors.ParameterCount(ExpectedTensors.For(five)), report.TotalParameters);
    }

    [Fact]
    public void Refuses_to_overwrite_weights_unless_asked()
    {
        using var dir = Fixtures.NewTempDir();
        Synth(dir.Path, "bf16", 1);
        var e = Assert.Throws<IOException>(() => Synth(dir.Path, "bf16", 2));
        Assert.Contains("already holds weights", e.Message);
        CheckpointSynthesizer.Write(new SynthOptions(dir.Path, SynthPresets.Get("tiny"), 2, Overwrite: true));
        Assert.True(CheckpointInspector.Inspect(dir.Path).IsComplete);
    }

    [Fact]
    public void Synth_with_the_tiny_glm_tokenizer_regenerates_the_bundled_chat_model_byte_for_byte()
    {
        // models/glm-tiny-chat is `glm-convert synth models/glm-tiny-chat --config models/glm-tiny-chat/config.json
        // --tokenizer tiny-glm --seed 52`: the same call must reproduce every file it holds.
        string bundled = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");
        using var dir = Fixtures.NewTempDir();
        var config = GlmConfig.Load(Path.Combine(bundled, "config.json"));
        CheckpointSynthesizer.Write(new SynthOptions(dir.Path, config, Seed: 52, Tokenizer: TinyGlmTokenizer.Name));
        var names = Directory.EnumerateFiles(bundled).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"], names);
        Assert.Equal(names, Directory.EnumerateFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var name in names)
            Assert.True(File.ReadAllBytes(Path.Combine(bundled, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File(name!))),
                $"{name} differs from models/glm-tiny-chat");
    }

    [Fact]
    public void Tiny_glm_tokenizer_sets_the_vocabulary_and_the_glm_control_token_ids()
    {
        using var dir = Fixtures.NewTempDir();
        var result = CheckpointSynthesizer.Write(new SynthOptions(dir.Path, SynthPresets.Get("tiny", layers: 2), Tokenizer: "tiny-glm"));
        var config = GlmConfig.Load(dir.File("config.json"));
        // 256 byte tokens + 23 merges + 20 control tokens; [gMASK] is the 3rd control token, <|user|> the 8th,
        // <|observation|> the 10th (the GLM vocabulary order).
        Assert.Equal(299, config.VocabSize);
        Assert.Equal(281, config.BosTokenId);
        Assert.Equal([279L, 286L, 288L], config.EosTokenIds);
        Assert.Equal(279, config.PadTokenId);
        Assert.True(File.Exists(dir.File("tokenizer.json")));
        Assert.True(File.Exists(dir.File("tokenizer_config.json")));
        Assert.True(CheckpointInspector.Inspect(dir.Path).IsComplete);
        using (var ckpt = GlmCheckpoint.Open(dir.Path))
            Assert.Equal(299L * 64, ckpt.Tensors["model.embed_tokens.weight"].ElementCount);
        Assert.True(result.Parameters > 0);

        var unknown = Assert.Throws<ArgumentException>(() =>
            CheckpointSynthesizer.Write(new SynthOptions(dir.File("other"), SynthPresets.Get("tiny", layers: 2), Tokenizer: "llama")));
        Assert.Contains("unknown tokenizer 'llama'", unknown.Message);
    }
}
