using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Tests.Onnx;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// Projections that read the same input are one node over their stacked weights (docs/artifacts.md, "Fused
/// projections"): the normed layer input feeds one projection of q_a + kv_a (+ the indexer's wk and weights_proj in a
/// layer with its own indexer), split after it; the dense MLP and the shared expert read gate + up as one projection,
/// whose output a DenseProjection down projection reads whole (SwiGLU as its input activation, the routed experts'
/// sum as its addend in MoE layers) where Gemm's needs a Split. The stacked row counts are worked out here from
/// config.json, not taken from the converter.
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
            long gateUpRows = 2L * (dense ? c.IntermediateSize : c.MoeIntermediateSize * c.NSharedExperts);
            var mlpInputs = graph.Consumers($"layers.{layer}.mlp_norm").ToList();
            var gateUp = Assert.Single(mlpInputs, n => n.OpType == op && graph.Initializers[n.Inputs[1]].Dims[0] == gateUpRows);
            var afterGateUp = Assert.Single(graph.Consumers(gateUp.Outputs[0]));
            if (op == "DenseProjection")
            {
                Assert.Equal(op, afterGateUp.OpType);
                long inter = gateUpRows / 2, storedCols = precision == "int4" ? (inter + 1) / 2 : inter;  // int4: nibble pairs
                Assert.Equal([c.HiddenSize, storedCols], graph.Initializers[afterGateUp.Inputs[1]].Dims);
                if (!dense)
                {
                    Assert.Equal($"layers.{layer}.moe.routed", afterGateUp.Inputs[3]);
                    Assert.Equal($"layers.{layer}.moe.out", Assert.Single(afterGateUp.Outputs));
                }
            }
            else
                Assert.Equal(("Split", 2), (afterGateUp.OpType, afterGateUp.Outputs.Count));
            // Dense: gate_up alone; MoE: the router, MoeExperts and the shared expert's gate_up.
            Assert.Equal(dense ? 1 : 3, mlpInputs.Count);
        }
    }
}
