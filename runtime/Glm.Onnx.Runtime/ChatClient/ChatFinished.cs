using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>The last event of a chat reply: why it ended and the token counts.</summary>
public sealed record ChatFinished(GlmChatFinishReason Reason, GenerationUsage Usage) : ChatOutputEvent;
