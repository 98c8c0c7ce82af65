using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>/v1/completions, /v1/models and /health over real HTTP.</summary>
public sealed class ServerCompletionTests
{
    // Raw continuation: after "Once" the model writes " upon a time" and ends the text.
    private static Func<IReadOnlyList<int>, int> Continuation(ChatScripts s)
    {
        var prompt = s.Tokens("Once");
        var script = s.Tokens(" upon a time").Append(s.Id("<|endoftext|>")).ToArray();
        return h => h.Count >= prompt.Length && h.Count - prompt.Length < script.Length ? script[h.Count - prompt.Length] : s.Id("<|endoftext|>");
    }

    [Fact]
    public async Task CompletionReturnsTheContinuationWithoutTheEndToken()
    {
        await using var server = await ServerHarness.StartAsync(Continuation);
        var (status, body) = await server.PostAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":"Once","max_tokens":50,"temperature":0}""");
        Assert.Equal(200, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(" upon a time", choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(server.Chat.Tokenizer.Encode("Once").Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var (events, done, _) = await server.PostStreamAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":["Once"],"max_tokens":2,"stream":true}""");
        Assert.True(done);
        Assert.Equal(string.Concat(server.Chat.Tokenizer.Decode(server.Chat.Tokenizer.Encode(" upon a time")[..2])),
            string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal("length", events[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var ids = JsonSerializer.Serialize(server.Chat.Tokenizer.Encode("Once"));
        (status, body) = await server.PostAsync("/v1/completions", $$"""{"model":"glm-tiny-chat","prompt":{{ids}}}""");
        Assert.Equal((200, " upon a time"), (status, body.GetProperty("choices")[0].GetProperty("text").GetString()));
        (status, body) = await server.PostAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":[1, 99999]}""");
        Assert.Equal((400, "prompt"), (status, body.GetProperty("error").GetProperty("param").GetString()));
        (status, _) = await server.PostAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":"Once","echo":true}""");
        Assert.Equal(400, status);
    }

    /// <summary>
    /// With --speculative-tokens the reply is the plain one and the usage carries the request's speculative counters
    /// (drafts right at positions 0 and 1, wrong at 2: see ScriptDrafter); a request that sets speculative_tokens 0
    /// gets plain OpenAI usage; the engine's counters reach /metrics and its per-request log line.
    /// </summary>
    [Fact]
    public async Task SpeculativeDecodingAddsItsCountersToTheUsageAndTheMetrics()
    {
        string model = "spec-" + Guid.NewGuid().ToString("N")[..8];
        var logs = new CollectingLoggerProvider();
        var chat = new ChatHarness(Continuation, telemetry: new Glm.Onnx.Runtime.Telemetry.EngineTelemetryOptions(model, Logger: logs.CreateLogger("engine")),
            scriptDrafts: true);
        await using var server = await ServerHarness.StartAsync(chat, configure: o => o with { SpeculativeTokens = 3 });
        var (status, body) = await server.PostAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":"Once","max_tokens":50,"temperature":0}""");
        Assert.Equal((200, " upon a time"), (status, body.GetProperty("choices")[0].GetProperty("text").GetString()));
        var usage = body.GetProperty("usage");
        var spec = usage.GetProperty("speculative_decoding");
        long steps = spec.GetProperty("verify_steps").GetInt64(), drafts = spec.GetProperty("draft_tokens").GetInt64();
        var perPosition = spec.GetProperty("accepted_per_position").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.True(steps > 1 && drafts > steps && drafts <= 3 * steps, $"{drafts} drafts in {steps} verify steps");
        Assert.True(perPosition.Length == 2 && perPosition[0] >= perPosition[1] && perPosition[1] > 0, string.Join(',', perPosition));
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), perPosition.Sum() + steps + 1); // + the prefill's token
        // The engine's per-request log line carries the same counts (written as the request ends, maybe after the reply).
        string counts = $"drafts {drafts} ({perPosition.Sum()} accepted) in {steps} verify steps";
        for (int i = 0; i < 100 && !logs.Lines.Any(l => l.Contains(counts)); i++)
            await Task.Delay(50);
        Assert.Contains(logs.Lines, l => l.Contains("request ") && l.Contains(counts));

        (status, body) = await server.PostAsync("/v1/completions", """{"model":"glm-tiny-chat","prompt":"Once","max_tokens":50,"temperature":0,"speculative_tokens":0}""");
        Assert.Equal((200, " upon a time"), (status, body.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.False(body.GetProperty("usage").TryGetProperty("speculative_decoding", out _));

        var scrape = await Scrape.TakeAsync(server.Http, model);
        for (int i = 0; i < 100 && scrape.Value("glm_spec_decode_num_drafts_total") != steps; i++)
        {
            await Task.Delay(50); // the step thread may record the last verify step just after the reply went out
            scrape = await Scrape.TakeAsync(server.Http, model);
        }
        Assert.Equal((double)steps, scrape.Value("glm_spec_decode_num_drafts_total"));
        Assert.Equal((double)drafts, scrape.Value("glm_spec_decode_num_draft_tokens_total"));
        Assert.Equal((double)perPosition[1], scrape.Value("glm_spec_decode_num_accepted_tokens_per_pos_total", "position", "1"));
    }

    [Fact]
    public async Task ModelsAndHealth()
    {
        await using var server = await ServerHarness.StartAsync(Continuation);
        using var models = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models"));
        Assert.Equal("list", models.RootElement.GetProperty("object").GetString());
        Assert.Equal("glm-tiny-chat", Assert.Single(models.RootElement.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(404, (int)(await server.Http.GetAsync("/v1/models/other")).StatusCode);
        using var health = JsonDocument.Parse(await server.Http.GetStringAsync("/health"));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
    }
}
