using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>
/// Every literal piece of the GLM-5.x prompt format, in one place so it is easy to correct against the real
/// chat_template.jinja. The verbatim template was not available when this was written (see
/// docs/architecture.md "Tokenizer and chat format"); the text follows that section and published GLM-5.2
/// renderers: no newlines between role tokens and content, tools declared in a system turn.
/// </summary>
public static class GlmChatMarkup
{
    public const string Prefix = GlmSpecialTokens.GMask + GlmSpecialTokens.StartOfPiece;

    public const string ReasoningEffortLine = "Reasoning Effort: ";

    public const string ToolsHeader =
        "\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";

    // Each tool's JSON is followed by "\n", then this footer.
    public const string ToolsFooter =
        "</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n" +
        "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>" +
        "<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>";

    public const string EmptyThinking = GlmSpecialTokens.ThinkStart + GlmSpecialTokens.ThinkEnd;
}
