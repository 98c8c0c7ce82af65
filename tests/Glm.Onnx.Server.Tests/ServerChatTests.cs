using System.Text;
using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>/v1/chat/completions over real HTTP on loopback, scripted model replies with real tokens.</summary>
public sealed class ServerChatTests
{
    private const string Reply = "<think>Some reasoning.</think>Hello, world!<|user|>";

    private static string Body(bool stream, string extra = "") =>
        $$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"stream":{{(stream ? "true" : "false")}}{{extra}}}""";

    [Fact]
    public async Task NonStreamingReturnsReasoningContentAndUsage()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Reply));
        var (status, body) = await server.PostAsync("/v1/chat/completions", Body(false, ""","temperature":0,"top_p":1,"max_tokens":100"""));
        Assert.Equal(200, status);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("glm-tiny-chat", body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("Hello, world!", message.GetProperty("content").GetString());
        Assert.Equal("Some reasoning.", message.GetProperty("reasoning_content").GetString());
        var usage = body.GetProperty("usage");
        var tokenizer = server.Chat.Tokenizer;
        int prompt = tokenizer.Encode("[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi<|assistant|><think>").Length;
        int output = tokenizer.Encode("Some reasoning.</think>Hello, world!<|user|>").Length;
        Assert.Equal((prompt, output, prompt + output),
            (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32()));
        await server.WaitForAllBlocksFreeAsync();
    }

    [Fact]
    public async Task StreamingSendsRoleReasoningContentFinishUsageAndDone()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Reply));
        var (events, done, type) = await server.PostStreamAsync("/v1/chat/completions", Body(true, ""","stream_options":{"include_usage":true}"""));
        Assert.Equal("text/event-stream", type);
        Assert.True(done);
        Assert.All(events, e => Assert.Equal("chat.completion.chunk", e.GetProperty("object").GetString()));
        Assert.Single(events.Select(e => e.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var withChoice = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("choices")[0]).ToList();
        string Join(string field) => string.Concat(withChoice.Select(c => c.GetProperty("delta").TryGetProperty(field, out var v) ? v.GetString() : ""));
        Assert.Equal("Some reasoning.", Join("reasoning_content"));
        Assert.Equal("Hello, world!", Join("content"));
        Assert.True(withChoice.Count(c => c.GetProperty("delta").TryGetProperty("content", out var v) && v.GetString()!.Length > 0) > 1,
            "content arrives in several chunks");
        Assert.Equal("stop", withChoice[^1].GetProperty("finish_reason").GetString());
        Assert.All(withChoice[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
        var usage = events[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.True(usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        await server.WaitForAllBlocksFreeAsync();
    }

    private const string ToolsJson = """
        ,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
          "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]
        """;

    private const string ToolReply =
        "<think>Need the weather.</think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>" +
        "<arg_key>days</arg_key><arg_value>3</arg_value></tool_call><|observation|>";

    [Fact]
    public async Task ToolCallsAreReturnedWithJsonArguments()
    {
        await using var server = await ServerHarness.StartAsync(s => s.AfterAssistant(h =>
            s.Text(h).Contains("<tools>") && s.Text(h).Contains("\"name\": \"get_weather\"") ? ToolReply : "<think></think>no tools<|user|>"));
        var (status, body) = await server.PostAsync("/v1/chat/completions", Body(false, ToolsJson));
        Assert.Equal(200, status);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        Assert.Equal("Need the weather.", message.GetProperty("reasoning_content").GetString());
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.StartsWith("call_", call.GetProperty("id").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        using var args = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!);
        Assert.Equal("Paris", args.RootElement.GetProperty("city").GetString());
        Assert.Equal(3, args.RootElement.GetProperty("days").GetInt32());

        var (events, done, _) = await server.PostStreamAsync("/v1/chat/completions", Body(true, ToolsJson));
        Assert.True(done);
        var choices = events.Select(e => e.GetProperty("choices")[0]).ToList();
        var streamed = Assert.Single(choices, c => c.GetProperty("delta").TryGetProperty("tool_calls", out _))
            .GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal(0, streamed.GetProperty("index").GetInt32());
        Assert.Equal("get_weather", streamed.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("tool_calls", choices[^1].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ToolResultsAndAssistantToolCallsAreRenderedIntoThePrompt()
    {
        await using var server = await ServerHarness.StartAsync(s => s.AfterAssistant(h =>
            s.Text(h).Contains("<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call><|observation|><tool_response>sunny</tool_response>")
                ? "<think></think>It is sunny.<|user|>" : "<think></think>wrong prompt<|user|>"));
        const string body = """
            {"model":"glm-tiny-chat","messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
             "reasoning_effort":"none"
            """ + ToolsJson + "}";
        var (status, response) = await server.PostAsync("/v1/chat/completions", body);
        Assert.Equal(200, status);
        Assert.Equal("It is sunny.", response.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task SixteenConcurrentClientsAreBatchedAndEachGetsItsOwnAnswer()
    {
        await using var server = await ServerHarness.StartAsync(s => s.AfterAssistant(h => "<think></think>echo: " + s.LastUserText(h) + "<|user|>"));
        server.Chat.Executor.StepDelayMilliseconds = 1;
        var tasks = Enumerable.Range(0, 16).Select(async i =>
        {
            string question = $"question {i} {new string((char)('a' + i), i + 1)}";
            bool stream = i % 2 == 0;
            string body = $$$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"{{{question}}}"}],"stream":{{{(stream ? "true" : "false")}}},"chat_template_kwargs":{"enable_thinking":false}}""";
            if (!stream)
            {
                var (status, json) = await server.PostAsync("/v1/chat/completions", body);
                Assert.Equal(200, status);
                return (question, json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }
            var (events, _, _) = await server.PostStreamAsync("/v1/chat/completions", body);
            var text = new StringBuilder();
            foreach (var e in events)
                if (e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c))
                    text.Append(c.GetString());
            return (question, text.ToString());
        }).ToList();
        var answers = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(10));
        Assert.All(answers, a => Assert.Equal("echo: " + a.question, a.Item2));
        Assert.True(server.Chat.Executor.MaxBatch > 1, $"expected batched steps, the largest batch had {server.Chat.Executor.MaxBatch} sequence(s)");
        await server.WaitForAllBlocksFreeAsync();
    }

    [Fact]
    public async Task ClientDisconnectMidStreamCancelsGenerationAndFreesBlocks()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed("<think></think>" + new string('z', 4000)));
        server.Chat.Executor.StepDelayMilliseconds = 3;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
               { Content = ServerHarness.Json(Body(true, ""","max_tokens":3000,"reasoning_effort":"none" """)) })
        {
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            int contentChunks = 0;
            while (contentChunks < 5 && await reader.ReadLineAsync() is { } line)
                if (line.Contains("\"content\":\"z"))
                    contentChunks++;
            Assert.Equal(5, contentChunks);
            Assert.True(server.Chat.Engine.FreeBlockCount < server.Chat.TotalBlocks, "the request holds blocks while it streams");
        } // disposing the response closes the connection mid-stream
        await server.WaitForAllBlocksFreeAsync();
        long calls = server.Chat.Executor.ForwardCalls;
        await Task.Delay(100);
        Assert.Equal(calls, server.Chat.Executor.ForwardCalls); // nothing is generating any more
        Assert.True(calls < 1000, $"generation stopped early ({calls} steps of at most 3000)");
    }
}
