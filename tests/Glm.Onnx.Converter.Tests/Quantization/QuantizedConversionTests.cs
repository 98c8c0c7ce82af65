using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Verification;
using Xunit.Abstractions;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// int8 / int4 conversions of every fixture against the fp32 conversion of the same checkpoint: per-position KL and
/// top-1 agreement on the fixture's prompts, the manifest's per-part record, and byte-identical output when converted
/// twice. The targets (int8 top-1 >= 99 %, int4 >= 90 %) are not met on these random-weight fixtures, whose
/// logits move with any weight perturbation (bf16 rounding of the FP8 fixture already costs 11 % argmax, see
/// docs/artifacts.md); docs/benchmarks.md has the measured table. What is asserted here holds for a correct
/// quantisation and fails for a broken one: int8 strictly closer to fp32 than int4, both perturbed (KL > 0), and the
/// int8 lm_head alone (the widest projection, where the noise averages out) within KL 1e-4 and 100 % top-1.
/// </summary>
public sealed class QuantizedConversionTests(ITestOutputHelper log)
{
    public static TheoryData<string> AllFixtures() => new(Fixtures.GlmNames);

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task Int8IsCloserToFp32ThanInt4OnTheFixturePrompts(string fixture)
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        var source = Fixtures.GlmDir(fixture);
        ModelConverter.Convert(new ConvertOptions(source, dir.File("fp32")), SilentProgress.Instance);
        var prompts = KlComparison.PromptsOf(Path.Combine(source, "reference.safetensors"),
            ModelManifestJson.Load(dir.File("fp32")).Dimensions.VocabSize);
        var results = new Dictionary<TargetPrecision, KlSummary>();
        foreach (var precision in new[] { TargetPrecision.Int8, TargetPrecision.Int4 })
        {
            var output = dir.File(precision.Name());
            ModelConverter.Convert(new ConvertOptions(source, output) { Precision = precision }, SilentProgress.Instance);
            var s = results[precision] = await KlComparison.RunAsync(dir.File("fp32"), output, prompts);
            log.WriteLine($"{fixture} {precision.Name()}: {s.Positions} positions, KL mean {s.Mean:E2} median {s.Median:E2} p99 {s.P99:E2}, top-1 {s.Top1Agreement:P1}");
            Assert.True(s.Mean > 0, $"{fixture} {precision.Name()}: KL exactly 0: the weights were not quantised");
        }
        Assert.True(results[TargetPrecision.Int8].Mean < results[TargetPrecision.Int4].Mean,
            $"{fixture}: int8 KL {results[TargetPrecision.Int8].Mean} not below int4's {results[TargetPrecision.Int4].Mean}");
    }

    [Fact]
    public async Task Int8LmHeadAloneKeepsTop1()
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        var source = Fixtures.GlmDir("glm52-tiny");
        ModelConverter.Convert(new ConvertOptions(source, dir.File("fp32")), SilentProgress.Instance);
        ModelConverter.Convert(new ConvertOptions(source, dir.File("head8"))
        {
            PartPrecisions = new Dictionary<WeightPart, TargetPrecision> { [WeightPart.LmHead] = TargetPrecision.Int8 },
            // Float compute: the weight quantisation alone (level 4 also quantises the activations).
            AccuracyLevel = 0,
        }, SilentProgress.Instance);
        var prompts = KlComparison.PromptsOf(Path.Combine(source, "reference.safetensors"), 256);
        var s = await KlComparison.RunAsync(dir.File("fp32"), dir.File("head8"), prompts);
        log.WriteLine($"lm_head int8: KL mean {s.Mean:E2} max {s.Max:E2}, top-1 {s.Top1Agreement:P1}");
        Assert.InRange(s.Mean, 1e-12, 1e-4);
        Assert.Equal(1.0, s.Top1Agreement);
    }

    [Fact]
    public void ManifestRecordsEachPartsFormatGroupAndOp()
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out"))
        {
            Precision = TargetPrecision.Int8,
            PartPrecisions = new Dictionary<WeightPart, TargetPrecision> { [WeightPart.Experts] = TargetPrecision.Int4, [WeightPart.LmHead] = TargetPrecision.Bf16 },
            QuantGroupSize = 128,
            DenseIntOp = DenseIntOp.MatMulNBits,
        }, SilentProgress.Instance);
        var p = ModelManifestJson.Load(dir.File("out")).Precision;
        Assert.Equal("int8", p.Target);
        Assert.Equal("bfloat16", p.Embedding);
        var parts = p.Parts!.ToDictionary(x => x.Part);
        Assert.Equal(("int8", 128, "com.microsoft.MatMulNBits"), (parts["attention"].Format, parts["attention"].GroupSize!.Value, parts["attention"].Op));
        // W_UK^T / W_UV run on grouped DenseProjection at bf16 under an int8 attention part, not on MatMulNBits.
        Assert.Equal(new MatrixPrecision { Format = "bfloat16", Op = "DenseProjection" }, parts["attention"].Absorbed);
        Assert.All(new[] { "dense", "experts", "lm-head" }, part => Assert.Null(parts[part].Absorbed));
        Assert.Equal(("int8", "com.microsoft.MatMulNBits"), (parts["dense"].Format, parts["dense"].Op));
        Assert.Equal(("int4", 128, "MoeExperts"), (parts["experts"].Format, parts["experts"].GroupSize!.Value, parts["experts"].Op));
        Assert.Equal("bfloat16", parts["lm-head"].Format);
        Assert.Null(parts["lm-head"].GroupSize);
        Assert.Equal("int4", p.Experts);
        Assert.Equal("bfloat16", p.LmHead);
    }

    [Fact]
    public void QuantizingTwiceWritesTheSameBytes()
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        // The FP8 fixture: its block-FP8 weights are dequantised and re-quantised.
        foreach (var name in new[] { "a", "b" })
            ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny-fp8"), dir.File(name)) { Precision = TargetPrecision.Int4 },
                SilentProgress.Instance);
        var a = ModelManifestJson.Load(dir.File("a")).Files.ToDictionary(f => f.Path, f => f.Sha256);
        var b = ModelManifestJson.Load(dir.File("b")).Files.ToDictionary(f => f.Path, f => f.Sha256);
        Assert.Equal(a, b);
        Assert.Contains(a.Keys, k => k.EndsWith(".onnx.data", StringComparison.Ordinal));
    }

    /// <summary>
    /// Rows are quantised on several threads: 1, 2 and 3 threads write the same files byte for byte at int8 and int4
    /// (the FP8 fixture: dequantised block-FP8 rows, the absorbed W_UK / W_UV re-quantised in groups, in both layouts).
    /// </summary>
    [Theory]
    [InlineData(TargetPrecision.Int8, DenseIntOp.DenseProjection)]
    [InlineData(TargetPrecision.Int4, DenseIntOp.DenseProjection)]
    [InlineData(TargetPrecision.Int4, DenseIntOp.MatMulNBits)]
    public void AnyThreadCountWritesTheSameBytes(TargetPrecision precision, DenseIntOp op)
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        int[] counts = [1, 2, 3];
        foreach (var threads in counts)
            ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny-fp8"), dir.File($"t{threads}"))
            {
                Precision = precision, DenseIntOp = op, Threads = threads,
            }, SilentProgress.Instance);
        var files = ModelManifestJson.Load(dir.File("t1")).Files.Select(f => f.Path).ToArray();
        Assert.Contains(files, f => f.EndsWith(".onnx.data", StringComparison.Ordinal));
        foreach (var threads in counts[1..])
            foreach (var file in files.Append("glm-model.json"))
                Assert.True(File.ReadAllBytes(Path.Combine(dir.File("t1"), file)).AsSpan()
                        .SequenceEqual(File.ReadAllBytes(Path.Combine(dir.File($"t{threads}"), file))),
                    $"{file} differs between 1 and {threads} threads");
    }

    /// <summary>At int4 the MTP stage still points at the main stages' packed lm_head and its group scales: no copy.</summary>
    [Fact]
    public void MtpStageSharesTheQuantizedLmHead()
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny-mtp"), dir.File("out")) { Precision = TargetPrecision.Int4, StageLayers = [4, 4], DenseIntOp = DenseIntOp.MatMulNBits },
            SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        var mtp = manifest.MtpStage!;
        string headShard = manifest.Stages[^1].DataFiles[0];
        Assert.Contains(headShard, mtp.DataFiles);
        var graph = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir.File("out"), mtp.File)));
        Assert.Contains("lm_head.weight" + Glm.Onnx.Converter.Weights.WeightWriter.GroupScaleSuffix, graph);
        Assert.Contains("MatMulNBits", graph);
    }

    [Fact]
    public void UnsupportedGroupSizeIsRefusedByName()
    {
        using var dir = Fixtures.NewTempDir("glm-quant");
        var e = Assert.Throws<ArgumentException>(() => ModelConverter.Convert(
            new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out")) { Precision = TargetPrecision.Int4, QuantGroupSize = 64 },
            SilentProgress.Instance));
        Assert.Contains("--group-size 64", e.Message);
    }
}
