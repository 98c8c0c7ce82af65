using System.Text.RegularExpressions;
using Glm.Onnx.Runtime.Chat.Protocol;

namespace Glm.Onnx.Tests;

public sealed class ResponseIdsTests
{
    [Fact]
    public void ResponseIdsArePrefixedRandomHex()
    {
        var chat = ResponseIds.NewChatCompletionId();
        Assert.Matches(new Regex("^chatcmpl-[0-9a-f]{32}$"), chat);
        Assert.Matches(new Regex("^cmpl-[0-9a-f]{32}$"), ResponseIds.NewTextCompletionId());
        Assert.NotEqual(chat, ResponseIds.NewChatCompletionId());
    }

    [Fact]
    public void AToolCallIdCarriesSixteenDigitsOfItsResponseAndItsIndex()
    {
        const string response = "chatcmpl-0123456789abcdeffedcba9876543210";
        Assert.Equal("call_0123456789abcdef_0", ResponseIds.ToolCallId(response, 0));
        Assert.Equal("call_0123456789abcdef_12", ResponseIds.ToolCallId(response, 12));
    }

    [Theory]
    [InlineData("cmpl-0123456789abcdeffedcba9876543210")]
    [InlineData("chatcmpl-0123")]
    public void AToolCallIdNeedsAChatCompletionId(string response) =>
        Assert.Contains("not a chat completion id", Assert.Throws<ArgumentException>(() => ResponseIds.ToolCallId(response, 0)).Message);
}
