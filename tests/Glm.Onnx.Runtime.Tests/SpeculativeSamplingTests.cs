using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Tests;

/// <summary>Speculative acceptance position by position: greedy, masks, penalties over accepted drafts, the bonus token.</summary>
public sealed class SpeculativeSamplingTests
{
    private const int Vocab = 8;

    /// <summary>Commits into the state and a list; optionally masks to an allowed set or ends on a token.</summary>
    private sealed class ListSink(SamplingState state, int[]? allowed = null, int endOn = -1, bool record = true) : ISpeculativeSink
    {
        private readonly float[] _row = new float[Vocab];

        public List<int> Tokens { get; } = [];

        public ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced)
        {
            forced = -1;
            if (allowed is null)
                return row;
            if (allowed.Length == 1)
            {
                forced = allowed[0];
                return row;
            }
            for (int i = 0; i < row.Length; i++)
                _row[i] = allowed.Contains(i) ? row[i] : float.NegativeInfinity;
            return _row;
        }

        public bool Commit(int token)
        {
            if (record)
                state.Accept(token);
            Tokens.Add(token);
            return token != endOn;
        }
    }

    private static float[] Row(params (int Token, float Logit)[] entries)
    {
        var row = new float[Vocab];
        foreach (var (token, logit) in entries)
            row[token] = logit;
        return row;
    }

    private static LogitsBuffer Rows(params float[][] rows) => new(rows.SelectMany(r => r).ToArray(), rows.Length, Vocab);

    private static TokenDistribution PointMass(int token)
    {
        // The drafter's q for a greedy request: drawn by the code under test from a row whose argmax is the token.
        var q = new TokenDistribution();
        new Sampler().ProcessedDistribution(Row((token, 1f)), new SamplingState(SamplingOptions.Greedy, []), [], q);
        return q;
    }

    [Fact]
    public void GreedyAcceptsWhileTheDraftIsTheArgmaxThenEmitsTheArgmax()
    {
        var state = new SamplingState(SamplingOptions.Greedy with { Seed = 5 }, [1]);
        var sink = new ListSink(state);
        var target = Rows(Row((3, 2f)), Row((6, 2f), (4, 1f)), Row((2, 1f)));
        var result = SpeculativeVerifier.Verify(new Sampler(), state, [3, 4], [PointMass(3), PointMass(4)], target, 0, sink);
        Assert.Equal(new SpeculativeResult(Accepted: 1, Emitted: 2, Ended: false), result);
        Assert.Equal([3, 6], sink.Tokens);
        // Greedy verification draws nothing: the stream is where a fresh one of the same seed starts.
        Assert.Equal(new SequenceRandom(5).NextUInt64(), state.Random.NextUInt64());
    }

    [Fact]
    public void GreedyBreaksTiesLikePlainGreedyToTheLowestId()
    {
        var state = new SamplingState(SamplingOptions.Greedy, []);
        var sink = new ListSink(state);
        var target = Rows(Row((2, 3f), (5, 3f)), Row());
        var result = SpeculativeVerifier.Verify(new Sampler(), state, [5], [PointMass(5)], target, 0, sink);
        Assert.Equal((0, 2), (result.Accepted, sink.Tokens[0]));

        var tie = new SamplingState(SamplingOptions.Greedy, []);
        var accepted = new ListSink(tie);
        SpeculativeVerifier.Verify(new Sampler(), tie, [2], [PointMass(2)], target, 0, accepted);
        Assert.Equal([2, 0], accepted.Tokens); // then the bonus: row 1 is all zeros, argmax 0
    }

    [Fact]
    public void WhenEveryDraftIsAcceptedTheBonusTokenComesFromTheLastRow()
    {
        var state = new SamplingState(SamplingOptions.Greedy, []);
        var sink = new ListSink(state);
        var target = Rows(Row((1, 1f)), Row((2, 1f)), Row((3, 1f)), Row((7, 1f)));
        var result = SpeculativeVerifier.Verify(new Sampler(), state, [1, 2, 3], [PointMass(1), PointMass(2), PointMass(3)], target, 0, sink);
        Assert.Equal(new SpeculativeResult(3, 4, false), result);
        Assert.Equal([1, 2, 3, 7], sink.Tokens);

        // Sampling: draft and target share each row, so p = q and every draft is accepted; the bonus row allows only
        // token 5 (the others at -inf), so the bonus is 5 whatever the draw.
        var options = new SamplingOptions(Temperature: 1f, Seed: 11UL);
        var sampling = new SamplingState(options, []);
        var sampler = new Sampler();
        float[] draftRow = [0.3f, 1.2f, -0.5f, 0.9f, 0.1f, 0.4f, -1f, 0.7f];
        var q0 = new TokenDistribution();
        var q1 = new TokenDistribution();
        int x0 = sampler.SampleDraft(draftRow, sampling, [], q0);
        int x1 = sampler.SampleDraft(draftRow, sampling, [x0], q1);
        var bonusRow = Enumerable.Repeat(float.NegativeInfinity, Vocab).ToArray();
        bonusRow[5] = 0f;
        var samplingSink = new ListSink(sampling);
        var all = SpeculativeVerifier.Verify(sampler, sampling, [x0, x1], [q0, q1], Rows(draftRow, draftRow, bonusRow), 0, samplingSink);
        Assert.Equal(new SpeculativeResult(2, 3, false), all);
        Assert.Equal([x0, x1, 5], samplingSink.Tokens);
    }

    [Fact]
    public void PenaltiesAtALaterPositionSeeTheDraftsAcceptedBeforeIt()
    {
        // Greedy with a strong repetition penalty: row 1's raw argmax is token 3, the draft accepted at position 0, so
        // plain decoding (which would have recorded 3) picks token 4 there. A verifier that ignored the accepted
        // draft would accept the second draft 3.
        var options = SamplingOptions.Greedy with { RepetitionPenalty = 4f };
        var state = new SamplingState(options, [0]);
        var sink = new ListSink(state);
        var target = Rows(Row((3, 2f)), Row((3, 2f), (4, 1f)), Row());
        var result = SpeculativeVerifier.Verify(new Sampler(), state, [3, 3], [PointMass(3), PointMass(3)], target, 0, sink);
        Assert.Equal(new SpeculativeResult(1, 2, false), result);
        Assert.Equal([3, 4], sink.Tokens);
    }

    [Fact]
    public void TheDraftersPendingTokensArePenalisedAsIfRecorded()
    {
        // The drafter's distribution with pending drafts equals plain sampling's after recording them.
        var options = new SamplingOptions(Temperature: 0.7f, TopP: 0.95f, RepetitionPenalty: 1.5f, PresencePenalty: 0.3f, FrequencyPenalty: 0.2f);
        float[] row = [1.5f, -0.7f, 2.2f, 0.4f, -1.3f, 1.1f, 0.0f, 2.0f];
        var sampler = new Sampler();
        var drafter = new SamplingState(options, [0, 5]);
        drafter.Accept(2);
        var q = new TokenDistribution();
        sampler.ProcessedDistribution(row, drafter, [7, 2, 7, 6], q);

        var recorded = new SamplingState(options, [0, 5]);
        foreach (var t in new[] { 2, 7, 2, 7, 6 })
            recorded.Accept(t);
        var expected = sampler.Distribution(row, recorded);
        Assert.Equal(expected.Select(e => e.Token).Order(), q.Support.ToArray().Order());
        foreach (var (token, p) in expected)
            Assert.Equal(p, q[token], 12);
        Assert.NotEqual(sampler.Distribution(row, drafter).First().Token, expected.First().Token); // the pending tokens mattered
    }

    [Fact]
    public void TheMaskRejectsDisallowedDraftsAndAForcedTokenIsEmittedWithoutADraw()
    {
        var options = new SamplingOptions(Temperature: 1f, Seed: 3UL);
        var state = new SamplingState(options, []);
        float[] row = [0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        var sampler = new Sampler();
        var q = new TokenDistribution();
        sampler.ProcessedDistribution(row, state, [], q); // uniform q
        // Position 0 allows {1, 6}: draft 4 has p = 0 there and is rejected; the replacement lies in the mask.
        var masked = new ListSink(state, allowed: [1, 6]);
        var result = SpeculativeVerifier.Verify(sampler, state, [4], [q], Rows(row, row), 0, masked);
        Assert.Equal((0, 1), (result.Accepted, result.Emitted));
        Assert.Contains(masked.Tokens[0], new[] { 1, 6 });

        // A forced position accepts the draft iff it is the forced token, and draws nothing.
        var forcedState = new SamplingState(options, []);
        var forced = new ListSink(forcedState, allowed: [4]);
        var accepted = SpeculativeVerifier.Verify(sampler, forcedState, [4], [q], Rows(row, row), 0, forced);
        Assert.Equal(new SpeculativeResult(1, 2, false), accepted);
        Assert.Equal([4, 4], forced.Tokens);
        Assert.Equal(new SequenceRandom(3).NextUInt64(), forcedState.Random.NextUInt64());
    }

    [Fact]
    public void AnAcceptedDraftThatEndsTheRequestStopsTheWalk()
    {
        var state = new SamplingState(SamplingOptions.Greedy, []);
        var sink = new ListSink(state, endOn: 2);
        var target = Rows(Row((2, 1f)), Row((5, 1f)), Row((6, 1f)));
        var result = SpeculativeVerifier.Verify(new Sampler(), state, [2, 5], [PointMass(2), PointMass(5)], target, 0, sink);
        Assert.Equal(new SpeculativeResult(1, 1, Ended: true), result);
        Assert.Equal([2], sink.Tokens);
    }

    [Fact]
    public void ASeededRequestIsReproducibleRunToRun()
    {
        static List<int> Run()
        {
            var options = new SamplingOptions(Temperature: 1.3f, TopK: 6, RepetitionPenalty: 1.2f, Seed: 42UL);
            var state = new SamplingState(options, [1, 2]);
            var sampler = new Sampler();
            var sink = new ListSink(state);
            float[] draftRow = [0.5f, 0.1f, 1.0f, -0.2f, 0.8f, 0.3f, -0.6f, 0.0f];
            float[] targetRow = [0.1f, 0.9f, 0.2f, 0.7f, -0.4f, 1.1f, 0.6f, 0.2f];
            for (int round = 0; round < 20; round++)
            {
                var q = new[] { new TokenDistribution(), new TokenDistribution() };
                int x0 = sampler.SampleDraft(draftRow, state, [], q[0]);
                int x1 = sampler.SampleDraft(draftRow, state, [x0], q[1]);
                SpeculativeVerifier.Verify(sampler, state, [x0, x1], q, Rows(targetRow, targetRow, targetRow), 0, sink);
            }
            return sink.Tokens;
        }
        var first = Run();
        Assert.Equal(first, Run());
        Assert.True(first.Distinct().Count() > 2, "the run should actually sample");
    }

    [Fact]
    public void InconsistentInputsAreClearErrors()
    {
        var state = new SamplingState(new SamplingOptions(Temperature: 1f), []);
        var sampler = new Sampler();
        var q = new TokenDistribution();
        sampler.ProcessedDistribution(Row((1, 50f)), state, [], q); // a q over the 8 tokens; token 9 lies outside it
        var zero = Assert.Throws<ArgumentException>(() => sampler.VerifyDraft(Row(), state, 9, q));
        Assert.Contains("probability 0", zero.Message);
        var width = Assert.Throws<ArgumentException>(() => sampler.VerifyDraft(new float[5], state, 1, q));
        Assert.Contains("covers 8 tokens", width.Message);
        var rows = Assert.Throws<ArgumentException>(() => SpeculativeVerifier.Verify(sampler, state, [1], [q], Rows(Row()), 0, new ListSink(state)));
        Assert.Contains("rows 0..1", rows.Message);
        var count = Assert.Throws<ArgumentException>(() => SpeculativeVerifier.Verify(sampler, state, [1, 1], [q], Rows(Row(), Row(), Row()), 0, new ListSink(state)));
        Assert.Contains("2 draft distributions", count.Message);
        var unrecorded = Assert.Throws<InvalidOperationException>(() =>
            SpeculativeVerifier.Verify(sampler, state, [1], [q], Rows(Row((1, 50f)), Row()), 0, new ListSink(state, record: false)));
        Assert.Contains("SamplingState", unrecorded.Message);
    }

    [Fact]
    public void ASamplerReusedAcrossRowWidthsSeesOnlyTheCurrentRow()
    {
        // A wide row first leaves its values in the scratch buffer; a narrower row must not see them.
        var sampler = new Sampler();
        var penalised = new SamplingState(SamplingOptions.Greedy with { RepetitionPenalty = 2f }, [0]);
        var wide = new float[16];
        wide[12] = 9f;
        Assert.Equal(12, sampler.Sample(wide, penalised));
        Assert.Equal(2, sampler.Sample([1f, 0f, 3f, 2f], penalised));
        var q = new TokenDistribution();
        sampler.ProcessedDistribution([1f, 0f, 3f, 2f], penalised, [3], q);
        Assert.Equal([2], q.Support.ToArray());
    }
}
