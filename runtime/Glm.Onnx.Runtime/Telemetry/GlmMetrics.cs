namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// The names under which the engine reports through <see cref="System.Diagnostics.Metrics"/>: one meter,
/// <see cref="MeterName"/>, whose instruments follow vLLM's metric semantics (docs/deploy.md, "Metrics"). OpenTelemetry's
/// Prometheus exporter turns dots into underscores, appends <c>_total</c> to counters and <c>_seconds</c> to
/// instruments in seconds, so <see cref="RequestsWaiting"/> is scraped as <c>glm_num_requests_waiting</c>.
/// Every measurement carries the <see cref="ModelNameTag"/> tag.
/// </summary>
public static class GlmMetrics
{
    public const string MeterName = "Glm.Onnx.Runtime";

    /// <summary>Tag on every measurement: the served model's name (vLLM's <c>model_name</c> label).</summary>
    public const string ModelNameTag = "model_name";

    /// <summary>Tag of <see cref="RequestSuccess"/>: <c>stop</c> or <c>length</c>.</summary>
    public const string FinishedReasonTag = "finished_reason";

    /// <summary>Tag of <see cref="RequestFailures"/>: <c>error</c> or <c>cancelled</c>.</summary>
    public const string FailureTag = "reason";

    // Gauges (vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc).
    public const string RequestsRunning = "glm.num_requests_running";
    public const string RequestsWaiting = "glm.num_requests_waiting";
    public const string KvCacheUsage = "glm.kv_cache_usage_perc";

    // Counters (vllm:prefix_cache_queries / hits in tokens, prompt / generation tokens, preemptions, finished requests).
    public const string PrefixCacheQueries = "glm.prefix_cache_queries";
    public const string PrefixCacheHits = "glm.prefix_cache_hits";
    public const string PromptTokens = "glm.prompt_tokens";
    public const string GenerationTokens = "glm.generation_tokens";
    public const string Preemptions = "glm.num_preemptions";
    public const string RequestSuccess = "glm.request_success";
    public const string RequestFailures = "glm.request_failures";

    /// <summary>Tag of <see cref="SpecDecodeAcceptedTokensPerPosition"/>: the draft position, 0-based.</summary>
    public const string PositionTag = "position";

    // Speculative decoding counters (vllm:spec_decode_num_drafts, _num_draft_tokens, _num_accepted_tokens,
    // _num_accepted_tokens_per_pos): verify steps, draft tokens, accepted draft tokens, accepted by draft position.
    public const string SpecDecodeDrafts = "glm.spec_decode_num_drafts";
    public const string SpecDecodeDraftTokens = "glm.spec_decode_num_draft_tokens";
    public const string SpecDecodeAcceptedTokens = "glm.spec_decode_num_accepted_tokens";
    public const string SpecDecodeAcceptedTokensPerPosition = "glm.spec_decode_num_accepted_tokens_per_pos";

    // Histograms in seconds.
    public const string TimeToFirstToken = "glm.time_to_first_token";
    public const string InterTokenLatency = "glm.inter_token_latency";
    public const string RequestQueueTime = "glm.request_queue_time";
    public const string RequestLatency = "glm.e2e_request_latency";
}
