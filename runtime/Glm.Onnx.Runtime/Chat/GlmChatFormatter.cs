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
/// in <see cref="GlmChatMarkup"/>. <see cref="Render"/> also records where message content lies, so that content
/// spelling a control token is encoded as text (<see cref="GlmChatPrompt.Encode"/>).
/// </summary>
public static class GlmChatFormatter
{
    public static string Format(
        IReadOnlyList<ChatMessage> messages,
        IReadOnlyList<ToolDefinition>? tools = null,
        GlmChatFormatOptions? options = null) => Render(messages, tools, options).Text;

    /// <summary>The prompt of <see cref="Format"/> with the spans of content (messages, tools, calls) marked.</summary>
    public static GlmChatPrompt Render(
        IReadOnlyList<ChatMessage> messages,
        IReadOnlyList<ToolDefinition>? tools = null,
        GlmChatFormatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= GlmChatFormatOptions.Default;
        var sb = new GlmChatPrompt.Builder().Markup(GlmChatMarkup.Prefix);

        if (options.EnableThinking)
        {
            sb.Markup(GlmSpecialTokens.System).Markup(GlmChatMarkup.ReasoningEffortLine)
                .Markup(options.ReasoningEffort == GlmReasoningEffort.High ? "High" : "Max");
        }

        if (tools is { Count: > 0 })
        {
            sb.Markup(GlmSpecialTokens.System).Markup(GlmChatMarkup.ToolsHeader);
            foreach (var tool in tools)
                sb.Content(PythonJson.Serialize(ToolJson(tool))).Markup("\n");
            sb.Markup(GlmChatMarkup.ToolsFooter);
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
                    sb.Markup(GlmSpecialTokens.System).Content(message.Content);
                    break;
                case ChatRole.User:
                    sb.Markup(GlmSpecialTokens.User).Content(message.Content);
                    break;
                case ChatRole.Assistant:
                    AppendAssistant(sb, message, keepReasoning: !options.ClearThinking || i > lastUser);
                    break;
                case ChatRole.Tool:
                    // Consecutive tool results share one observation turn.
                    if (i == 0 || messages[i - 1].Role != ChatRole.Tool)
                        sb.Markup(GlmSpecialTokens.Observation);
                    sb.Markup(GlmSpecialTokens.ToolResponseStart).Content(message.Content).Markup(GlmSpecialTokens.ToolResponseEnd);
                    break;
                default:
                    throw new ArgumentException($"messages[{i}] has unknown role {message.Role}", nameof(messages));
            }
        }

        if (options.AddGenerationPrompt)
        {
            sb.Markup(GlmSpecialTokens.Assistant)
                .Markup(options.EnableThinking ? GlmSpecialTokens.ThinkStart : GlmChatMarkup.EmptyThinking);
        }

        return sb.Build();
    }

    /// <summary>Renders one tool call as the model writes it.</summary>
    public static string FormatToolCall(ToolCall call)
    {
        var sb = new GlmChatPrompt.Builder();
        AppendToolCall(sb, call);
        return sb.Build().Text;
    }

    private static void AppendAssistant(GlmChatPrompt.Builder sb, ChatMessage message, bool keepReasoning)
    {
        var (reasoning, content) = SplitReasoning(message);
        sb.Markup(GlmSpecialTokens.Assistant);
        if (keepReasoning && !string.IsNullOrEmpty(reasoning))
            sb.Markup(GlmSpecialTokens.ThinkStart).Content(reasoning.Trim()).Markup(GlmSpecialTokens.ThinkEnd);
        else
            sb.Markup(GlmChatMarkup.EmptyThinking);
        sb.Content(content.Trim());
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

    private static void AppendToolCall(GlmChatPrompt.Builder sb, ToolCall call)
    {
        sb.Markup(GlmSpecialTokens.ToolCallStart).Content(call.Name);
        foreach (var (key, value) in call.Arguments)
        {
            sb.Markup(GlmSpecialTokens.ArgKeyStart).Content(key).Markup(GlmSpecialTokens.ArgKeyEnd)
                .Markup(GlmSpecialTokens.ArgValueStart);
            // Strings go in raw; every other value as JSON.
            if (value is JsonValue v && v.TryGetValue<string>(out var text))
                sb.Content(text);
            else
                sb.Content(PythonJson.Serialize(value));
            sb.Markup(GlmSpecialTokens.ArgValueEnd);
        }

        sb.Markup(GlmSpecialTokens.ToolCallEnd);
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
