using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests.Speculative;

/// <summary>
/// The speculative loop on the fake executor, whose logits are a pure function of the token ids it reads back from its
/// paged pool: an oracle drafter replays known continuations (all accepted) or planted mistakes (forced rejections),
/// and every output must equal plain greedy decoding's, computed independently from the fake's reference function.
/// </summary>
public sealed class SpeculativeEngineTests
{
    private const int Vocab = 32;

    private static int[] Prompt(int length, int seed) => Enumerable.Range(0, length).Select(i => (i * 7 + seed * 5 + i * i) % Vocab).ToArray();

    /// <summary>Greedy decoding straight from the fake's reference function (no engine).</summary>
    private static int[] ReferenceGreedy(IReadOnlyList<int> prompt, int count, int[]? stopIds = null)
    {
        var history = prompt.ToList();
        var row = new float[Vocab];
        var output = new List<int>();
        for (int n = 0; n < count; n++)
        {
            FakeModelExecutor.ReferenceLogits(history.ToArray(), row);
            int best = Sampler.ArgMax(row);
            history.Add(best);
            output.Add(best);
            if (stopIds is not null && stopIds.Contains(best))
                break;
        }
        return [.. output];
    }


    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task AnOracleThatIsAlwaysRightGivesThePlainOutputInFewerSteps(int k)
    {
        var prompt = Prompt(6, k);
        var expected = ReferenceGreedy(prompt, 13);
        using var executor = new FakeModelExecutor(Vocab, blockSize: 4, numBlocks: 64);
        var oracle = new OracleDrafter();
        var recorder = new RecordingDrafter(oracle);
        using var engine = new GenerationEngine(executor, drafter: recorder);
        var request = new GenerationRequest(prompt) { MaxNewTokens = 13, SpeculativeTokens = k };
        oracle.Script(request, expected);
        var tokens = await Collect(engine, request);

        Assert.Equal(expected, tokens.Select(t => t.TokenId));
        // One prefill step, then each verify step emits k + 1 tokens until the limit caps the drafts.
        int verifies = 0, left = 12;
        while (left > 0) { left -= Math.Min(k, left - 1) + 1; verifies++; }
        Assert.Equal(1 + verifies, executor.ForwardCalls);
        var usage = tokens[^1].Usage!.Speculation!;
        Assert.Equal(verifies, usage.VerifySteps);
        Assert.Equal(usage.DraftTokens, usage.AcceptedTokens);
        Assert.Equal(12 - verifies, usage.AcceptedTokens);
        var stats = engine.Speculation.Snapshot();
        Assert.Equal(verifies, stats.VerifySteps);
        Assert.Equal(stats.DraftTokens, stats.AcceptedTokens);
        // Blocks at draft time hold every position of the verify chunk, and nothing more.
        foreach (var call in recorder.Calls.Where(c => c.Drafts.Length > 0))
        {
            Assert.Equal(call.Tokens - 1, call.Computed);
            Assert.Equal((call.Tokens + call.Drafts.Length + 3) / 4, call.Blocks);
        }
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Theory]
    [InlineData(3, 0)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(1, 0)]
    public async Task AForcedRejectionAtEachDraftPositionLeavesNoTrace(int k, int position)
    {
        var prompt = Prompt(5, 10 + position);
        var expected = ReferenceGreedy(prompt, 16);
        // Every verify step's draft at `position` is wrong: the script is right up to there, then off by one.
        var script = expected.ToArray();
        for (int start = 1; start + position < script.Length; start += position + 1)
            script[start + position] = (script[start + position] + 1) % Vocab;
        using var executor = new FakeModelExecutor(Vocab, blockSize: 4, numBlocks: 64);
        var oracle = new OracleDrafter();
        var recorder = new RecordingDrafter(oracle);
        using var engine = new GenerationEngine(executor, new SchedulerOptions(EnablePrefixCaching: true), drafter: recorder);
        var request = new GenerationRequest(prompt) { MaxNewTokens = 16, SpeculativeTokens = k };
        oracle.Script(request, script);
        var tokens = await Collect(engine, request);

        Assert.Equal(expected, tokens.Select(t => t.TokenId));
        // Each step accepts exactly `position` drafts (the limit aside), so the sequence length rolled back each time.
        var drafting = recorder.Calls.Where(c => c.Drafts.Length > 0).ToList();
        for (int i = 1; i < drafting.Count; i++)
        {
            int accepted = drafting[i].Tokens - drafting[i - 1].Tokens - 1;
            Assert.Equal(Math.Min(position, drafting[i - 1].Drafts.Length), accepted);
            Assert.Equal(drafting[i].Tokens - 1, drafting[i].Computed);
            Assert.Equal((drafting[i].Tokens + drafting[i].Drafts.Length + 3) / 4, drafting[i].Blocks); // rejected tail freed
        }
        var stats = engine.Speculation.Snapshot();
        Assert.Equal(position, stats.AcceptedPerPosition.Count); // nothing accepted at or after the planted mistake
        Assert.All(stats.AcceptedPerPosition, n => Assert.True(n > 0));

        // The prefix cache holds only accepted tokens: a request that continues this one's text reuses its blocks,
        // and the fake's logits (read from the pool) stay those of the plain reference.
        var longer = prompt.Concat(expected).ToArray();
        var follow = await Collect(engine, new GenerationRequest(longer) { MaxNewTokens = 4 });
        Assert.True(follow[^1].Usage!.ReusedPromptTokens >= 16, $"reused {follow[^1].Usage!.ReusedPromptTokens}");
        Assert.Equal(ReferenceGreedy(longer, 4), follow.Select(t => t.TokenId));
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Fact]
    public async Task MixedBatchesOfSpeculatingPlainAndPrefillingRequestsMatchIsolatedOutput()
    {
        using var executor = new FakeModelExecutor(Vocab, blockSize: 4, numBlocks: 256);
        var oracle = new OracleDrafter();
        // A small token budget: long prompts are prefilled in chunks while the others verify drafts in the same steps.
        using var engine = new GenerationEngine(executor, new SchedulerOptions(MaxTokensPerStep: 12), drafter: oracle);
        var specs = new (int Prompt, int K, int Max, bool Wrong)[]
        {
            (3, 3, 14, false), (23, 0, 9, false), (5, 2, 11, true), (31, 4, 12, false), (9, 1, 7, true), (17, 4, 10, true),
        };
        var requests = specs.Select((s, i) =>
        {
            var prompt = Prompt(s.Prompt, 40 + i);
            var expected = ReferenceGreedy(prompt, s.Max);
            var request = new GenerationRequest(prompt) { MaxNewTokens = s.Max, SpeculativeTokens = s.K };
            oracle.Script(request, s.Wrong ? expected.Select((t, j) => j % 3 == 2 ? (t + 5) % Vocab : t).ToArray() : expected);
            return (request, expected);
        }).ToList();
        var outputs = await Task.WhenAll(requests.Select(r => Collect(engine, r.request)));
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(requests[i].expected, outputs[i].Select(t => t.TokenId));
        // Some step carried a verify chunk (more than one token of a decoding sequence) beside a prefill chunk.
        Assert.Contains(executor.ChunkSizes, sizes => sizes.Length > 1 && sizes.Any(c => c > 1 && c <= 5) && sizes.Any(c => c > 5));
        Assert.True(engine.Speculation.Snapshot().VerifySteps > 0);
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Theory]
    [InlineData(4, 5)]
    [InlineData(3, 2)]
    [InlineData(4, 1)]
    public async Task MaxTokensEndsWhereThePlainRunEnds(int k, int max)
    {
        var prompt = Prompt(7, max);
        var expected = ReferenceGreedy(prompt, 40);
        using var executor = new FakeModelExecutor(Vocab);
        var oracle = new OracleDrafter();
        using var engine = new GenerationEngine(executor, drafter: oracle);
        var request = new GenerationRequest(prompt) { MaxNewTokens = max, SpeculativeTokens = k };
        oracle.Script(request, expected);
        var tokens = await Collect(engine, request);
        Assert.Equal(expected.Take(max), tokens.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Length, tokens[^1].FinishReason);
        Assert.Equal(max, tokens[^1].Usage!.CompletionTokens);
    }

