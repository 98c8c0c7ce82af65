using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>The per-token steps of one request, without an engine: tokens in, outcomes out.</summary>
public sealed class TokenEmitterTests
{
    private const int Eos = 25; // 'z' for the letter decoder

    private static (TokenEmitter Emitter, Sequence Sequence) Emitter(GenerationRequest request, int maxNewTokens = 100, ITokenDecoder? decoder = null)
    {
        var sequence = new Sequence(1, request.PromptIds.ToArray());
        return (new TokenEmitter(sequence, request, maxNewTokens, [Eos], decoder ?? new LetterDecoder()), sequence);
    }

    [Fact]
    public void SampleChoosesUnderTheRequestsSamplingAndAcceptRecordsTheToken()
    {
        var (emitter, sequence) = Emitter(new GenerationRequest([3, 4]) { Sampling = SamplingOptions.Greedy });
        var row = new float[26];
        row[7] = 5f;
        row[2] = 4f;
        int token = emitter.Sample(new Sampler(), row);
        Assert.Equal(7, token);
        Assert.Equal([3, 4], sequence.Tokens); // choosing does not change the sequence
        var outcome = emitter.Accept(token);
        Assert.Equal(new TokenOutcome(7, "h", null, null, IsFirst: true), outcome);
        Assert.Equal([3, 4, 7], sequence.Tokens);
        Assert.False(emitter.Accept(0).IsFirst);
    }

    [Fact]
    public void EosAndStopIdsEndWithStopAndTheirTextIsStreamed()
    {
        var (emitter, _) = Emitter(new GenerationRequest([1]) { StopTokenIds = [9] });
        Assert.Null(emitter.Accept(0).FinishReason);
        var end = emitter.Accept(9);
        Assert.Equal((FinishReason.Stop, "j"), (end.FinishReason, end.Text));

        var (eos, _) = Emitter(new GenerationRequest([1]));
        Assert.Equal(FinishReason.Stop, eos.Accept(Eos).FinishReason);

        var (ignoring, _) = Emitter(new GenerationRequest([1]) { IgnoreEos = true, StopTokenIds = [9] });
        Assert.Null(ignoring.Accept(Eos).FinishReason);
        Assert.Equal(FinishReason.Stop, ignoring.Accept(9).FinishReason); // its own stop ids still count
    }

    [Fact]
    public void AStopStringIsHeldBackThenCutAndEndsTheRequest()
    {
        var (emitter, _) = Emitter(new GenerationRequest([1]) { StopStrings = ["cd"] });
        Assert.Equal("a", emitter.Accept(0).Text); // "a"
        Assert.Equal("", emitter.Accept(2).Text); // "c" may start "cd"
        var end = emitter.Accept(3); // "d" completes it
        Assert.Equal(("", FinishReason.Stop), (end.Text, end.FinishReason));
        Assert.NotNull(end.Usage);
    }

    [Fact]
    public void TheLengthLimitEndsWithLengthAndReleasesHeldBackText()
    {
        var (emitter, _) = Emitter(new GenerationRequest([1]) { StopStrings = ["bz"] }, maxNewTokens: 2);
        Assert.Equal("a", emitter.Accept(0).Text);
        var end = emitter.Accept(1); // "b" is held back as a possible "bz", then released: the output ends
        Assert.Equal(("b", FinishReason.Length), (end.Text, end.FinishReason));
    }

    [Fact]
    public void TheDecodersTailIsFlushedThroughTheStopMatcherWhenTheOutputEnds()
    {
        // The decoder holds every letter back until Flush (as an unfinished UTF-8 sequence would be held).
        var (open, _) = Emitter(new GenerationRequest([1]) { StopTokenIds = [4] }, decoder: new HoldingDecoder());
        Assert.Equal("", open.Accept(0).Text);
        Assert.Equal(("abce", FinishReason.Stop), Pick(open.Accept(1), open.Accept(2), open.Accept(4)));

        var (cut, _) = Emitter(new GenerationRequest([1]) { StopTokenIds = [4], StopStrings = ["bc"] }, decoder: new HoldingDecoder());
        cut.Accept(0);
        cut.Accept(1);
        cut.Accept(2);
        var end = cut.Accept(4);
        Assert.Equal(("a", FinishReason.Stop), (end.Text, end.FinishReason)); // the stop string in the tail still cuts it
    }

    [Fact]
    public void UsageCountsTheSequenceAndNoTokenIsAcceptedAfterTheEnd()
    {
        var (emitter, sequence) = Emitter(new GenerationRequest([1, 2, 3]), maxNewTokens: 3);
        sequence.ReusedPromptTokens = 2;
        emitter.Accept(0);
        emitter.Accept(1);
        var usage = emitter.Accept(2).Usage!;
        Assert.Equal((3, 2, 3, 0), (usage.PromptTokens, usage.ReusedPromptTokens, usage.CompletionTokens, usage.Preemptions));
        Assert.True(usage.TimeToFirstToken >= TimeSpan.Zero && usage.DecodeTime >= TimeSpan.Zero);
        Assert.Throws<InvalidOperationException>(() => emitter.Accept(3));
    }

