using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Runtime.Chat.Protocol;

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

/// <summary>
/// The one mapping of finish reasons: the engine's reason to the chat reply's, and both to OpenAI's
/// "finish_reason" text, which the server writes and the <c>IChatClient</c> reports as its <c>ChatFinishReason</c>.
/// </summary>
public static class FinishReasons
{
    public const string StopText = "stop";
    public const string LengthText = "length";
    public const string ToolCallsText = "tool_calls";

    /// <summary>A chat reply that hit the limit is cut (length) even after a tool call; one that ended its turn after a
    /// well-formed tool call waits for the tool results (tool_calls).</summary>
    public static GlmChatFinishReason ForChat(FinishReason engineReason, bool madeToolCalls) =>
        engineReason == FinishReason.Length ? GlmChatFinishReason.Length
        : madeToolCalls ? GlmChatFinishReason.ToolCalls
        : GlmChatFinishReason.Stop;

    public static string Text(GlmChatFinishReason reason) => reason switch
    {
        GlmChatFinishReason.Stop => StopText,
        GlmChatFinishReason.Length => LengthText,
        GlmChatFinishReason.ToolCalls => ToolCallsText,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "not a chat finish reason"),
    };

    public static string Text(FinishReason reason) => reason switch
    {
        FinishReason.Stop => StopText,
        FinishReason.Length => LengthText,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "not a generation finish reason"),
    };
}
