using System.Text;
using Glm.Onnx.Grammar;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

/// <summary>
/// The tool-call grammar for tool_choice auto with strict tools: a strict tool's arguments follow its schema, a
/// non-strict tool's arguments are free markup up to the first "&lt;/tool_call&gt;", and the grammar is complete
/// (nothing may follow) right after that tag.
/// </summary>
public sealed class StrictToolCallTests
{
    private static readonly CompiledGrammar Grammar = ToolCallGrammar.Compile(
        [("get_weather", "{\"type\":\"object\",\"properties\":{\"days\":{\"type\":\"integer\"}},\"required\":[\"days\"]}"), ("note", null)],
        new ToolCallGrammarOptions { FreeArguments = ["note"] }, Instance);

    [Theory]
    [InlineData("get_weather<arg_key>days</arg_key><arg_value>3</arg_value></tool_call>", true)]
    [InlineData("get_weather<arg_key>days</arg_key><arg_value>three</arg_value></tool_call>", false)]
    [InlineData("get_weather</tool_call>", false)]
    [InlineData("note<arg_key>text</arg_key><arg_value>any thing, at all: {\"x\":[1]}</arg_value><arg_key>n</arg_key><arg_value>2</arg_value></tool_call>", true)]
    [InlineData("note</tool_call>", true)]
    [InlineData("note<arg_key>x</arg_key></tool_call>", false)]
    [InlineData("note</tool_call><arg_key>", false)]
    [InlineData("other</tool_call>", false)]
    public void StrictArgumentsFollowTheSchemaOthersAreFree(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Grammar, text));

    [Theory]
    [InlineData("get_weather<arg_key>days</arg_key><arg_value>3</arg_value></tool_call>")]
    [InlineData("note<arg_key>a</arg_key><arg_value>b</arg_value></tool_call>")]
    public void TheGrammarIsCompleteAfterTheClosingTag(string call)
    {
        var state = Grammar.NewState();
        var bytes = Encoding.UTF8.GetBytes(call);
        Assert.True(state.AdvanceBytes(bytes[..^1]));
        Assert.False(state.IsComplete);
        Assert.True(state.AdvanceBytes(bytes[^1..]));
        Assert.True(state.IsComplete);
    }
}
