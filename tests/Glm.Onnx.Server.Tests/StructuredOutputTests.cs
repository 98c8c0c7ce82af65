using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Server;
using Glm.Onnx.Tests.Fakes;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace Glm.Onnx.Tests;

/// <summary>
/// Structured output end to end on models/glm-tiny-chat. Its weights are random, so only the grammar can make the
/// output valid: every answer that ends with "stop" must parse and validate under an independent validator
/// (JsonSchema.Net), over several seeds, streaming and not, through the server and IChatClient.
/// </summary>
public sealed class StructuredOutputTests : IClassFixture<TinyChatModelTests.Converted>
{
    // Short schemas, so a random model under the grammar can finish within max_tokens.
    public static readonly TheoryData<string> Schemas = new()
    {
        """{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["ok"],"additionalProperties":false}""",
        """{"type":"string","enum":["red","green","blue"]}""",
        """{"type":"object","properties":{"tags":{"type":"array","items":{"enum":["a","b"]},"minItems":1,"maxItems":3}},"required":["tags"],"additionalProperties":false}""",
        """{"type":"integer","minimum":-5,"maximum":20}""",
        """{"type":"string","pattern":"^[a-c]{2,4}$"}""",
        """{"type":"object","properties":{"p":{"type":"object","properties":{"x":{"type":"number","minimum":0,"maximum":1}},"required":["x"],"additionalProperties":false}},"required":["p"],"additionalProperties":false}""",
    };

    private const int Seeds = 4;

    // Generous: the machine running the tests may be loaded; the limit only stops a hang.
    private static readonly TimeSpan HttpWait = TimeSpan.FromMinutes(10);

    private readonly TinyChatModelTests.Converted _converted;

    public StructuredOutputTests(TinyChatModelTests.Converted converted) => _converted = converted;

