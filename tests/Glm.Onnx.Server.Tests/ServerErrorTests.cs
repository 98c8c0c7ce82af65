using System.Net.Http.Headers;
using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>Refusals are OpenAI-shaped JSON errors with a 4xx status naming the field.</summary>
public sealed class ServerErrorTests
{
    private static void AssertError(int status, JsonElement body, int expectedStatus, string? param, string? code = null)
    {
        Assert.Equal(expectedStatus, status);
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (param is not null)
            Assert.Equal(param, error.GetProperty("param").GetString());
        if (code is not null)
            Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}""", null, "invalid_json")]
    [InlineData("""[1,2]""", null, "invalid_json")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model", null)]
    [InlineData("""{"model":"glm-tiny-chat"}""", "messages", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[]}""", "messages", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":5}]}""", "messages[0].content", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0].type", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"temperature":5}""", "temperature", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"top_p":0}""", "top_p", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"n":2}""", "n", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"stop":[""]}""", "stop", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""", "tool_choice", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}""", "reasoning_effort", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"logprobs":true}""", "logprobs", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}""", "response_format.type", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}""", "response_format.json_schema.schema", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"strin"}}}}""", "response_format.json_schema.schema", "invalid_response_format")]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":"{bad"}}]}]}""", "messages[0].tool_calls[0].function.arguments", null)]
    // A request may lower the server's --speculative-tokens (0 here), never raise it.
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"speculative_tokens":2}""", "speculative_tokens", null)]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"speculative_tokens":-1}""", "speculative_tokens", null)]
    public async Task BadRequestsGet400NamingTheField(string body, string? param, string? code)
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think></think>ok<|user|>"));
        var (status, json) = await server.PostAsync("/v1/chat/completions", body);
        AssertError(status, json, 400, param, code);
    }

    [Fact]
    public async Task UnknownModelGets404()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think></think>ok<|user|>"));
        var (status, json) = await server.PostAsync("/v1/chat/completions", """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""");
        AssertError(status, json, 404, "model", "model_not_found");
        (status, json) = await server.PostAsync("/v1/completions", """{"model":"gpt-4","prompt":"hi"}""");
        AssertError(status, json, 404, "model", "model_not_found");
    }

    [Fact]
    public async Task PromptBeyondTheContextGets400()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think></think>ok<|user|>"), maxSequenceLength: 64);
        var longText = string.Join(' ', Enumerable.Repeat("word", 100));
        var (status, json) = await server.PostAsync("/v1/chat/completions",
            $$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"{{longText}}"}]}""");
        AssertError(status, json, 400, "messages", "context_length_exceeded");
        Assert.Contains("64", json.GetProperty("error").GetProperty("message").GetString());
        (status, json) = await server.PostAsync("/v1/completions", $$"""{"model":"glm-tiny-chat","prompt":"{{longText}}"}""");
        AssertError(status, json, 400, "prompt", "context_length_exceeded");
        await server.WaitForAllBlocksFreeAsync();
    }

    [Fact]
    public async Task ApiKeyIsRequiredOnV1WhenConfigured()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think></think>ok<|user|>"), apiKey: "sekrit");
        const string body = """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}]}""";
        var (status, json) = await server.PostAsync("/v1/chat/completions", body);
        AssertError(status, json, 401, null, "invalid_api_key");
        (status, json) = await server.PostAsync("/v1/chat/completions", body, apiKey: "wrong");
        AssertError(status, json, 401, null, "invalid_api_key");
        (status, _) = await server.PostAsync("/v1/chat/completions", body, apiKey: "sekrit");
        Assert.Equal(200, status);
        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        Assert.Equal(401, (int)(await server.Http.SendAsync(models)).StatusCode);
        Assert.Equal(200, (int)(await server.Http.GetAsync("/health")).StatusCode);
    }
}
