using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Text;
using Glm.Onnx.Tests.Text;

namespace Glm.Onnx.Tests.Chat;

/// <summary>Pins the exact prompt text of the GLM-5.2 format (docs/architecture.md "Tokenizer and chat format").</summary>
public sealed class GlmChatFormatterTests
{
    private const string ToolsBlock =
        "<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
        "{\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\": \"object\", " +
        "\"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}}\n" +
        "</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n" +
        "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>" +
        "<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>";

    public static ToolDefinition Weather { get; } = new("get_weather", "Get the weather", (JsonObject)JsonNode.Parse(
        """{"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}""")!);

    [Fact]
    public void PlainChat()
    {
        var prompt = GlmChatFormatter.Format([ChatMessage.System("You are helpful."), ChatMessage.User("Hi")]);
        Assert.Equal("[gMASK]<sop><|system|>Reasoning Effort: Max<|system|>You are helpful.<|user|>Hi<|assistant|><think>", prompt);
    }

    [Fact]
    public void MultiTurnDropsReasoningBeforeTheLastUserMessage()
    {
        ChatMessage[] messages =
        [
            ChatMessage.User("What is 2+2?"),
            ChatMessage.Assistant(" 4 ", reasoning: "2+2=4"),
            ChatMessage.User("And 3+3?"),
        ];
        Assert.Equal(
            "[gMASK]<sop><|system|>Reasoning Effort: High<|user|>What is 2+2?<|assistant|><think></think>4<|user|>And 3+3?<|assistant|><think>",
            GlmChatFormatter.Format(messages, options: new GlmChatFormatOptions { ReasoningEffort = GlmReasoningEffort.High }));
        Assert.Equal(
            "[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>What is 2+2?<|assistant|><think>2+2=4</think>4<|user|>And 3+3?<|assistant|><think>",
            GlmChatFormatter.Format(messages, options: new GlmChatFormatOptions { ClearThinking = false }));
    }

    [Fact]
    public void ReasoningInsideContentIsSplitOutLikeTheTemplate()
    {
        ChatMessage[] messages = [ChatMessage.User("q"), ChatMessage.Assistant("<think>\nold\n</think>\nanswer")];
        Assert.Equal(
            "[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>q<|assistant|><think>old</think>answer<|assistant|><think>",
            GlmChatFormatter.Format(messages));
    }

    [Fact]
    public void ThinkingOff()
    {
        var prompt = GlmChatFormatter.Format([ChatMessage.User("Hi")], options: new GlmChatFormatOptions { EnableThinking = false });
        Assert.Equal("[gMASK]<sop><|user|>Hi<|assistant|><think></think>", prompt);
    }

    [Fact]
    public void ToolsWithAToolCallAndAToolResult()
    {
        ChatMessage[] messages =
        [
            ChatMessage.User("Weather in Paris?"),
            ChatMessage.Assistant("", "I should call the tool.", ToolCall.Create("get_weather", ("city", "Paris"), ("days", 3))),
            ChatMessage.ToolResult("{\"temp\": 21}"),
            ChatMessage.ToolResult("second result"),
        ];
        var prompt = GlmChatFormatter.Format(messages, [Weather]);
        Assert.Equal(
            "[gMASK]<sop><|system|>Reasoning Effort: Max" + ToolsBlock +
            "<|user|>Weather in Paris?<|assistant|><think>I should call the tool.</think>" +
            "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value><arg_key>days</arg_key><arg_value>3</arg_value></tool_call>" +
            "<|observation|><tool_response>{\"temp\": 21}</tool_response><tool_response>second result</tool_response>" +
            "<|assistant|><think>",
            prompt);
    }

    [Fact]
    public void NonStringArgumentsAreWrittenAsPythonStyleJson()
    {
        var call = ToolCall.Create("f", ("obj", JsonNode.Parse("""{"a":[1,2],"b":"é\n"}""")), ("flag", true), ("none", null));
        Assert.Equal(
            "<tool_call>f<arg_key>obj</arg_key><arg_value>{\"a\": [1, 2], \"b\": \"é\\n\"}</arg_value>" +
            "<arg_key>flag</arg_key><arg_value>true</arg_value><arg_key>none</arg_key><arg_value>null</arg_value></tool_call>",
            GlmChatFormatter.FormatToolCall(call));
    }

    [Fact]
    public void ControlTokensInThePromptEncodeAsSingleTokens()
    {
        var tokenizer = TinyGlmTokenizerTests.Tokenizer;
        var prompt = GlmChatFormatter.Format([ChatMessage.System("S"), ChatMessage.User("Hi")]);
        var ids = tokenizer.Encode(prompt);
        int Id(string token) => GlmSpecialTokens.RequireId(tokenizer, token);
        Assert.Equal([Id("[gMASK]"), Id("<sop>"), Id("<|system|>")], ids[..3]);
        Assert.Equal([Id("<|assistant|>"), Id("<think>")], ids[^2..]);
        Assert.Equal(prompt, tokenizer.Decode(ids));
    }
}
