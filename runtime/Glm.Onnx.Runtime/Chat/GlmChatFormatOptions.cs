namespace Glm.Onnx.Runtime.Chat;

/// <summary>The GLM-5.2 template's reasoning-effort line: only "high" is High; everything else is Max.</summary>
public enum GlmReasoningEffort
{
    Max,
    High,
}

/// <summary>
/// Chat template switches, named after the GLM-5.x chat template kwargs.
/// EnableThinking (enable_thinking): the prompt ends with "&lt;think&gt;" (model reasons) or
/// "&lt;think&gt;&lt;/think&gt;" (model answers directly); the reasoning-effort line is only emitted with thinking.
/// ClearThinking (clear_thinking): drop the reasoning of assistant turns before the last user message.
/// </summary>
public sealed record GlmChatFormatOptions
{
    public bool EnableThinking { get; init; } = true;

    public GlmReasoningEffort ReasoningEffort { get; init; } = GlmReasoningEffort.Max;

    public bool ClearThinking { get; init; } = true;

    public bool AddGenerationPrompt { get; init; } = true;

    public static GlmChatFormatOptions Default { get; } = new();
}
