using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;

namespace Glm.Onnx.Tests;

public sealed class ReasoningMappingTests
{
    private static readonly GlmChatFormatOptions Defaults = GlmChatFormatOptions.Default; // thinking on, Max, clear on

    [Theory]
    [InlineData("none", false, GlmReasoningEffort.Max)]
    [InlineData("low", true, GlmReasoningEffort.High)]
    [InlineData("Medium", true, GlmReasoningEffort.High)]
    [InlineData("HIGH", true, GlmReasoningEffort.High)]
    [InlineData("max", true, GlmReasoningEffort.Max)]
    public void EachLevelSetsThinkingAndGlmsEffort(string level, bool thinking, GlmReasoningEffort effort)
    {
        var format = ReasoningMapping.Apply(Defaults with { EnableThinking = !thinking }, ReasoningMapping.ParseLevel(level, "reasoning_effort"));
        Assert.Equal((thinking, effort), (format.EnableThinking, format.ReasoningEffort));
    }

    [Fact]
    public void ExplicitTemplateSwitchesOverrideTheLevel()
    {
        var format = ReasoningMapping.Apply(Defaults, ReasoningLevel.None, enableThinking: true, clearThinking: false, templateEffort: GlmReasoningEffort.High);
        Assert.Equal((true, false, GlmReasoningEffort.High), (format.EnableThinking, format.ClearThinking, format.ReasoningEffort));
        Assert.Same(Defaults, ReasoningMapping.Apply(Defaults, level: null));
    }

    [Fact]
    public void UnknownWordsAreRefusedNamingTheField()
    {
        Assert.Equal("'reasoning_effort' must be none, low, medium, high or max, got \"extreme\".",
            Assert.Throws<ArgumentException>(() => ReasoningMapping.ParseLevel("extreme", "reasoning_effort")).Message);
        Assert.Equal(GlmReasoningEffort.High, ReasoningMapping.ParseTemplateEffort("High", "kw"));
        Assert.Equal(GlmReasoningEffort.Max, ReasoningMapping.ParseTemplateEffort("max", "kw"));
        Assert.Contains("'kw' must be \"high\" or \"max\"", Assert.Throws<ArgumentException>(() => ReasoningMapping.ParseTemplateEffort("low", "kw")).Message);
    }
}
