using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// The engine's log lines (source-generated: nothing is formatted or boxed unless the level is enabled). Field names
/// are the structured properties a JSON log sink emits, so operators can query e.g. TtftMs across requests.
/// </summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "request {RequestId} finished ({FinishReason}): prompt {PromptTokens} tokens ({CachedTokens} cached), " +
                  "output {OutputTokens} tokens, queue {QueueMs:F1} ms, ttft {TtftMs:F1} ms, decode {DecodeMs:F1} ms " +
                  "({DecodeTokensPerSecond:F1} tok/s), preemptions {Preemptions}, " +
                  "drafts {DraftTokens} ({AcceptedDraftTokens} accepted) in {VerifySteps} verify steps")]
    public static partial void RequestFinished(ILogger logger, long requestId, string finishReason, int promptTokens, int cachedTokens,
        int outputTokens, double queueMs, double ttftMs, double decodeMs, double decodeTokensPerSecond, int preemptions,
        long draftTokens, long acceptedDraftTokens, long verifySteps);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "request {RequestId} cancelled after {OutputTokens} tokens")]
    public static partial void RequestCancelled(ILogger logger, long requestId, int outputTokens);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error,
        Message = "request {RequestId} failed after {OutputTokens} tokens: {Cause}")]
    public static partial void RequestFailed(ILogger logger, long requestId, int outputTokens, string cause, Exception error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error,
        Message = "step {Step} failed for {Sequences} sequences ({ConsecutiveFailures} failed steps in a row): {Cause}")]
    public static partial void StepFailed(ILogger logger, long step, int sequences, int consecutiveFailures, string cause, Exception error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Critical,
        Message = "the engine's step loop stopped; every request fails until the engine is recreated: {Cause}")]
    public static partial void LoopFaulted(ILogger logger, string cause, Exception error);
}
