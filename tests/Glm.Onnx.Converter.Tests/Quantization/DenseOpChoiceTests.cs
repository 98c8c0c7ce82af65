using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Tests.Onnx;
using Glm.Onnx.Verification;
using Xunit.Abstractions;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// <c>--dense-op</c>: int8 / int4 dense projections as DenseProjection (default) on the contract's
/// layout (int8 / packed int4 + float16 group scales, as the routed experts). Both ops must compute the same model:
/// the same quantised numbers, read through two layouts. Compared on the fixture prompts against MatMulNBits at
/// accuracy_level 0 (float activations, i.e. the weights' dequantised values exactly, as DenseProjection computes
/// them from 9 tokens on) on the fixture's prompts longer than 8 tokens; the graph and manifest record the choice.
/// </summary>
public sealed class DenseOpChoiceTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(TargetPrecision.Int8)]
    [InlineData(TargetPrecision.Int4)]
    public async Task DenseProjectionComputesWhatMatMulNBitsComputes(TargetPrecision precision)
    {
        using var dir = Fixtures.NewTempDir("glm-denseop");
        var source = Fixtures.GlmDir("glm52-tiny");
        ModelConverter.Convert(new ConvertOptions(source, dir.File("nbits")) { Precision = precision, AccuracyLevel = 0 },
            SilentProgress.Instance);
        ModelConverter.Convert(new ConvertOptions(source, dir.File("dense")) { Precision = precision, DenseIntOp = DenseIntOp.DenseProjection },
            SilentProgress.Instance);
        // Prompts longer than 8 tokens: DenseProjection then multiplies in float32 (from 9 tokens; up to 8 it rounds
        // the activations to int8, docs/onnx-contract.md, as MatMulNBits' level 4 does in its own way).
        var prompts = KlComparison.PromptsOf(Path.Combine(source, "reference.safetensors"),
            ModelManifestJson.Load(dir.File("nbits")).Dimensions.VocabSize).Where(p => p.Length > 8).ToArray();
        Assert.NotEmpty(prompts);
        var s = await KlComparison.RunAsync(dir.File("nbits"), dir.File("dense"), prompts);
        log.WriteLine($"{precision.Name()} DenseProjection vs MatMulNBits (level 0): {s.Positions} positions, KL mean {s.Mean:E2} max {s.Max:E2}, top-1 {s.Top1Agreement:P1}");
        // Same weights, float32 arithmetic in both, only the summation order differs. The model's discrete choices
        // (top-k routing, the DSA indexer's top-k) can flip a near tie on such a difference, which then moves that
        // position's logits more than rounding would (measured: KL max 1.9e-7 at int4, 1.4e-5 at int8); a wrong
        // layout or scale moves them by the 1e-2-scale KL of a different quantisation (QuantizedConversionTests).
        Assert.InRange(s.Max, 0, 1e-4);
        Assert.Equal(1.0, s.Top1Agreement);
    }

    [Fact]
    public void GraphAndManifestRecordTheChosenOp()
    {
        using var dir = Fixtures.NewTempDir("glm-denseop");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out"))
        {
            Precision = TargetPrecision.Int8,
            PartPrecisions = new Dictionary<WeightPart, TargetPrecision> { [WeightPart.Attention] = TargetPrecision.Int4, [WeightPart.LmHead] = TargetPrecision.Bf16 },
            QuantGroupSize = 128,
            DenseIntOp = DenseIntOp.DenseProjection,
        }, SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        var parts = manifest.Precision.Parts!.ToDictionary(p => p.Part);
        foreach (var part in new[] { "attention", "dense", "lm-head" })
        {
            Assert.Equal(CustomOpNames.DenseProjection, parts[part].Op);
            Assert.Null(parts[part].AccuracyLevel);
        }
        Assert.Equal(("int4", 128), (parts["attention"].Format, parts["attention"].GroupSize!.Value));
        Assert.Equal(new MatrixPrecision { Format = "int8", GroupSize = 128, Op = CustomOpNames.DenseProjection }, parts["attention"].Absorbed);
        Assert.Equal(CustomOpNames.MoeExperts, parts["experts"].Op);

        var graph = OnnxGraphReader.Read(Path.Combine(dir.File("out"), manifest.Stages[^1].File));
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "MatMulNBits");
        var dense = graph.Nodes.Where(n => n.OpType == CustomOpNames.DenseProjection).ToList();
        var int8 = dense.Where(n => graph.Initializers[n.Inputs[1]].Type == OnnxDataType.Int8).ToList();
        var int4 = dense.Where(n => graph.Initializers[n.Inputs[1]].Type == OnnxDataType.UInt8).ToList();
        Assert.NotEmpty(int8);
        Assert.NotEmpty(int4);
        foreach (var node in int8.Concat(int4))
        {
            var weight = graph.Initializers[node.Inputs[1]];
            var scales = graph.Initializers[node.Inputs[2]];
            Assert.Equal(128, node.IntAttributes["quant_block_size"]);
            Assert.Equal(OnnxDataType.Float16, scales.Type);
            Assert.Equal(weight.Dims[0], scales.Dims[0]);
        }
        // int4: two columns per byte; the scales' groups give the column count back (K / 128 rounded up).
        foreach (var node in int4)
        {
            var weight = graph.Initializers[node.Inputs[1]];
            var scales = graph.Initializers[node.Inputs[2]];
            Assert.Equal((weight.Dims[1] * 2 + 127) / 128, scales.Dims[1]);
        }
    }

    [Fact]
    public void UnknownDenseOpIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => PrecisionPolicy.ParseDenseIntOp("gemm"));
        Assert.Contains("--dense-op 'gemm'", e.Message);
        Assert.Equal(DenseIntOp.DenseProjection, PrecisionPolicy.ParseDenseIntOp("dense-projection"));
        Assert.Equal(DenseIntOp.MatMulNBits, PrecisionPolicy.ParseDenseIntOp("matmulnbits"));
    }
}
