using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// The clients GLM-5.2's users already have, unchanged, against the server: the official openai npm package
/// (tests/openai-client, installed here with npm ci from its lockfile) and plain curl.
/// </summary>
public sealed class OpenAiClientTests
{
    private const string Reasoning = "The user greets me.";
    private const string Content = "Hello! How can I help?";
    private const string Script = "<think>" + Reasoning + "</think>" + Content + "<|user|>";

    [Fact]
    public async Task OfficialOpenAiNpmClientStreamsContentAndReasoning()
    {
        var node = ProcessRunner.Require("node");
        var clientDir = OpenAiNpmClient.Directory;
        await OpenAiNpmClient.InstallAsync();

        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script), apiKey: "test-key");
        var (code, output) = await ProcessRunner.RunAsync(node, ["client.mjs"], clientDir, new Dictionary<string, string>
        {
            ["GLM_BASE_URL"] = server.BaseAddress + "/v1",
            ["GLM_API_KEY"] = "test-key",
            ["GLM_MODEL"] = ServerHarness.ModelId,
            ["GLM_EXPECT_REASONING"] = Reasoning,
            ["GLM_EXPECT_CONTENT"] = Content,
        }, timeoutSeconds: 600);
        Assert.True(code == 0, $"the openai client failed ({code}):\n{output}");
        var summary = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.True(summary.GetProperty("ok").GetBoolean());
        Assert.True(summary.GetProperty("chunks").GetInt32() > 3, "the reply was streamed in several chunks");
        await server.WaitForAllBlocksFreeAsync();
    }

    [Fact]
    public async Task CurlGetsStreamedAndPlainCompletions()
    {
        var curl = ProcessRunner.Require("curl");
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script));
        const string body = """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":100,"stream":true}""";
        var (code, output) = await ProcessRunner.RunAsync(curl,
            ["-sS", "-N", "-H", "Content-Type: application/json", "-d", body, server.BaseAddress + "/v1/chat/completions"], Path.GetTempPath());
        Assert.True(code == 0, output);
        var events = output.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        string Join(string field) => string.Concat(events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]
            .GetProperty("delta")).Select(d => d.TryGetProperty(field, out var v) ? v.GetString() : ""));
        Assert.Equal((Reasoning, Content), (Join("reasoning_content"), Join("content")));

        (code, output) = await ProcessRunner.RunAsync(curl,
            ["-sS", "-H", "Content-Type: application/json", "-d", body.Replace("\"stream\":true", "\"stream\":false"), server.BaseAddress + "/v1/chat/completions"],
            Path.GetTempPath());
        Assert.True(code == 0, output);
        var message = JsonDocument.Parse(output).RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal((Reasoning, Content), (message.GetProperty("reasoning_content").GetString(), message.GetProperty("content").GetString()));
    }
}
