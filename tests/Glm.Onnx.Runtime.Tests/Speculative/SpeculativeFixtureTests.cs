using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Verification;

namespace Glm.Onnx.Tests.Speculative;

/// <summary>
/// Every shared fixture with an MTP layer, converted at fp32 once: glm52-tiny-mtp as shipped, and for each other
/// fixture a checkpoint written by the project's synthesizer from the fixture's own config.json plus
/// num_nextn_predict_layers 1 (random weights of the fixture's architecture and precision, the MTP layer included);
/// "glm52-tiny+share" also sets index_share_for_mtp_iteration, so recursive drafts reuse the first step's top-k.
/// </summary>
public sealed class MtpFixtures : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-mtp");
    private readonly Dictionary<string, string> _converted = new();
    private readonly Lock _lock = new();

    public static IReadOnlyList<string> Names { get; } = ["glm52-tiny-mtp", .. Fixtures.GlmNames, "glm52-tiny+share"];

    /// <summary>The fixture whose reference prompts a name uses.</summary>
    public static string Source(string name) => name.Split('+')[0];

    public string Artifacts(string name)
    {
        lock (_lock)
        {
            if (_converted.TryGetValue(name, out var path))
                return path;
            string checkpoint = Fixtures.GlmDir(name);
            if (name != "glm52-tiny-mtp")
            {
                checkpoint = _dir.File(name + ".checkpoint");
                var config = GlmConfig.Load(Path.Combine(Fixtures.GlmDir(Source(name)), "config.json")) with { NumNextnPredictLayers = 1 };
                if (name.EndsWith("+share", StringComparison.Ordinal))
                    config = config with { IndexShareForMtpIteration = true };
                CheckpointSynthesizer.Write(new SynthOptions(checkpoint, config, Seed: 14));
            }
            path = _dir.File(name);
            ModelConverter.Convert(new ConvertOptions(checkpoint, path) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
            _converted[name] = path;
            return path;
        }
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Speculative decoding with the MTP layer on converted fixtures: greedy output with K = 1..4 is token-identical to
/// K = 0 (single requests, mixed batches, prefix-cache hits, verify runs across block boundaries), and the MTP drafter's
/// cache holds exactly the accepted prefix: its first draft each step is what a teacher-forced MTP pass over the final
/// sequence predicts there (<see cref="TeacherForcedDraft"/>), whether drafts were rejected or all accepted.
/// </summary>
public sealed class SpeculativeFixtureTests(MtpFixtures fixtures) : IClassFixture<MtpFixtures>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static TheoryData<string> AllFixtures() => new(MtpFixtures.Names);

    private GlmModel Load(string name, int blocks = 128) =>
        GlmModel.Load(fixtures.Artifacts(name), new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: blocks, BlockSize: 4), IntraOpThreads: 1));

    private static int[][] Prompts(string name, int vocab) =>
        ReferencePrompts.Load(Path.Combine(Fixtures.GlmDir(MtpFixtures.Source(name)), "reference.safetensors"), vocab)
            .Select(p => p.InputIds.Select(i => (int)i).ToArray()).ToArray();

    private static async Task<int[]> Generate(GenerationEngine engine, GenerationRequest request)
    {
        async Task<int[]> Run()
        {
            var list = new List<int>();
            await foreach (var token in engine.GenerateAsync(request))
                list.Add(token.TokenId);
            return [.. list];
        }
        return await Run().WaitAsync(Timeout);
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task GreedyOutputWithOneToFourDraftsEqualsPlainDecoding(string name)
    {
        using var model = Load(name);
        Assert.True(model.Executor.Info.HasDraftStage);
        var crossings = new int[4];
        foreach (var prompt in Prompts(name, model.Executor.Info.VocabSize))
        {
            int[] plain;
            using (var engine = model.CreateEngine())
                plain = await Generate(engine, new GenerationRequest(prompt) { MaxNewTokens = 14, IgnoreEos = true });
            for (int k = 1; k <= 4; k++)
            {
                var recorder = new RecordingDrafter(new MtpDrafter(model.Executor));
                using var engine = model.CreateEngine(drafter: recorder);
                var output = await Generate(engine, new GenerationRequest(prompt) { MaxNewTokens = 14, IgnoreEos = true, SpeculativeTokens = k });
                Assert.True(plain.SequenceEqual(output), $"{name}, prompt of {prompt.Length}, K = {k}: [{string.Join(',', output)}] vs plain [{string.Join(',', plain)}]");
                Assert.True(engine.Speculation.Snapshot().VerifySteps > 0);
                crossings[k - 1] += RejectionsAcrossABlockBoundary(recorder.Calls.Where(c => c.Drafts.Length > 0).ToList(), name, k);
            }
        }
        // Each K verified some chunk that reached into a block beyond the one its last known token is in and had the
        // drafts there rejected: that block held rejected positions only and the next step started without them.
        Assert.All(crossings, c => Assert.True(c > 0, $"{name}: some K never rejected a draft across a block boundary: [{string.Join(',', crossings)}]"));
    }

    /// <summary>
    /// Checks the drafting calls of one request against the block accounting: the sequence holds exactly the blocks of
    /// its computed prefix plus the verify chunk (last known token and drafts), so no block of a rejected tail
    /// survives a step; counts the steps whose verify chunk crossed a block boundary and lost the drafts beyond it.
    /// </summary>
    private static int RejectionsAcrossABlockBoundary(IReadOnlyList<DraftCall> calls, string name, int k)
    {
        const int blockSize = 4;
        int crossings = 0;
        for (int i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            string where = $"{name}, K = {k}, draft call at {call.Tokens} tokens ({call.Drafts.Length} drafts)";
            Assert.True(call.Tokens - 1 == call.Computed, $"{where}: {call.Computed} positions computed, expected {call.Tokens - 1}");
            Assert.True((call.Tokens + call.Drafts.Length + blockSize - 1) / blockSize == call.Blocks,
                $"{where}: holds {call.Blocks} blocks, the verify chunk needs {(call.Tokens + call.Drafts.Length + blockSize - 1) / blockSize}");
            if (i + 1 == calls.Count)
                continue;
            int lastChunkBlock = (call.Tokens - 1 + call.Drafts.Length) / blockSize;
            int keptBlocks = (calls[i + 1].Tokens - 1 + blockSize - 1) / blockSize; // the next step's computed prefix
            if (lastChunkBlock >= keptBlocks)
                crossings++;
        }
        return crossings;
    }

    [Fact]
    public async Task MixedBatchesAndPrefixCacheHitsMatchPlainDecoding()
    {
        const string name = "glm52-tiny-mtp";
        using var model = Load(name, blocks: 96);
        var prompts = Prompts(name, model.Executor.Info.VocabSize);
        var longPrompt = prompts.Single(p => p.Length == 40);
        GenerationRequest Request(int i, int k) => new(longPrompt[(i * 3)..(9 + i * 4)]) { MaxNewTokens = 9 + i % 4, IgnoreEos = true, SpeculativeTokens = k };
        var plain = new List<int[]>();
        using (var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false)))
            for (int i = 0; i < 6; i++)
                plain.Add(await Generate(engine, Request(i, 0)));

        // Speculating and plain requests together, prompts prefilled in chunks beside verify steps (budget 16).
        using (var engine = model.CreateEngine(new SchedulerOptions(MaxTokensPerStep: 16)))
        {
            var together = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Generate(engine, Request(i, i % 5))));
            for (int i = 0; i < 6; i++)
                Assert.True(plain[i].SequenceEqual(together[i]), $"request {i} (K = {i % 5}) differs in the mixed batch");
            Assert.True(engine.Speculation.Snapshot().VerifySteps > 0);
        }

        // The same long prompt three times: the later ones reuse cached blocks (draft rows included) and still match.
        using (var engine = model.CreateEngine())
        {
            var expected = await Generate(engine, new GenerationRequest(longPrompt) { MaxNewTokens = 12, IgnoreEos = true });
            long reusedBefore = engine.ReusedPromptTokens;
            for (int round = 0; round < 3; round++)
                Assert.Equal(expected, await Generate(engine, new GenerationRequest(longPrompt) { MaxNewTokens = 12, IgnoreEos = true, SpeculativeTokens = 3 }));
            Assert.True(engine.ReusedPromptTokens - reusedBefore >= 2 * 32, $"reused {engine.ReusedPromptTokens - reusedBefore} prompt tokens");
        }
    }

    /// <summary>
    /// A pool too small for the batch preempts speculating sequences: they give back their blocks (MTP rows included),
    /// come back through the prefix cache or from scratch, rebuild their MTP cache, and still emit plain greedy's tokens.
    /// </summary>
    [Fact]
    public async Task PreemptedSpeculatingSequencesResumeToThePlainOutput()
    {
        const string name = "glm52-tiny-mtp";
        var longPrompt = Prompts(name, 256).Single(p => p.Length == 40);
        GenerationRequest Request(int i, int k) => new(longPrompt[i..(24 + i)]) { MaxNewTokens = 12, IgnoreEos = true, SpeculativeTokens = k };
        var plain = new List<int[]>();
        using (var model = Load(name))
        using (var engine = model.CreateEngine())
            for (int i = 0; i < 4; i++)
                plain.Add(await Generate(engine, Request(i, 0)));

        // 20 blocks of 4: each request needs 9 at its end, the four together 36.
        using (var model = Load(name, blocks: 20))
        using (var engine = model.CreateEngine())
        {
            var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Generate(engine, Request(i, i == 3 ? 0 : 1 + i))));
            for (int i = 0; i < 4; i++)
                Assert.True(plain[i].SequenceEqual(together[i]), $"request {i} differs after preemption");
            Assert.True(engine.PreemptionCount > 0, "expected preemption with a 20-block pool");
            Assert.True(engine.Speculation.Snapshot().VerifySteps > 0);
        }
    }

    [Theory]
    [InlineData("glm52-tiny-mtp", false)]
    [InlineData("glm52-tiny-mtp", true)]
    [InlineData("glm52-tiny+share", false)]
    public async Task TheDraftCacheHoldsExactlyTheAcceptedPrefix(string name, bool allAccepted)
    {
        using var model = Load(name);
        var executor = model.Executor;
        int vocab = executor.Info.VocabSize;
        var prompt = Prompts(name, vocab).Single(p => p.Length == 40);
        int[] plain;
        using (var engine = model.CreateEngine())
            plain = await Generate(engine, new GenerationRequest(prompt) { MaxNewTokens = 16, IgnoreEos = true });

        // The MTP drafter's own drafts are recorded; with allAccepted an oracle then replaces them by the true output.
        var recorder = new RecordingDrafter(new MtpDrafter(executor));
        var oracle = new OracleDrafter(recorder);
        var request = new GenerationRequest(prompt) { MaxNewTokens = 16, IgnoreEos = true, SpeculativeTokens = 3 };
        oracle.Script(request, allAccepted ? plain : []);
        using (var engine = model.CreateEngine(drafter: allAccepted ? oracle : recorder))
            Assert.Equal(plain, await Generate(engine, request));

        // Teacher-forced MTP over the whole accepted sequence: row i drafts token i + 2 from h_i and token i + 1.
        var full = prompt.Concat(plain).ToArray();
        var teacher = TeacherForcedDraft.Run(executor, full, Enumerable.Range(0, (full.Length + 3) / 4).ToArray());
        var drafting = recorder.Calls.Where(c => c.Drafts.Length > 0).ToList();
        Assert.True(drafting.Count >= 4);
        foreach (var call in drafting)
        {
            // A call at n tokens drafts token n from MTP row n - 2.
            var row = teacher.DraftLogits.AsSpan((call.Tokens - 2) * vocab, vocab);
            float best = row[Sampler.ArgMax(row)];
            Assert.True(row[call.Drafts[0]] >= best - 1e-4f,
                $"at {call.Tokens} tokens the MTP drafted {call.Drafts[0]} (logit {row[call.Drafts[0]]}), teacher-forced argmax {Sampler.ArgMax(row)} ({best})");
            Assert.Equal(call.Tokens - 1, call.DraftCache);
        }
    }

    /// <summary>
    /// Drafts 2..K apply the MTP layer recursively: draft s + 1 comes from the MTP layer's own final hidden state of
    /// draft s and the token of draft s, at the next position, over the MTP cache of the accepted prefix; with
    /// index_share_for_mtp_iteration its DSA takes the first draft step's selection. Each recorded draft run is redone
    /// here row by row on the executor (teacher-forced rows 0..n-2 from the target's h, then one row per draft), and a
    /// +share run is also redone without the shared selection to show that it changes the draft logits.
    /// </summary>
    [Theory]
    [InlineData("glm52-tiny-mtp")]
    [InlineData("glm52-tiny+share")]
    public async Task RecursiveDraftsFeedTheMtpLayersOwnHiddenStateBack(string name)
    {
        using var model = Load(name);
        var executor = model.Executor;
        var info = executor.Info;
        Assert.Equal(name.EndsWith("+share", StringComparison.Ordinal), info.ShareDraftTopK);
        int vocab = info.VocabSize, k = info.IndexTopK;
        var prompt = Prompts(name, vocab).Single(p => p.Length == 40);
        var recorder = new RecordingDrafter(new MtpDrafter(executor));
        int[] output;
        using (var engine = model.CreateEngine(drafter: recorder))
            output = await Generate(engine, new GenerationRequest(prompt) { MaxNewTokens = 10, IgnoreEos = true, SpeculativeTokens = 4 });

        var full = prompt.Concat(output).ToArray();
        var table = Enumerable.Range(0, (full.Length + 4 + 3) / 4).ToArray();
        int checkedDrafts = 0;
        float shareEffect = 0;
        foreach (var call in recorder.Calls.Where(c => c.Drafts.Length > 1))
        {
            int n = call.Tokens;
            var teacher = TeacherForcedDraft.Run(executor, full[..n], table);
            var rows = Enumerable.Range(0, n - 1).Select(i => (long)i).ToArray();
            var firstBatch = new ForwardBatch(full[1..n].Select(t => (long)t).ToArray(), rows, [0, n - 1], [0], table, table.Length, [n - 2]);
            var first = executor.ForwardDraft(new DraftBatch(firstBatch, teacher.Hidden.AsMemory(0, (n - 1) * info.HiddenSize)));
            AssertDrafted(first.Logits.Row(0), call.Drafts[0], $"{name}: draft 1 at {n} tokens");
            var selection = first.TopkIndices.Span.Slice((n - 2) * k, k).ToArray();
            var hidden = first.Logits.HiddenRow(0).ToArray();
            for (int step = 1; step < call.Drafts.Length; step++)
            {
                int position = n - 2 + step;
                ForwardBatch Row() => new([call.Drafts[step - 1]], [position], [0, 1], [position], table, table.Length, [0]);
                if (info.ShareDraftTopK)
                {
                    var own = executor.ForwardDraft(new DraftBatch(Row(), hidden)).Logits.Row(0).ToArray();
                    var shared = executor.ForwardDraft(new DraftBatch(Row(), hidden, selection)).Logits.Row(0);
                    for (int v = 0; v < vocab; v++)
                        shareEffect = Math.Max(shareEffect, Math.Abs(own[v] - shared[v]));
                }
                var next = executor.ForwardDraft(new DraftBatch(Row(), hidden, info.ShareDraftTopK ? selection : default(ReadOnlyMemory<int>)));
                AssertDrafted(next.Logits.Row(0), call.Drafts[step], $"{name}: draft {step + 1} at {n} tokens");
                hidden = next.Logits.HiddenRow(0).ToArray();
                checkedDrafts++;
            }
        }
        Assert.True(checkedDrafts >= 4, $"{name}: only {checkedDrafts} recursive drafts checked");
        if (info.ShareDraftTopK)
            Assert.True(shareEffect > 1e-3f, $"{name}: the shared selection changes no draft logit (max difference {shareEffect})");
    }

    /// <summary>A greedy draft is the row's argmax (a tie within float error counts).</summary>
    private static void AssertDrafted(ReadOnlySpan<float> row, int draft, string where)
    {
        float best = row[Sampler.ArgMax(row)];
        Assert.True(row[draft] >= best - 1e-4f, $"{where}: drafted {draft} (logit {row[draft]}), the MTP row's argmax is {Sampler.ArgMax(row)} ({best})");
    }
}
