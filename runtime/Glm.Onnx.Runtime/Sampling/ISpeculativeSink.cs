namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// What <see cref="SpeculativeVerifier"/> calls per verified position, implemented by the engine for one request
/// (its token emitter): the allowed-token mask of the position, and the commit of each emitted token. Because every
/// emitted token is committed before the next position is verified, the mask (the grammar state) and the penalties'
/// history at position i already include the drafts accepted at 0..i-1, exactly as plain decoding would have them.
/// </summary>
public interface ISpeculativeSink
{
    /// <summary>
    /// The position's logits row restricted to the tokens allowed after everything committed so far (e.g. a grammar
    /// mask: rejected tokens at -inf), or the row itself when nothing restricts it. When exactly one token may follow,
    /// return it in <paramref name="forced"/> (else -1): the position's distribution is then that point mass.
    /// </summary>
    ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced);

    /// <summary>
    /// Commits an emitted token: it must be recorded in the request's <see cref="SamplingState"/> (so later
    /// positions' penalties see it) and advance any constraint. Returns false when the token ends the request (a stop
    /// id or string, the length limit); the walk then stops and later drafts are discarded.
    /// </summary>
    bool Commit(int token);
}
