namespace Glm.Onnx.Runtime.Chat;

/// <summary>Something the output parser recognised in the model's text stream.</summary>
public abstract record ChatOutputEvent;

/// <summary>Text inside &lt;think&gt;...&lt;/think&gt;.</summary>
public sealed record ReasoningDelta(string Text) : ChatOutputEvent;

/// <summary>Answer text (outside the think block and outside tool calls).</summary>
public sealed record ContentDelta(string Text) : ChatOutputEvent;

/// <summary>
/// A complete &lt;tool_call&gt;...&lt;/tool_call&gt;. <see cref="IsWellFormed"/> is false when the markup inside was
/// broken or the stream ended before &lt;/tool_call&gt;; <see cref="Call"/> then holds what could be read and
/// <see cref="RawText"/> the text between the tags.
/// </summary>
public sealed record ToolCallEvent(ToolCall Call, string RawText, bool IsWellFormed) : ChatOutputEvent;
