using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Server;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace Glm.Onnx.Tests;

/// <summary>
/// Required tool calls on models/glm-tiny-chat (random weights) are generated under the grammar of GLM's tool-call
/// markup, so every call names an offered tool and its arguments parse and validate against that tool's parameters
/// (checked with JsonSchema.Net), streamed or not, through the server and IChatClient; with a response format and
/// tools under tool_choice auto, every answer is either content that validates or tool calls, nothing else.
/// </summary>
public sealed class ToolCallGrammarTests : IClassFixture<TinyChatModelTests.Converted>
{
    private const string WeatherParameters =
        """{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Oslo"]},"days":{"type":"integer","minimum":1,"maximum":7},"metric":{"type":"boolean"}},"required":["city","days"]}""";

    private const string TimeParameters =
        """{"type":"object","properties":{"zone":{"enum":["UTC","CET"]},"precise":{"type":"boolean"}},"required":["zone"]}""";

    private static readonly Dictionary<string, string> Parameters = new() { ["get_weather"] = WeatherParameters, ["get_time"] = TimeParameters };

    // Generous: the machine running the tests may be loaded; the limit only stops a hang.
    private static readonly TimeSpan HttpWait = TimeSpan.FromMinutes(10);

    private readonly TinyChatModelTests.Converted _converted;

    private static void AssertArgumentsValid(string tool, string arguments)
    {
        Assert.True(Parameters.ContainsKey(tool), $"unknown tool {tool}");
        var result = JsonSchema.FromText(Parameters[tool]).Evaluate(JsonNode.Parse(arguments), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"arguments {arguments} of {tool} do not validate");
    }

    public ToolCallGrammarTests(TinyChatModelTests.Converted converted) => _converted = converted;

    private static string Body(string toolChoice, int seed, bool stream) =>
        $$$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Weather?"}],"max_tokens":80,"temperature":1,"seed":{{{seed}}},"stream":{{{(stream ? "true" : "false")}}},"tool_choice":{{{toolChoice}}},"tools":[{"type":"function","function":{"name":"get_weather","parameters":{{{WeatherParameters}}}}},{"type":"function","function":{"name":"get_time","parameters":{{{TimeParameters}}}}}]}""";

