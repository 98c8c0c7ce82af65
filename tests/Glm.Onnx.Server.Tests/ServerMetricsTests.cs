using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// GET /metrics over real loopback HTTP, parsed as Prometheus text: the gauges an inference gateway routes by
/// (waiting, running, KV cache use) move while requests run, and the counters and histograms add up afterwards.
/// </summary>
public sealed class ServerMetricsTests
{
    private const int BlockSize = 4; // ScriptedExecutor's
    private const int MaxTokens = 8;
    private const int StepMs = 40;
    private const string Body = """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":8}""";

    [Fact]
    public async Task GaugesMoveWhileRequestsRunAndCountersAddUp()
    {
        // A model label of its own: other tests' engines in this process export on the same meter.
        string model = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var chat = new ChatHarness(s => s.Fixed("<think></think>" + new string('z', 100)),
            scheduling: new SchedulerOptions(MaxSequences: 1), telemetry: new EngineTelemetryOptions(model));
        chat.Executor.StepDelayMilliseconds = StepMs;
        await using var server = await ServerHarness.StartAsync(chat);

        var idle = await Scrape.TakeAsync(server.Http, model);
        Assert.Equal((0.0, 0.0, 0.0), (idle.Value("glm_num_requests_running"), idle.Value("glm_num_requests_waiting"), idle.Value("glm_kv_cache_usage_perc")));
        Assert.Equal(0, idle.Value("glm_generation_tokens_total"));

        // Three requests, one running at a time; the first step is held until the scrape shows the other two waiting.
        // Between taking requests in and admitting one, the step thread briefly shows all three waiting: poll for the
        // state that holds while the first step is held.
        chat.Executor.Proceed.Reset();
        var all = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => server.PostAsync("/v1/chat/completions", Body)));
        try
        {
            Scrape during;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            do
            {
                await Task.Delay(10);
                during = await Scrape.TakeAsync(server.Http, model);
            }
            while ((during.Value("glm_num_requests_running"), during.Value("glm_num_requests_waiting")) != (1.0, 2.0) && DateTime.UtcNow < deadline);
            Assert.Equal((1.0, 2.0), (during.Value("glm_num_requests_running"), during.Value("glm_num_requests_waiting")));
            // The running request holds the blocks of its prompt (out of 2048), nobody else holds any.
            int promptBlocks = (chat.Tokenizer.Encode("[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi<|assistant|><think>").Length + BlockSize - 1) / BlockSize;
            Assert.Equal(promptBlocks / (double)chat.TotalBlocks, during.Value("glm_kv_cache_usage_perc"), 1e-9);
        }
        finally
        {
            chat.Executor.Proceed.Set();
        }
        foreach (var (status, _) in await all)
            Assert.Equal(200, status);
        await server.WaitForAllBlocksFreeAsync();

        var after = await Scrape.TakeAsync(server.Http, model);
        Assert.Equal((0.0, 0.0, 0.0), (after.Value("glm_num_requests_running"), after.Value("glm_num_requests_waiting"), after.Value("glm_kv_cache_usage_perc")));

        int prompt = chat.Tokenizer.Encode("[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi<|assistant|><think>").Length;
        Assert.Equal(3 * MaxTokens, after.Value("glm_generation_tokens_total"));
        Assert.Equal(3 * prompt, after.Value("glm_prompt_tokens_total"));
        Assert.Equal(3, after.Value("glm_request_success_total", "finished_reason", "length"));
        Assert.Equal(0, after.Value("glm_request_success_total", "finished_reason", "stop"));
        // The later two requests find the first one's full prompt blocks cached (one token is always recomputed).
        Assert.Equal(3 * prompt, after.Value("glm_prefix_cache_queries_total"));
        Assert.Equal(2 * ((prompt - 1) / BlockSize * BlockSize), after.Value("glm_prefix_cache_hits_total"));
        Assert.Equal(0, after.Value("glm_num_preemptions_total"));

        Assert.Equal(3, after.Value("glm_time_to_first_token_seconds_count"));
        Assert.Equal(3, after.Value("glm_e2e_request_latency_seconds_count"));
        Assert.Equal(3, after.Value("glm_request_queue_time_seconds_count"));
        Assert.Equal(3 * (MaxTokens - 1), after.Value("glm_inter_token_latency_seconds_count"));
        // Every decode step sleeps StepMs, so every gap between tokens is at least that long.
        Assert.True(after.Value("glm_inter_token_latency_seconds_sum") >= 3 * (MaxTokens - 1) * StepMs / 1000.0 * 0.9);
        Assert.Equal(3 * (MaxTokens - 1), after.Value("glm_inter_token_latency_seconds_bucket", "le", "+Inf"));
        Assert.Equal(0, after.Value("glm_inter_token_latency_seconds_bucket", "le", "0.025"));
        // The second request waits for the whole first one (MaxTokens steps), the third for two.
        Assert.True(after.Value("glm_request_queue_time_seconds_sum") >= 3 * MaxTokens * StepMs / 1000.0 * 0.75);
    }

    [Fact]
    public async Task SpeculativeDecodingCountersAreScrapedUnderTheirPrometheusNames()
    {
        string model = "spec-" + Guid.NewGuid().ToString("N")[..8];
        var chat = new ChatHarness(s => s.Fixed("z"), telemetry: new EngineTelemetryOptions(model));
        await using var server = await ServerHarness.StartAsync(chat);
        // Set directly, as the engine's step thread would after two verify steps of K = 3.
        chat.Engine.Speculation.RecordVerify(drafted: 3, accepted: 3);
        chat.Engine.Speculation.RecordVerify(drafted: 3, accepted: 1);
        var scrape = await Scrape.TakeAsync(server.Http, model);
        Assert.Equal(2, scrape.Value("glm_spec_decode_num_drafts_total"));
        Assert.Equal(6, scrape.Value("glm_spec_decode_num_draft_tokens_total"));
        Assert.Equal(4, scrape.Value("glm_spec_decode_num_accepted_tokens_total"));
        Assert.Equal(2, scrape.Value("glm_spec_decode_num_accepted_tokens_per_pos_total", "position", "0"));
        Assert.Equal(1, scrape.Value("glm_spec_decode_num_accepted_tokens_per_pos_total", "position", "1"));
        Assert.Equal(1, scrape.Value("glm_spec_decode_num_accepted_tokens_per_pos_total", "position", "2"));
    }
}
