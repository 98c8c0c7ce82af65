using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Tests.Onnx;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// The written stage graphs read every weight matrix at its stored width (issue #13): no Cast (or any other node but
/// the op that computes with it) turns a weight matrix into float32 in the graph at any precision; float32 matrices go
/// to Gemm / MatMul, bf16, block-FP8, int8 and int4 ones to DenseProjection (int8 / int4 to MatMulNBits with --dense-op matmulnbits), stacked experts to
/// MoeExperts, the embedding table to its row Gather (and DenseProjection / Gemm when the head is tied). Checked on
/// every fixture at every precision, in several stages (a tied head in a stage that does not embed, the MTP stage).
/// </summary>
public sealed class StoredWidthGraphTests
{
    private static readonly string[] Precisions = ["fp32", "bf16", "fp8", "int8", "int4"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in Fixtures.GlmNames.Append("glm52-tiny-mtp"))
            foreach (var precision in Precisions)
                data.Add(fixture, precision);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightMatricesAreReadAtTheirStoredWidth(string fixture, string precision)
    {
        using var dir = Fixtures.NewTempDir("glm-width");
        var target = TargetPrecisionNames.Parse(precision);
        ConvertInTwoStages(fixture, dir.File("out"), target, overrides: null);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        bool tied;
        int? fp8Block;
        using (var checkpoint = GlmCheckpoint.Open(Fixtures.GlmDir(fixture)))
        {
            tied = checkpoint.Config.TieWordEmbeddings;
            fp8Block = checkpoint.Config.Quantization?.BlockRows;
        }

        var absorbed = manifest.Precision.Parts!.Single(p => p.Part == "attention").Absorbed
                       ?? throw new InvalidOperationException($"{fixture} {precision}: the manifest does not record W_UK / W_UV");
        Assert.Equal(CustomOpNames.DenseProjection, absorbed.Op);
        var stages = manifest.Stages.Append(manifest.MtpStage).OfType<StageManifest>().ToList();
        Assert.True(stages.Count >= 2, $"{fixture}: expected at least two stages, got {stages.Count}");
        int dense = 0, fp8Dense = 0, grouped = 0, headDense = 0;
        foreach (var stage in stages)
        {
            var graph = OnnxGraphReader.Read(Path.Combine(dir.File("out"), stage.File));
            string where = $"{fixture} {precision} {stage.File}";
            foreach (var matrix in graph.Initializers.Values.Where(t => t.Rank >= 2))
                foreach (var node in graph.Consumers(matrix.Name))
                    CheckConsumer(node, matrix, target, where);
            foreach (var node in graph.Nodes.Where(n => n.OpType == CustomOpNames.DenseProjection && IsGrouped(n)))
            {
                // W_UK^T / W_UV: float32 at fp32; an FP8 source's e4m3 values re-blocked (16 x 16 on the fixture) at
                // every other target; else bf16 at bf16 / fp8 / int8 and int8 at int4. The manifest records exactly that.
                grouped++;
                var weight = graph.Initializers[node.Inputs[1]];
                var expected = target switch
                {
                    TargetPrecision.Fp32 => OnnxDataType.Float,
                    _ when fp8Block is not null => OnnxDataType.Float8E4M3FN,
                    TargetPrecision.Int4 => OnnxDataType.Int8,
                    _ => OnnxDataType.BFloat16,
                };
                Assert.True(expected == weight.Type, $"{where}: grouped '{weight.Name}' is {weight.Type.OnnxName()}");
                Assert.True(absorbed.Format == FormatName(weight.Type), $"{where}: manifest records W_UK/W_UV as {absorbed.Format}, graph holds {weight.Type.OnnxName()}");
                Assert.Equal(absorbed.GroupSize ?? absorbed.BlockSize, node.IntAttributes.TryGetValue("quant_block_size", out var block) ? (int)block : null);
                if (weight.Type == OnnxDataType.Float8E4M3FN) Assert.Equal(16, absorbed.BlockSize);
            }
            foreach (var node in graph.Nodes.Where(n => n.OpType == CustomOpNames.DenseProjection && !IsGrouped(n)))
            {
                dense++;
                if (node.Outputs[0] == GraphNames.Logits) headDense++;
                var weight = graph.Initializers[node.Inputs[1]];
                if (weight.Type != OnnxDataType.Float8E4M3FN) continue;
                fp8Dense++;
                Assert.True(node.Inputs.Count == 3, $"{where}: FP8 DenseProjection on '{weight.Name}' has no scales");
                Assert.Equal(OnnxDataType.Float, graph.Initializers[node.Inputs[2]].Type);
                Assert.Equal(fp8Block, (int)node.IntAttributes["quant_block_size"]);
            }
            // Gemm is left to float32 weights only: at a low precision that is the router alone.
            if (target != TargetPrecision.Fp32)
                foreach (var gemm in graph.Nodes.Where(n => n.OpType == "Gemm"))
                    Assert.All(graph.Consumers(gemm.Outputs[0]), c => Assert.Equal(CustomOpNames.MoeRouting, c.OpType));

            if (!stage.ProducesLogits && !stage.IsMtp) continue;
            var head = graph.Producer(GraphNames.Logits) ?? throw new InvalidOperationException($"{where}: no logits node");
            // Every target's head is DenseProjection (fp32 too: its float32 decode kernel, the head only seeing logits rows).
            Assert.True(head.OpType == CustomOpNames.DenseProjection, $"{where}: logits computed by {head.OpType}, expected {CustomOpNames.DenseProjection}");
        }

        Assert.True(grouped > 0, $"{fixture} {precision}: no grouped DenseProjection (W_UK^T / W_UV)");
        if (target is TargetPrecision.Bf16 or TargetPrecision.Fp8)
            Assert.True(dense > 0, $"{fixture} {precision}: no DenseProjection node");
        else if (target == TargetPrecision.Fp32)
            Assert.Equal(headDense, dense);  // the heads alone: every other fp32 projection is a Gemm
        // Block-FP8 projections stay FP8 at fp8 and bf16 (docs/artifacts.md): every FP8 dense matrix is read by DenseProjection.
        if (fp8Block is not null && target is TargetPrecision.Bf16 or TargetPrecision.Fp8)
            Assert.True(fp8Dense > 0, $"{fixture} {precision}: no FP8 DenseProjection");
    }

