using System.Text;
using System.Text.RegularExpressions;
using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Tests.Fakes;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests;

/// <summary>
/// Constraints in the engine beyond one grammar, over the fake executor: a response format with tool calls as the
/// other way to answer (content under the format, or tool calls under their grammar, never anything else), and
/// speculative decoding under a grammar (greedy output identical to K = 0, sampled output still valid). Expected
/// greedy outputs come from a hand-written automaton of the allowed ids and the fake's reference logits.
/// </summary>
public sealed class ConstraintAlternativeTests
{
    private const int Vocab = SymbolVocabulary.Size;
    private const int ToolStart = SymbolVocabulary.Id38; // a control token without bytes, like GLM's <tool_call>
    private const int Eos = SymbolVocabulary.Eos;

    private static readonly SymbolVocabulary Symbols = SymbolVocabulary.WithControl38;

    private static string Text(IEnumerable<int> ids) => Symbols.Text(ids, control38: "<T>");

    private static int[] Prompt(int seed) => [(seed * 5 + 1) % 36, (seed * 11 + 3) % 36, (seed * 7 + 2) % 36];

    private static CompiledGrammar Gbnf(string text) => GrammarCompiler.CompileGbnf(text, Symbols.Tokens);

    // Content: "{" two letters "}"; a tool call after <T>: two digits "}".
    private static readonly CompiledGrammar Content = Gbnf("root ::= \"{\" [a-z] [a-z] \"}\"");
    private static readonly CompiledGrammar Call = Gbnf("root ::= [0-9] [0-9] \"}\"");

    private static readonly Regex ContentOrCalls = new(@"^(\{[a-z]{2}\}|(<T>[0-9]{2}\})+)$");

    private static GrammarConstraint ContentOrToolCalls() => new(Content) { ToolCalls = new ToolCallAlternative(ToolStart, Call) };

    /// <summary>Greedy output under "content or tool calls", from a hand-written automaton of the allowed ids.</summary>
    private static int[] ExpectedContentOrCalls(int[] prompt, int count)
    {
        var history = prompt.ToList();
        var output = new List<int>();
        // Each phase's allowed ids, written out from the two grammars (not from the engine).
        Func<int, bool> allowed = id => id == 36 || id == ToolStart;
        while (output.Count < count)
        {
            int token = SymbolVocabulary.BestAllowed(history, allowed);
            history.Add(token);
            output.Add(token);
            if (token == Eos)
                break;
            string text = Text(output);
            allowed = text switch
            {
                "{" => SymbolVocabulary.IsLetter,
                _ when Regex.IsMatch(text, @"^\{[a-z]$") => SymbolVocabulary.IsLetter,
                _ when Regex.IsMatch(text, @"^\{[a-z]{2}$") => id => id == 37,
                _ when Regex.IsMatch(text, @"^\{[a-z]{2}\}$") => id => id == Eos,
                _ when Regex.IsMatch(text, @"<T>[0-9]?$") => SymbolVocabulary.IsDigit,
                _ when Regex.IsMatch(text, @"<T>[0-9]{2}$") => id => id == 37,
                _ when Regex.IsMatch(text, @"<T>[0-9]{2}\}$") => id => id == ToolStart || id == Eos,
                _ => throw new InvalidOperationException($"the automaton has no state for '{text}'"),
            };
        }
        return [.. output];
    }

