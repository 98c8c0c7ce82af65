using System.Text.Json;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Tests.Fakes;
using Microsoft.Extensions.AI;

namespace Glm.Onnx.Tests;

/// <summary>
/// The server and the IChatClient over the same engine and the same scripted output report the same finish reason
/// and the same tool-call ids: "call_" + the first 16 hex digits of their response id + "_" + the call's index.
/// </summary>
public sealed class ProtocolAgreementTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    private const string TwoCalls =
        "<think></think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>" +
        "<tool_call>get_time<arg_key>zone</arg_key><arg_value>CET</arg_value></tool_call><|observation|>";

    private const string ToolsJson = """
        [{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
         {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}]
        """;

    private static readonly AITool[] Tools =
    [
        AIFunctionFactory.CreateDeclaration("get_weather", null,
            JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}}}""").RootElement),
        AIFunctionFactory.CreateDeclaration("get_time", null,
            JsonDocument.Parse("""{"type":"object","properties":{"zone":{"type":"string"}}}""").RootElement),
    ];

    [Theory]
    [InlineData(TwoCalls, 100, "tool_calls", 2)]
    [InlineData("<think></think>Plain answer.<|user|>", 100, "stop", 0)]
    [InlineData("<think></think>A long answer that the token limit cuts.<|user|>", 3, "length", 0)]
    public async Task ServerAndChatClientReportTheSameFinishReasonAndToolCallIds(string script, int maxTokens, string finish, int calls)
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(script));
        string body = $$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"reasoning_effort":"none","max_tokens":{{maxTokens}},"tools":{{ToolsJson}}}""";
        string[] expectedIds = [.. Enumerable.Range(0, calls).Select(i => $"call_<response>_{i}")];

        var (status, json) = await server.PostAsync("/v1/chat/completions", body);
        Assert.Equal(200, status);
        var choice = json.GetProperty("choices")[0];
        string responseId = json.GetProperty("id").GetString()!;
        Assert.Equal(finish, choice.GetProperty("finish_reason").GetString());
        Assert.Equal(expectedIds, ToolCallIds(choice.GetProperty("message")).Select(id => Relative(id, responseId)));

        var (events, done, _) = await server.PostStreamAsync("/v1/chat/completions", body.Replace("{\"model\"", "{\"stream\":true,\"model\""));
        Assert.True(done);
        string streamId = events[0].GetProperty("id").GetString()!;
        var streamChoices = events.Select(e => e.GetProperty("choices")[0]).ToList();
        Assert.Equal(finish, streamChoices[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(expectedIds, streamChoices.SelectMany(c => ToolCallIds(c.GetProperty("delta"))).Select(id => Relative(id, streamId)));

        using var client = new GlmChatClient(server.Chat.Generator);
        var options = new ChatOptions { Tools = Tools, MaxOutputTokens = maxTokens, Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None } };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], options).WaitAsync(Timeout);
        Assert.Equal(finish, response.FinishReason?.Value);
        var clientIds = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Select(c => c.CallId);
        Assert.Equal(expectedIds, clientIds.Select(id => Relative(id, response.ResponseId!)));
        await server.WaitForAllBlocksFreeAsync();
    }

    private static IEnumerable<string> ToolCallIds(JsonElement message) =>
        message.TryGetProperty("tool_calls", out var calls) ? calls.EnumerateArray().Select(c => c.GetProperty("id").GetString()!) : [];

    // The part of a tool-call id that depends on its response, written as "<response>" (checked to be the response's).
    private static string Relative(string callId, string responseId)
    {
        Assert.StartsWith("chatcmpl-", responseId);
        string digits = responseId.Substring("chatcmpl-".Length, 16);
        Assert.StartsWith("call_" + digits + "_", callId);
        return callId.Replace(digits, "<response>", StringComparison.Ordinal);
    }
}
