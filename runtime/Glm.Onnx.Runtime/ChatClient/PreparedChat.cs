namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>A chat request rendered and tokenised, checked against the context, ready to generate.</summary>
/// <param name="Request">The request it came from.</param>
/// <param name="Prompt">The rendered prompt text (control tokens written as text).</param>
/// <param name="PromptIds">The prompt's token ids.</param>
/// <param name="ForcedPrefix">Text written at the start of the reply for the model (a forced tool call), or "".</param>
/// <param name="StartsInReasoning">True when the prompt ends inside the think block.</param>
public sealed record PreparedChat(GlmChatRequest Request, string Prompt, int[] PromptIds, string ForcedPrefix, bool StartsInReasoning)
{
    /// <summary>The request's compiled response format, or null for free text.</summary>
    public Glm.Onnx.Grammar.CompiledGrammar? Grammar { get; init; }

    /// <summary>True when <see cref="Grammar"/> is the tool-call grammar of strict tools under tool_choice auto: it
    /// applies to each call the model opens with "&lt;tool_call&gt;", the text around calls stays free.</summary>
    public bool GrammarPerToolCall { get; init; }

    /// <summary>With a response format and tools under tool_choice auto: the grammar of one tool call, the other way
    /// to answer (the reply is content under <see cref="Grammar"/> or tool calls under this), else null.</summary>
    public Glm.Onnx.Grammar.CompiledGrammar? ToolCallGrammar { get; init; }
}
