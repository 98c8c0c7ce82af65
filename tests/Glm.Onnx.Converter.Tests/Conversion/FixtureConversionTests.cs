using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Verification;
using Xunit.Abstractions;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// Every fixture converted and run through the ONNX graphs must reproduce transformers' logits: fp32 within 1e-3 with
/// identical argmax everywhere (one stage, and stages cut inside an IndexShare group), bf16 with >= 95 % argmax
/// agreement, and greedy decode through the paged cache must reproduce greedy_ids. The artifacts run through the
/// runtime (<see cref="VerificationModel"/>: GlmModel and the engine, blocks handed out in reverse order).
/// </summary>
public sealed class FixtureConversionTests(ITestOutputHelper log)
{
    public static TheoryData<string, string> Fp32Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Fixtures.GlmNames)
        {
            data.Add(name, "one");
            data.Add(name, "split");
        }
        return data;
    }

    public static TheoryData<string> AllFixtures() => new(Fixtures.GlmNames);

    [Theory]
    [MemberData(nameof(Fp32Cases))]
    public async Task Fp32PrefillMatchesReferenceLogits(string fixture, string split)
    {
        using var dir = Fixtures.NewTempDir("glm-conv");
        var options = new ConvertOptions(Fixtures.GlmDir(fixture), dir.File("out")) { Precision = TargetPrecision.Fp32 };
        if (split == "split") options = options with { StageLayers = SplitInsideIndexShareGroup(fixture) };
        ModelConverter.Convert(options, SilentProgress.Instance);

        var prompts = Prompts(fixture, dir.File("out"));
        using var model = VerificationModel.Open(dir.File("out"), PrefillRoom(prompts), new VerificationOptions(VerifyChecksums: true, BlockSize: 4));
        foreach (var prompt in prompts)
        {
            var logits = await model.PromptLogitsAsync(prompt.InputIds);
            var (maxErr, agree) = Compare(logits, prompt.PrefillLogits, model.VocabSize);
            log.WriteLine($"{fixture} {split} {prompt.Name}: max abs err {maxErr:E2}, argmax {agree}/{prompt.InputIds.Length}");
            Assert.True(maxErr <= 1e-3, $"{fixture}/{prompt.Name}: max abs error {maxErr} > 1e-3");
            Assert.Equal(prompt.InputIds.Length, agree);
        }
    }

    /// <summary>A small shard cap splits each stage's weights over several data files; results are unchanged.</summary>
    [Fact]
    public async Task ShardCapSplitsExternalDataAndResultsMatch()
    {
        using var dir = Fixtures.NewTempDir("glm-conv");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir("glm52-tiny"), dir.File("out")) { MaxShardBytes = 256 * 1024 },
            SilentProgress.Instance);
        var prompt = Prompts("glm52-tiny", dir.File("out"))[0];
        using var model = VerificationModel.Open(dir.File("out"), PrefillRoom([prompt]), new VerificationOptions(VerifyChecksums: true));
        Assert.True(model.Manifest.Stages[0].DataFiles.Count >= 5, $"{model.Manifest.Stages[0].DataFiles.Count} shards");
        Assert.All(model.Manifest.Stages[0].DataFiles, f => Assert.True(new FileInfo(Path.Combine(dir.File("out"), f)).Length <= 256 * 1024));
        var (err, agree) = Compare(await model.PromptLogitsAsync(prompt.InputIds), prompt.PrefillLogits, model.VocabSize);
        Assert.True(err <= 1e-3, $"max abs error {err}");
        Assert.Equal(prompt.InputIds.Length, agree);
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public Task Bf16KeepsArgmaxOnAtLeast95PercentOfPositions(string fixture) =>
        CheckLowPrecision(fixture, TargetPrecision.Bf16);

    /// <summary>fp8 keeps the FP8 fixture's block-FP8 weights (dequantised in-graph / by MoeExperts); bf16 sources store bf16.</summary>
    [Theory]
    [MemberData(nameof(AllFixtures))]
    public Task Fp8KeepsArgmaxOnAtLeast95PercentOfPositions(string fixture) =>
        CheckLowPrecision(fixture, TargetPrecision.Fp8);

    private async Task CheckLowPrecision(string fixture, TargetPrecision precision)
    {
        using var dir = Fixtures.NewTempDir("glm-conv");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(fixture), dir.File("out")) { Precision = precision, LayersPerStage = 3 },
            SilentProgress.Instance);
        var prompts = Prompts(fixture, dir.File("out"));
        using var model = VerificationModel.Open(dir.File("out"), PrefillRoom(prompts));
        int positions = 0, agree = 0;
        double maxErr = 0;
        foreach (var prompt in prompts)
        {
            var (err, a) = Compare(await model.PromptLogitsAsync(prompt.InputIds), prompt.PrefillLogits, model.VocabSize);
            positions += prompt.InputIds.Length;
            agree += a;
            maxErr = Math.Max(maxErr, err);
        }
        log.WriteLine($"{fixture} {precision}: argmax {agree}/{positions} ({100.0 * agree / positions:F1} %), max abs err {maxErr:E2}");
        Assert.True(agree >= 0.95 * positions, $"{fixture} {precision}: argmax agreement {agree}/{positions} below 95 %");
    }

    /// <summary>Prefill of the prompt, then 12 greedy tokens one at a time through the paged pools (block size 4).</summary>
    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task DecodeThroughPagedCacheReproducesGreedyIds(string fixture)
    {
        using var dir = Fixtures.NewTempDir("glm-conv");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(fixture), dir.File("out")) { StageLayers = SplitInsideIndexShareGroup(fixture) },
            SilentProgress.Instance);
        var prompts = Prompts(fixture, dir.File("out"));
        Assert.All(prompts, p => Assert.NotNull(p.GreedyIds));
        using var model = VerificationModel.Open(dir.File("out"), prompts.Max(p => p.GreedyIds!.Length), new VerificationOptions(BlockSize: 4));
        foreach (var prompt in prompts)
        {
            var run = await model.GreedyAsync(prompt.InputIds, prompt.GreedyIds!.Length - prompt.InputIds.Length);
            Assert.Equal(prompt.GreedyIds, run.Ids);
            var (err, _) = Compare(run.StepLogits.SelectMany(s => s).ToArray(), prompt.GreedyLogits!, model.VocabSize);
            log.WriteLine($"{fixture} {prompt.Name}: greedy ids match, step logits max abs err {err:E2}");
            Assert.True(err <= 1e-3, $"{fixture}/{prompt.Name}: greedy step logits max abs error {err}");
        }
    }

    private static IReadOnlyList<ReferencePrompt> Prompts(string fixture, string artifacts) =>
        ReferencePrompts.Load(Path.Combine(Fixtures.GlmDir(fixture), "reference.safetensors"),
            ModelManifestJson.Load(artifacts).Dimensions.VocabSize);

    /// <summary>Cache room for prefilling the longest prompt (the engine samples one token after it).</summary>
    private static int PrefillRoom(IReadOnlyList<ReferencePrompt> prompts) => prompts.Max(p => p.InputIds.Length) + 1;

    /// <summary>
    /// Stage sizes that put a cut between two layers of the same IndexShare group (shared layer after the cut), so
    /// the top-k hand-over between stages is exercised; GLM-5 fixtures (all full) are cut in the middle.
    /// </summary>
    private static IReadOnlyList<int> SplitInsideIndexShareGroup(string fixture)
    {
        using var checkpoint = Glm.Onnx.Checkpoint.GlmCheckpoint.Open(Fixtures.GlmDir(fixture));
        var c = checkpoint.Config;
        int cut = Enumerable.Range(2, c.NumHiddenLayers - 2)
            .FirstOrDefault(l => c.IndexerTypes[l] == Glm.Onnx.Checkpoint.IndexerType.Shared &&
                                 c.IndexerTypes[l - 1] == Glm.Onnx.Checkpoint.IndexerType.Shared, c.NumHiddenLayers / 2);
        // Three stages: [0, 1), [1, cut), [cut, L): also checks a stage boundary right after the embedding.
        return [1, cut - 1, c.NumHiddenLayers - cut];
    }

    internal static (double MaxErr, int ArgmaxAgree) Compare(float[] actual, float[] expected, int vocab)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxErr = 0;
        int agree = 0;
        for (int row = 0; row < expected.Length / vocab; row++)
        {
            int a = 0, e = 0;
            for (int v = 0; v < vocab; v++)
            {
                int i = row * vocab + v;
                maxErr = Math.Max(maxErr, Math.Abs(actual[i] - expected[i]));
                if (actual[i] > actual[row * vocab + a]) a = v;
                if (expected[i] > expected[row * vocab + e]) e = v;
            }
            if (a == e) agree++;
        }
        return (maxErr, agree);
    }
}
