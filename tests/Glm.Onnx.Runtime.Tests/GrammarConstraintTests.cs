using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Tests.Fakes;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests;

/// <summary>
/// Grammar constraints in the engine over the fake executor: the mask comes before sampling, each sequence of a batch
/// has its own grammar state, a free leading block (reasoning) stays free, the output ends with stop once only the
/// stop id is allowed, and the state goes with the request.
/// </summary>
public sealed class GrammarConstraintTests
{
    private const int Vocab = SymbolVocabulary.Size;
    private const int Eos = SymbolVocabulary.Eos;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    // Id 38 spells ':' here.
    private static readonly SymbolVocabulary Symbols = SymbolVocabulary.WithColon;

    private static string Text(IEnumerable<int> ids) => Symbols.Text(ids);

    private static int[] Prompt(int seed) => [(seed * 5 + 1) % 36, (seed * 11 + 3) % 36, 38];

    private static CompiledGrammar Gbnf(string text) => GrammarCompiler.CompileGbnf(text, Symbols.Tokens);

    [Theory]
    [InlineData(0f, 0)] // greedy
    [InlineData(1.5f, 1)] // temperature with top-k 1: the top-1 cut must see only the allowed tokens
    public async Task TheMaskComesBeforeSampling(float temperature, int topK)
    {
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var grammar = Gbnf("root ::= [0-9]+ \"}\"");
        var prompt = Prompt(1);
        var sampling = new SamplingOptions(Temperature: temperature, TopK: topK, Seed: 7);
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 6, Sampling = sampling, Constraint = new GrammarConstraint(grammar) })
            .WaitAsync(Timeout);

        var history = prompt.ToList();
        foreach (var token in tokens)
        {
            bool first = history.Count == prompt.Length;
            // Independent expectation: digits always; '}' once a digit was written.
            int expected = SymbolVocabulary.BestAllowed(history, id => id is >= 26 and <= 35 || (!first && id == 37));
            if (history[^1] == 37)
                expected = Eos;
            Assert.Equal(expected, token.TokenId);
            history.Add(token.TokenId);
        }
        var unconstrained = ReferenceGeneration.Greedy(prompt, 6, Vocab);
        Assert.NotEqual(unconstrained, tokens.Select(t => t.TokenId)); // the fake's own choice breaks the grammar
    }

    [Fact]
    public async Task WhenOnlyTheStopIdIsAllowedTheOutputStopsThere()
    {
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var tokens = await Collect(engine, new GenerationRequest(Prompt(2))
        {
            MaxNewTokens = 20,
            Sampling = new SamplingOptions(Temperature: 1f, Seed: 3),
            Constraint = new GrammarConstraint(Gbnf("root ::= \"ok\"")),
        }).WaitAsync(Timeout);
        Assert.Equal([14, 10, Eos], tokens.Select(t => t.TokenId)); // 'o', 'k', then the only allowed continuation
        Assert.Equal(FinishReason.Stop, tokens[^1].FinishReason);
        var usage = tokens[^1].Usage!;
        Assert.Equal(3, usage.ForcedTokens); // each step had exactly one allowed token
        Assert.True(usage.MaskTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task EachSequenceOfABatchHasItsOwnGrammarState()
    {
        var letters = Gbnf("root ::= [a-z] [a-z] [a-z] \"}\"");
        var digits = Gbnf("root ::= \"{\" [0-9]+ \"}\"");
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest(Prompt(i))
        {
            MaxNewTokens = 8,
            Sampling = new SamplingOptions(Temperature: 1f, Seed: (ulong)i + 1),
            Constraint = new GrammarConstraint(i % 2 == 0 ? letters : digits),
        }).ToArray();

        var isolated = new List<int[]>();
        foreach (var request in requests)
        {
            using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
            using var engine = new GenerationEngine(executor);
            isolated.Add([.. (await Collect(engine, request).WaitAsync(Timeout)).Select(t => t.TokenId)]);
        }
        using (var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]))
        using (var engine = new GenerationEngine(executor))
        {
            var batched = await Task.WhenAll(requests.Select(r => Collect(engine, r))).WaitAsync(Timeout);
            for (int i = 0; i < requests.Length; i++)
            {
                Assert.Equal(isolated[i], batched[i].Select(t => t.TokenId));
                var text = Text(isolated[i]);
                Assert.Matches(i % 2 == 0 ? "^[a-z]{3}}$" : "^\\{[0-9]+}?$", text);
            }
            Assert.True(engine.MaskTime > TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task TheBlockBeforeTheStartTokenIsFreeAndTheRestFollowsTheGrammar()
    {
        // The start token: one the free output writes first at step k (and no eos before), so the block before it
        // is free text; searched over a few prompts so the test does not hang on one fake's choices.
        var (prompt, free, k) = Enumerable.Range(3, 30)
            .Select(seed => (Prompt: Prompt(seed), Free: ReferenceGeneration.Greedy(Prompt(seed), 12, Vocab)))
            .SelectMany(c => Enumerable.Range(2, 6).Select(i => (c.Prompt, c.Free, K: i)))
            .First(c => Array.IndexOf(c.Free, c.Free[c.K]) == c.K && !c.Free[..(c.K + 1)].Contains(Eos));
        int start = free[k];

        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var grammar = Gbnf("root ::= [0-9] [0-9] \"}\"");
        var tokens = (await Collect(engine, new GenerationRequest(prompt)
        {
            MaxNewTokens = 12,
            Constraint = new GrammarConstraint(grammar) { StartAfterTokenId = start },
        }).WaitAsync(Timeout)).Select(t => t.TokenId).ToArray();

        Assert.Equal(free[..(k + 1)], tokens[..(k + 1)]); // unconstrained up to and including the start token
        Assert.Matches("^[0-9]{2}}$", Text(tokens[(k + 1)..]));
        Assert.Equal(Eos, tokens[^1]);

        // A prompt that already ends with the start token is constrained from the first token.
        var started = (await Collect(engine, new GenerationRequest([.. prompt, start])
        {
            MaxNewTokens = 12,
            Constraint = new GrammarConstraint(grammar) { StartAfterTokenId = start },
        }).WaitAsync(Timeout)).Select(t => t.TokenId).ToArray();
        Assert.Matches("^[0-9]{2}}$", Text(started));
    }

    // What a reopening grammar "[0-9] [0-9] '}'" after the start token must give under greedy decoding, computed from
    // the fake's reference logits alone: free argmax outside blocks, the best digit twice then '}' inside each block.
    private static int[] ExpectedReopening(int[] prompt, int start, int count)
    {
        var history = prompt.ToList();
        var output = new List<int>();
        int inBlock = prompt[^1] == start ? 0 : -1;
        while (output.Count < count)
        {
            int token = inBlock < 0 ? SymbolVocabulary.BestAllowed(history, _ => true)
                : inBlock < 2 ? SymbolVocabulary.BestAllowed(history, id => id is >= 26 and <= 35)
                : 37;
            output.Add(token);
            history.Add(token);
            if (inBlock < 0 && token == Eos)
                break;
            if (inBlock < 0)
                inBlock = token == start ? 0 : -1;
            else if (++inBlock == 3)
                inBlock = -1;
        }
        return [.. output];
    }

    [Fact]
    public async Task AReopeningGrammarHoldsEachBlockAndLeavesTheTextAroundItFree()
    {
        const int count = 16;
        // A prompt and start token whose expected output has a whole block followed by free text (not just eos), so
        // a grammar that stayed on after its block (only eos allowed) would fail.
        var (prompt, start, expected) = Enumerable.Range(3, 40)
            .SelectMany(seed => Enumerable.Range(1, 6).Select(k => (Prompt: Prompt(seed), Start: ReferenceGeneration.Greedy(Prompt(seed), count, Vocab)[k])))
            .Where(c => c.Start != Eos)
            .Select(c => (c.Prompt, c.Start, Expected: ExpectedReopening(c.Prompt, c.Start, count)))
            .First(c => Array.IndexOf(c.Expected, c.Start) is var s && s >= 0 && s + 4 < c.Expected.Length &&
                        c.Expected[s + 3] == 37 && c.Expected[s + 4] != Eos);

        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var tokens = (await Collect(engine, new GenerationRequest(prompt)
        {
            MaxNewTokens = count,
            Constraint = new GrammarConstraint(Gbnf("root ::= [0-9] [0-9] \"}\"")) { StartAfterTokenId = start, Reopens = true },
        }).WaitAsync(Timeout)).Select(t => t.TokenId).ToArray();
        Assert.Equal(expected, tokens);
    }

    [Fact]
    public async Task JumpForwardAppendsForcedRunsWithFewerForwardPassesAndTheSameOutput()
    {
        // Long constant keys: after the sampled digit each key is forced, so jump-forward appends most of it at once.
        var grammar = Gbnf("root ::= \"{\" \"abcdefghij\" \":\" [0-9] \"}\" \"{\" \"klmnopqrst\" \":\" [0-9] \"}\"");
        static IReadOnlyList<int> Spell(string text) => text.Select(c => c switch
        {
            >= 'a' and <= 'z' => c - 'a',
            >= '0' and <= '9' => 26 + c - '0',
            '{' => 36,
            '}' => 37,
            _ => 38,
        }).ToList();
        async Task<(int[] Tokens, int Calls, GenerationUsage Usage)> Run(bool jump)
        {
            using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
            using var engine = new GenerationEngine(executor);
            var tokens = await Collect(engine, new GenerationRequest(Prompt(4))
            {
                MaxNewTokens = 40,
                Constraint = new GrammarConstraint(grammar) { Tokenize = jump ? Spell : null },
            }).WaitAsync(Timeout);
            return (tokens.Select(t => t.TokenId).ToArray(), executor.ForwardCalls, tokens[^1].Usage!);
        }
        var plain = await Run(jump: false);
        var jumped = await Run(jump: true);
        Assert.Equal(plain.Tokens, jumped.Tokens); // greedy output unchanged
        Assert.Matches("^{abcdefghij:[0-9]}{klmnopqrst:[0-9]}$", Text(jumped.Tokens));
        Assert.Equal(0, plain.Usage.JumpForwardTokens);
        // Forced runs "{abcdefghij:" (after the first, sampled '{') and "}{klmnopqrst:" lose their last token each.
        Assert.True(jumped.Usage.JumpForwardTokens >= 20, $"{jumped.Usage.JumpForwardTokens} jump-forward tokens");
        Assert.True(jumped.Calls + 20 <= plain.Calls, $"forward passes: {jumped.Calls} with jump-forward, {plain.Calls} without");
    }

    [Fact]
    public async Task TheGrammarStateGoesWithTheRequestOnFinishAndCancel()
    {
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var grammar = Gbnf("root ::= [a-z]+");

        var finished = await RunAndForget(engine, grammar, cancelAfter: null);
        var cancelled = await RunAndForget(engine, grammar, cancelAfter: 2);
        // Another request moves the step thread on, so no stack slot of the earlier steps still holds them.
        await Collect(engine, new GenerationRequest(Prompt(9)) { MaxNewTokens = 3 }).WaitAsync(Timeout);
        // Up to ~2 s: a cancelled request is dropped by the step thread on its own schedule, which a loaded machine
        // delays (100 ms was once too short under a parallel build); a constraint still held after that is a leak.
        for (int i = 0; i < 100 && (finished.IsAlive || cancelled.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(20);
        }
        Assert.False(finished.IsAlive, "a finished request's constraint is still referenced");
        Assert.False(cancelled.IsAlive, "a cancelled request's constraint is still referenced");
        Assert.Equal(executor.Info.NumBlocks, engine.FreeBlockCount);
    }

    // Runs one constrained request (to its end, or cancelled after some tokens) and returns a weak handle on its
    // constraint, which only the engine could still hold.
    private static async Task<WeakReference> RunAndForget(GenerationEngine engine, CompiledGrammar grammar, int? cancelAfter)
    {
        var constraint = new GrammarConstraint(grammar);
        var handle = new WeakReference(constraint);
        var request = new GenerationRequest(Prompt(4)) { MaxNewTokens = 30, Constraint = constraint };
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        try
        {
            await foreach (var token in engine.GenerateAsync(request, cancel.Token).WithCancellation(cancel.Token))
                if (++seen == cancelAfter)
                    cancel.Cancel();
        }
        catch (OperationCanceledException) when (cancelAfter is not null)
        {
        }
        await WaitForFreeBlocksAsync(engine);
        return handle;
    }

    private static async Task WaitForFreeBlocksAsync(GenerationEngine engine)
    {
        var until = DateTime.UtcNow + Timeout;
        while (engine.FreeBlockCount != engine.ModelInfo.NumBlocks && DateTime.UtcNow < until)
            await Task.Delay(5);
    }
}