    private static void AssertValid(string schema, string text)
    {
        var node = JsonNode.Parse(text); // throws (fails the test) on text that is not JSON
        var result = JsonSchema.FromText(schema).Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"output {text} does not validate against {schema}");
    }

    private static string ChatBody(string schema, int seed, bool stream) =>
        $$$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Answer in JSON"}],"max_tokens":120,"temperature":1,"seed":{{{seed}}},"stream":{{{(stream ? "true" : "false")}}},"chat_template_kwargs":{"enable_thinking":false},"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":""" + schema + "}}}";

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task ServerAnswersValidateAgainstTheSchema(string schema)
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            int stops = 0, runs = 0;
            foreach (var stream in new[] { false, true })
                for (int seed = 1; seed <= Seeds; seed++)
                {
                    var (text, finish, usage) = await PostChatAsync(http, ChatBody(schema, seed, stream), stream);
                    runs++;
                    if (finish != "stop")
                        continue;
                    stops++;
                    AssertValid(schema, text);
                    if (usage is { } u)
                        Assert.True(u.TryGetProperty("mask_ms", out var ms) && ms.GetDouble() >= 0, "usage reports mask_ms");
                }
            Assert.True(stops * 4 >= runs * 3, $"only {stops} of {runs} runs finished with stop");
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
        Assert.Equal(1, loaded.Generator.Grammars.Count); // compiled once for all 8 requests
    }

    [Fact]
    public async Task JsonModeAndCompletionsAnswerWithJson()
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            int stops = 0;
            for (int seed = 1; seed <= Seeds; seed++)
            {
                var body = $$$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"JSON"}],"max_tokens":150,"temperature":1,"seed":{{{seed}}},"reasoning_effort":"none","response_format":{"type":"json_object"}}""";
                var (text, finish, _) = await PostChatAsync(http, body, stream: false);
                if (finish != "stop")
                    continue;
                stops++;
                Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
            }
            Assert.True(stops >= 1, "no JSON-mode answer finished");

            const string schema = """{"type":"object","properties":{"v":{"enum":[1,2,3]}},"required":["v"],"additionalProperties":false}""";
            int completionStops = 0;
            for (int seed = 1; seed <= Seeds; seed++)
            {
                var body = $$$"""{"model":"glm-tiny-chat","prompt":"Data:","max_tokens":40,"temperature":1,"seed":{{{seed}}},"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":""" + schema + "}}}";
                using var reply = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
                Assert.Equal(200, (int)reply.StatusCode);
                var choice = JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0];
                if (choice.GetProperty("finish_reason").GetString() != "stop")
                    continue;
                completionStops++;
                AssertValid(schema, choice.GetProperty("text").GetString()!);
            }
            Assert.True(completionStops >= Seeds - 1, $"only {completionStops} of {Seeds} completions finished with stop");
            await app.StopAsync();
        }
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"strin"}}}""", "/properties/a")]
    [InlineData("""{"type":"string","pattern":"(unclosed"}""", "pattern")]
    public async Task AnUnusableSchemaIsA400NamingItBeforeGenerating(string schema, string named)
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(ChatBody(schema, 1, false), Encoding.UTF8, "application/json"));
            await AssertRefused(reply, named);
            // The same on /v1/completions.
            var completion = """{"model":"glm-tiny-chat","prompt":"Data:","max_tokens":8,"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":""" + schema + "}}}";
            using var raw = await http.PostAsync("/v1/completions", new StringContent(completion, Encoding.UTF8, "application/json"));
            await AssertRefused(raw, named);
            await app.StopAsync();
        }
        Assert.Equal(0, loaded.Engine.StepCount); // refused before any generation

        // IChatClient: the engine's exception, naming the same, before anything is generated.
        using var client = new GlmChatClient(loaded.Generator, new GlmChatClientOptions("glm-tiny-chat"));
        var options = new ChatOptions { MaxOutputTokens = 8, ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement, "answer") };
        var error = await Assert.ThrowsAsync<Glm.Onnx.Grammar.GrammarException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], options));
        Assert.Contains(named, error.Message);
        Assert.Equal(0, loaded.Engine.StepCount);
    }

    private static async Task AssertRefused(HttpResponseMessage reply, string named)
    {
        var raw = await reply.Content.ReadAsStringAsync();
        Assert.True(400 == (int)reply.StatusCode, raw);
        var error = JsonDocument.Parse(raw).RootElement.GetProperty("error");
        Assert.Equal("response_format.json_schema.schema", error.GetProperty("param").GetString());
        Assert.Equal("invalid_response_format", error.GetProperty("code").GetString());
        Assert.Contains(named, error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("""{"enum":[]}""", "accepts nothing")]
    [InlineData("false", "accepts nothing")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","pattern":"^(x|y)$"},"b":{"enum":["p","q"]},"c":{"type":"integer","minimum":1,"maximum":99}}}""", "CompileTimeout")]
    public async Task ASchemaWithNoAnswerOrOverTheCompileLimitIsA400(string schema, string named)
    {
        // The server's compile time limit, set absurdly low so that any schema reaches it.
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var options = new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"])
        {
            GrammarCompileTimeout = named == "CompileTimeout" ? TimeSpan.FromTicks(10) : TimeSpan.FromSeconds(10),
        };
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, options);
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(ChatBody(schema, 1, false), Encoding.UTF8, "application/json"));
            await AssertRefused(reply, named);
            await app.StopAsync();
        }
        Assert.Equal(0, loaded.Engine.StepCount);
    }

    [Fact]
    public async Task ASchemaPartWithNoValueEndsTheRequestWithAClearErrorAndTheEngineStaysHealthy()
    {
        // "a" is required and nothing satisfies its schema: after {"a": no token may follow and the value cannot end.
        const string schema = """{"type":"object","properties":{"a":{"enum":[]}},"required":["a"],"additionalProperties":false}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            for (int round = 0; round < 4; round++)
            {
                using var plain = await http.PostAsync("/v1/chat/completions", new StringContent(ChatBody(schema, round, false), Encoding.UTF8, "application/json"));
                var raw = await plain.Content.ReadAsStringAsync();
                Assert.True(400 == (int)plain.StatusCode, raw);
                Assert.Equal("grammar_dead_end", JsonDocument.Parse(raw).RootElement.GetProperty("error").GetProperty("code").GetString());

                using var streamed = await http.PostAsync("/v1/chat/completions", new StringContent(ChatBody(schema, round, true), Encoding.UTF8, "application/json"));
                var events = await streamed.Content.ReadAsStringAsync();
                Assert.Contains("\"grammar_dead_end\"", events);
                Assert.EndsWith("data: [DONE]", events.TrimEnd());

                var completion = """{"model":"glm-tiny-chat","prompt":"Data:","max_tokens":30,"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":""" + schema + "}}}";
                using var text = await http.PostAsync("/v1/completions", new StringContent(completion, Encoding.UTF8, "application/json"));
                Assert.Equal(400, (int)text.StatusCode);
            }
            // Twelve failed requests in a row, and the engine is still healthy and serving.
            Assert.Equal(Glm.Onnx.Runtime.Telemetry.EngineHealthStatus.Healthy, loaded.Engine.Health.Status);
            var (_, finish, _) = await PostChatAsync(http, ChatBody("""{"type":"boolean"}""", 1, false), stream: false);
            Assert.Equal("stop", finish);
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
    }

    [Fact]
    public async Task WithReasoningOnEveryStoppedAnswerValidates()
    {
        // The reasoning block is free text but cannot end the reply: the answer under the schema must follow it.
        const string schema = """{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            int stops = 0;
            foreach (var stream in new[] { false, true })
                for (int seed = 1; seed <= Seeds; seed++)
                {
                    var body = ChatBody(schema, seed, stream).Replace("\"enable_thinking\":false", "\"enable_thinking\":true").Replace("\"max_tokens\":120", "\"max_tokens\":200");
                    var (text, finish, _) = await PostChatAsync(http, body, stream);
                    Assert.True(finish is "stop" or "length", $"finish {finish}");
                    if (finish != "stop")
                        continue;
                    stops++;
                    AssertValid(schema, text);
                }
            Assert.True(stops >= 1, "no answer with reasoning finished within max_tokens");
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task ASchemaWithNoFiniteValueEndsWithLengthInsteadOfHanging()
    {
        // Every "a" must hold another object with "a": no value ends, so only max_tokens can stop the output.
        const string schema = """{"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"],"additionalProperties":false}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            foreach (var stream in new[] { false, true })
            {
                var (text, finish, _) = await PostChatAsync(http, ChatBody(schema, 3, stream).Replace("\"max_tokens\":120", "\"max_tokens\":40"), stream);
                Assert.Equal("length", finish);
                Assert.StartsWith("{\"a\":{\"a\":", text);
            }
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
    }

    [Fact]
    public async Task OfficialOpenAiNpmClientGetsSchemaValidAnswers()
    {
        const string schema = """{"type":"object","properties":{"color":{"enum":["red","green"]},"n":{"type":"integer","minimum":1,"maximum":3}},"required":["color"],"additionalProperties":false}""";
        var node = ProcessRunner.Require("node");
        var clientDir = OpenAiNpmClient.Directory;
        await OpenAiNpmClient.InstallAsync();

        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"], "test-key"));
        await using (app)
        {
            var (code, output) = await ProcessRunner.RunAsync(node, ["client.mjs"], clientDir, new Dictionary<string, string>
            {
                ["GLM_BASE_URL"] = addresses.Single() + "/v1",
                ["GLM_API_KEY"] = "test-key",
                ["GLM_MODEL"] = "glm-tiny-chat",
                ["GLM_EXPECT_REASONING"] = "",
                ["GLM_EXPECT_CONTENT"] = "",
                ["GLM_SCHEMA"] = schema,
            }, timeoutSeconds: 600);
            Assert.True(code == 0, $"the openai client failed ({code}):\n{output}");
            var answers = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.GetProperty("answers").EnumerateArray().ToList();
            Assert.Equal(6, answers.Count);
            var stopped = answers.Where(a => a.GetProperty("finish").GetString() == "stop").ToList();
            Assert.True(stopped.Count >= 5, $"only {stopped.Count} of 6 answers finished with stop");
            foreach (var answer in stopped)
                AssertValid(schema, answer.GetProperty("content").GetString()!);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task ChatClientResponseFormatConstrainsTheAnswer()
    {
        const string schema = """{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        using var client = new GlmChatClient(loaded.Generator, new GlmChatClientOptions("glm-tiny-chat"));
        int stops = 0;
        for (int seed = 1; seed <= Seeds; seed++)
        {
            var options = new ChatOptions
            {
                MaxOutputTokens = 60, Temperature = 1f, Seed = seed,
                ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement, "answer"),
                Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None },
            };
            if (seed % 2 == 0)
            {
                var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], options);
                if (response.FinishReason != ChatFinishReason.Stop)
                    continue;
                stops++;
                AssertValid(schema, response.Text);
            }
            else
            {
                var text = new StringBuilder();
                ChatFinishReason? finish = null;
                await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], options))
                {
                    text.Append(update.Text);
                    finish ??= update.FinishReason;
                }
                if (finish != ChatFinishReason.Stop)
                    continue;
                stops++;
                AssertValid(schema, text.ToString());
            }
        }
        Assert.True(stops >= Seeds - 1, $"only {stops} of {Seeds} answers finished with stop");
    }

    private static async Task<(string Text, string? Finish, JsonElement? Usage)> PostChatAsync(HttpClient http, string body, bool stream)
    {
        using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = await reply.Content.ReadAsStringAsync();
        Assert.True(200 == (int)reply.StatusCode, raw);
        if (!stream)
        {
            var root = JsonDocument.Parse(raw).RootElement;
            var choice = root.GetProperty("choices")[0];
            return (choice.GetProperty("message").GetProperty("content").GetString() ?? "", choice.GetProperty("finish_reason").GetString(),
                root.GetProperty("usage").Clone());
        }
        var text = new StringBuilder();
        string? finish = null;
        foreach (var line in raw.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
                continue;
            var chunk = JsonDocument.Parse(line["data: ".Length..]).RootElement;
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    text.Append(c.GetString());
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                    finish = choice.GetProperty("finish_reason").GetString();
            }
        }
        return (text.ToString(), finish, null);
    }
}