    [Fact]
    public async Task AStopTokenInsideAnAcceptedRunEndsTheOutputThere()
    {
        var prompt = Prompt(6, 3);
        var plain = ReferenceGreedy(prompt, 20);
        int stop = plain[6]; // inside the second verify run of K = 4 (output 1..5, 6..10)
        var expected = ReferenceGreedy(prompt, 20, [stop]);
        using var executor = new FakeModelExecutor(Vocab);
        var oracle = new OracleDrafter();
        using var engine = new GenerationEngine(executor, drafter: oracle);
        var request = new GenerationRequest(prompt) { MaxNewTokens = 20, SpeculativeTokens = 4, StopTokenIds = [stop] };
        oracle.Script(request, plain);
        var tokens = await Collect(engine, request);
        Assert.Equal(expected, tokens.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Stop, tokens[^1].FinishReason);
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Fact]
    public async Task AStopStringInsideAnAcceptedRunCutsTheTextWherePlainDecodingCutsIt()
    {
        var prompt = Prompt(6, 8);
        var plain = ReferenceGreedy(prompt, 24);
        string stopText = LetterDecoder.Text(plain.Skip(7).Take(2)); // ends at output token 8, mid verify run
        async Task<List<GeneratedToken>> Run(int k)
        {
            using var executor = new FakeModelExecutor(Vocab);
            var oracle = new OracleDrafter();
            using var engine = new GenerationEngine(executor, decoder: new LetterDecoder(), drafter: oracle);
            var request = new GenerationRequest(prompt) { MaxNewTokens = 24, SpeculativeTokens = k, StopStrings = [stopText] };
            oracle.Script(request, plain);
            return await Collect(engine, request);
        }
        var reference = await Run(0);
        foreach (var k in new[] { 1, 3, 4 })
        {
            var tokens = await Run(k);
            Assert.Equal(reference.Select(t => t.TokenId), tokens.Select(t => t.TokenId));
            Assert.Equal(string.Concat(reference.Select(t => t.TextDelta)), string.Concat(tokens.Select(t => t.TextDelta)));
            Assert.Equal(FinishReason.Stop, tokens[^1].FinishReason);
        }
        Assert.DoesNotContain(stopText, string.Concat(reference.Select(t => t.TextDelta)));
    }

