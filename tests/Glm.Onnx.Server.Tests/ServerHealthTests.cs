using System.Text.Json;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Server;
using Glm.Onnx.Tests.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Tests;

/// <summary>The probes over real HTTP: /health stops saying "ok" while generation fails, readiness tells loading from ready.</summary>
public sealed class ServerHealthTests
{
    private const string Body = """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""";

    private static async Task<(int Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string Status(JsonElement body) => body.GetProperty("status").GetString()!;

    [Theory]
    [InlineData(ScriptedFault.NaN, "NaN")]
    [InlineData(ScriptedFault.Throw, "scripted executor failure")]
    public async Task HealthTurnsFailingAfterFailedStepsAndRecovers(ScriptedFault fault, string cause)
    {
        string model = "health-" + Guid.NewGuid().ToString("N")[..8];
        var logs = new CollectingLoggerProvider();
        using var chat = new ChatHarness(s => s.Fixed("<think></think>" + new string('f', 50)),
            telemetry: new EngineTelemetryOptions(model, Logger: logs.CreateLogger("engine"), FailedStepsBeforeUnhealthy: 2));
        var (app, addresses) = await GlmServer.StartAsync(ServedModel.Of(chat.Generator),
            new GlmServerOptions(ServerHarness.ModelId, ["http://127.0.0.1:0"]), logging => logging.AddProvider(logs));
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()) };

        var (status, health) = await GetAsync(http, "/health");
        Assert.Equal((200, "ok"), (status, Status(health)));
        Assert.Equal(chat.TotalBlocks, health.GetProperty("free_cache_blocks").GetInt32());

        chat.Executor.Fault = fault;
        for (int i = 0; i < 2; i++)
        {
            using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ServerHarness.Json(Body) });
            Assert.Equal(500, (int)response.StatusCode);
            if (i == 0)
                Assert.Equal(200, (await GetAsync(http, "/health")).Status); // one failed step is not yet "failing"
        }
        (status, health) = await GetAsync(http, "/health");
        Assert.Equal((503, "failing"), (status, Status(health)));
        Assert.Contains(cause, health.GetProperty("problem").GetString());
        Assert.Equal((503, "failing"), ((await GetAsync(http, "/health/live")).Status, Status((await GetAsync(http, "/health/live")).Body)));
        Assert.Equal(503, (await GetAsync(http, "/health/ready")).Status);

        var scrape = await Scrape.TakeAsync(http, model);
        Assert.Equal(2, scrape.Value("glm_request_failures_total", "reason", "error"));
        var lines = logs.Lines;
        Assert.Equal(2, lines.Count(l => l.StartsWith("Error Glm.Onnx.Server: 500 POST /v1/chat/completions: generation failed:", StringComparison.Ordinal) && l.Contains(cause)));
        Assert.Contains(lines, l => l.StartsWith("Error engine: step ", StringComparison.Ordinal) && l.Contains("2 failed steps in a row") && l.Contains(cause));

        chat.Executor.Fault = ScriptedFault.None;
        using (var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ServerHarness.Json(Body) }))
            Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal((200, "ok"), ((await GetAsync(http, "/health")).Status, Status((await GetAsync(http, "/health")).Body)));
        Assert.Equal((200, "ready"), ((await GetAsync(http, "/health/ready")).Status, Status((await GetAsync(http, "/health/ready")).Body)));
        Assert.Contains(logs.Lines, l => l.StartsWith("Information engine: request ", StringComparison.Ordinal) && l.Contains("finished (length)") &&
            l.Contains("output 4 tokens") && l.Contains("ttft "));
    }

    [Fact]
    public async Task ReadinessSaysLoadingUntilTheModelIsReady()
    {
        using var chat = new ChatHarness(s => s.Fixed("<think></think>" + new string('f', 50)));
        var served = new ServedModel();
        var (app, addresses) = await GlmServer.StartAsync(served, new GlmServerOptions(ServerHarness.ModelId, ["http://127.0.0.1:0"]), logging: null);
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()) };

        Assert.Equal((503, "loading"), ((await GetAsync(http, "/health/ready")).Status, Status((await GetAsync(http, "/health/ready")).Body)));
        Assert.Equal((200, "alive"), ((await GetAsync(http, "/health/live")).Status, Status((await GetAsync(http, "/health/live")).Body)));
        Assert.Equal((503, "loading"), ((await GetAsync(http, "/health")).Status, Status((await GetAsync(http, "/health")).Body)));
        using (var response = await http.PostAsync("/v1/chat/completions", ServerHarness.Json(Body)))
        {
            Assert.Equal(503, (int)response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("model_loading", error.GetProperty("code").GetString());
        }

        served.SetReady(chat.Generator);
        Assert.Equal((200, "ready"), ((await GetAsync(http, "/health/ready")).Status, Status((await GetAsync(http, "/health/ready")).Body)));
        Assert.Equal((200, "ok"), ((await GetAsync(http, "/health")).Status, Status((await GetAsync(http, "/health")).Body)));
        using (var response = await http.PostAsync("/v1/chat/completions", ServerHarness.Json(Body)))
            Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task AFailedLoadIsNeitherAliveNorReady()
    {
        var served = new ServedModel();
        var (app, addresses) = await GlmServer.StartAsync(served, new GlmServerOptions(ServerHarness.ModelId, ["http://127.0.0.1:0"]), logging: null);
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()) };
        served.SetFailed("stage-0.onnx is missing");
        var (status, body) = await GetAsync(http, "/health/live");
        Assert.Equal((503, "failed", "stage-0.onnx is missing"), (status, Status(body), body.GetProperty("problem").GetString()));
        Assert.Equal(503, (await GetAsync(http, "/health/ready")).Status);
    }
}
