using System.Runtime.InteropServices;
using System.Text;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Tests.Onnx;
using Glm.Onnx.Verification;
using Xunit.Abstractions;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// The MTP layer of glm52-tiny-mtp converted into its own stage and run through the runtime (GlmModel, the same
/// executor path as the main stages): the teacher-forced draft logits must match the fixture's independent
/// <c>mtp_logits</c> reference (its README defines them), the main model's references must still hold, and the MTP
/// stage must point at the main stages' embedding and lm_head bytes instead of copying them.
/// </summary>
public sealed class MtpConversionTests(ITestOutputHelper log)
{
    private const string Fixture = "glm52-tiny-mtp";

    public static TheoryData<string> Splits() => new("one", "split");

    [Theory]
    [MemberData(nameof(Splits))]
    public void Fp32MtpLogitsMatchTheTeacherForcedReference(string split)
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        var options = new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("out")) { Precision = TargetPrecision.Fp32 };
        if (split == "split") options = options with { StageLayers = [1, 3, 4] };
        ModelConverter.Convert(options, SilentProgress.Instance);

        var reference = MtpReference.Load(Fixture);
        using var model = Load(dir.File("out"), reference.Max(p => p.InputIds.Length));
        Assert.True(model.Executor.Info.HasDraftStage);
        foreach (var prompt in reference)
        {
            var run = RunReversedBlocks(model, prompt.InputIds);
            int s = prompt.InputIds.Length, vocab = run.VocabSize;
            var (mtpErr, mtpAgree) = FixtureConversionTests.Compare(run.DraftLogits, prompt.MtpLogits, vocab);
            var (mainErr, mainAgree) = FixtureConversionTests.Compare(run.Logits, prompt.PrefillLogits, vocab);
            double hiddenErr = run.Hidden.Zip(prompt.MainHidden, (a, b) => (double)Math.Abs(a - b)).Max();
            int sameSets = SameSelections(run.DraftTopk, prompt.MtpTopk, run.IndexTopK);
            log.WriteLine($"{split} {prompt.Name}: mtp_logits max abs err {mtpErr:E2}, argmax {mtpAgree}/{s - 1}; " +
                          $"prefill max abs err {mainErr:E2}; main_hidden max abs err {hiddenErr:E2}; top-k sets {sameSets}/{s - 1}");
            Assert.True(mtpErr <= 1e-4, $"{prompt.Name}: mtp_logits max abs error {mtpErr} > 1e-4");
            Assert.Equal(s - 1, mtpAgree);
            Assert.True(mainErr <= 1e-3, $"{prompt.Name}: prefill max abs error {mainErr} > 1e-3");
            Assert.Equal(s, mainAgree);
            Assert.True(hiddenErr <= 1e-4, $"{prompt.Name}: final hidden max abs error {hiddenErr} > 1e-4");
            Assert.Equal(s - 1, sameSets);

            // The known deviations are far outside the tolerance, so the match above rules them out: vLLM's zeroed
            // position-0 embedding (row 0) and an MTP layer without its own indexer (rows past index_topk).
            double zeroedErr = MaxAbsDiff(run.DraftLogits.AsSpan(0, vocab), prompt.ZeroedPos0Logits.AsSpan(0, vocab));
            Assert.True(zeroedErr > 0.1, $"{prompt.Name}: row 0 is within {zeroedErr} of the zeroed-embedding variant");
            if (s - 1 > run.IndexTopK)
            {
                double denseErr = MaxAbsDiff(run.DraftLogits, prompt.DenseLogits);
                Assert.True(denseErr > 0.1, $"{prompt.Name}: within {denseErr} of the dense (no indexer) variant");
            }
        }
    }

    private static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    public static TheoryData<string, string> HeldOutFixtures() => new()
    {
        { "glm5-tiny", "fp32" }, { "glm52-tiny", "fp32" }, { "glm52-grouped", "fp32" }, { "glm52-tiny-fp8", "fp32" },
        // The FP8 checkpoint at fp8: its e4m3 weights stay e4m3 (DenseProjection, MoeExperts), decoded exactly.
        { "glm52-tiny-fp8", "fp8" },
    };

    /// <summary>
    /// Held-out MTP fixtures (tests/fixtures/mtp-heldout, its README): a shared fixture's main model plus an MTP layer
    /// of synthesized weights, with teacher-forced references computed by scripts/mtp-heldout-reference.py (numpy, from
    /// the definition, outside the converter and runtime; it reproduces glm52-tiny-mtp's own reference to 1e-6). GLM-5
    /// indexers on every layer, IndexShare, group-limited routing with a tied head, block-FP8 weights: fp32 within
    /// 1e-4, the same argmax on every row, the same DSA selections as sets; so is the FP8 one kept at fp8.
    /// </summary>
    [Theory]
    [MemberData(nameof(HeldOutFixtures))]
    public void HeldOutMtpLayersMatchTheirIndependentReference(string fixture, string precision)
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        string checkpoint = HeldOutCheckpoint(fixture, dir.File("checkpoint"));
        ModelConverter.Convert(new ConvertOptions(checkpoint, dir.File("out")) { Precision = TargetPrecisionNames.Parse(precision), LayersPerStage = 3 },
            SilentProgress.Instance);
        using var reference = SafetensorsFile.Open(Path.Combine(HeldOutDir(fixture), "reference.safetensors"));
        long[] Longs(string name) => MemoryMarshal.Cast<byte, long>(reference.GetBytes(name)).ToArray();
        var names = new[] { "short", "long" };
        using var model = Load(dir.File("out"), names.Max(p => Longs(p + ".input_ids").Length));
        foreach (var name in names)
        {
            var ids = Longs(name + ".input_ids");
            var run = RunReversedBlocks(model, ids);
            var (err, agree) = FixtureConversionTests.Compare(run.DraftLogits, reference.ReadFloat32(name + ".mtp_logits"), run.VocabSize);
            int sameSets = SameSelections(run.DraftTopk, Longs(name + ".mtp_topk_indices"), run.IndexTopK);
            log.WriteLine($"{fixture} {precision} {name}: mtp_logits max abs err {err:E2}, argmax {agree}/{ids.Length - 1}, top-k sets {sameSets}/{ids.Length - 1}");
            Assert.True(err <= 1e-4, $"{fixture} {name}: mtp_logits max abs error {err} > 1e-4");
            Assert.Equal(ids.Length - 1, agree);
            Assert.Equal(ids.Length - 1, sameSets);
        }
    }

    private static string HeldOutDir(string fixture) => Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "mtp-heldout", fixture);

    /// <summary>The shared fixture's files and weights unchanged, the held-out MTP layer as a second shard, num_nextn_predict_layers 1.</summary>
    private static string HeldOutCheckpoint(string fixture, string directory)
    {
        Directory.CreateDirectory(directory);
        string source = Fixtures.GlmDir(fixture);
        const string main = "model-00001-of-00002.safetensors", mtp = "model-00002-of-00002.safetensors";
        File.Copy(Path.Combine(source, GlmCheckpoint.SingleFileName), Path.Combine(directory, main));
        File.Copy(Path.Combine(HeldOutDir(fixture), "mtp-layer.safetensors"), Path.Combine(directory, mtp));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, GlmCheckpoint.ConfigFileName)))!;
        config["num_nextn_predict_layers"] = 1;
        File.WriteAllText(Path.Combine(directory, GlmCheckpoint.ConfigFileName), config.ToJsonString());
        var map = new System.Text.Json.Nodes.JsonObject();
        foreach (var file in new[] { main, mtp })
        {
            using var shard = SafetensorsFile.Open(Path.Combine(directory, file));
            foreach (var tensor in shard.Tensors.Keys)
                map[tensor] = file;
        }
        var index = new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = map };
        File.WriteAllText(Path.Combine(directory, GlmCheckpoint.IndexFileName), index.ToJsonString());
        return directory;
    }

    /// <summary>
    /// prev_topk_indices (index_share_for_mtp_iteration): handing the MTP layer its own selection back changes nothing,
    /// handing it another selection changes the rows whose attention it narrows, and no rows keeps the layer's own.
    /// </summary>
    [Fact]
    public void PrevTopkReplacesTheMtpLayersOwnSelection()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("out")) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        var prompt = MtpReference.Load(Fixture).Single(p => p.Name == "long");
        using var model = Load(dir.File("out"), prompt.InputIds.Length);
        var first = RunReversedBlocks(model, prompt.InputIds);
        int t = prompt.InputIds.Length - 1, k = first.IndexTopK, h = first.HiddenSize, vocab = first.VocabSize;
        var table = Enumerable.Range(0, (prompt.InputIds.Length + 3) / 4).Select(b => model.Executor.Info.NumBlocks - 1 - b).ToArray();
        var rows = Enumerable.Range(0, t).Select(i => (long)i).ToArray();
        var tokens = new Glm.Onnx.Runtime.Execution.ForwardBatch(prompt.InputIds.Skip(1).ToArray(), rows, [0, t], [0], table, table.Length, rows);
        float[] Draft(int[]? prev)
        {
            var output = model.Executor.ForwardDraft(new Glm.Onnx.Runtime.Execution.DraftBatch(tokens, first.Hidden.AsMemory(0, t * h), prev ?? default(ReadOnlyMemory<int>)));
            return Enumerable.Range(0, t).SelectMany(r => output.Logits.Row(r).ToArray()).ToArray();
        }

        Assert.Equal(first.DraftLogits, Draft(null));
        Assert.Equal(first.DraftLogits, Draft(first.DraftTopk));
        // Every row attends to position 0 only: rows 1.. differ from the layer's own causal / top-k attention.
        var onlyFirst = Enumerable.Range(0, t * k).Select(i => i % k == 0 ? 0 : -1).ToArray();
        var narrowed = Draft(onlyFirst);
        Assert.Equal(first.DraftLogits.AsSpan(0, vocab).ToArray(), narrowed.AsSpan(0, vocab).ToArray());
        for (int r = 1; r < t; r++)
            Assert.NotEqual(first.DraftLogits.AsSpan(r * vocab, vocab).ToArray(), narrowed.AsSpan(r * vocab, vocab).ToArray());
    }

    /// <summary>The glm52-tiny main-model references (byte-identical weights) hold when the MTP stage is converted too.</summary>
    [Fact]
    public async Task MainModelReferencesStillHoldWithTheMtpStage()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("out")) { StageLayers = [1, 3, 4] }, SilentProgress.Instance);
        Assert.NotNull(ModelManifestJson.Load(dir.File("out")).MtpStage);
        var mtpPrompts = ReferencePrompts.Load(Path.Combine(Fixtures.GlmDir(Fixture), "reference.safetensors"), 256);
        var sourcePrompts = ReferencePrompts.Load(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "reference.safetensors"), 256);
        using var model = VerificationModel.Open(dir.File("out"), sourcePrompts.Max(p => p.GreedyIds!.Length), new VerificationOptions(BlockSize: 4));
        foreach (var prompt in mtpPrompts)
        {
            var (err, agree) = FixtureConversionTests.Compare(await model.PromptLogitsAsync(prompt.InputIds), prompt.PrefillLogits, model.VocabSize);
            Assert.True(err <= 1e-3, $"{prompt.Name}: prefill max abs error {err}");
            Assert.Equal(prompt.InputIds.Length, agree);
            var source = sourcePrompts.Single(p => p.Name == prompt.Name);
            Assert.Equal(source.InputIds, prompt.InputIds);
            var run = await model.GreedyAsync(source.InputIds, source.GreedyIds!.Length - source.InputIds.Length);
            Assert.Equal(source.GreedyIds, run.Ids);
        }
    }

    /// <summary>bf16 / fp8 targets (a bf16 checkpoint: both store bf16) keep the MTP argmax on most rows.</summary>
    [Theory]
    [InlineData("bf16")]
    [InlineData("fp8")]
    public void LowPrecisionKeepsTheMtpArgmaxOnMostRows(string precision)
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("out"))
        {
            Precision = precision == "bf16" ? TargetPrecision.Bf16 : TargetPrecision.Fp8, LayersPerStage = 3,
        }, SilentProgress.Instance);
        var reference = MtpReference.Load(Fixture);
        using var model = Load(dir.File("out"), reference.Max(p => p.InputIds.Length));
        int rows = 0, agree = 0;
        double maxErr = 0;
        foreach (var prompt in reference)
        {
            var run = RunReversedBlocks(model, prompt.InputIds);
            var (err, a) = FixtureConversionTests.Compare(run.DraftLogits, prompt.MtpLogits, run.VocabSize);
            rows += prompt.InputIds.Length - 1;
            agree += a;
            maxErr = Math.Max(maxErr, err);
        }
        log.WriteLine($"{precision}: MTP argmax {agree}/{rows} ({100.0 * agree / rows:F1} %), max abs err {maxErr:E2}");
        Assert.True(agree >= 0.9 * rows, $"{precision}: MTP argmax agreement {agree}/{rows} below 90 %");
    }

    /// <summary>
    /// int8 and int4 targets and per-part overrides reach the MTP stage: it runs, its draft logits stay near the
    /// reference with int8 strictly closer than int4 (both perturbed: the layer was quantised), and in an int8
    /// conversion with experts at int4 and attention and lm_head at bf16, the MTP layer's own weights are read by each
    /// part's op. Argmax agreement is logged, not asserted: on random weights any perturbation moves it (see
    /// QuantizedConversionTests).
    /// </summary>
    [Fact]
    public void IntegerTargetsAndPartOverridesReachTheMtpStage()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        var reference = MtpReference.Load(Fixture);
        var overrides = new Dictionary<WeightPart, TargetPrecision>
        {
            [WeightPart.Experts] = TargetPrecision.Int4, [WeightPart.Attention] = TargetPrecision.Bf16, [WeightPart.LmHead] = TargetPrecision.Bf16,
        };
        var cases = new (string Name, TargetPrecision Target, Dictionary<WeightPart, TargetPrecision>? Parts)[]
        {
            ("int8", TargetPrecision.Int8, null), ("int4", TargetPrecision.Int4, null), ("int8+overrides", TargetPrecision.Int8, overrides),
        };
        var meanErr = new Dictionary<string, double>();
        foreach (var (name, target, parts) in cases)
        {
            var options = new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File(name)) { Precision = target, LayersPerStage = 4 };
            if (parts is not null) options = options with { PartPrecisions = parts };
            ModelConverter.Convert(options, SilentProgress.Instance);
            using var model = Load(dir.File(name), reference.Max(p => p.InputIds.Length));
            double sum = 0;
            int count = 0, rows = 0, agree = 0;
            foreach (var prompt in reference)
            {
                var run = RunReversedBlocks(model, prompt.InputIds);
                Assert.All(run.DraftLogits, v => Assert.True(float.IsFinite(v), $"{name}: a draft logit is not finite"));
                for (int i = 0; i < run.DraftLogits.Length; i++)
                    sum += Math.Abs(run.DraftLogits[i] - prompt.MtpLogits[i]);
                count += run.DraftLogits.Length;
                rows += prompt.InputIds.Length - 1;
                agree += FixtureConversionTests.Compare(run.DraftLogits, prompt.MtpLogits, run.VocabSize).ArgmaxAgree;
            }
            meanErr[name] = sum / count;
            log.WriteLine($"{name}: MTP logits mean abs err {meanErr[name]:E2}, argmax {agree}/{rows}");
            Assert.True(meanErr[name] > 0, $"{name}: MTP logits equal the fp32 reference exactly: nothing was quantised");
        }
        Assert.True(meanErr["int8"] < meanErr["int4"], $"MTP logits: int8 mean abs error {meanErr["int8"]} not below int4's {meanErr["int4"]}");

        var manifest = ModelManifestJson.Load(dir.File("int8+overrides"));
        var graph = OnnxGraphReader.Read(Path.Combine(dir.File("int8+overrides"), manifest.MtpStage!.File));
        int layer = manifest.MtpStage.FirstLayer;
        string Reader(string matrix) =>
            string.Join(",", graph.Consumers(matrix).Select(c => $"{c.OpType}:{graph.Initializers[matrix].Type.OnnxName()}"));
        Assert.Equal($"{CustomOpNames.DenseProjection}:int8", Reader($"model.layers.{layer}.eh_proj.weight")); // dense part: int8
        Assert.Equal($"{CustomOpNames.DenseProjection}:bfloat16", Reader($"model.layers.{layer}.self_attn.q_b_proj.weight"));
        Assert.Equal($"{CustomOpNames.DenseProjection}:bfloat16", Reader($"layers.{layer}.attn.x_proj")); // q_a and kv_a fused
        Assert.Equal($"{CustomOpNames.DenseProjection}:bfloat16", Reader($"model.layers.{layer}.self_attn.indexer.wq_b.weight"));
        Assert.Equal(CustomOpNames.DenseProjection, graph.Producer(GraphNames.Logits)!.OpType);
        var experts = graph.Nodes.Single(n => n.OpType == CustomOpNames.MoeExperts);
        var gate = graph.Initializers[experts.Inputs[3]];
        Assert.Equal(OnnxDataType.UInt8, gate.Type); // int4 pairs: half the hidden width
        Assert.Equal((reference[0].MainHidden.Length / reference[0].InputIds.Length + 1) / 2, (int)gate.Dims[^1]);
    }

    /// <summary>
    /// The MTP graph's embedding and lm_head initializers point into the main stages' shards (listed among its data
    /// files, named in its graph), and its own shards hold less than the MTP layer plus one table: no copy.
    /// </summary>
    [Fact]
    public void MtpStageSharesTheEmbeddingAndLmHeadBytes()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("mtp")) { Precision = TargetPrecision.Fp32, StageLayers = [4, 4] },
            SilentProgress.Instance);
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("main")) { Precision = TargetPrecision.Fp32, StageLayers = [4, 4] },
            SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("mtp"));
        var mtp = manifest.MtpStage!;
        string embedShard = manifest.Stages[0].DataFiles[0], headShard = manifest.Stages[^1].DataFiles[0];
        Assert.Contains(embedShard, mtp.DataFiles);
        Assert.Contains(headShard, mtp.DataFiles);
        var graph = File.ReadAllBytes(Path.Combine(dir.File("mtp"), mtp.File));
        Assert.True(graph.AsSpan().IndexOf(Encoding.UTF8.GetBytes(embedShard)) >= 0, $"{mtp.File} names no '{embedShard}'");
        Assert.True(graph.AsSpan().IndexOf(Encoding.UTF8.GetBytes(headShard)) >= 0, $"{mtp.File} names no '{headShard}'");

        using var checkpoint = GlmCheckpoint.Open(Fixtures.GlmDir(Fixture));
        var tensors = ModelTensors.For(checkpoint.Config);
        long layerBytes = tensors.Layer(checkpoint.Config.NumHiddenLayers).ParameterCount * sizeof(float);
        long tableBytes = tensors.EmbedTokens.ElementCount * sizeof(float);
        long own = mtp.DataFiles.Where(f => f.StartsWith("stage-mtp.", StringComparison.Ordinal))
            .Sum(f => new FileInfo(Path.Combine(dir.File("mtp"), f)).Length);
        long Total(string d) => Directory.EnumerateFiles(d).Sum(f => new FileInfo(f).Length);
        long difference = Total(dir.File("mtp")) - Total(dir.File("main"));
        log.WriteLine($"fp32: MTP layer {layerBytes:N0} B of parameters; MTP shards {own:N0} B; artifacts {Total(dir.File("mtp")):N0} B with MTP, " +
                      $"{Total(dir.File("main")):N0} B without: +{difference:N0} B (embedding and lm_head: {tableBytes:N0} B each, not copied)");
        Assert.True(own < layerBytes + tableBytes, $"MTP shards hold {own} bytes: the MTP layer is {layerBytes}, one table {tableBytes}");
        Assert.True(difference < layerBytes + tableBytes, $"artifacts grew by {difference} bytes");
    }

    /// <summary>
    /// Bad input is refused with the field or tensor named: a manifest whose last stage does not hand out final_hidden,
    /// draft hidden rows of the wrong width, and a draft call on a model converted without the MTP layer.
    /// </summary>
    [Fact]
    public void BadMtpInputsAreRefusedClearly()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(Fixture), dir.File("out")) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        var path = Path.Combine(dir.File("out"), ModelManifest.FileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        json["stages"]![0]!.AsObject().Remove("emits_final_hidden");
        var error = Assert.Throws<InvalidDataException>(() => ModelManifestJson.Parse(json.ToJsonString(), path));
        Assert.Contains("emits_final_hidden", error.Message);

        using (var model = Load(dir.File("out"), 8))
        {
            long[] ids = [3, 4, 5];
            var batch = new Glm.Onnx.Runtime.Execution.ForwardBatch(ids, [0, 1, 2], [0, 3], [0], [0], 1, [2]);
            var wrong = Assert.Throws<ArgumentException>(() =>
                model.Executor.ForwardDraft(new Glm.Onnx.Runtime.Execution.DraftBatch(batch, new float[3 * 63])));
            Assert.Contains("3 x 64", wrong.Message);
        }

        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("main")) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        using var plain = Load(dir.File("main"), 8);
        Assert.False(plain.Executor.Info.HasDraftStage);
        var refused = Assert.Throws<NotSupportedException>(() => TeacherForcedDraft.Run(plain.Executor, [3, 4, 5], [0, 1]));
        Assert.Contains("no MTP draft stage", refused.Message);
    }

    /// <summary>glm-convert synth with num_nextn_predict_layers 1 writes the MTP layer; it converts and its draft stage runs.</summary>
    [Fact]
    public void SynthWithOneMtpLayerConvertsAndRuns()
    {
        using var dir = Fixtures.NewTempDir("glm-mtp");
        var config = SynthPresets.Get("tiny", layers: 4) with { NumNextnPredictLayers = 1 };
        CheckpointSynthesizer.Write(new SynthOptions(dir.File("ckpt"), config, Seed: 7));
        using (var checkpoint = GlmCheckpoint.Open(dir.File("ckpt")))
            Assert.Contains("model.layers.4.eh_proj.weight", checkpoint.Tensors.Keys);
        ModelConverter.Convert(new ConvertOptions(dir.File("ckpt"), dir.File("out")) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        Assert.Equal(4, ModelManifestJson.Load(dir.File("out")).MtpStage!.FirstLayer);

        using var model = Load(dir.File("out"), 12);
        int[] ids = [5, 17, 3, 99, 42, 8, 8, 120, 64, 1];
        var run = RunReversedBlocks(model, ids.Select(i => (long)i).ToArray());
        Assert.Equal((ids.Length - 1) * run.VocabSize, run.DraftLogits.Length);
        Assert.All(run.DraftLogits, v => Assert.True(float.IsFinite(v)));
        // Row i depends on token i+1: a different next token changes that row's draft.
        var changed = RunReversedBlocks(model, ids.Select((id, i) => i == 4 ? 43L : id).ToArray());
        Assert.NotEqual(run.DraftLogits.AsSpan(3 * run.VocabSize, run.VocabSize).ToArray(),
            changed.DraftLogits.AsSpan(3 * run.VocabSize, run.VocabSize).ToArray());
        Assert.Equal(run.DraftLogits.AsSpan(0, 3 * run.VocabSize).ToArray(), changed.DraftLogits.AsSpan(0, 3 * run.VocabSize).ToArray());
    }

    private static GlmModel Load(string artifacts, int maxTokens) =>
        GlmModel.Load(artifacts, new GlmModelOptions(VerifyChecksums: true,
            Cache: new KvCacheOptions(NumBlocks: (maxTokens + 3) / 4, BlockSize: 4)));

    /// <summary>The teacher-forced pass on the cache's blocks in reverse order, so that paging is exercised.</summary>
    private static TeacherForcedDraftResult RunReversedBlocks(GlmModel model, long[] ids)
    {
        var info = model.Executor.Info;
        int blocks = (ids.Length + info.BlockSize - 1) / info.BlockSize;
        var table = Enumerable.Range(0, blocks).Select(b => info.NumBlocks - 1 - b).ToArray();
        return TeacherForcedDraft.Run(model.Executor, ids.Select(i => (int)i).ToArray(), table);
    }

    /// <summary>Rows whose selections are equal as sets (-1 padding ignored).</summary>
    private static int SameSelections(int[] actual, long[] expected, int k) =>
        Enumerable.Range(0, actual.Length / k).Count(row =>
            actual.Skip(row * k).Take(k).Where(i => i >= 0).Select(i => (long)i).ToHashSet()
                .SetEquals(expected.Skip(row * k).Take(k).Where(i => i >= 0)));

    private sealed record MtpPrompt(string Name, long[] InputIds, float[] PrefillLogits, float[] MtpLogits, float[] MainHidden, long[] MtpTopk,
        float[] ZeroedPos0Logits, float[] DenseLogits);

    private static class MtpReference
    {
        public static IReadOnlyList<MtpPrompt> Load(string fixture)
        {
            using var file = SafetensorsFile.Open(Path.Combine(Fixtures.GlmDir(fixture), "reference.safetensors"));
            long[] Longs(string name) => MemoryMarshal.Cast<byte, long>(file.GetBytes(name)).ToArray();
            return new[] { "short", "long" }.Select(p => new MtpPrompt(p, Longs(p + ".input_ids"), file.ReadFloat32(p + ".prefill_logits"),
                file.ReadFloat32(p + ".mtp_logits"), file.ReadFloat32(p + ".main_hidden"), Longs(p + ".mtp_topk_indices"),
                file.ReadFloat32(p + ".mtp_logits_alt_pos0_zeroed"), file.ReadFloat32(p + ".mtp_logits_alt_dense"))).ToArray();
        }
    }
}
