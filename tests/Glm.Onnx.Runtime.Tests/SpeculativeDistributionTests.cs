using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Tests;

/// <summary>
/// The statistical proof that speculative sampling emits exactly the target's distribution (docs/speculative.md). A
/// toy "model" over 12 tokens whose next-token logits depend on the previous token; the draft model differs a lot
/// from the target (it puts most of its mass on a token the target forbids, and forbids one the target allows). For
/// each of 200,000 seeds one request decodes its first two tokens speculatively; the empirical joint distribution of
/// (first, second) is compared with the exact one, computed here independently of the sampler, by Pearson's
/// chi-square. False alarms: each passing check fails by chance with probability 1e-4; this file has three that must
/// pass, so 3e-4 in total (the seeds are fixed, so a given build passes or fails deterministically).
/// </summary>
public sealed class SpeculativeDistributionTests
{
    private const double Alpha = 1e-4;
    private const int V = 12;
    private const int Samples = 200_000;
    private static readonly int[] Prompt = [1, 4];

    private static readonly float[][] TargetLogits = Table(target: true);
    private static readonly float[][] DraftLogits = Table(target: false);

    // Row prev: the logits after token prev.
    private static float[][] Table(bool target)
    {
        var table = new float[V][];
        for (int prev = 0; prev < V; prev++)
        {
            var row = new float[V];
            for (int v = 0; v < V; v++)
                row[v] = target
                    ? (float)(1.6 * Math.Sin(prev * 1.7 + v * 0.9) + 0.3 * (v % 3))
                    : (float)(1.4 * Math.Cos(prev * 0.6 + v * 1.3));
            int forbidden = (prev + 3) % V;
            if (target)
                row[forbidden] = float.NegativeInfinity; // the target never emits it ...
            else
            {
                row[forbidden] = 2.5f; // ... and the draft likes it best
                row[(prev + 7) % V] = float.NegativeInfinity; // the draft never proposes a token the target allows
            }
            table[prev] = row;
        }
        return table;
    }

    private static readonly SamplingOptions TopPWithRepetition = new(Temperature: 0.8f, TopP: 0.9f, RepetitionPenalty: 1.3f);
    private static readonly SamplingOptions TopKWithPresence = new(Temperature: 1.2f, TopK: 7, PresencePenalty: 0.4f, FrequencyPenalty: 0.3f, RepetitionPenalty: 1.1f);

    /// <summary>Commits into the state and the emitted list; never ends the request.</summary>
    private sealed class Emitted(SamplingState state) : ISpeculativeSink
    {
        public List<int> Tokens { get; } = new(8);

        public ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced)
        {
            forced = -1;
            return row;
        }

