namespace Glm.Onnx.Runtime.Chat.Protocol;

/// <summary>
/// The ids of OpenAI-shaped responses, made once for the server and the <c>IChatClient</c>: "chatcmpl-" or "cmpl-"
/// and 32 hex digits, and tool-call ids "call_" + the first 16 hex digits of their response's id + "_" + the call's
/// index in the reply. A tool result is matched to its call by this id across a conversation, so it keeps 64 random
/// bits (collisions between the calls of many turns stay negligible) and the index keeps it unique within a reply.
/// </summary>
public static class ResponseIds
{
    public const string ChatCompletionPrefix = "chatcmpl-";
    public const string TextCompletionPrefix = "cmpl-";
    public const string ToolCallPrefix = "call_";

    /// <summary>Hex digits of the response id that a tool-call id carries.</summary>
    public const int ToolCallRandomDigits = 16;

    public static string NewChatCompletionId() => ChatCompletionPrefix + Guid.NewGuid().ToString("N");

    public static string NewTextCompletionId() => TextCompletionPrefix + Guid.NewGuid().ToString("N");

    /// <summary>The id of the <paramref name="index"/>-th tool call (from 0) in the reply <paramref name="chatCompletionId"/>.</summary>
    public static string ToolCallId(string chatCompletionId, int index)
    {
        ArgumentNullException.ThrowIfNull(chatCompletionId);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (!chatCompletionId.StartsWith(ChatCompletionPrefix, StringComparison.Ordinal)
            || chatCompletionId.Length < ChatCompletionPrefix.Length + ToolCallRandomDigits)
            throw new ArgumentException(
                $"'{chatCompletionId}' is not a chat completion id (\"{ChatCompletionPrefix}\" and at least {ToolCallRandomDigits} characters).",
                nameof(chatCompletionId));
        return $"{ToolCallPrefix}{chatCompletionId.AsSpan(ChatCompletionPrefix.Length, ToolCallRandomDigits)}_{index}";
    }
}
