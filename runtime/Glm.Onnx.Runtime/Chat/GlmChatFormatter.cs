using System.Text;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>
/// Renders a conversation in the GLM-5.x prompt format (encode the result with addSpecialTokens: false; the
/// control tokens are written in the text):
/// <code>
/// [gMASK]&lt;sop&gt;&lt;|system|&gt;Reasoning Effort: Max          (thinking on only)
/// &lt;|system|&gt;\n# Tools ... &lt;tools&gt;\n{tool json}\n&lt;/tools&gt; ...   (when tools are given)
/// &lt;|system|&gt;{system} &lt;|user|&gt;{user}
/// &lt;|assistant|&gt;&lt;think&gt;{reasoning}&lt;/think&gt;{answer}&lt;tool_call&gt;name&lt;arg_key&gt;k&lt;/arg_key&gt;&lt;arg_value&gt;v&lt;/arg_value&gt;&lt;/tool_call&gt;
/// &lt;|observation|&gt;&lt;tool_response&gt;{result}&lt;/tool_response&gt;
/// &lt;|assistant|&gt;&lt;think&gt;                               (generation prompt; "&lt;think&gt;&lt;/think&gt;" with thinking off)
/// </code>
/// (shown on several lines; the real prompt has no newlines between turns). Reasoning of assistant turns before
/// the last user message is replaced by an empty think block unless ClearThinking is off. All literal text lives
/// in <see cref="GlmChatMarkup"/>.
/// </summary>
public static class GlmChatFormatter
{
    public static string Format(
        IReadOnlyList<ChatMessage> messages,
        IReadOnlyList<ToolDefinition>? tools = null,
        GlmChatFormatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= GlmChatFormatOptions.Default;
        var sb = new StringBuilder(GlmChatMarkup.Prefix);

        if (options.EnableThinking)
        {
            sb.Append(GlmSpecialTokens.System).Append(GlmChatMarkup.ReasoningEffortLine)
                .Append(options.ReasoningEffort == GlmReasoningEffort.High ? "High" : "Max");
        }

        if (tools is { Count: > 0 })
        {
            sb.Append(GlmSpecialTokens.System).Append(GlmChatMarkup.ToolsHeader);
            foreach (var tool in tools)
                sb.Append(PythonJson.Serialize(ToolJson(tool))).Append('\n');
            sb.Append(GlmChatMarkup.ToolsFooter);
        }

        var lastUser = -1;
        for (var i = 0; i < messages.Count; i++)
            if (messages[i].Role == ChatRole.User)
                lastUser = i;

        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new ArgumentException($"messages[{i}] is null", nameof(messages));
            switch (message.Role)
            {
                case ChatRole.System:
                    sb.Append(GlmSpecialTokens.System).Append(message.Content);
                    break;
                case ChatRole.User:
                    sb.Append(GlmSpecialTokens.User).Append(message.Content);
                    break;
                case ChatRole.Assistant:
                    AppendAssistant(sb, message, keepReasoning: !options.ClearThinking || i > lastUser);
                    break;
                case ChatRole.Tool:
                    // Consecutive tool results share one observation turn.
                    if (i == 0 || messages[i - 1].Role != ChatRole.Tool)
                        sb.Append(GlmSpecialTokens.Observation);
                    sb.Append(GlmSpecialTokens.ToolResponseStart).Append(message.Content).Append(GlmSpecialTokens.ToolResponseEnd);
                    break;
                default:
                    throw new ArgumentException($"messages[{i}] has unknown role {message.Role}", nameof(messages));
            }
        }

        if (options.AddGenerationPrompt)
        {
            sb.Append(GlmSpecialTokens.Assistant)
                .Append(options.EnableThinking ? GlmSpecialTokens.ThinkStart : GlmChatMarkup.EmptyThinking);
        }

        return sb.ToString();
    }

    /// <summary>Renders one tool call as the model writes it.</summary>
    public static string FormatToolCall(ToolCall call)
    {
        var sb = new StringBuilder();
        AppendToolCall(sb, call);
        return sb.ToString();
    }

    private static void AppendAssistant(StringBuilder sb, ChatMessage message, bool keepReasoning)
    {
        var (reasoning, content) = SplitReasoning(message);
        sb.Append(GlmSpecialTokens.Assistant);
        if (keepReasoning && !string.IsNullOrEmpty(reasoning))
            sb.Append(GlmSpecialTokens.ThinkStart).Append(reasoning.Trim()).Append(GlmSpecialTokens.ThinkEnd);
        else
            sb.Append(GlmChatMarkup.EmptyThinking);
        sb.Append(content.Trim());
        foreach (var call in message.ToolCalls)
            AppendToolCall(sb, call);
    }

    // Reasoning comes from ReasoningContent, or else from a "<think>...</think>" prefix of the content.
    private static (string Reasoning, string Content) SplitReasoning(ChatMessage message)
    {
        if (message.ReasoningContent is not null)
            return (message.ReasoningContent, message.Content);
        var end = message.Content.IndexOf(GlmSpecialTokens.ThinkEnd, StringComparison.Ordinal);
        if (end < 0)
            return (string.Empty, message.Content);
        var before = message.Content[..end];
        var start = before.LastIndexOf(GlmSpecialTokens.ThinkStart, StringComparison.Ordinal);
        var reasoning = (start >= 0 ? before[(start + GlmSpecialTokens.ThinkStart.Length)..] : before).Trim('\n');
        var lastEnd = message.Content.LastIndexOf(GlmSpecialTokens.ThinkEnd, StringComparison.Ordinal);
        return (reasoning, message.Content[(lastEnd + GlmSpecialTokens.ThinkEnd.Length)..].TrimStart('\n'));
    }

    private static void AppendToolCall(StringBuilder sb, ToolCall call)
    {
        sb.Append(GlmSpecialTokens.ToolCallStart).Append(call.Name);
        foreach (var (key, value) in call.Arguments)
        {
            sb.Append(GlmSpecialTokens.ArgKeyStart).Append(key).Append(GlmSpecialTokens.ArgKeyEnd)
                .Append(GlmSpecialTokens.ArgValueStart);
            // Strings go in raw; every other value as JSON.
            if (value is JsonValue v && v.TryGetValue<string>(out var text))
                sb.Append(text);
            else
                sb.Append(PythonJson.Serialize(value));
            sb.Append(GlmSpecialTokens.ArgValueEnd);
        }

        sb.Append(GlmSpecialTokens.ToolCallEnd);
    }

    private static JsonObject ToolJson(ToolDefinition tool)
    {
        var json = new JsonObject { ["name"] = tool.Name };
        if (tool.Description is not null)
            json["description"] = tool.Description;
        if (tool.Parameters is not null)
            json["parameters"] = tool.Parameters.DeepClone();
        return json;
    }
}
