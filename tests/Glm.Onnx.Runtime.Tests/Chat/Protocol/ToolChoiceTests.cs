using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;

namespace Glm.Onnx.Tests;

public sealed class ToolChoiceTests
{
    private static readonly ToolDefinition[] Tools = [new("get_weather"), new("get_time")];

    [Fact]
    public void AutoKeepsTheToolsNoneDropsThemRequiredForcesACall()
    {
        Assert.Equal(("get_weather,get_time", (string?)null), Unpack(ToolChoice.Auto.Apply(Tools, "tool_choice")));
        Assert.Equal(("", (string?)null), Unpack(ToolChoice.None.Apply(Tools, "tool_choice")));
        Assert.Equal(("get_weather,get_time", (string?)""), Unpack(ToolChoice.RequiredAny.Apply(Tools, "tool_choice")));
        Assert.Equal(("get_weather,get_time", (string?)"get_time"), Unpack(ToolChoice.Function("get_time").Apply(Tools, "tool_choice")));
        Assert.Equal(("", (string?)null), Unpack(ToolChoice.Auto.Apply([], "tool_choice"))); // nothing to call, nothing forced
    }

    [Fact]
    public void ARequiredCallNeedsAnOfferedTool()
    {
        Assert.Equal("'tool_choice' names the function 'get_news', which is not among the tools offered.",
            Assert.Throws<ArgumentException>(() => ToolChoice.Function("get_news").Apply(Tools, "tool_choice")).Message);
        Assert.Equal("'ChatOptions.ToolMode' requires a tool call but no tools are offered.",
            Assert.Throws<ArgumentException>(() => ToolChoice.RequiredAny.Apply([], "ChatOptions.ToolMode")).Message);
    }

    private static (string ToolNames, string? Required) Unpack((IReadOnlyList<ToolDefinition> Tools, string? Required) applied) =>
        (string.Join(",", applied.Tools.Select(t => t.Name)), applied.Required);
}
