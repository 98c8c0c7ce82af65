using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.Runtime.Sampling;

/// <summary>What one verify step emitted for a sequence.</summary>
/// <param name="Accepted">Draft tokens accepted (0..K): the emitted tokens' agreeing prefix.</param>
/// <param name="Emitted">Tokens committed: the accepted drafts plus the replacement or bonus token, fewer when the
/// request ended on an accepted draft.</param>
/// <param name="Ended">True when a committed token ended the request.</param>
public readonly record struct SpeculativeResult(int Accepted, int Emitted, bool Ended);

/// <summary>
/// Speculative acceptance for one sequence's verify step (docs/speculative.md): the target's K+1 logits rows against
/// the K draft tokens and their distributions q_i. Position i computes the target's processed distribution p_i
/// exactly as plain sampling would there (mask from the sink, penalties over a history that holds the drafts accepted
/// before it), accepts x_i with probability min(1, p_i(x_i)/q_i(x_i)) or emits a draw from norm(max(0, p_i - q_i))
/// and stops; when all K are accepted it emits the bonus token from p_K. The emitted tokens are distributed exactly
/// as plain sampling's (Leviathan et al. 2023, Chen et al. 2023); greedy requests reduce to "accept while the draft is
/// the argmax, then emit the argmax", token for token what plain greedy decoding emits.
/// </summary>
public static class SpeculativeVerifier
{
    /// <param name="sampler">The step thread's sampler (scratch buffers).</param>
    /// <param name="state">The request's sampling state; the sink's commits record into it.</param>
    /// <param name="drafts">The K draft tokens, x_0 .. x_{K-1}.</param>
    /// <param name="q">The distributions the drafts were drawn from (<see cref="Sampler.SampleDraft"/>), one per draft.</param>
    /// <param name="target">The verify step's logits.</param>
    /// <param name="firstRow">The row of <paramref name="target"/> that verifies x_0; rows firstRow .. firstRow+K are this sequence's.</param>
    /// <param name="sink">The request's mask per position and the commit of each emitted token.</param>
    public static SpeculativeResult Verify(Sampler sampler, SamplingState state, ReadOnlySpan<int> drafts,
        IReadOnlyList<TokenDistribution> q, LogitsBuffer target, int firstRow, ISpeculativeSink sink)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(sink);
        int k = drafts.Length;
        if (q.Count != k)
            throw new ArgumentException($"{k} draft tokens need {k} draft distributions, got {q.Count}.", nameof(q));
        if (firstRow < 0 || firstRow + k + 1 > target.Rows)
            throw new ArgumentException($"Verifying {k} drafts needs logits rows {firstRow}..{firstRow + k}, but the target has {target.Rows} rows.", nameof(firstRow));

        for (int i = 0; i < k; i++)
        {
            var row = sink.Restrict(target.Row(firstRow + i), out int forced);
            // A forced position is the point mass on that token: the draft is accepted iff it is that token, and the
            // replacement norm(max(0, p - q)) is that token too.
            var verdict = forced >= 0 ? new DraftVerdict(forced == drafts[i], forced) : sampler.VerifyDraft(row, state, drafts[i], q[i]);
            int accepted = i + (verdict.Accepted ? 1 : 0);
            if (!Commit(sink, state, verdict.Token))
                return new SpeculativeResult(accepted, i + 1, Ended: true);
            if (!verdict.Accepted)
                return new SpeculativeResult(accepted, i + 1, Ended: false);
        }
        var last = sink.Restrict(target.Row(firstRow + k), out int forcedBonus);
        int bonus = forcedBonus >= 0 ? forcedBonus : sampler.Sample(last, state);
        bool going = Commit(sink, state, bonus);
        return new SpeculativeResult(k, k + 1, Ended: !going);
    }

    private static bool Commit(ISpeculativeSink sink, SamplingState state, int token)
    {
        long before = state.AcceptedCount;
        bool going = sink.Commit(token);
        // The next position's penalties read the state's history: a sink that does not record would silently change
        // the distribution, so it is an error.
        if (state.AcceptedCount != before + 1)
            throw new InvalidOperationException("ISpeculativeSink.Commit must record the token in the request's SamplingState (SamplingState.Accept) exactly once.");
        return going;
    }
}