    [Fact]
    public async Task AResponseFormatWithToolCallsGivesContentOrCallsAndNothingElse()
    {
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        bool sawContent = false, sawCall = false;
        for (int seed = 1; seed <= 24; seed++)
        {
            var prompt = Prompt(seed);
            var expected = ExpectedContentOrCalls(prompt, 16);
            var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 16, Constraint = ContentOrToolCalls() });
            Assert.Equal(expected, tokens.Select(t => t.TokenId));
            sawContent |= expected[0] == 36;
            sawCall |= expected[0] == ToolStart;
        }
        // The prompts reach both branches, so neither the call nor the content path goes untested.
        Assert.True(sawContent && sawCall, $"content: {sawContent}, tool calls: {sawCall}");
    }

    [Fact]
    public async Task SampledAnswersUnderContentOrToolCallsAreAlwaysOneOfThem()
    {
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        int stops = 0, calls = 0;
        for (int seed = 1; seed <= 30; seed++)
        {
            var tokens = await Collect(engine, new GenerationRequest(Prompt(seed % 7))
            {
                MaxNewTokens = 24,
                Sampling = new SamplingOptions(Temperature: 2f, Seed: (ulong)seed),
                Constraint = ContentOrToolCalls(),
            });
            if (tokens[^1].FinishReason != FinishReason.Stop)
                continue;
            stops++;
            var text = Text(tokens.Select(t => t.TokenId));
            Assert.Matches(ContentOrCalls, text);
            calls += text.StartsWith("<T>", StringComparison.Ordinal) ? 1 : 0;
        }
        Assert.True(stops >= 20, $"only {stops} of 30 sampled answers ended with stop");
        Assert.InRange(calls, 1, stops - 1); // both kinds of answer are sampled
    }

    [Fact]
    public async Task AReasoningBlockStaysFreeBeforeTheChoice()
    {
        // The choice starts after the start token (GLM's </think>): the block before it is free text.
        var prompt = Prompt(3);
        var free = ReferenceGeneration.Greedy(prompt, 12, Vocab);
        // The block: the free output up to the first id that did not occur in it before (its first occurrence ends it).
        int at = Enumerable.Range(1, free.Length - 1).First(i => Array.IndexOf(free, free[i]) == i);
        int start = free[at];
        Assert.True(free[..(at + 1)].All(id => id < ToolStart), "the free block has no control ids");
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var tokens = (await Collect(engine, new GenerationRequest(prompt)
        {
            MaxNewTokens = 12,
            Constraint = ContentOrToolCalls() with { StartAfterTokenId = start },
        })).Select(t => t.TokenId).ToArray();
        Assert.Equal(free[..(at + 1)], tokens[..(at + 1)]);
        Assert.Equal(ExpectedContentOrCalls([.. prompt, .. free[..(at + 1)]], 12 - at - 1), tokens[(at + 1)..]);
    }

    [Fact]
    public async Task TheFreeBlockBeforeTheAnswerCannotEndTheOutput()
    {
        // A prompt whose free greedy output hits eos early: without the answer it would "stop" with nothing.
        int[]? prompt = null;
        int[] noEos = [];
        int at = -1;
        for (int seed = 1; seed <= 400 && prompt is null; seed++)
        {
            var candidate = Prompt(seed).Concat([seed % 26]).ToArray();
            var free = ReferenceGeneration.Greedy(candidate, 8, Vocab);
            int eos = Array.IndexOf(free, Eos);
            if (eos < 1)
                continue;
            // The free block with eos excluded, computed by hand; it ends at its first letter that is new in it.
            var history = candidate.ToList();
            var block = new List<int>();
            for (int n = 0; n < 8; n++)
            {
                int token = SymbolVocabulary.BestAllowed(history, id => id != Eos);
                history.Add(token);
                block.Add(token);
            }
            int end = Enumerable.Range(eos, block.Count - eos).FirstOrDefault(j => block[j] < 26 && block.IndexOf(block[j]) == j, -1);
            if (end < 0)
                continue;
            (prompt, noEos, at) = (candidate, [.. block], end);
        }
        Assert.NotNull(prompt);
        int start = noEos[at];
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor);
        var tokens = (await Collect(engine, new GenerationRequest(prompt)
        {
            MaxNewTokens = 12,
            Constraint = new GrammarConstraint(Gbnf("root ::= \"{\" \"}\"")) { StartAfterTokenId = start },
        })).Select(t => t.TokenId).ToArray();
        // The block without eos, the start token, then the answer "{}" and eos.
        Assert.Equal([.. noEos[..(at + 1)], 36, 37, Eos], tokens);
    }

    [Fact]
    public async Task AGrammarWithNoWayOnFailsOnlyItsRequestAndNotTheEngine()
    {
        // After "{" only '"' may follow, and no token spells it: a dead end, met during generation.
        var deadEnd = Gbnf("root ::= \"{\" \"\\\"\" [a-z] \"}\"");
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        using var engine = new GenerationEngine(executor, telemetry: new Glm.Onnx.Runtime.Telemetry.EngineTelemetryOptions(FailedStepsBeforeUnhealthy: 2));
        for (int seed = 1; seed <= 4; seed++)
        {
            var request = new GenerationRequest(Prompt(seed)) { MaxNewTokens = 20, Constraint = new GrammarConstraint(deadEnd) };
            var error = await Assert.ThrowsAsync<GrammarDeadEndException>(() => Collect(engine, request));
            Assert.Contains("allows no token", error.Message);
        }
        Assert.Equal(Glm.Onnx.Runtime.Telemetry.EngineHealthStatus.Healthy, engine.Health.Status);
        // The engine still serves: a plain request afterwards runs to its limit.
        var after = await Collect(engine, new GenerationRequest(Prompt(9)) { MaxNewTokens = 3, IgnoreEos = true });
        Assert.Equal(3, after.Count);
        Assert.Equal(engine.ModelInfo.NumBlocks, engine.FreeBlockCount);
    }

    public static TheoryData<int> DraftCounts() => new(1, 2, 3, 4);

    [Theory]
    [MemberData(nameof(DraftCounts))]
    public async Task SpeculativeDecodingUnderAGrammarGivesTheGreedyOutputOfNoDrafts(int k)
    {
        var grammar = Gbnf("root ::= \"{\" [a-z]+ \"}\" | [0-9] [0-9]? \"}\"");
        for (int seed = 1; seed <= 4; seed++)
        {
            var prompt = Prompt(seed);
            // K = 0 under the grammar, checked by hand: the first id is '{' or a digit, then what the grammar says.
            async Task<(int[] Tokens, int Calls)> Run(int drafts, IReadOnlyList<int>? script)
            {
                using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
                var oracle = new OracleDrafter { FillerToken = 5 };
                using var engine = new GenerationEngine(executor, drafter: oracle);
                var request = new GenerationRequest(prompt) { MaxNewTokens = 14, SpeculativeTokens = drafts, Constraint = new GrammarConstraint(grammar) };
                if (script is not null)
                    oracle.Script(request, script);
                var tokens = await Collect(engine, request);
                return (tokens.Select(t => t.TokenId).ToArray(), executor.ForwardCalls);
            }
            var plain = await Run(0, null);
            Assert.Matches(@"^(\{[a-z]*\}?|[0-9]{1,2}\}?)$", Text(plain.Tokens));
            // Drafts from the unconstrained greedy output: mostly outside the grammar, so rejected; the output stays.
            var wrong = await Run(k, ReferenceGeneration.Greedy(prompt, 14, Vocab));
            Assert.Equal(plain.Tokens, wrong.Tokens);
            // Drafts equal to the constrained output: accepted, so fewer forward passes for the same output.
            var right = await Run(k, plain.Tokens);
            Assert.Equal(plain.Tokens, right.Tokens);
            if (plain.Tokens.Length > 3)
                Assert.True(right.Calls < plain.Calls, $"forward passes: {right.Calls} with right drafts, {plain.Calls} without");
        }
    }

    [Theory]
    [MemberData(nameof(DraftCounts))]
    public async Task SampledSpeculativeOutputsStayInsideTheGrammar(int k)
    {
        var grammar = Gbnf("root ::= \"{\" [a-z]+ \"}\" | [0-9] [0-9]? \"}\"");
        using var executor = new FakeModelExecutor(vocab: Vocab, eos: [Eos]);
        var oracle = new OracleDrafter { FillerToken = 36 }; // '{': sometimes right, mostly not
        using var engine = new GenerationEngine(executor, drafter: oracle);
        int stops = 0;
        for (int seed = 1; seed <= 12; seed++)
        {
            var tokens = await Collect(engine, new GenerationRequest(Prompt(seed))
            {
                MaxNewTokens = 20,
                SpeculativeTokens = k,
                Sampling = new SamplingOptions(Temperature: 1.5f, Seed: (ulong)seed),
                Constraint = new GrammarConstraint(grammar),
            });
            var text = Text(tokens.Select(t => t.TokenId));
            if (tokens[^1].FinishReason == FinishReason.Stop)
            {
                stops++;
                Assert.Matches(@"^(\{[a-z]+\}|[0-9]{1,2}\})$", text);
            }
            else
                Assert.Matches(@"^(\{[a-z]*|[0-9]{1,2})$", text); // cut by the token limit: still a prefix
        }
        Assert.True(stops >= 6, $"only {stops} of 12 sampled outputs ended with stop");
    }
}
