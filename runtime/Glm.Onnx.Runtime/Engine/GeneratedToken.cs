namespace Glm.Onnx.Runtime.Engine;

public enum FinishReason
{
    /// <summary>An eos id, a stop token id or a stop string ended the generation.</summary>
    Stop,

    /// <summary>The token limit (request, model maximum length or cache capacity) was reached.</summary>
    Length,
}

/// <summary>One streamed token.</summary>
/// <param name="TokenId">The sampled id.</param>
/// <param name="TextDelta">Text this token completes ("" without a token decoder, or while a UTF-8 sequence or a
/// possible stop string is still open).</param>
/// <param name="FinishReason">Set on the last token of the request.</param>
/// <param name="Usage">Set on the last token of the request.</param>
public sealed record GeneratedToken(int TokenId, string TextDelta, FinishReason? FinishReason, GenerationUsage? Usage)
{
    /// <summary>The logits row that chose this token, when the request asked for it.</summary>
    public float[]? Logits { get; init; }

    /// <summary>Row-major [prompt tokens, vocab] logits of the prompt, on the first token when asked for.</summary>
    public float[]? PromptLogits { get; init; }
}

/// <summary>Token counts and timings of a finished request.</summary>
/// <param name="PromptTokens">Prompt length.</param>
/// <param name="ReusedPromptTokens">Prompt tokens served from the prefix cache (not recomputed).</param>
/// <param name="CompletionTokens">Generated tokens.</param>
/// <param name="Preemptions">Times the request lost its cache to older requests and was recomputed.</param>
/// <param name="TimeToFirstToken">From submission to the first sampled token (includes queueing).</param>
/// <param name="DecodeTime">From the first to the last sampled token.</param>
public sealed record GenerationUsage(
    int PromptTokens,
    int ReusedPromptTokens,
    int CompletionTokens,
    int Preemptions,
    TimeSpan TimeToFirstToken,
    TimeSpan DecodeTime)
{
    /// <summary>Time spent computing grammar masks for this request (zero without a constraint).</summary>
    public TimeSpan MaskTime { get; init; }

    /// <summary>Tokens the grammar forced (exactly one could follow), taken without sampling.</summary>
    public int ForcedTokens { get; init; }

    /// <summary>Tokens appended by jump-forward: a forced byte run spanning several tokens, appended after a sampled
    /// token in the same step without their own forward pass or sampling.</summary>
    public int JumpForwardTokens { get; init; }

    /// <summary>This request's speculative decoding counters; null when it verified no drafts.</summary>
    public Telemetry.SpeculationSummary? Speculation { get; init; }

    /// <summary>Prompt tokens actually computed per second until the first token.</summary>
    public double PrefillTokensPerSecond =>
        TimeToFirstToken > TimeSpan.Zero ? (PromptTokens - ReusedPromptTokens) / TimeToFirstToken.TotalSeconds : 0;

    /// <summary>Tokens after the first per second of decode time.</summary>
    public double DecodeTokensPerSecond =>
        CompletionTokens > 1 && DecodeTime > TimeSpan.Zero ? (CompletionTokens - 1) / DecodeTime.TotalSeconds : 0;
}
