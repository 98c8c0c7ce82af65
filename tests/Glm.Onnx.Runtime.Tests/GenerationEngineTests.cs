using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>The engine end to end over the fake executor (no ONNX Runtime).</summary>
public sealed class GenerationEngineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    private static int[] Prompt(int length, int seed) => Enumerable.Range(0, length).Select(i => (i * 7 + seed * 13 + 1) % 32).ToArray();

    private static Task<List<GeneratedToken>> Collect(GenerationEngine engine, GenerationRequest request)
    {
        async Task<List<GeneratedToken>> Run()
        {
            var tokens = new List<GeneratedToken>();
            await foreach (var token in engine.GenerateAsync(request))
                tokens.Add(token);
            return tokens;
        }
        return Run().WaitAsync(Timeout);
    }

    [Fact]
    public async Task GreedyGenerationMatchesThePlainReference()
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor);
        var prompt = Prompt(9, 1);
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 12 });
        Assert.Equal(ReferenceGeneration.Greedy(prompt, 12, 32), tokens.Select(t => t.TokenId));
        Assert.All(tokens[..^1], t => Assert.Null(t.FinishReason));
        Assert.Equal(FinishReason.Length, tokens[^1].FinishReason);
        var usage = tokens[^1].Usage!;
        Assert.Equal((9, 12, 0), (usage.PromptTokens, usage.CompletionTokens, usage.ReusedPromptTokens));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(512)]
    public async Task ChunkedPrefillGivesTheSameLogitsAsOneShot(int budget)
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor, new SchedulerOptions(MaxTokensPerStep: budget));
        var prompt = Prompt(23, 2);
        var logits = await engine.ComputePromptLogitsAsync(prompt).WaitAsync(Timeout);
        Assert.Equal(ReferenceGeneration.PromptLogits(prompt, 32), logits);
        Assert.All(executor.ChunkSizes, sizes => Assert.True(sizes.Sum() <= budget));
        Assert.Equal((23 + budget - 1) / budget, executor.ForwardCalls);
    }

    [Fact]
    public async Task StepLogitsAreTheRowsThatChoseEachToken()
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor);
        var prompt = Prompt(5, 3);
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 4, ReturnLogits = true });
        var history = prompt.ToList();
        var expected = new float[32];
        foreach (var token in tokens)
        {
            FakeModelExecutor.ReferenceLogits(history.ToArray(), expected);
            Assert.Equal(expected, token.Logits);
            history.Add(token.TokenId);
        }
    }

    private static GenerationRequest MixedRequest(int i) => new(Prompt(3 + i * 5 % 17, i))
    {
        MaxNewTokens = 6 + i % 5,
        IgnoreEos = true,
        Sampling = (i % 4) switch
        {
            0 => SamplingOptions.Greedy,
            1 => new SamplingOptions(Temperature: 0.9f, TopK: 8, Seed: (ulong)i),
            2 => new SamplingOptions(Temperature: 1.2f, TopP: 0.8f, MinP: 0.05f, Seed: (ulong)(100 + i)),
            _ => new SamplingOptions(Temperature: 0.7f, RepetitionPenalty: 1.3f, PresencePenalty: 0.5f, FrequencyPenalty: 0.2f, Seed: (ulong)(7 * i)),
        },
    };

    private static async Task<int[][]> Isolated(int count)
    {
        var results = new int[count][];
        for (int i = 0; i < count; i++)
        {
            using var executor = new FakeModelExecutor();
            using var engine = new GenerationEngine(executor, new SchedulerOptions(EnablePrefixCaching: false));
            results[i] = (await Collect(engine, MixedRequest(i))).Select(t => t.TokenId).ToArray();
        }
        return results;
    }

    [Fact]
    public async Task ABatchOfRequestsWithStaggeredStartsProducesWhatEachProducesAlone()
    {
        const int count = 10;
        var alone = await Isolated(count);
        using var executor = new FakeModelExecutor { PauseAtCall = 4 };
        using var engine = new GenerationEngine(executor, new SchedulerOptions(MaxTokensPerStep: 32));
        var tasks = new List<Task<List<GeneratedToken>>>();
        for (int i = 0; i < 5; i++)
            tasks.Add(Collect(engine, MixedRequest(i)));
        // The second half arrives while step 4 runs, so it joins a batch that is already decoding.
        Assert.True(executor.Paused.Wait(Timeout));
        for (int i = 5; i < count; i++)
            tasks.Add(Collect(engine, MixedRequest(i)));
        // GenerateAsync submits synchronously on its first MoveNextAsync, so all five are queued by now.
        executor.Resume.Set();
        var together = await Task.WhenAll(tasks);
        for (int i = 0; i < count; i++)
            Assert.Equal(alone[i], together[i].Select(t => t.TokenId));
        Assert.Contains(executor.ChunkSizes, sizes => sizes.Length >= 6); // old and new requests really shared steps
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
    }

    [Fact]
    public async Task ExhaustingTheBlockPoolQueuesOrPreemptsAndEveryRequestStillCompletes()
    {
        const int count = 8;
        var alone = await Isolated(count);
        // 12 blocks of 4 tokens: the longest request needs 7 blocks, all 8 together need far more.
        using var executor = new FakeModelExecutor(numBlocks: 12) { PauseAtCall = 1 };
        using var engine = new GenerationEngine(executor, new SchedulerOptions(MaxTokensPerStep: 64));
        // Hold the first step until every request is queued, so that they all compete for the pool.
        var tasks = new List<Task<List<GeneratedToken>>> { Collect(engine, MixedRequest(0)) };
        Assert.True(executor.Paused.Wait(Timeout));
        tasks.AddRange(Enumerable.Range(1, count - 1).Select(i => Collect(engine, MixedRequest(i))));
        executor.Resume.Set();
        var together = await Task.WhenAll(tasks);
        for (int i = 0; i < count; i++)
            Assert.Equal(alone[i], together[i].Select(t => t.TokenId));
        Assert.True(engine.PreemptionCount > 0, "expected preemption with a 12-block pool");
        Assert.Equal(12, engine.FreeBlockCount);
    }

    [Fact]
    public async Task ACachedPrefixIsReusedAndGivesTheSameOutput()
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor);
        var shared = Prompt(13, 4);
        var first = await Collect(engine, new GenerationRequest(shared) { MaxNewTokens = 5 });
        var second = await Collect(engine, new GenerationRequest(shared) { MaxNewTokens = 5 });
        Assert.Equal(first.Select(t => t.TokenId), second.Select(t => t.TokenId));
        Assert.Equal(12, second[^1].Usage!.ReusedPromptTokens); // 3 full blocks of 4; token 13 is recomputed

        // A longer prompt that starts with the same 12 tokens reuses them and computes only the rest.
        var longer = shared.Take(12).Concat(Prompt(6, 5)).ToArray();
        int callsBefore = executor.ForwardCalls;
        var third = await Collect(engine, new GenerationRequest(longer) { MaxNewTokens = 3, ReturnPromptLogits = true });
        Assert.Equal(ReferenceGeneration.Greedy(longer, 3, 32), third.Select(t => t.TokenId));
        Assert.Equal(12, third[^1].Usage!.ReusedPromptTokens);
        Assert.Equal(6, executor.ChunkSizes[callsBefore].Sum());
        Assert.True(engine.ReusedPromptTokens >= 24);
    }

    [Fact]
    public async Task CancellingMidStreamReturnsTheBlocksAtOnce()
    {
        using var executor = new FakeModelExecutor(numBlocks: 64);
        using var engine = new GenerationEngine(executor);
        using var cts = new CancellationTokenSource();
        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest(Prompt(10, 6)) { MaxNewTokens = 1000, IgnoreEos = true }, cts.Token))
                if (++received == 3)
                    cts.Cancel();
        });
        // GenerateAsync ends only after the step thread released the request's blocks.
        Assert.Equal(64, engine.FreeBlockCount);
        Assert.True(received >= 3);

        // Abandoning the enumeration (break) releases them too.
        await foreach (var _ in engine.GenerateAsync(new GenerationRequest(Prompt(10, 7)) { MaxNewTokens = 1000, IgnoreEos = true }))
            break;
        Assert.Equal(64, engine.FreeBlockCount);
        Assert.All(Enumerable.Range(0, 64), b => Assert.Equal(0, engine.Allocator.RefCount(b)));
    }

    [Fact]
    public async Task EosAndStopTokenIdsEndTheGeneration()
    {
        var prompt = Prompt(8, 8);
        var reference = ReferenceGeneration.Greedy(prompt, 10, 32);
        using var executor = new FakeModelExecutor(eos: [reference[3]]);
        using var engine = new GenerationEngine(executor);

        var eos = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 10 });
        int stopAt = Array.IndexOf(reference, reference[3]);
        Assert.Equal(reference[..(stopAt + 1)], eos.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Stop, eos[^1].FinishReason);

        var ignored = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 10, IgnoreEos = true, StopTokenIds = [reference[6]] });
        int stopToken = Array.IndexOf(reference, reference[6]);
        Assert.Equal(reference[..(stopToken + 1)], ignored.Select(t => t.TokenId));
        Assert.Equal(FinishReason.Stop, ignored[^1].FinishReason);
    }

    [Fact]
    public async Task StopStringsEndTheTextBeforeTheMatch()
    {
        var prompt = Prompt(8, 9);
        var reference = ReferenceGeneration.Greedy(prompt, 12, 32);
        string full = LetterDecoder.Text(reference);
        string stop = full.Substring(5, 2);
        int at = full.IndexOf(stop, StringComparison.Ordinal);
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor, decoder: new LetterDecoder());
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 12, StopStrings = [stop] });
        Assert.Equal(full[..at], string.Concat(tokens.Select(t => t.TextDelta)));
        Assert.Equal(at + stop.Length, tokens.Count); // the token completing the stop string is the last
        Assert.Equal(FinishReason.Stop, tokens[^1].FinishReason);

        var plain = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 12 });
        Assert.Equal(full, string.Concat(plain.Select(t => t.TextDelta)));
    }

    [Fact]
    public async Task AnExecutorFailureFailsTheRequestsOfThatStepAndTheEngineCarriesOn()
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor);
        executor.FailNext = new InvalidOperationException("device lost");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Collect(engine, new GenerationRequest(Prompt(4, 1)) { MaxNewTokens = 3 }));
        Assert.Equal("device lost", error.Message);
        Assert.Equal(engine.Allocator.NumBlocks, engine.FreeBlockCount);
        var prompt = Prompt(4, 2);
        Assert.Equal(ReferenceGeneration.Greedy(prompt, 3, 32),
            (await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 3 })).Select(t => t.TokenId));
    }

    [Fact]
    public async Task BadRequestsAreRejectedWithTheReason()
    {
        using var executor = new FakeModelExecutor(numBlocks: 4, maxSequenceLength: 100);
        using var engine = new GenerationEngine(executor);
        Assert.Contains("no prompt", (await Assert.ThrowsAsync<ArgumentException>(() => Collect(engine, new GenerationRequest([])))).Message);
        Assert.Contains("outside the vocabulary", (await Assert.ThrowsAsync<ArgumentException>(() => Collect(engine, new GenerationRequest([40])))).Message);
        Assert.Contains("KV cache holds 16", (await Assert.ThrowsAsync<ArgumentException>(() => Collect(engine, new GenerationRequest(Prompt(16, 1))))).Message);
        Assert.Contains("token decoder", (await Assert.ThrowsAsync<ArgumentException>(() => Collect(engine, new GenerationRequest([1]) { StopStrings = ["x"] }))).Message);

        // A request that would outgrow the pool stops at its capacity with finish reason Length.
        var tokens = await Collect(engine, new GenerationRequest(Prompt(10, 1)) { MaxNewTokens = 50, IgnoreEos = true });
        Assert.Equal(6, tokens.Count);
        Assert.Equal(FinishReason.Length, tokens[^1].FinishReason);
    }
}
