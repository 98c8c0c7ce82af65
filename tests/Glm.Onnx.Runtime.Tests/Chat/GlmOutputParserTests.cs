using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Text;
using Glm.Onnx.Tests.Text;

namespace Glm.Onnx.Tests.Chat;

public sealed class GlmOutputParserTests
{
    private static readonly ToolDefinition[] Tools =
    [
        GlmChatFormatterTests.Weather,
        new("convert", null, (JsonObject)JsonNode.Parse("""{"type": "object", "properties": {"spec": {"type": "object"}, "note": {"type": "string"}}}""")!),
        new("get_time"),
    ];

    // Reasoning with a tool call inside it, the answer, a zero-argument call, a call with a JSON-typed and a
    // string argument, then a stop token and text that must be ignored.
    private const string Reply =
        "Let me check.<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>" +
        "<arg_key>days</arg_key><arg_value>3</arg_value></tool_call></think>It is sunny 🙂 <b>hot</b>." +
        "<tool_call>get_time</tool_call><tool_call>convert\n<arg_key>spec</arg_key>\n<arg_value>{\"from\": \"C\", \"to\": [1, 2]}</arg_value>" +
        "\n<arg_key>note</arg_key><arg_value> keep spaces </arg_value>\n</tool_call><|observation|>ignored <think>";

    private static readonly string[] Expected =
    [
        "R:Let me check.",
        "T:get_weather:{\"city\":\"Paris\",\"days\":3}:True",
        "C:It is sunny 🙂 <b>hot</b>.",
        "T:get_time:{}:True",
        "T:convert:{\"spec\":{\"from\":\"C\",\"to\":[1,2]},\"note\":\" keep spaces \"}:True",
    ];

    [Fact]
    public void ParsesReasoningAnswerAndToolCalls()
    {
        var parser = new GlmOutputParser(startInReasoning: true, Tools);
        Assert.Equal(Expected, Summarize(parser.Push(Reply).Concat(parser.Finish())));
        Assert.True(parser.IsStopped);
    }

    [Fact]
    public void EverySplitPositionGivesTheSameResult()
    {
        for (var cut = 0; cut <= Reply.Length; cut++)
        {
            var parser = new GlmOutputParser(true, Tools);
            var events = parser.Push(Reply[..cut]).Concat(parser.Push(Reply[cut..])).Concat(parser.Finish());
            Assert.Equal(Expected, Summarize(events));
        }
    }

    [Fact]
    public void CharacterByCharacterAndTokenByTokenGiveTheSameResult()
    {
        var parser = new GlmOutputParser(true, Tools);
        var events = new List<ChatOutputEvent>();
        foreach (var c in Reply)
            events.AddRange(parser.Push(c.ToString()));
        events.AddRange(parser.Finish());
        Assert.Equal(Expected, Summarize(events));

        // Real token stream: tiny GLM tokenizer ids, decoded incrementally (control tokens arrive whole, emoji bytes split).
        var tokenizer = TinyGlmTokenizerTests.Tokenizer;
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        parser = new GlmOutputParser(true, Tools);
        events.Clear();
        foreach (var id in tokenizer.Encode(Reply))
            events.AddRange(parser.Push(detokenizer.Push(id)));
        events.AddRange(parser.Push(detokenizer.Flush()));
        events.AddRange(parser.Finish());
        Assert.Equal(Expected, Summarize(events));
    }

    [Fact]
    public void PartialTagAtTheEndIsHeldBackThenReleasedAsText()
    {
        var parser = new GlmOutputParser(startInReasoning: false);
        Assert.Equal(["C:answer "], Summarize(parser.Push("answer <thi")));
        Assert.Equal(["C:<thi"], Summarize(parser.Finish()));
    }

    [Fact]
    public void ThinkingOffStartsInContentAndExplicitThinkBlocksStillWork()
    {
        var parser = new GlmOutputParser(startInReasoning: false);
        var events = parser.Push("<think>hmm</think>ok").Concat(parser.Finish());
        Assert.Equal(["R:hmm", "C:ok"], Summarize(events));
    }

    [Fact]
    public void UnclosedOrBrokenToolCallsAreReportedAsNotWellFormed()
    {
        var parser = new GlmOutputParser(false, Tools);
        var events = parser.Push("<tool_call>get_weather<arg_key>city</arg_key><arg_value>Par").Concat(parser.Finish());
        Assert.Equal(["T:get_weather:{}:False"], Summarize(events));

        parser = new GlmOutputParser(false, Tools);
        events = parser.Push("<tool_call>get_weather<arg_key>city</arg_key>Paris</tool_call>done").Concat(parser.Finish());
        Assert.Equal(["T:get_weather:{}:False", "C:done"], Summarize(events));
    }

    [Fact]
    public void ValuesStayStringsWithoutASchemaOrWhenTheyAreNotJson()
    {
        var parser = new GlmOutputParser(false, Tools);
        var events = parser.Push(
            "<tool_call>unknown<arg_key>n</arg_key><arg_value>5</arg_value></tool_call>" +
            "<tool_call>get_weather<arg_key>days</arg_key><arg_value>three</arg_value></tool_call>").Concat(parser.Finish());
        Assert.Equal(["T:unknown:{\"n\":\"5\"}:True", "T:get_weather:{\"days\":\"three\"}:True"], Summarize(events));
    }

    // Merges consecutive deltas of one kind so results compare independently of where the stream was cut.
    private static List<string> Summarize(IEnumerable<ChatOutputEvent> events)
    {
        var result = new List<string>();
        foreach (var e in events)
        {
            var item = e switch
            {
                ReasoningDelta r => "R:" + r.Text,
                ContentDelta c => "C:" + c.Text,
                ToolCallEvent t => $"T:{t.Call.Name}:{t.Call.ArgumentsJson}:{t.IsWellFormed}",
                _ => throw new InvalidOperationException(e.ToString()),
            };
            if (result.Count > 0 && item[0] != 'T' && result[^1][0] == item[0])
                result[^1] += item[2..];
            else
                result.Add(item);
        }

        return result;
    }
}