    /// <summary>The manifest's format name of a grouped matrix's initializer type.</summary>
    private static string FormatName(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float32",
        OnnxDataType.BFloat16 => "bfloat16",
        OnnxDataType.Float8E4M3FN => "float8e4m3fn",
        OnnxDataType.Int8 => "int8",
        OnnxDataType.UInt8 => "int4",
        _ => type.OnnxName(),
    };

    /// <summary>A part overridden to bf16 inside an int8 conversion (and int8 inside bf16) gets its own op.</summary>
    [Fact]
    public void PartOverridesChooseTheOpPerPart()
    {
        using var dir = Fixtures.NewTempDir("glm-width");
        // --dense-op matmulnbits, so that the int8 parts' op differs from the bf16 parts' (DenseProjection).
        ConvertInTwoStages("glm52-tiny", dir.File("a"), TargetPrecision.Int8,
            new Dictionary<WeightPart, TargetPrecision> { [WeightPart.LmHead] = TargetPrecision.Bf16, [WeightPart.Attention] = TargetPrecision.Bf16 },
            DenseIntOp.MatMulNBits);
        ConvertInTwoStages("glm52-tiny", dir.File("b"), TargetPrecision.Bf16,
            new Dictionary<WeightPart, TargetPrecision> { [WeightPart.LmHead] = TargetPrecision.Int8 }, DenseIntOp.MatMulNBits);

        var a = ModelManifestJson.Load(dir.File("a"));
        var aLast = OnnxGraphReader.Read(Path.Combine(dir.File("a"), a.Stages[^1].File));
        Assert.Equal(CustomOpNames.DenseProjection, aLast.Producer(GraphNames.Logits)!.OpType);
        Assert.Contains(aLast.Nodes, n => n.OpType == "MatMulNBits");
        Assert.Contains(aLast.Nodes, n => n.OpType == CustomOpNames.DenseProjection && aLast.Initializers[n.Inputs[1]].Type == OnnxDataType.BFloat16);
        var aParts = a.Precision.Parts!.ToDictionary(p => p.Part);
        Assert.Equal(CustomOpNames.DenseProjection, aParts["lm-head"].Op);
        Assert.Equal(CustomOpNames.DenseProjection, aParts["attention"].Op);
        Assert.Equal("com.microsoft.MatMulNBits", aParts["dense"].Op);

        var b = ModelManifestJson.Load(dir.File("b"));
        var bLast = OnnxGraphReader.Read(Path.Combine(dir.File("b"), b.Stages[^1].File));
        Assert.Equal("MatMulNBits", bLast.Producer(GraphNames.Logits)!.OpType);
        var bParts = b.Precision.Parts!.ToDictionary(p => p.Part);
        Assert.Equal(CustomOpNames.DenseProjection, bParts["dense"].Op);
        Assert.Equal("com.microsoft.MatMulNBits", bParts["lm-head"].Op);
    }

    /// <summary>The manifest records a tied head as the embedding table it is, read by the op the graph uses.</summary>
    [Theory]
    [InlineData("fp32", "float32", CustomOpNames.DenseProjection)]
    [InlineData("bf16", "bfloat16", CustomOpNames.DenseProjection)]
    [InlineData("int4", "bfloat16", CustomOpNames.DenseProjection)]
    public void ManifestRecordsTheTiedHeadsFormatAndOp(string precision, string format, string op)
    {
        using var dir = Fixtures.NewTempDir("glm-width");
        ConvertInTwoStages("glm52-grouped", dir.File("out"), TargetPrecisionNames.Parse(precision), overrides: null);
        var p = ModelManifestJson.Load(dir.File("out")).Precision;
        var head = p.Parts!.Single(x => x.Part == "lm-head");
        Assert.Equal((format, op), (head.Format, head.Op));
        Assert.Null(head.GroupSize);
        Assert.Equal(format, p.LmHead);
    }

