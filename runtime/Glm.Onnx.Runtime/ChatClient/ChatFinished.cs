using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>Why a chat reply ended, in OpenAI's terms.</summary>
public enum GlmChatFinishReason
{
    /// <summary>The model ended its turn (an eos / turn token or a stop string).</summary>
    Stop,

    /// <summary>The token limit or the context ended the reply.</summary>
    Length,

    /// <summary>The model ended its turn after one or more well-formed tool calls.</summary>
    ToolCalls,
}

/// <summary>The last event of a chat reply: why it ended and the token counts.</summary>
public sealed record ChatFinished(GlmChatFinishReason Reason, GenerationUsage Usage) : ChatOutputEvent;
