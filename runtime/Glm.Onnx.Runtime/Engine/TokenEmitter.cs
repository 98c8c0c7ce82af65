using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>
/// One request's per-token path, as named steps in their order: <see cref="Sample"/> chooses a token from a logits
/// row; <see cref="Accept"/> records it, checks the stop ids, detokenizes, matches stop strings, checks the length,
/// flushes the held-back text when the output ends and measures the usage. The engine then publishes the
/// <see cref="TokenOutcome"/> and, when it ends the request, releases it. A constraint on the choice (e.g. a grammar
/// mask) belongs in <see cref="Sample"/>; several tokens accepted in one step (e.g. verified draft tokens) each go
/// through <see cref="Accept"/>, which stops at the first that ends the request.
/// Not thread-safe: the engine's step thread owns it.
/// </summary>
internal sealed class TokenEmitter
{
    private readonly Sequence _sequence;
    private readonly SamplingState _sampling;
    private readonly StopTokenSet _stopTokens;
    private readonly ITokenTextStream? _text;
    private readonly StopStringMatcher? _stops;
    private readonly UsageMeter _usage = new();
    private readonly int _maxNewTokens;
    private readonly ConstraintTracker? _constraint;
    private SpeculationStats? _speculation;
    private bool _finished;

    /// <param name="sequence">The request's tokens (sampled tokens are appended to it).</param>
    /// <param name="request">The request: sampling, stop ids and strings, eos handling.</param>
    /// <param name="maxNewTokens">The request's limit, already capped by the model and the cache.</param>
    /// <param name="eosTokenIds">The model's eos ids.</param>
    /// <param name="decoder">Turns ids into text, or null (no text; the request then has no stop strings).</param>
    public TokenEmitter(Sequence sequence, GenerationRequest request, int maxNewTokens, IEnumerable<int> eosTokenIds, ITokenDecoder? decoder)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(request);
        if (request.StopStrings.Count > 0 && decoder is null)
            throw new ArgumentException("Stop strings need a token decoder.", nameof(decoder));
        _sequence = sequence;
        _sampling = new SamplingState(request.Sampling, sequence.TokenSpan(0, sequence.PromptLength));
        _stopTokens = new StopTokenSet(eosTokenIds, request);
        _text = decoder?.CreateStream();
        _stops = request.StopStrings.Count > 0 ? new StopStringMatcher(request.StopStrings) : null;
        _maxNewTokens = maxNewTokens;
        if (request.Constraint is { } constraint)
            _constraint = new ConstraintTracker(constraint, _stopTokens.Ids, sequence.TokenSpan(sequence.PromptLength - 1, 1)[0]);
    }

    /// <summary>When the request was submitted (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long SubmittedAt => _usage.SubmittedAt;

    /// <summary>After <see cref="Accept"/>: seconds since submission for the first token, since the previous token after.</summary>
    public double LastTokenLatencySeconds => _usage.LastTokenLatencySeconds;

    /// <summary>
    /// Step 0, for constrained requests: computes this step's grammar mask. The engine calls it for all constrained
    /// sequences of a step in parallel before sampling; <see cref="Sample"/> computes it itself when not done.
    /// </summary>
    public void PrepareMask() => _constraint?.PrepareMask();

    /// <summary>True when this request's next token is under a grammar (its mask is worth computing ahead).</summary>
    public bool NeedsMask => _constraint is { IsActive: true } && !_finished;

    /// <summary>Step 1: the token this logits row chooses under the request's sampling options.</summary>
    public int Sample(Sampler sampler, ReadOnlySpan<float> row)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        if (_constraint is not null)
        {
            // The mask comes first: sampling (temperature, top-k/p, penalties) sees only the allowed tokens.
            var allowed = _constraint.Restrict(row, out int forced);
            return forced >= 0 ? forced : sampler.Sample(allowed, _sampling);
        }
        return sampler.Sample(row, _sampling);
    }

    /// <summary>
    /// Step 1b, after a sampled token was accepted: the tokens a grammar forces next, to be accepted in this same step
    /// without sampling (jump-forward; empty without a constraint or when nothing is forced).
    /// </summary>
    public IReadOnlyList<int> JumpForward() => _constraint is not null && !_finished ? _constraint.JumpForward() : [];

    /// <summary>
    /// Speculative decoding, drafter's side: the draft token this draft-model row chooses under the request's
    /// sampling options, with its distribution left in <paramref name="q"/>. <paramref name="pending"/> are the
    /// round's earlier drafts. No grammar mask: a draft the grammar rejects has p = 0 and is simply rejected.
    /// </summary>
    public int Draft(Sampler sampler, ReadOnlySpan<float> draftRow, ReadOnlySpan<int> pending, TokenDistribution q)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        return sampler.SampleDraft(draftRow, _sampling, pending, q);
    }

    /// <summary>
    /// Speculative decoding, verify step: walks the drafts against the target rows firstRow .. firstRow+K
    /// (<see cref="SpeculativeVerifier"/>), each position under the grammar mask, and accepts every emitted token
    /// (steps 2 to 7) as it goes, so later positions see the earlier ones. The outcomes are appended to
    /// <paramref name="outcomes"/>, the last of them ending the request when one does.
    /// </summary>
    public SpeculativeResult AcceptSpeculative(Sampler sampler, ReadOnlySpan<int> drafts, IReadOnlyList<TokenDistribution> q,
        LogitsBuffer target, int firstRow, List<TokenOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        int first = outcomes.Count;
        var result = SpeculativeVerifier.Verify(sampler, _sampling, drafts, q, target, firstRow, new Sink(this, outcomes));
        if (drafts.Length > 0)
        {
            (_speculation ??= new SpeculationStats()).RecordVerify(drafts.Length, result.Accepted);
            // The request's usage was built when its last token was accepted, inside the walk: add this step's counts.
            if (result.Ended && outcomes[^1].Usage is { } usage)
                outcomes[^1] = outcomes[^1] with { Usage = usage with { Speculation = _speculation.Snapshot() } };
        }
        return result;
    }

    // The verifier's view of this request: the grammar mask per position, Accept per emitted token.
    private sealed class Sink(TokenEmitter emitter, List<TokenOutcome> outcomes) : ISpeculativeSink
    {
        public ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced)
        {
            forced = -1;
            return emitter._constraint is null ? row : emitter._constraint.Restrict(row, out forced);
        }

        public bool Commit(int token)
        {
            var outcome = emitter.Accept(token);
            outcomes.Add(outcome);
            return outcome.FinishReason is null;
        }
    }

    /// <summary>Steps 2 to 7 for a chosen token; the outcome says what to stream and whether the request ended.</summary>
    public TokenOutcome Accept(int token)
    {
        if (_finished)
            throw new InvalidOperationException($"Sequence {_sequence.Id} already ended; no token can be accepted.");
        bool first = Record(token);
        FinishReason? reason = CheckStopIds(token);
        string text = Detokenize(token);
        bool stoppedByString = MatchStopStrings(ref text);
        if (stoppedByString)
            reason = FinishReason.Stop;
        reason ??= CheckLength();
        if (reason is not null && !stoppedByString)
            text += FlushTail();
        GenerationUsage? usage = null;
        if (reason is not null)
        {
            _finished = true;
            usage = _usage.Finish(_sequence);
            if (_constraint is not null)
                usage = usage with
                {
                    MaskTime = _constraint.MaskTime,
                    ForcedTokens = _constraint.ForcedTokens,
                    JumpForwardTokens = _constraint.JumpForwardTokens,
                };
            if (_speculation is not null)
                usage = usage with { Speculation = _speculation.Snapshot() };
        }
        return new TokenOutcome(token, text, reason, usage, first);
    }

    // The token becomes part of the sequence and of the penalties' history; true for the first token.
    private bool Record(int token)
    {
        _constraint?.Accept(token);
        _sampling.Accept(token);
        _sequence.AppendToken(token);
        return _usage.MarkToken();
    }

    private FinishReason? CheckStopIds(int token) => _stopTokens.Ends(token) ? FinishReason.Stop : null;

    private string Detokenize(int token) => _text?.Append(token) ?? "";

    // Holds back text that may still become a stop string; true when one matched (the text is cut before it).
    private bool MatchStopStrings(ref string text)
    {
        if (_stops is null)
            return false;
        (text, bool stopped) = _stops.Push(text);
        return stopped;
    }

    private FinishReason? CheckLength() => _sequence.OutputLength >= _maxNewTokens ? FinishReason.Length : null;

    // The output ends here: what the decoder and the stop matcher still hold (a stop string in it still cuts it).
    private string FlushTail()
    {
        if (_text is null)
            return "";
        string tail = _text.Flush();
        return _stops is null ? tail : _stops.End(tail);
    }
}