    /// <summary>
    /// DenseProjection takes one square FP8 block size: a checkpoint with other blocks is refused at bf16 / fp8 by the
    /// config field's name (never dequantised in the graph), and still converts at int8, which dequantises it.
    /// </summary>
    [Fact]
    public void NonSquareFp8BlocksAreRefusedByName()
    {
        using var dir = Fixtures.NewTempDir("glm-width");
        var source = dir.File("ckpt");
        Directory.CreateDirectory(source);
        foreach (var file in Directory.GetFiles(Fixtures.GlmDir("glm52-tiny-fp8")))
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)));
        var configPath = Path.Combine(source, GlmCheckpoint.ConfigFileName);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!;
        // 128 rows x 256 columns: every fixture matrix is narrower than both, so its one scale per matrix stays valid.
        config["quantization_config"]!["weight_block_size"] = new System.Text.Json.Nodes.JsonArray(128, 256);
        File.WriteAllText(configPath, config.ToJsonString());

        var e = Assert.Throws<NotSupportedException>(() => ModelConverter.Convert(
            new ConvertOptions(source, dir.File("out")) { Precision = TargetPrecision.Fp8 }, SilentProgress.Instance));
        Assert.Contains("quantization_config.weight_block_size [128, 256]", e.Message);
        Assert.Contains(GlmCheckpoint.ConfigFileName, e.Message);
        ModelConverter.Convert(new ConvertOptions(source, dir.File("int8")) { Precision = TargetPrecision.Int8 }, SilentProgress.Instance);
        Assert.True(File.Exists(Path.Combine(dir.File("int8"), ModelManifest.FileName)));
    }

    private static bool IsGrouped(ReadNode node) => node.IntAttributes.TryGetValue("groups", out var groups) && groups > 1;

    /// <summary>What may read a weight matrix (rank >= 2 initializer) and at which element types.</summary>
    private static void CheckConsumer(ReadNode node, ReadInitializer matrix, TargetPrecision target, string where)
    {
        string what = $"{where}: '{matrix.Name}' ({matrix.Type.OnnxName()} [{string.Join(",", matrix.Dims)}]) is read by {node.OpType}";
        int slot = node.Inputs.ToList().IndexOf(matrix.Name);
        switch (node.OpType)
        {
            case "Gemm" or "MatMul":
                Assert.True(matrix.Type == OnnxDataType.Float, what + ": float32 only");
                break;
            case "Gather":
                Assert.True(slot == 0 && matrix.Type is OnnxDataType.Float or OnnxDataType.BFloat16, what + ": the embedding lookup only");
                break;
            case CustomOpNames.DenseProjection when IsGrouped(node):
                Assert.True(slot == 1 && matrix.Type is OnnxDataType.Float or OnnxDataType.BFloat16 or OnnxDataType.Float8E4M3FN
                                or OnnxDataType.Int8 or OnnxDataType.UInt8
                            || slot == 2 && matrix.Type is OnnxDataType.Float16 or OnnxDataType.Float,
                    what + ": W_UK^T / W_UV at a stored width or its int / FP8 scales");
                break;
            case CustomOpNames.DenseProjection when node.Outputs[0] == GraphNames.Logits && matrix.Type == OnnxDataType.Float:
                Assert.True(slot == 1 && target == TargetPrecision.Fp32, what + ": a float32 head at fp32 only");
                break;
            case CustomOpNames.DenseProjection:
                Assert.True(slot == 1 && matrix.Type is OnnxDataType.BFloat16 or OnnxDataType.Float8E4M3FN or OnnxDataType.Int8 or OnnxDataType.UInt8
                            || slot == 2 && matrix.Type is OnnxDataType.Float or OnnxDataType.Float16,
                            what + ": bf16 / FP8 / int8 / int4 weight or its FP8 / int scales only");
                break;
            case "MatMulNBits":
                Assert.True(slot == 1 && matrix.Type == OnnxDataType.UInt8 || slot == 2 && matrix.Type == OnnxDataType.Float, what);
                break;
            case CustomOpNames.MoeExperts:
                Assert.True(slot >= 3, what);
                break;
            default:
                Assert.Fail(what + ": a weight matrix must be read by the op that computes with it (no Cast / dequantisation in the graph)");
                break;
        }
    }

    /// <summary>Two main stages (the last one does not embed) and, for an MTP fixture, the MTP stage.</summary>
    private static void ConvertInTwoStages(string fixture, string output, TargetPrecision target,
        IReadOnlyDictionary<WeightPart, TargetPrecision>? overrides, DenseIntOp denseIntOp = DenseIntOp.DenseProjection)
    {
        int layers;
        using (var checkpoint = GlmCheckpoint.Open(Fixtures.GlmDir(fixture))) layers = checkpoint.Config.NumHiddenLayers;
        var options = new ConvertOptions(Fixtures.GlmDir(fixture), output) { Precision = target, StageLayers = [layers / 2, layers - layers / 2], DenseIntOp = denseIntOp };
        if (overrides is not null) options = options with { PartPrecisions = overrides };
        ModelConverter.Convert(options, SilentProgress.Instance);
    }
}