    [Theory]
    [InlineData("\"required\"", null)]
    [InlineData("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}", "get_weather")]
    public async Task RequiredToolCallsCarryValidArguments(string toolChoice, string? name)
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            int calls = 0, runs = 0;
            var names = new HashSet<string>();
            foreach (var stream in new[] { false, true })
                for (int seed = 1; seed <= 4; seed++)
                {
                    runs++;
                    using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(Body(toolChoice, seed, stream), Encoding.UTF8, "application/json"));
                    var raw = await reply.Content.ReadAsStringAsync();
                    Assert.True(200 == (int)reply.StatusCode, raw);
                    var (finish, toolCalls, _) = stream ? FromStream(raw) : FromBody(raw);
                    // Under a required call the reply is the call: it ends with tool_calls, or is cut by max_tokens.
                    Assert.True(finish is "tool_calls" or "length", $"finish {finish}: {raw}");
                    if (finish != "tool_calls")
                        continue;
                    foreach (var (tool, arguments) in toolCalls)
                    {
                        calls++;
                        names.Add(tool);
                        if (name is not null)
                            Assert.Equal(name, tool);
                        AssertArgumentsValid(tool, arguments);
                    }
                }
            Assert.True(calls * 4 >= runs * 3, $"only {calls} tool calls in {runs} runs");
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
    }

    [Theory]
    [InlineData(true, 400)]
    [InlineData(false, 200)]
    public async Task AStrictToolUnderAutoHasItsCallGrammarCompiledBeforeGeneration(bool strict, int status)
    {
        // A raw string argument with "pattern" is something the tool-call grammar refuses: only a strict tool under
        // tool_choice auto gets that grammar (and the 400 naming the keyword); a plain one is free text as before.
        var body = """{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"tool_choice":"auto","tools":[{"type":"function","function":{"name":"f","strict":""" +
                   (strict ? "true" : "false") +
                   ""","parameters":{"type":"object","properties":{"s":{"type":"string","pattern":"^a+$"}}}}}]}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var raw = await reply.Content.ReadAsStringAsync();
            Assert.True(status == (int)reply.StatusCode, raw);
            if (strict)
                Assert.Contains("pattern", raw);
            await app.StopAsync();
        }
    }

    private const string AnswerSchema =
        """{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["ok"],"additionalProperties":false}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResponseFormatWithToolsAnswersWithValidContentOrValidToolCalls(bool thinking)
    {
        // get_weather is strict (arguments under its schema), get_time is not (well-formed markup, free values).
        string Body(int seed, bool stream) =>
            $$$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Weather?"}],"max_tokens":{{{(thinking ? 200 : 80)}}},"temperature":1,"seed":{{{seed}}},"stream":{{{(stream ? "true" : "false")}}},"chat_template_kwargs":{"enable_thinking":{{{(thinking ? "true" : "false")}}}},"tool_choice":"auto","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{{{AnswerSchema}}}}},"tools":[{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{{{WeatherParameters}}}}},{"type":"function","function":{"name":"get_time","parameters":{{{TimeParameters}}}}}]}""";
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = HttpWait };
            int finished = 0, runs = 0;
            foreach (var stream in new[] { false, true })
                for (int seed = 1; seed <= 6; seed++)
                {
                    runs++;
                    using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(Body(seed, stream), Encoding.UTF8, "application/json"));
                    var raw = await reply.Content.ReadAsStringAsync();
                    Assert.True(200 == (int)reply.StatusCode, raw);
                    var (finish, calls, content) = stream ? FromStream(raw) : FromBody(raw);
                    if (finish == "stop")
                    {
                        // Content under the response format, and no call.
                        Assert.Empty(calls);
                        var result = JsonSchema.FromText(AnswerSchema).Evaluate(JsonNode.Parse(content), new EvaluationOptions { OutputFormat = OutputFormat.List });
                        Assert.True(result.IsValid, $"content {content} does not validate");
                        finished++;
                    }
                    else if (finish == "tool_calls")
                    {
                        // Calls only: no free text beside them; the strict tool's arguments validate.
                        Assert.True(content.Length == 0, $"content beside tool calls: {content}");
                        foreach (var (tool, arguments) in calls)
                        {
                            if (tool == "get_weather")
                                AssertArgumentsValid(tool, arguments);
                            else
                                Assert.Equal("get_time", tool);
                            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(arguments).RootElement.ValueKind);
                        }
                        finished++;
                    }
                    else
                        Assert.Equal("length", finish);
                }
            // With reasoning on, a random model rarely closes its think block within max_tokens: some runs must finish.
            Assert.True(thinking ? finished >= 1 : finished * 2 >= runs, $"only {finished} of {runs} runs finished");
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
    }

    private static AIFunction ChatTool(string name, string parameters, bool? strict)
    {
        // A declaration with the given schema; strict is marked as Microsoft.Extensions.AI.OpenAI reads it.
        var function = AIFunctionFactory.Create(() => "unused", new AIFunctionFactoryOptions
        {
            Name = name,
            AdditionalProperties = strict is { } s ? new Dictionary<string, object?> { [ChatOptionsMapper.StrictProperty] = s } : null,
        });
        return new SchemaFunction(function, JsonDocument.Parse(parameters).RootElement.Clone());
    }

    // The factory infers a schema from the delegate; this one carries the test's schema instead.
    private sealed class SchemaFunction(AIFunction inner, JsonElement schema) : DelegatingAIFunction(inner)
    {
        public override JsonElement JsonSchema => schema;
    }

    [Fact]
    public void TheStrictFlagOfAFunctionOrTheOptionsReachesTheToolDefinition()
    {
        var options = new ChatOptions
        {
            Tools = [ChatTool("get_weather", WeatherParameters, strict: true), ChatTool("get_time", TimeParameters, strict: null)],
        };
        var request = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "Hi")], options, new GlmChatClientOptions("m"));
        Assert.Equal([true, false], request.Tools.Select(t => t.Strict));
        // The options' flag is the default for functions that do not say; a function's own flag wins.
        options.AdditionalProperties = new AdditionalPropertiesDictionary { [ChatOptionsMapper.StrictProperty] = true };
        options.Tools = [ChatTool("get_weather", WeatherParameters, strict: false), ChatTool("get_time", TimeParameters, strict: null)];
        request = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "Hi")], options, new GlmChatClientOptions("m"));
        Assert.Equal([false, true], request.Tools.Select(t => t.Strict));
        options.AdditionalProperties[ChatOptionsMapper.StrictProperty] = "maybe";
        var error = Assert.Throws<ArgumentException>(() => ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "Hi")], options, new GlmChatClientOptions("m")));
        Assert.Contains(ChatOptionsMapper.StrictProperty, error.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AStrictChatClientFunctionGetsTheToolCallGrammarUnderAuto(bool strict)
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        var options = new ChatOptions { Tools = [ChatTool("get_weather", WeatherParameters, strict)], ToolMode = ChatToolMode.Auto };
        var prepared = loaded.Generator.Prepare(ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "Hi")], options, new GlmChatClientOptions("m")));
        Assert.Equal(strict, prepared.GrammarPerToolCall);
        Assert.Equal(strict, prepared.Grammar is not null);

        // As on the server: a strict function whose schema the tool-call grammar cannot enforce is refused up front.
        options.Tools = [ChatTool("f", """{"type":"object","properties":{"s":{"type":"string","pattern":"^a+$"}}}""", strict)];
        var request = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "Hi")], options, new GlmChatClientOptions("m"));
        if (strict)
            Assert.Contains("pattern", Assert.Throws<ArgumentException>(() => loaded.Generator.Prepare(request)).Message);
        else
            Assert.Null(loaded.Generator.Prepare(request).Grammar);
    }

    public static TheoryData<string, string?> ChatClientModes() => new()
    {
        { "any", null },
        { "specific", "get_weather" },
        { "strict-auto", null },
    };

    [Theory]
    [MemberData(nameof(ChatClientModes))]
    public async Task ChatClientToolCallsCarryValidArguments(string mode, string? name)
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        using var client = new GlmChatClient(loaded.Generator, new GlmChatClientOptions("glm-tiny-chat"));
        bool strict = mode == "strict-auto";
        int calls = 0, runs = 0;
        for (int seed = 1; seed <= 6; seed++)
        {
            var options = new ChatOptions
            {
                MaxOutputTokens = 80, Temperature = 1f, Seed = seed,
                Tools = [ChatTool("get_weather", WeatherParameters, strict), ChatTool("get_time", TimeParameters, strict)],
                ToolMode = mode switch { "any" => ChatToolMode.RequireAny, "specific" => ChatToolMode.RequireSpecific(name!), _ => ChatToolMode.Auto },
                Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None },
            };
            runs++;
            var found = new List<FunctionCallContent>();
            ChatFinishReason? finish;
            if (seed % 2 == 0)
            {
                var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather?")], options).WaitAsync(HttpWait);
                found.AddRange(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
                finish = response.FinishReason;
            }
            else
            {
                finish = null;
                await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Weather?")], options))
                {
                    found.AddRange(update.Contents.OfType<FunctionCallContent>());
                    finish ??= update.FinishReason;
                }
            }
            if (!strict)
                Assert.True(finish == ChatFinishReason.ToolCalls || finish == ChatFinishReason.Length, $"finish {finish}");
            foreach (var call in found)
            {
                calls++;
                if (name is not null)
                    Assert.Equal(name, call.Name);
                AssertArgumentsValid(call.Name, ChatOptionsMapper.ToJsonArguments(call.Arguments).ToJsonString());
            }
        }
        // Under a required call most replies finish within max_tokens; under auto the model may not call at all.
        if (!strict)
            Assert.True(calls * 4 >= runs * 3, $"only {calls} tool calls in {runs} runs");
    }

    private static (string? Finish, List<(string Name, string Arguments)> Calls, string Content) FromBody(string raw)
    {
        var choice = JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0];
        var calls = new List<(string, string)>();
        var message = choice.GetProperty("message");
        if (message.TryGetProperty("tool_calls", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var call in list.EnumerateArray())
                calls.Add((call.GetProperty("function").GetProperty("name").GetString()!, call.GetProperty("function").GetProperty("arguments").GetString()!));
        var content = message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        return (choice.GetProperty("finish_reason").GetString(), calls, content);
    }

    private static (string? Finish, List<(string Name, string Arguments)> Calls, string Content) FromStream(string raw)
    {
        var names = new SortedDictionary<int, string>();
        var arguments = new SortedDictionary<int, StringBuilder>();
        var content = new StringBuilder();
        string? finish = null;
        foreach (var line in raw.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
                continue;
            foreach (var choice in JsonDocument.Parse(line["data: ".Length..]).RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                    finish = choice.GetProperty("finish_reason").GetString();
                if (choice.GetProperty("delta").TryGetProperty("content", out var text) && text.ValueKind == JsonValueKind.String)
                    content.Append(text.GetString());
                if (!choice.GetProperty("delta").TryGetProperty("tool_calls", out var deltas))
                    continue;
                foreach (var delta in deltas.EnumerateArray())
                {
                    int index = delta.GetProperty("index").GetInt32();
                    var function = delta.GetProperty("function");
                    if (function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                        names[index] = n.GetString()!;
                    if (function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String)
                        (arguments.TryGetValue(index, out var sb) ? sb : arguments[index] = new StringBuilder()).Append(a.GetString());
                }
            }
        }
        return (finish, names.Select(kv => (kv.Value, arguments.TryGetValue(kv.Key, out var sb) ? sb.ToString() : "{}")).ToList(), content.ToString());
    }
}