    /// <summary>
    /// A rejected draft never reaches the stop-string matcher: a draft that would complete a stop string (its first
    /// letter accepted, the second one wrong) is rejected, and the output runs on to the limit with plain decoding's
    /// text, nothing held back or cut.
    /// </summary>
    [Fact]
    public async Task ARejectedDraftThatWouldCompleteAStopStringLeavesNoTrace()
    {
        var prompt = Prompt(6, 5);
        var plain = ReferenceGreedy(prompt, 16);
        string text = LetterDecoder.Text(plain);
        // K = 4 drafts output tokens 1-4, 6-9, 11-14 (0, 5, 10, 15 are the target's own): token 6 is accepted, 7 is wrong.
        char first = text[6];
        char second = Enumerable.Range(0, 26).Select(c => (char)('a' + c)).First(c => c != text[7] && !text.Contains($"{first}{c}"));
        string stop = $"{first}{second}";
        var script = plain.ToArray();
        script[7] = second - 'a';
        using var executor = new FakeModelExecutor(Vocab);
        var oracle = new OracleDrafter();
        var recorder = new RecordingDrafter(oracle);
        using var engine = new GenerationEngine(executor, decoder: new LetterDecoder(), drafter: recorder);
        var request = new GenerationRequest(prompt) { MaxNewTokens = 16, SpeculativeTokens = 4, StopStrings = [stop] };
        oracle.Script(request, script);
        var tokens = await Collect(engine, request);

        Assert.Contains(recorder.Calls, c => c.Drafts.Length == 4 && c.Drafts[0] == plain[6] && c.Drafts[1] == script[7]);
        Assert.Equal(plain, tokens.Select(t => t.TokenId));
        Assert.Equal(text, string.Concat(tokens.Select(t => t.TextDelta)));
        Assert.Equal(FinishReason.Length, tokens[^1].FinishReason);
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Fact]
    public async Task PromptsThatHitThePrefixCacheSpeculateToThePlainOutput()
    {
        using var executor = new FakeModelExecutor(Vocab, blockSize: 4, numBlocks: 64);
        var oracle = new OracleDrafter();
        using var engine = new GenerationEngine(executor, new SchedulerOptions(EnablePrefixCaching: true), drafter: oracle);
        var prompt = Prompt(14, 2);
        var expected = ReferenceGreedy(prompt, 10);
        for (int round = 0; round < 3; round++)
        {
            var request = new GenerationRequest(prompt) { MaxNewTokens = 10, SpeculativeTokens = 3 };
            oracle.Script(request, round == 1 ? expected.Select(t => (t + 1) % Vocab).ToArray() : expected);
            var tokens = await Collect(engine, request);
            Assert.Equal(expected, tokens.Select(t => t.TokenId));
            if (round > 0)
                Assert.Equal(12, tokens[^1].Usage!.ReusedPromptTokens);
        }
    }

    [Fact]
    public void RequestsThatCannotSpeculateAreRefusedWithTheReason()
    {
        using var executor = new FakeModelExecutor(Vocab);
        using var plain = new GenerationEngine(executor);
        var noDrafter = Assert.Throws<ArgumentException>(() =>
            plain.GenerateAsync(new GenerationRequest([1, 2]) { SpeculativeTokens = 2 }).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
        Assert.Contains("no MTP stage", noDrafter.Message);

        using var speculative = new GenerationEngine(executor, drafter: new OracleDrafter());
        var tooMany = Assert.Throws<ArgumentException>(() => speculative.GenerateAsync(
            new GenerationRequest([1, 2]) { SpeculativeTokens = GenerationRequest.MaxSpeculativeTokens + 1 })
            .GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
        Assert.Contains("SpeculativeTokens", tooMany.Message);
    }
}