    private static (string Text, FinishReason? Reason) Pick(params TokenOutcome[] outcomes) =>
        (string.Concat(outcomes.Select(o => o.Text)), outcomes[^1].FinishReason);

    private sealed class HoldingDecoder : ITokenDecoder
    {
        public ITokenTextStream CreateStream() => new Stream();

        private sealed class Stream : ITokenTextStream
        {
            private readonly System.Text.StringBuilder _held = new();

            public string Append(int tokenId)
            {
                _held.Append((char)('a' + tokenId % 26));
                return "";
            }

            public string Flush()
            {
                var text = _held.ToString();
                _held.Clear();
                return text;
            }
        }
    }

    [Fact]
    public void AcceptSpeculativeEmitsTheVerifiedTokensAndItsUsageCountsTheDrafts()
    {
        var (emitter, sequence) = Emitter(new GenerationRequest([3]) { Sampling = SamplingOptions.Greedy }, maxNewTokens: 5);
        var sampler = new Sampler();
        var rows = new float[4 * 26];
        foreach (var (row, token) in new[] { (0, 7), (1, 8), (2, 0), (3, 4) })
            rows[row * 26 + token] = 5f; // the target's argmax per row
        var target = new Glm.Onnx.Runtime.Execution.LogitsBuffer(rows, 4, 26);

        // Round 1: drafts 7, 8, 9; the target agrees on 7 and 8 and says 0 at the third position.
        var q = new[] { new TokenDistribution(), new TokenDistribution(), new TokenDistribution() };
        int[] drafts = [7, 8, 9];
        for (int i = 0; i < 3; i++)
        {
            var draftRow = new float[26];
            draftRow[drafts[i]] = 1f;
            Assert.Equal(drafts[i], emitter.Draft(sampler, draftRow, drafts.AsSpan(0, i), q[i]));
        }
        var outcomes = new List<TokenOutcome>();
        var result = emitter.AcceptSpeculative(sampler, drafts, q, target, 0, outcomes);
        Assert.Equal(new SpeculativeResult(2, 3, false), result);
        Assert.Equal("hia", string.Concat(outcomes.Select(o => o.Text)));
        Assert.Equal([3, 7, 8, 0], sequence.Tokens);

        // Round 2: drafts 7, 8 accepted again, then the length limit (5 tokens) ends the request on the second.
        outcomes.Clear();
        var ended = emitter.AcceptSpeculative(sampler, drafts.AsSpan(0, 2), q[..2], target, 0, outcomes);
        Assert.Equal(new SpeculativeResult(2, 2, true), ended);
        Assert.Equal(FinishReason.Length, outcomes[^1].FinishReason);
        Assert.Equal(new Glm.Onnx.Runtime.Telemetry.SpeculationSummary(5, 2, [2, 2]), outcomes[^1].Usage!.Speculation);
    }

    [Fact]
    public void AcceptSpeculativeMasksEachPositionWithTheGrammarAdvancedByTheAcceptedDrafts()
    {
        // 'h' then any of a-c: position 0 allows only 'h', position 1 (after the accepted 'h') only a-c (and eos).
        var vocabulary = new Glm.Onnx.Grammar.Vocabulary.TokenVocabulary(26, id => id == Eos ? null : [(byte)('a' + id)], id => id == Eos);
        var grammar = Glm.Onnx.Grammar.GrammarCompiler.CompileGbnf("root ::= \"h\" [a-c]*", vocabulary);
        var (emitter, sequence) = Emitter(new GenerationRequest([3])
        {
            Sampling = SamplingOptions.Greedy,
            Constraint = new Glm.Onnx.Runtime.Constraints.GrammarConstraint(grammar),
        });
        var rows = new float[3 * 26];
        rows[0 * 26 + 7] = 5f; // row 0: 'h'
        rows[1 * 26 + 8] = 5f; // row 1: 'i' is the raw argmax, but the grammar allows only a-c: 'c' (logit 3) beats 'b' (logit 1)
        rows[1 * 26 + 2] = 3f;
        rows[1 * 26 + 1] = 1f;
        var target = new Glm.Onnx.Runtime.Execution.LogitsBuffer(rows, 3, 26);
        var sampler = new Sampler();
        var q = new[] { new TokenDistribution(), new TokenDistribution() };
        int[] drafts = [7, 8];
        for (int i = 0; i < 2; i++)
        {
            var draftRow = new float[26];
            draftRow[drafts[i]] = 1f;
            emitter.Draft(sampler, draftRow, drafts.AsSpan(0, i), q[i]);
        }
        var outcomes = new List<TokenOutcome>();
        var result = emitter.AcceptSpeculative(sampler, drafts, q, target, 0, outcomes);
        Assert.Equal(new SpeculativeResult(1, 2, false), result);
        Assert.Equal([3, 7, 2], sequence.Tokens);
    }
}