        public bool Commit(int token)
        {
            state.Accept(token);
            Tokens.Add(token);
            return true;
        }
    }

    private delegate void VerifyRule(Sampler sampler, SamplingState state, int[] drafts, TokenDistribution[] q, LogitsBuffer rows, Emitted sink);

    private static readonly VerifyRule Correct = (sampler, state, drafts, q, rows, sink) =>
        SpeculativeVerifier.Verify(sampler, state, drafts, q, rows, 0, sink);

    // Wrong: every draft is taken, then the bonus from the last row.
    private static readonly VerifyRule AcceptAlways = (sampler, state, drafts, q, rows, sink) =>
    {
        foreach (var x in drafts)
            sink.Commit(x);
        sink.Commit(sampler.Sample(rows.Row(drafts.Length), state));
    };

    // Wrong, subtly: the right acceptance test, but a rejected position resamples from p instead of max(0, p - q).
    private static readonly VerifyRule ResampleFromTarget = (sampler, state, drafts, q, rows, sink) =>
    {
        var p = new TokenDistribution();
        for (int i = 0; i < drafts.Length; i++)
        {
            sampler.ProcessedDistribution(rows.Row(i), state, [], p);
            double ratio = p[drafts[i]] / q[i][drafts[i]];
            if (state.Random.NextDouble() < ratio)
            {
                sink.Commit(drafts[i]);
                continue;
            }
            sink.Commit(sampler.Sample(rows.Row(i), state));
            return;
        }
        sink.Commit(sampler.Sample(rows.Row(drafts.Length), state));
    };

    /// <summary>Counts of (first, second) emitted tokens, keyed first * V + second.</summary>
    private static Dictionary<int, long> Speculate(SamplingOptions options, int k, VerifyRule rule)
    {
        var counts = new Dictionary<int, long>();
        var sampler = new Sampler();
        var q = Enumerable.Range(0, k).Select(_ => new TokenDistribution()).ToArray();
        var drafts = new int[k];
        var rows = new float[(k + 1) * V];
        for (int seed = 0; seed < Samples; seed++)
        {
            var state = new SamplingState(options with { Seed = (ulong)seed }, Prompt);
            var sink = new Emitted(state);
            int last = Prompt[^1];
            while (sink.Tokens.Count < 2)
            {
                int prev = last;
                for (int i = 0; i < k; i++)
                {
                    TargetLogits[prev].CopyTo(rows, i * V); // row i is the target after the token before draft i
                    drafts[i] = sampler.SampleDraft(DraftLogits[prev], state, drafts.AsSpan(0, i), q[i]);
                    prev = drafts[i];
                }
                TargetLogits[prev].CopyTo(rows, k * V);
                rule(sampler, state, drafts, q, new LogitsBuffer(rows, k + 1, V), sink);
                last = sink.Tokens[^1];
            }
            int key = sink.Tokens[0] * V + sink.Tokens[1];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>
    /// The exact joint distribution of the first two tokens of plain sampling, computed directly from the options'
    /// definition (docs/sampling order: penalties, temperature, top-k, top-p), not with the sampler.
    /// </summary>
    private static Dictionary<int, double> ExactJoint(SamplingOptions options)
    {
        var joint = new Dictionary<int, double>();
        var first = Reference(TargetLogits[Prompt[^1]], options, []);
        for (int a = 0; a < V; a++)
        {
            if (first[a] == 0)
                continue;
            var second = Reference(TargetLogits[a], options, [a]);
            for (int b = 0; b < V; b++)
                joint[a * V + b] = first[a] * second[b];
        }
        return joint;
    }

    private static double[] Reference(float[] logits, SamplingOptions o, int[] output)
    {
        var l = logits.Select(x => (double)x).ToArray();
        for (int v = 0; v < V; v++)
        {
            bool seen = Prompt.Contains(v) || output.Contains(v);
            if (seen && o.RepetitionPenalty != 1f)
                l[v] = l[v] > 0 ? l[v] / o.RepetitionPenalty : l[v] * o.RepetitionPenalty;
            int count = output.Count(t => t == v);
            if (count > 0)
                l[v] -= o.FrequencyPenalty * count + o.PresencePenalty;
        }
        double max = l.Max();
        var w = l.Select(x => Math.Exp((x - max) / o.Temperature)).ToArray();
        var order = Enumerable.Range(0, V).OrderByDescending(v => w[v]).ThenBy(v => v).ToList();
        if (o.TopK > 0)
            order = order.Take(o.TopK).ToList();
        double mass = order.Sum(v => w[v]), cumulative = 0;
        var kept = new List<int>();
        foreach (var v in order)
        {
            kept.Add(v);
            cumulative += w[v];
            if (cumulative >= o.TopP * mass)
                break;
        }
        double total = kept.Sum(v => w[v]);
        var p = new double[V];
        foreach (var v in kept)
            p[v] = w[v] / total;
        return p;
    }

    private static Dictionary<int, long> Plain(SamplingOptions options)
    {
        var counts = new Dictionary<int, long>();
        var sampler = new Sampler();
        for (int seed = 0; seed < Samples; seed++)
        {
            var state = new SamplingState(options with { Seed = (ulong)seed }, Prompt);
            int a = sampler.Sample(TargetLogits[Prompt[^1]], state);
            state.Accept(a);
            int b = sampler.Sample(TargetLogits[a], state);
            counts[a * V + b] = counts.GetValueOrDefault(a * V + b) + 1;
        }
        return counts;
    }

    [Fact]
    public void TheReferenceAgreesWithTheSamplersOwnDistributionAndTheModelsReallyDiffer()
    {
        // Guards the harness: the independent reference and the sampler's existing Distribution agree on every row;
        // and the draft puts mass where the target has none and the other way round.
        foreach (var options in new[] { TopPWithRepetition, TopKWithPresence })
            for (int prev = 0; prev < V; prev++)
            {
                var state = new SamplingState(options, Prompt);
                state.Accept(prev);
                var reference = Reference(TargetLogits[prev], options, [prev]);
                var sampled = new Sampler().Distribution(TargetLogits[prev], state).ToDictionary(e => e.Token, e => e.Probability);
                for (int v = 0; v < V; v++)
                    Assert.True(Math.Abs(reference[v] - sampled.GetValueOrDefault(v)) < 1e-6, $"prev {prev}, token {v}: {reference[v]} vs {sampled.GetValueOrDefault(v)}");

                var q = new TokenDistribution();
                new Sampler().ProcessedDistribution(DraftLogits[prev], state, [], q);
                Assert.True(q[(prev + 3) % V] > 0.2 && reference[(prev + 3) % V] == 0);
                Assert.True(q[(prev + 7) % V] == 0);
            }
    }

    [Fact]
    public void ChiSquareUpperTailMatchesKnownValues()
    {
        Assert.Equal(0.05, ChiSquare.UpperRegularizedGamma(0.5, 3.841459 / 2), 6); // df 1, the 95% point
        Assert.Equal(0.05, ChiSquare.UpperRegularizedGamma(5, 18.307038 / 2), 6); // df 10
        Assert.Equal(1e-3, ChiSquare.UpperRegularizedGamma(50, 149.449252 / 2), 8); // df 100, the 99.9% point
        Assert.Equal(Math.Exp(-7.5), ChiSquare.UpperRegularizedGamma(1, 7.5), 12); // df 2: exp(-x/2)
    }

    [Fact]
    public void PlainSamplingMatchesTheExactDistribution() => AssertMatches(Plain(TopPWithRepetition), ExactJoint(TopPWithRepetition), "plain");

    [Fact]
    public void SpeculativeSamplingWithTopPAndRepetitionPenaltyMatchesTheExactDistribution() =>
        AssertMatches(Speculate(TopPWithRepetition, k: 2, Correct), ExactJoint(TopPWithRepetition), "speculative K=2, top-p");

    [Fact]
    public void SpeculativeSamplingWithTopKAndPresencePenaltyMatchesTheExactDistribution() =>
        AssertMatches(Speculate(TopKWithPresence, k: 3, Correct), ExactJoint(TopKWithPresence), "speculative K=3, top-k");

    [Fact]
    public void TheCheckCatchesWrongAcceptanceRules()
    {
        var exact = ExactJoint(TopPWithRepetition);
        var always = ChiSquare.Test(Speculate(TopPWithRepetition, k: 2, AcceptAlways), exact);
        Assert.True(always.PValue < Alpha, $"accept-always passed: p = {always.PValue}");
        var resample = ChiSquare.Test(Speculate(TopPWithRepetition, k: 2, ResampleFromTarget), exact);
        Assert.True(resample.PValue < Alpha, $"resample-from-p passed: p = {resample.PValue}, chi2 = {resample.Statistic}, df = {resample.DegreesOfFreedom}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void GreedySpeculationEmitsPlainGreedysTokens(int k)
    {
        // Greedy with penalties on the toy model: 40 tokens, plain (one argmax per step, history recorded) against
        // speculative with a draft that agrees with the target's raw logits after some tokens and is the very different
        // draft model after others (and knows nothing of the penalties). Token for token the same.
        var options = SamplingOptions.Greedy with { RepetitionPenalty = 1.4f, FrequencyPenalty = 0.2f };
        var plainState = new SamplingState(options, Prompt);
        var sampler = new Sampler();
        var plain = new List<int>();
        int prev = Prompt[^1];
        while (plain.Count < 40)
        {
            prev = sampler.Sample(TargetLogits[prev], plainState);
            plainState.Accept(prev);
            plain.Add(prev);
        }

        var state = new SamplingState(options, Prompt);
        var sink = new Emitted(state);
        var q = Enumerable.Range(0, k).Select(_ => new TokenDistribution()).ToArray();
        var drafts = new int[k];
        var rows = new float[(k + 1) * V];
        int accepted = 0, rejected = 0;
        while (sink.Tokens.Count < 40)
        {
            int last = sink.Tokens.Count > 0 ? sink.Tokens[^1] : Prompt[^1];
            for (int i = 0; i < k; i++)
            {
                TargetLogits[last].CopyTo(rows, i * V);
                var draftRow = last % 3 == 0 ? DraftLogits[last] : TargetLogits[last];
                drafts[i] = sampler.SampleDraft(draftRow, state, drafts.AsSpan(0, i), q[i]);
                last = drafts[i];
            }
            TargetLogits[last].CopyTo(rows, k * V);
            var result = SpeculativeVerifier.Verify(sampler, state, drafts, q, new LogitsBuffer(rows, k + 1, V), 0, sink);
            accepted += result.Accepted;
            rejected += result.Accepted < k ? 1 : 0;
        }
        Assert.Equal(plain, sink.Tokens.Take(40));
        Assert.True(accepted > 0 && rejected > 0, $"accepted {accepted}, rejected {rejected}: both paths should be taken");
    }

    private static void AssertMatches(Dictionary<int, long> observed, Dictionary<int, double> exact, string what)
    {
        var (p, statistic, df) = ChiSquare.Test(observed, exact);
        Assert.True(p >= Alpha, $"{what}: chi2 = {statistic:F1} with {df} degrees of freedom, p = {p:E2} < {Alpha}");
    }
}
