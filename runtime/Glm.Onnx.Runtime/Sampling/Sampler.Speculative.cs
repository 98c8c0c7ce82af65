namespace Glm.Onnx.Runtime.Sampling;

/// <summary>The outcome of verifying one draft token: accepted (the token is the draft) or the replacement drawn.</summary>
public readonly record struct DraftVerdict(bool Accepted, int Token);

// Speculative sampling (docs/speculative.md): both sides share ProcessedDistribution, the one definition of what a
// request samples from, so the drafter's q and the target's p differ only in the logits they start from.
public sealed partial class Sampler
{
    private readonly TokenDistribution _target = new();

    /// <summary>
    /// Writes into <paramref name="into"/> the distribution plain sampling draws from for this row: penalties over
    /// the request's history plus <paramref name="pending"/> (tokens that count as output but are not recorded yet,
    /// e.g. the earlier drafts of a round), then temperature, top-k, top-p and min-p. Greedy requests get the point
    /// mass on the argmax (ties to the lowest id, as <see cref="Sample"/>). Consumes no randomness.
    /// </summary>
    public void ProcessedDistribution(ReadOnlySpan<float> logits, SamplingState state, ReadOnlySpan<int> pending, TokenDistribution into)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(into);
        var options = state.Options;
        if (options.IsGreedy && !options.HasPenalties && pending.IsEmpty)
        {
            into.SetPointMass(ArgMax(logits), logits.Length);
            return;
        }
        var work = Scratch(logits);
        if (options.HasPenalties)
            ApplyPenalties(work, state.History, options, pending);
        if (options.IsGreedy)
        {
            into.SetPointMass(ArgMax(work), logits.Length);
            return;
        }
        Filter(work, options);
        double total = 0;
        for (int i = 0; i < _count; i++)
            total += work[_candidates[i]];
        into.Reset(logits.Length);
        for (int i = 0; i < _count; i++)
        {
            int token = _candidates[i];
            if (work[token] > 0)
                into.Add(token, work[token] / total);
        }
    }

    /// <summary>
    /// The drafter's side: draws a draft token from the draft model's logits row under the request's sampling options
    /// and returns it, leaving in <paramref name="q"/> the distribution it was drawn from (what
    /// <see cref="VerifyDraft"/> needs). <paramref name="pending"/> are the round's earlier draft tokens (penalties see
    /// them). Draws from <see cref="SamplingState.DraftRandom"/>; greedy requests draw nothing.
    /// </summary>
    public int SampleDraft(ReadOnlySpan<float> draftLogits, SamplingState state, ReadOnlySpan<int> pending, TokenDistribution q)
    {
        ProcessedDistribution(draftLogits, state, pending, q);
        var support = q.Support;
        if (support.Length == 1)
            return support[0];
        double u = state.DraftRandom.NextDouble(), cumulative = 0;
        foreach (var token in support)
        {
            cumulative += q[token];
            if (u < cumulative)
                return token;
        }
        return support[^1]; // u within rounding of 1
    }

    /// <summary>
    /// The target's side for one position: computes p, the distribution plain sampling would draw from for
    /// <paramref name="targetRow"/> with the request's history as recorded (the caller records each accepted draft
    /// before verifying the next), and accepts <paramref name="draft"/> with probability min(1, p(x)/q(x)); else draws
    /// the replacement from norm(max(0, p - q)). The emitted token is then distributed exactly as p. Draws from
    /// <see cref="SamplingState.Random"/> only when the outcome is not already certain, so greedy draws nothing: it
    /// accepts iff the draft is the target's argmax and otherwise emits that argmax.
    /// </summary>
    public DraftVerdict VerifyDraft(ReadOnlySpan<float> targetRow, SamplingState state, int draft, TokenDistribution q)
    {
        ArgumentNullException.ThrowIfNull(q);
        if (q.VocabSize != targetRow.Length)
            throw new ArgumentException($"The draft distribution covers {q.VocabSize} tokens but the target's logits row has {targetRow.Length}.", nameof(q));
        double qx = q[draft];
        if (!(qx > 0))
            throw new ArgumentException($"Draft token {draft} has probability 0 under its q; q must be the distribution the draft was drawn from.", nameof(draft));
        ProcessedDistribution(targetRow, state, [], _target);
        double px = _target[draft];
        if (px >= qx || (px > 0 && state.Random.NextDouble() * qx < px))
            return new DraftVerdict(true, draft);
        return new DraftVerdict(false, SampleResidual(_target, q, state.Random));
    }

    // A draw from norm(max(0, p - q)); its support lies inside p's. When rounding leaves no positive mass (p and q
    // equal to within float error, where rejection is itself a rounding event) it draws from p.
    private static int SampleResidual(TokenDistribution p, TokenDistribution q, SequenceRandom random)
    {
        double total = 0;
        int positive = 0, only = -1;
        foreach (var token in p.Support)
        {
            double r = p[token] - q[token];
            if (r > 0)
            {
                total += r;
                positive++;
                only = token;
            }
        }
        if (positive == 1)
            return only;
        bool fromP = positive == 0;
        if (fromP)
            total = 1.0;
        double u = random.NextDouble() * total, cumulative = 0;
        int last = -1;
        foreach (var token in p.Support)
        {
            double r = fromP ? p[token] : p[token] - q[token];
            if (r <= 0)
                continue;
            cumulative += r;
            last = token;
            if (u < cumulative)
                return token;
        }
        return last;
    }
}
