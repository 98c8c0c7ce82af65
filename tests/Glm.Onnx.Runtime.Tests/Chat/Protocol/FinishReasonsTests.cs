using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Tests;

public sealed class FinishReasonsTests
{
    [Fact]
    public void ReasonsAreWrittenWithOpenAisWords()
    {
        Assert.Equal("stop", FinishReasons.Text(GlmChatFinishReason.Stop));
        Assert.Equal("length", FinishReasons.Text(GlmChatFinishReason.Length));
        Assert.Equal("tool_calls", FinishReasons.Text(GlmChatFinishReason.ToolCalls));
        Assert.Equal("stop", FinishReasons.Text(FinishReason.Stop));
        Assert.Equal("length", FinishReasons.Text(FinishReason.Length));
        Assert.Throws<ArgumentOutOfRangeException>(() => FinishReasons.Text((GlmChatFinishReason)7));
    }

    [Theory]
    [InlineData(FinishReason.Stop, false, GlmChatFinishReason.Stop)]
    [InlineData(FinishReason.Stop, true, GlmChatFinishReason.ToolCalls)]
    [InlineData(FinishReason.Length, false, GlmChatFinishReason.Length)]
    [InlineData(FinishReason.Length, true, GlmChatFinishReason.Length)] // cut short: the calls may be incomplete
    public void AChatReplyEndsWithToolCallsOnlyWhenItEndedItsTurnAfterOne(FinishReason engine, bool toolCalls, GlmChatFinishReason expected) =>
        Assert.Equal(expected, FinishReasons.ForChat(engine, toolCalls));
}
