using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Server;
using Json.Schema;

namespace Glm.Onnx.Tests;

/// <summary>
/// Required tool calls on models/glm-tiny-chat (random weights) are generated under the grammar of GLM's tool-call
/// markup, so every call names an offered tool and its arguments parse and validate against that tool's parameters
/// (checked with JsonSchema.Net), streamed or not.
/// </summary>
public sealed class ToolCallGrammarTests : IClassFixture<TinyChatModelTests.Converted>
{
    private const string WeatherParameters =
        """{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Oslo"]},"days":{"type":"integer","minimum":1,"maximum":7},"metric":{"type":"boolean"}},"required":["city","days"]}""";

    private const string TimeParameters =
        """{"type":"object","properties":{"zone":{"enum":["UTC","CET"]},"precise":{"type":"boolean"}},"required":["zone"]}""";

    private static readonly Dictionary<string, string> Parameters = new() { ["get_weather"] = WeatherParameters, ["get_time"] = TimeParameters };

    private readonly TinyChatModelTests.Converted _converted;

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
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = TimeSpan.FromSeconds(60) };
            int calls = 0, runs = 0;
            var names = new HashSet<string>();
            foreach (var stream in new[] { false, true })
                for (int seed = 1; seed <= 4; seed++)
                {
                    runs++;
                    using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(Body(toolChoice, seed, stream), Encoding.UTF8, "application/json"));
                    var raw = await reply.Content.ReadAsStringAsync();
                    Assert.True(200 == (int)reply.StatusCode, raw);
                    var (finish, toolCalls) = stream ? FromStream(raw) : FromBody(raw);
                    if (finish != "tool_calls")
                        continue;
                    foreach (var (tool, arguments) in toolCalls)
                    {
                        calls++;
                        names.Add(tool);
                        Assert.True(Parameters.ContainsKey(tool), $"unknown tool {tool}");
                        if (name is not null)
                            Assert.Equal(name, tool);
                        var result = JsonSchema.FromText(Parameters[tool]).Evaluate(JsonNode.Parse(arguments), new EvaluationOptions { OutputFormat = OutputFormat.List });
                        Assert.True(result.IsValid, $"arguments {arguments} of {tool} do not validate");
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
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()), Timeout = TimeSpan.FromSeconds(60) };
            using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var raw = await reply.Content.ReadAsStringAsync();
            Assert.True(status == (int)reply.StatusCode, raw);
            if (strict)
                Assert.Contains("pattern", raw);
            await app.StopAsync();
        }
    }

    private static (string? Finish, List<(string Name, string Arguments)> Calls) FromBody(string raw)
    {
        var choice = JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0];
        var calls = new List<(string, string)>();
        if (choice.GetProperty("message").TryGetProperty("tool_calls", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var call in list.EnumerateArray())
                calls.Add((call.GetProperty("function").GetProperty("name").GetString()!, call.GetProperty("function").GetProperty("arguments").GetString()!));
        return (choice.GetProperty("finish_reason").GetString(), calls);
    }

    private static (string? Finish, List<(string Name, string Arguments)> Calls) FromStream(string raw)
    {
        var names = new SortedDictionary<int, string>();
        var arguments = new SortedDictionary<int, StringBuilder>();
        string? finish = null;
        foreach (var line in raw.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
                continue;
            foreach (var choice in JsonDocument.Parse(line["data: ".Length..]).RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                    finish = choice.GetProperty("finish_reason").GetString();
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
        return (finish, names.Select(kv => (kv.Value, arguments.TryGetValue(kv.Key, out var sb) ? sb.ToString() : "{}")).ToList());
    }
}
