namespace Glm.Onnx.Runtime.Chat.Protocol;

public enum ToolChoiceMode
{
    /// <summary>The model decides whether to call a tool.</summary>
    Auto,

    /// <summary>No tool may be called: the tools are not rendered into the prompt.</summary>
    None,

    /// <summary>A tool call is required: of <see cref="ToolChoice.FunctionName"/>, or of any tool when it is null.</summary>
    Required,
}

/// <summary>
/// A request's tool choice (OpenAI's "tool_choice"; the <c>IChatClient</c>'s tool mode), mapped once to the tools
/// GLM sees and the call its reply is started with.
/// </summary>
public sealed record ToolChoice(ToolChoiceMode Mode, string? FunctionName = null)
{
    public static ToolChoice Auto { get; } = new(ToolChoiceMode.Auto);

    public static ToolChoice None { get; } = new(ToolChoiceMode.None);

    public static ToolChoice RequiredAny { get; } = new(ToolChoiceMode.Required);

    public static ToolChoice Function(string name) => new(ToolChoiceMode.Required, name);

    /// <summary>
    /// The tools to render and the required tool (null: none required, "": any tool, else that tool's name).
    /// A required call needs a tool to call, and a named one must be offered; <paramref name="field"/> names the
    /// choice in the error.
    /// </summary>
    public (IReadOnlyList<ToolDefinition> Tools, string? RequiredTool) Apply(IReadOnlyList<ToolDefinition> tools, string field)
    {
        ArgumentNullException.ThrowIfNull(tools);
        switch (Mode)
        {
            case ToolChoiceMode.Auto:
                return (tools, null);
            case ToolChoiceMode.None:
                return ([], null);
            case ToolChoiceMode.Required:
                if (FunctionName is { } name && !tools.Any(t => t.Name == name))
                    throw new ArgumentException($"'{field}' names the function '{name}', which is not among the tools offered.");
                if (tools.Count == 0)
                    throw new ArgumentException($"'{field}' requires a tool call but no tools are offered.");
                return (tools, FunctionName ?? "");
            default:
                throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "not a tool choice mode");
        }
    }
}
