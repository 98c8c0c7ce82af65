using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Tests.Onnx;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// Projections that read the same input are one node over their stacked weights (docs/artifacts.md, "Fused
/// projections"): the normed layer input feeds one projection of q_a + kv_a (+ the indexer's wk and weights_proj in a
/// layer with its own indexer), split after it; the dense MLP reads gate + up as one projection, whose output a
/// DenseProjection down projection reads whole (SwiGLU as its input activation) where Gemm's needs a Split. The MoE
/// layer's shared expert is one more expert of MoeExperts' stacks (its <c>shared_experts</c>) where its projections
/// would be DenseProjections, and at fp32 the same gate + up projection, Split and Gemm down projection plus the
/// routed sum. The stacked row counts are worked out here from config.json, not taken from the converter.
/// </summary>
public sealed class FusedProjectionGraphTests
{
    [Theory]
    [InlineData("fp32", "Gemm")]
    [InlineData("bf16", "DenseProjection")]
    [InlineData("int8", "DenseProjection")]
    [InlineData("int4", "DenseProjection")]
    public void EachLayerInputIsProjectedOnce(string precision, string op)
    {
        using var dir = Fixtures.NewTempDir("glm-fused");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out")) { Precision = TargetPrecisionNames.Parse(precision) },
            SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        Assert.Single(manifest.Stages);
        var graph = OnnxGraphReader.Read(Path.Combine(dir.File("out"), manifest.Stages[0].File));

        using var checkpoint = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        var c = checkpoint.Config;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            bool ownIndexer = c.IndexerTypes[layer] == IndexerType.Full;
            long attentionRows = c.QLoraRank + c.KvLoraRank + c.QkRopeHeadDim + (ownIndexer ? c.IndexHeadDim + c.IndexNHeads : 0);
            var attention = Assert.Single(graph.Consumers($"layers.{layer}.attn_norm"));
            Assert.Equal(op, attention.OpType);
            Assert.Equal(attentionRows, graph.Initializers[attention.Inputs[1]].Dims[0]);
            var split = Assert.Single(graph.Consumers(attention.Outputs[0]));
            Assert.Equal("Split", split.OpType);
            Assert.Equal(ownIndexer ? 5 : 3, split.Outputs.Count);

            bool dense = c.MlpLayerTypes[layer] == MlpLayerType.Dense;
            var mlpInputs = graph.Consumers($"layers.{layer}.mlp_norm").ToList();
            if (!dense && op == "DenseProjection")
            {
                // MoE: the router and MoeExperts, whose stacks hold the routed experts and then the shared one.
                var experts = Assert.Single(mlpInputs, n => n.OpType == "MoeExperts");
                Assert.Equal(1, c.NSharedExperts);
                Assert.Equal(1, experts.IntAttributes["shared_experts"]);
                Assert.Equal(c.NRoutedExperts + 1, graph.Initializers[experts.Inputs[3]].Dims[0]);
                Assert.Equal($"layers.{layer}.moe.out", Assert.Single(experts.Outputs));
                Assert.Equal(2, mlpInputs.Count);
                continue;
            }
            long gateUpRows = 2L * (dense ? c.IntermediateSize : c.MoeIntermediateSize * c.NSharedExperts);
            var gateUp = Assert.Single(mlpInputs, n => n.OpType == op && graph.Initializers[n.Inputs[1]].Dims[0] == gateUpRows);
            var afterGateUp = Assert.Single(graph.Consumers(gateUp.Outputs[0]));
            if (op == "DenseProjection")
            {
                Assert.Equal(op, afterGateUp.OpType);
                long inter = gateUpRows / 2, storedCols = precision == "int4" ? (inter + 1) / 2 : inter;  // int4: nibble pairs
                Assert.Equal([c.HiddenSize, storedCols], graph.Initializers[afterGateUp.Inputs[1]].Dims);
            }
            else
                Assert.Equal(("Split", 2), (afterGateUp.OpType, afterGateUp.Outputs.Count));
            if (!dense)
                Assert.False(Assert.Single(mlpInputs, n => n.OpType == "MoeExperts").IntAttributes.ContainsKey("shared_experts"));
            // Dense: gate_up alone; MoE at fp32: the router, MoeExperts and the shared expert's gate_up.
            Assert.Equal(dense ? 1 : 3, mlpInputs.Count);
        }
    }

    /// <summary>
    /// The shared expert stays a projection of its own where it cannot be one more routed expert: its part at another
    /// precision than the experts', or <c>--dense-op matmulnbits</c> (the op the user asked for).
    /// </summary>
    [Theory]
    [InlineData("int8", "int4", "dense-projection", "DenseProjection")]
    [InlineData("int8", null, "matmulnbits", "MatMulNBits")]
    public void SharedExpertStaysApartWhereItCannotStack(string target, string? experts, string denseOp, string sharedOp)
    {
        using var dir = Fixtures.NewTempDir("glm-fused");
        var overrides = experts is null ? null : new Dictionary<WeightPart, TargetPrecision> { [WeightPart.Experts] = TargetPrecisionNames.Parse(experts) };
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out"))
        {
            Precision = TargetPrecisionNames.Parse(target), PartPrecisions = overrides, DenseIntOp = PrecisionPolicy.ParseDenseIntOp(denseOp),
        }, SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        var graph = OnnxGraphReader.Read(Path.Combine(dir.File("out"), manifest.Stages[0].File));
        using var checkpoint = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        var c = checkpoint.Config;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            if (c.MlpLayerTypes[layer] == MlpLayerType.Dense) continue;
            var mlpInputs = graph.Consumers($"layers.{layer}.mlp_norm").ToList();
            var moe = Assert.Single(mlpInputs, n => n.OpType == "MoeExperts");
            Assert.False(moe.IntAttributes.ContainsKey("shared_experts"));
            Assert.Equal(c.NRoutedExperts, graph.Initializers[moe.Inputs[3]].Dims[0]);
            Assert.Contains(mlpInputs, n => n.OpType == sharedOp);
        }
    }

    /// <summary>
    /// Two shared experts (one MLP twice a routed expert's width) do not have a routed expert's shapes: the MLP stays a
    /// projection of its own (MoeExperts could take it cut in two, but the converter writes whole tensors).
    /// </summary>
    [Fact]
    public void SharedMlpWiderThanAnExpertStaysApart()
    {
        using var dir = Fixtures.NewTempDir("glm-fused");
        var config = SynthPresets.Get("tiny", layers: 2) with { NSharedExperts = 2 };
        CheckpointSynthesizer.Write(new SynthOptions(dir.File("ckpt"), config, Seed: 3));
        ModelConverter.Convert(new ConvertOptions(dir.File("ckpt"), dir.File("out")) { Precision = TargetPrecision.Bf16 }, SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        var graph = OnnxGraphReader.Read(Path.Combine(dir.File("out"), manifest.Stages[0].File));
        int moeLayers = 0;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            if (config.MlpLayerTypes[layer] == MlpLayerType.Dense) continue;
            moeLayers++;
            var mlpInputs = graph.Consumers($"layers.{layer}.mlp_norm").ToList();
            Assert.False(Assert.Single(mlpInputs, n => n.OpType == "MoeExperts").IntAttributes.ContainsKey("shared_experts"));
            var gateUp = Assert.Single(mlpInputs, n => n.OpType == "DenseProjection");
            Assert.Equal(2L * 2 * config.MoeIntermediateSize, graph.Initializers[gateUp.Inputs[1]].Dims[0]);
        }
        Assert.True(moeLayers > 0);
    }
}
