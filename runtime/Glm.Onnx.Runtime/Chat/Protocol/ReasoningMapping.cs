namespace Glm.Onnx.Runtime.Chat.Protocol;

/// <summary>OpenAI's reasoning effort levels (the <c>IChatClient</c>'s ExtraHigh is Max).</summary>
public enum ReasoningLevel
{
    None,
    Low,
    Medium,
    High,
    Max,
}

/// <summary>
/// The one mapping from a request's reasoning switches to GLM's template switches, for the server and the
/// <c>IChatClient</c>: the effort level first (None turns thinking off; Low, Medium and High turn it on at GLM's
/// "High"; Max at GLM's "Max"), then the template kwargs given explicitly (enable_thinking, clear_thinking,
/// reasoning_effort "high" / "max"), which override it.
/// </summary>
public static class ReasoningMapping
{
    /// <summary>"none", "low", "medium", "high" or "max" (case-insensitive); <paramref name="field"/> names the input in the error.</summary>
    public static ReasoningLevel ParseLevel(string text, string field)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ToLowerInvariant() switch
        {
            "none" => ReasoningLevel.None,
            "low" => ReasoningLevel.Low,
            "medium" => ReasoningLevel.Medium,
            "high" => ReasoningLevel.High,
            "max" => ReasoningLevel.Max,
            _ => throw new ArgumentException($"'{field}' must be none, low, medium, high or max, got \"{text}\"."),
        };
    }

    /// <summary>The GLM template's reasoning_effort kwarg: "high" or "max" (case-insensitive).</summary>
    public static GlmReasoningEffort ParseTemplateEffort(string text, string field)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ToLowerInvariant() switch
        {
            "high" => GlmReasoningEffort.High,
            "max" => GlmReasoningEffort.Max,
            _ => throw new ArgumentException($"'{field}' must be \"high\" or \"max\", got \"{text}\"."),
        };
    }

    /// <summary><paramref name="defaults"/> with the request's switches applied (null: not given).</summary>
    public static GlmChatFormatOptions Apply(
        GlmChatFormatOptions defaults, ReasoningLevel? level, bool? enableThinking = null, bool? clearThinking = null,
        GlmReasoningEffort? templateEffort = null)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        var format = level switch
        {
            null => defaults,
            ReasoningLevel.None => defaults with { EnableThinking = false },
            ReasoningLevel.Low or ReasoningLevel.Medium or ReasoningLevel.High =>
                defaults with { EnableThinking = true, ReasoningEffort = GlmReasoningEffort.High },
            ReasoningLevel.Max => defaults with { EnableThinking = true, ReasoningEffort = GlmReasoningEffort.Max },
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "not a reasoning level"),
        };
        if (enableThinking is { } enable)
            format = format with { EnableThinking = enable };
        if (clearThinking is { } clear)
            format = format with { ClearThinking = clear };
        if (templateEffort is { } effort)
            format = format with { ReasoningEffort = effort };
        return format;
    }
}
