using Glm.Onnx.Runtime.Chat;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>Defaults of a <see cref="GlmChatClient"/>; per-call <c>ChatOptions</c> override them.</summary>
/// <param name="ModelId">The id reported in responses and metadata.</param>
/// <param name="MaxOutputTokens">Tokens to generate when the call does not say (reasoning included).</param>
/// <param name="Format">Template switches (thinking, reasoning effort, clear thinking) when the call does not say.</param>
public sealed record GlmChatClientOptions(string ModelId = "glm", int MaxOutputTokens = 1024, GlmChatFormatOptions? Format = null);
