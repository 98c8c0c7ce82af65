using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;
using Glm.Onnx.Verification;
using Xunit.Abstractions;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// W_UK^T / W_UV of a block-FP8 kv_b_proj are kept as its e4m3 values in smaller square blocks, each inside one
/// source block (AbsorbedFormat): exact, one byte per weight. The shared FP8 fixture's kv_b_proj is a single 128 x 128
/// block, so a synthetic checkpoint whose heads straddle the source blocks checks the re-blocking's scale indexing.
/// </summary>
public sealed class AbsorbedFp8Tests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(128, 128, 192, 256, 512, 64)]  // GLM-5.2
    [InlineData(128, 128, 128, 128, 512, 128)] // GLM-5 / DeepSeek-V3 widths
    [InlineData(128, 128, 16, 16, 32, 16)]     // the shared fixtures
    [InlineData(128, 128, 128, 64, 256, 64)]   // the synthetic checkpoint below
    [InlineData(128, 128, 20, 16, 32, 0)]      // no multiple of 8 divides qk_nope 20 and v 16 together with the rest
    [InlineData(128, 64, 128, 128, 512, 64)]   // non-square source blocks
    public void BlockIsTheLargestMultipleOf8DividingEveryCut(int blockRows, int blockCols, int nope, int v, int rank, int expected) =>
        Assert.Equal(expected, AbsorbedFormat.Fp8BlockFor(blockRows, blockCols, nope, v, rank));

    [Fact]
    public void FormatFollowsTheAttentionPartAndTheSource()
    {
        var fp8 = new QuantizationConfig("fp8", "e4m3", "dynamic", 128, 128, null);
        Assert.Equal(new AbsorbedFormat(OnnxDataType.Float, 0, 0), AbsorbedFormat.For(TargetPrecision.Fp32, fp8, 192, 256, 512));
        foreach (var p in new[] { TargetPrecision.Bf16, TargetPrecision.Fp8, TargetPrecision.Int8, TargetPrecision.Int4 })
            Assert.Equal(new AbsorbedFormat(OnnxDataType.Float8E4M3FN, 0, 64), AbsorbedFormat.For(p, fp8, 192, 256, 512));
        Assert.Equal(new AbsorbedFormat(OnnxDataType.BFloat16, 0, 0), AbsorbedFormat.For(TargetPrecision.Int8, null, 192, 256, 512));
        Assert.Equal(new AbsorbedFormat(OnnxDataType.Int8, 8, 0), AbsorbedFormat.For(TargetPrecision.Int4, null, 192, 256, 512));
        // No block fits: the bf16 source's rule.
        Assert.Equal(new AbsorbedFormat(OnnxDataType.BFloat16, 0, 0), AbsorbedFormat.For(TargetPrecision.Fp8, fp8, 20, 16, 32));
    }

    /// <summary>
    /// A synthetic FP8 checkpoint with qk_nope 128, v_head_dim 64, kv_lora_rank 256 and 4 heads: kv_b_proj is [768, 256]
    /// in 6 x 2 source blocks, heads 1 and 3 start inside a block, and each head's W_UK^T and W_UV span two blocks along
    /// both of their axes. Converted at fp8 (W_UK^T / W_UV re-blocked 64 x 64,
    /// every other FP8 projection kept as it is) its logits equal the fp32 conversion's (every weight dequantised) to
    /// float32 summation error; rounding W_UK / W_UV to bf16 instead is a visible change.
    /// </summary>
    [Fact]
    public async Task ReblockedFp8MatchesTheDequantisedFp32Conversion()
    {
        using var dir = Fixtures.NewTempDir("glm-absorbed");
        var config = SynthPresets.Get("tiny", layers: 2, fp8: true) with { QkNopeHeadDim = 128, VHeadDim = 64, KvLoraRank = 256 };
        ConvertAtFp32And(dir, config, seed: 5, TargetPrecision.Fp8);
        var absorbed = ModelManifestJson.Load(dir.File("fp8")).Precision.Parts!.Single(p => p.Part == "attention").Absorbed!;
        Assert.Equal(("float8e4m3fn", 64), (absorbed.Format, absorbed.BlockSize!.Value));

        await AssertSameLogits(dir.File("fp32"), dir.File("fp8"), "fp8 (re-blocked W_UK / W_UV)");
    }

    /// <summary>
    /// Block-FP8 gate / up projections whose rows are whole scale blocks (GLM-5.2's: 2048 and 12288 rows of 128) stack
    /// into one FP8 projection (their bytes and block scales one after another), which the down projection reads whole
    /// (SwiGLU as its input activation); the MoE layer's FP8 shared expert is one more expert of MoeExperts' FP8 stacks
    /// (weights and block scales after the routed experts'). A synthetic checkpoint with 128 / 256-row MLPs, converted
    /// at bf16 (FP8 kept), must give the fp32 conversion's logits (every weight dequantised; Gemm, Split and the
    /// activation nodes, the shared expert on its own) to float32 summation error.
    /// </summary>
    [Fact]
    public async Task StackedFp8GateUpMatchesTheDequantisedFp32Conversion()
    {
        using var dir = Fixtures.NewTempDir("glm-fp8-gate-up");
        var config = SynthPresets.Get("tiny", layers: 2, fp8: true) with { HiddenSize = 128, IntermediateSize = 256, MoeIntermediateSize = 128 };
        ConvertAtFp32And(dir, config, seed: 7, TargetPrecision.Bf16);

        var manifest = ModelManifestJson.Load(dir.File("bf16"));
        var graph = Onnx.OnnxGraphReader.Read(Path.Combine(dir.File("bf16"), manifest.Stages[0].File));
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            if (config.MlpLayerTypes[layer] != MlpLayerType.Dense)
            {
                var experts = Assert.Single(graph.Consumers($"layers.{layer}.mlp_norm"), n => n.OpType == "MoeExperts");
                Assert.Equal(1, experts.IntAttributes["shared_experts"]);
                Assert.Equal(OnnxDataType.Float8E4M3FN, graph.Initializers[experts.Inputs[3]].Type);
                Assert.Equal([config.NRoutedExperts + 1, 1, 1], graph.Initializers[experts.Inputs[6]].Dims);  // gate block scales
                continue;
            }
            long inter = config.IntermediateSize;
            var gateUp = Assert.Single(graph.Consumers($"layers.{layer}.mlp_norm"),
                n => n.OpType == "DenseProjection" && graph.Initializers[n.Inputs[1]].Dims[0] == 2 * inter);
            Assert.Equal(OnnxDataType.Float8E4M3FN, graph.Initializers[gateUp.Inputs[1]].Type);
            Assert.Equal([2 * inter / 128, config.HiddenSize / 128], graph.Initializers[gateUp.Inputs[2]].Dims);
            var down = Assert.Single(graph.Consumers(gateUp.Outputs[0]));
            Assert.Equal("DenseProjection", down.OpType);
        }

        await AssertSameLogits(dir.File("fp32"), dir.File("bf16"), "bf16 (stacked FP8 gate / up, fused SwiGLU, FP8 shared expert in MoeExperts)");
    }

    /// <summary>
    /// A synthetic checkpoint of <paramref name="config"/> in <c>ckpt</c>, converted at fp32 and at
    /// <paramref name="candidate"/>, each into the folder of its precision's name.
    /// </summary>
    private static void ConvertAtFp32And(TempDir dir, GlmConfig config, ulong seed, TargetPrecision candidate)
    {
        CheckpointSynthesizer.Write(new SynthOptions(dir.File("ckpt"), config, Seed: seed));
        ModelConverter.Convert(new ConvertOptions(dir.File("ckpt"), dir.File("fp32")) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        ModelConverter.Convert(new ConvertOptions(dir.File("ckpt"), dir.File(candidate.Name())) { Precision = candidate }, SilentProgress.Instance);
    }

    /// <summary>The prompt logits of <paramref name="candidate"/> equal the fp32 conversion's to 1e-4 (max abs).</summary>
    private async Task AssertSameLogits(string fp32, string candidate, string label)
    {
        long[] ids = [5, 17, 3, 99, 42, 8, 8, 120, 64, 1, 200, 33];
        async Task<float[]> Logits(string d)
        {
            using var model = VerificationModel.Open(d, ids.Length + 1);
            return await model.PromptLogitsAsync(ids);
        }
        var a = await Logits(fp32);
        var b = await Logits(candidate);
        double maxErr = a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max(), maxAbs = a.Max(x => (double)Math.Abs(x));
        log.WriteLine($"{label} vs fp32: max abs logit difference {maxErr:E2} (logits up to {maxAbs:F2})");
        Assert.True(maxErr <= 1e-4, $"max abs logit difference {maxErr}");
    }
}
