using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests.Speculative;

/// <summary>
/// Sampled speculative decoding through the engine draws, seed for seed, exactly what the sampler-level procedure of
/// <see cref="SpeculativeDistributionTests"/> (whose output distribution the chi-square checks there prove to be the
/// target's) draws from the same rows: the engine hands each draft row, its q and the target's verify rows to
/// <see cref="Sampler.SampleDraft"/> and <see cref="SpeculativeVerifier.Verify"/> in that procedure's order, drafts
/// draw from the request's DraftRandom and verification from its Random. So the engine's output distribution is the
/// target's too.
/// </summary>
public sealed class SampledSpeculationTests
{
    private const int Vocab = 32;
    private const int MaxTokens = 12;

    // The draft model: a fixed function of the history, unlike the fake target's.
    private static void DraftRow(IReadOnlyList<int> history, Span<float> row)
    {
        for (int v = 0; v < row.Length; v++)
            row[v] = (float)(2.0 * Math.Cos(history[^1] * 0.7 + v * 1.1 + history.Count * 0.3));
    }

    private sealed class RowDrafter : IDrafter
    {
        public bool UsesDraftCache => false;

        public void Draft(IReadOnlyList<DraftWork> work)
        {
            var row = new float[Vocab];
            foreach (var w in work)
            {
                var history = w.Sequence.Tokens.ToList();
                for (int j = 0; j < w.Count; j++)
                {
                    DraftRow(history, row);
                    history.Add(w.Choose(j, row));
                }
            }
        }

        public void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count)
        {
        }

        public void Forget(Sequence sequence)
        {
        }
    }

    private sealed class Sink(SamplingState state, List<int> history, List<int> output) : ISpeculativeSink
    {
        public ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced)
        {
            forced = -1;
            return row;
        }

        public bool Commit(int token)
        {
            state.Accept(token);
            history.Add(token);
            output.Add(token);
            return true;
        }
    }

    /// <summary>The procedure, straight on the sampler: plain first token, then rounds of d drafts and one verify walk.</summary>
    private static int[] Procedure(int[] prompt, SamplingOptions options, int k, ref int rejections)
    {
        var sampler = new Sampler();
        var state = new SamplingState(options, prompt);
        var history = prompt.ToList();
        var output = new List<int>();
        var sink = new Sink(state, history, output);
        var row = new float[Vocab];
        FakeModelExecutor.ReferenceLogits(history.ToArray(), row);
        sink.Commit(sampler.Sample(row, state));
        while (output.Count < MaxTokens)
        {
            int d = Math.Min(k, MaxTokens - output.Count - 1);
            var drafts = new int[d];
            var q = Enumerable.Range(0, d).Select(_ => new TokenDistribution()).ToArray();
            var draftHistory = history.ToList();
            for (int i = 0; i < d; i++)
            {
                DraftRow(draftHistory, row);
                drafts[i] = sampler.SampleDraft(row, state, drafts.AsSpan(0, i), q[i]);
                draftHistory.Add(drafts[i]);
            }
            var rows = new float[(d + 1) * Vocab];
            for (int i = 0; i <= d; i++)
                FakeModelExecutor.ReferenceLogits(history.Concat(drafts.Take(i)).ToArray(), rows.AsSpan(i * Vocab, Vocab));
            if (d == 0)
            {
                sink.Commit(sampler.Sample(rows.AsSpan(0, Vocab), state));
                continue;
            }
            var result = SpeculativeVerifier.Verify(sampler, state, drafts, q, new LogitsBuffer(rows, d + 1, Vocab), 0, sink);
            if (result.Accepted < d)
                rejections++;
        }
        return [.. output];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task SampledSpeculationDrawsWhatTheSamplerLevelProcedureDraws(int k)
    {
        int[] prompt = [3, 17, 9, 22, 5];
        using var executor = new FakeModelExecutor(Vocab);
        using var engine = new GenerationEngine(executor, drafter: new RowDrafter());
        int rejections = 0, accepted = 0;
        for (int seed = 0; seed < 30; seed++)
        {
            var options = new SamplingOptions(Temperature: 1.3f, TopP: 0.95f, RepetitionPenalty: 1.2f, Seed: (ulong)seed);
            var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = MaxTokens, SpeculativeTokens = k, Sampling = options });
            Assert.Equal(Procedure(prompt, options, k, ref rejections), tokens.Select(t => t.TokenId));
            accepted += (int)(tokens[^1].Usage!.Speculation?.AcceptedTokens ?? 0);
        }
        // Both branches of the rule ran: some drafts accepted, some rejected.
        Assert.True(rejections > 0 && accepted > 0, $"{rejections} rejecting steps, {accepted} accepted drafts");
    }
}
