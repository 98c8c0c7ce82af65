using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// Seeded random mutations of valid chat-completion requests sent to the real server: every answer is a success or
/// an OpenAI-shaped 4xx, never a 500 (an unhandled exception in the request parser).
/// </summary>
public sealed class RequestFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"model":"glm-tiny-chat","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0.5,"top_p":0.9,"stop":["x"],"seed":3}""",
        """{"model":"glm-tiny-chat","messages":[{"role":"user","content":[{"type":"text","text":"weather?"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto","max_tokens":4}""",
        """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"reasoning_effort":"high","max_completion_tokens":3,"response_format":{"type":"text"}}""",
    ];

    [Fact]
    public async Task ChatCompletionsNeverAnswer500()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think>r</think>ok<|user|>"));
        var mutator = new InputMutator(11);
        var failures = new List<string>();
        for (int i = 0; i < 1200 && failures.Count < 10; i++)
        {
            var seed = Seeds[i % Seeds.Length];
            byte[] body = i % 3 == 2
                ? mutator.MutateBytes(Encoding.UTF8.GetBytes(seed))
                : Encoding.UTF8.GetBytes(mutator.MutateJson(JsonNode.Parse(seed)!).ToJsonString());
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await server.Http.PostAsync("/v1/chat/completions", content);
            var text = await response.Content.ReadAsStringAsync();
            int status = (int)response.StatusCode;
            if (status >= 500 || (status >= 400 && !text.Contains("\"error\"", StringComparison.Ordinal)))
                failures.Add($"case {i}: {status} {text[..Math.Min(300, text.Length)]}\n  body: {Encoding.UTF8.GetString(body)[..Math.Min(400, body.Length)]}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await server.WaitForAllBlocksFreeAsync();
    }
}
