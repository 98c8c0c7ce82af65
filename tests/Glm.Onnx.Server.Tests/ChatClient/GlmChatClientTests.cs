using System.Text.Json;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Text;
using Glm.Onnx.Tests.Fakes;
using Microsoft.Extensions.AI;

namespace Glm.Onnx.Tests.ChatClient;

/// <summary>The IChatClient over the scripted executor with real tokens of the tiny GLM tokenizer.</summary>
public sealed class GlmChatClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    private static readonly AIFunctionDeclaration Weather = AIFunctionFactory.CreateDeclaration(
        "get_weather", "Weather for a city",
        JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}""").RootElement);

    [Fact]
    public async Task StreamingSplitsReasoningAndAnswerAndEndsWithUsageAndFinishReason()
    {
        using var harness = new ChatHarness(s => s.Fixed("<think>Think about it.</think>Hello there!<|user|>"));
        using var client = new GlmChatClient(harness.Generator, new GlmChatClientOptions("tiny"));
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")]).WithCancellation(default))
            updates.Add(update);

        Assert.Equal("Think about it.", string.Concat(updates.SelectMany(u => u.Contents).OfType<TextReasoningContent>().Select(c => c.Text)));
        Assert.Equal("Hello there!", string.Concat(updates.SelectMany(u => u.Contents).OfType<TextContent>().Select(c => c.Text)));
        Assert.True(updates.Count > 2, "the reply streams in several updates");
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.All(updates[..^1], u => Assert.Null(u.FinishReason));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        var usage = Assert.Single(updates[^1].Contents.OfType<UsageContent>()).Details;
        int expectedPrompt = harness.Tokenizer.Encode("[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi<|assistant|><think>").Length;
        // Generated: the script after the prompt's "<think>", up to and including the closing <|user|>.
        int expectedOutput = harness.Tokenizer.Encode("Think about it.</think>Hello there!<|user|>").Length;
        Assert.Equal((expectedPrompt, expectedOutput), ((int)usage.InputTokenCount!, (int)usage.OutputTokenCount!));
        Assert.Equal(expectedPrompt + expectedOutput, usage.TotalTokenCount);
        Assert.Equal(harness.TotalBlocks, harness.Engine.FreeBlockCount);
    }

    [Fact]
    public async Task GetResponseAggregatesReasoningTextAndUsage()
    {
        using var harness = new ChatHarness(s => s.Fixed("<think>Plan.</think>The answer is 4.<|endoftext|>"));
        using var client = new GlmChatClient(harness.Generator, new GlmChatClientOptions("tiny"));
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "2+2?")]).WaitAsync(Timeout);
        Assert.Equal("The answer is 4.", response.Text);
        var message = Assert.Single(response.Messages);
        Assert.Equal("Plan.", Assert.Single(message.Contents.OfType<TextReasoningContent>()).Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("tiny", response.ModelId);
        Assert.NotNull(response.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task MaxOutputTokensEndsWithLength()
    {
        using var harness = new ChatHarness(s => s.Fixed("<think></think>" + new string('x', 200)));
        using var client = new GlmChatClient(harness.Generator);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "go")],
            new ChatOptions { MaxOutputTokens = 5, Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None } }).WaitAsync(Timeout);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal(new string('x', 5), response.Text);
    }

    [Fact]
    public async Task FunctionCallRoundTrip()
    {
        // Turn 1: the model calls the tool. Turn 2: it sees the call and the result in its prompt and answers.
        using var harness = new ChatHarness(s => s.AfterAssistant(history =>
            s.Text(history).Contains("<|observation|><tool_response>{\"temp\":21}</tool_response>")
                ? "<think></think>It is 21 degrees.<|user|>"
                : "<think></think>Let me check.<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>" +
                  "<arg_key>days</arg_key><arg_value>3</arg_value></tool_call><|observation|>"));
        using var client = new GlmChatClient(harness.Generator);
        var options = new ChatOptions { Tools = [Weather], Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None } };
        List<ChatMessage> messages = [new(ChatRole.User, "Weather in Paris?")];

        var first = await client.GetResponseAsync(messages, options).WaitAsync(Timeout);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal("Let me check.", first.Text);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.Equal(3, ((JsonElement)call.Arguments!["days"]!).GetInt32()); // integer per the schema, not "3"

        messages.AddRange(first.Messages);
        messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, new { temp = 21 })]));
        var second = await client.GetResponseAsync(messages, options).WaitAsync(Timeout);
        Assert.Equal("It is 21 degrees.", second.Text);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
    }

    [Fact]
    public async Task RequiredToolModeStartsTheReplyWithTheCall()
    {
        using var harness = new ChatHarness(s => s.Fixed(
            "<think></think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value></tool_call><|observation|>"));
        using var client = new GlmChatClient(harness.Generator);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Oslo")],
            new ChatOptions { Tools = [Weather], ToolMode = ChatToolMode.RequireSpecific("get_weather") }).WaitAsync(Timeout);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(("get_weather", "Oslo"), (call.Name, ((JsonElement)call.Arguments!["city"]!).GetString()));
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        // The forced prefix is part of the prompt, so only the rest was generated.
        Assert.Equal(harness.Tokenizer.Encode("<arg_key>city</arg_key><arg_value>Oslo</arg_value></tool_call><|observation|>").Length,
            response.Usage!.OutputTokenCount);
    }

    [Fact]
    public void OptionsMapToTheChatRequest()
    {
        var options = new ChatOptions
        {
            Temperature = 0.7f, TopP = 0.9f, TopK = 40, MaxOutputTokens = 77, StopSequences = ["END"], Seed = 1234,
            PresencePenalty = 0.5f, FrequencyPenalty = 0.25f, Instructions = "Be brief.",
            Tools = [Weather], ToolMode = ChatToolMode.Auto,
            Reasoning = new ReasoningOptions { Effort = ReasoningEffort.Medium },
        };
        var request = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "hi")], options, new GlmChatClientOptions());
        Assert.Equal((0.7f, 0.9f, 40, 0.5f, 0.25f, 1234UL),
            (request.Sampling.Temperature, request.Sampling.TopP, request.Sampling.TopK, request.Sampling.PresencePenalty,
             request.Sampling.FrequencyPenalty, request.Sampling.Seed!.Value));
        Assert.Equal(77, request.MaxNewTokens);
        Assert.Equal(["END"], request.StopStrings);
        Assert.Equal("get_weather", Assert.Single(request.Tools).Name);
        Assert.Equal(["integer"], request.Tools[0].ParameterTypes("days"));
        Assert.Null(request.RequiredTool);
        Assert.True(request.Format.EnableThinking);
        Assert.Equal(Glm.Onnx.Runtime.Chat.GlmReasoningEffort.High, request.Format.ReasoningEffort);
        Assert.Equal(Glm.Onnx.Runtime.Chat.ChatRole.System, request.Messages[0].Role);
        Assert.Equal("Be brief.", request.Messages[0].Content);

        var none = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "hi")],
            new ChatOptions { Tools = [Weather], ToolMode = ChatToolMode.None, Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None } },
            new GlmChatClientOptions(MaxOutputTokens: 9));
        Assert.Empty(none.Tools);
        Assert.False(none.Format.EnableThinking);
        Assert.Equal(9, none.MaxNewTokens);
        Assert.Equal(Glm.Onnx.Runtime.Sampling.SamplingOptions.Greedy, none.Sampling);

        var any = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "hi")],
            new ChatOptions { Tools = [Weather], ToolMode = ChatToolMode.RequireAny, Reasoning = new ReasoningOptions { Effort = ReasoningEffort.ExtraHigh } },
            new GlmChatClientOptions());
        Assert.Equal("", any.RequiredTool);
        Assert.Equal(Glm.Onnx.Runtime.Chat.GlmReasoningEffort.Max, any.Format.ReasoningEffort);

        var kwargs = ChatOptionsMapper.ToRequest([new ChatMessage(ChatRole.User, "hi")],
            new ChatOptions { AdditionalProperties = new() { ["enable_thinking"] = false, ["reasoning_effort"] = "high", ["clear_thinking"] = false } },
            new GlmChatClientOptions());
        Assert.Equal((false, Glm.Onnx.Runtime.Chat.GlmReasoningEffort.High, false),
            (kwargs.Format.EnableThinking, kwargs.Format.ReasoningEffort, kwargs.Format.ClearThinking));
    }

    [Fact]
    public void MessagesMapWithReasoningToolCallsAndResults()
    {
        var request = ChatOptionsMapper.ToRequest(
        [
            new ChatMessage(ChatRole.System, "sys"),
            new ChatMessage(ChatRole.User, "q"),
            new ChatMessage(ChatRole.Assistant, [new TextReasoningContent("why"), new TextContent("a"),
                new FunctionCallContent("c1", "get_weather", new Dictionary<string, object?> { ["city"] = "Rome", ["days"] = 2 })]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", "sunny"), new FunctionResultContent("c2", new { t = 1 })]),
        ], null, new GlmChatClientOptions());
        var m = request.Messages;
        Assert.Equal(5, m.Count);
        Assert.Equal(("why", "a"), (m[2].ReasoningContent, m[2].Content));
        Assert.Equal("""{"city":"Rome","days":2}""", Assert.Single(m[2].ToolCalls).ArgumentsJson);
        Assert.Equal(("sunny", """{"t":1}"""), (m[3].Content, m[4].Content));
        Assert.All(m.Skip(3), x => Assert.Equal(Glm.Onnx.Runtime.Chat.ChatRole.Tool, x.Role));

        Assert.Throws<NotSupportedException>(() => ChatOptionsMapper.ToRequest(
            [new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "image/png")])], null, new GlmChatClientOptions()));
    }

    [Fact]
    public void GetServiceExposesTheEngineTokenizerAndMetadata()
    {
        using var harness = new ChatHarness(s => s.Fixed("<|endoftext|>"));
        using var client = new GlmChatClient(harness.Generator, new GlmChatClientOptions("tiny"));
        Assert.Same(harness.Engine, client.GetService<GenerationEngine>());
        Assert.Same(harness.Tokenizer, client.GetService<GlmTokenizer>());
        Assert.Same(harness.Generator, client.GetService<GlmChatGenerator>());
        Assert.Same(client, client.GetService<IChatClient>());
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.Null(client.GetService<GenerationEngine>("some-key"));
    }

    [Fact]
    public async Task CancellingAStreamFreesTheBlocks()
    {
        using var harness = new ChatHarness(s => s.Fixed("<think></think>" + new string('y', 3000)));
        harness.Executor.StepDelayMilliseconds = 2;
        using var client = new GlmChatClient(harness.Generator);
        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "go")],
                new ChatOptions { MaxOutputTokens = 2000, Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None } }, cts.Token))
                if (++seen == 5)
                    cts.Cancel();
        });
        Assert.Equal(harness.TotalBlocks, harness.Engine.FreeBlockCount);
    }
}
