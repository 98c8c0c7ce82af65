using System.Text.Json.Nodes;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>Who wrote a turn. <see cref="Tool"/> is a tool result (GLM's "observation").</summary>
public enum ChatRole
{
    System,
    User,
    Assistant,
    Tool,
}

/// <summary>
/// One conversation turn. Assistant turns may carry <see cref="ReasoningContent"/> (the text inside
/// &lt;think&gt;...&lt;/think&gt;; when null, reasoning is taken from a "&lt;think&gt;...&lt;/think&gt;" prefix of
/// <see cref="Content"/>, as the GLM template does) and <see cref="ToolCalls"/>.
/// </summary>
public sealed record ChatMessage(ChatRole Role, string Content)
{
    public string? ReasoningContent { get; init; }

    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    public static ChatMessage System(string content) => new(ChatRole.System, content);

    public static ChatMessage User(string content) => new(ChatRole.User, content);

    public static ChatMessage Assistant(string content, string? reasoning = null, params ToolCall[] toolCalls) =>
        new(ChatRole.Assistant, content) { ReasoningContent = reasoning, ToolCalls = toolCalls };

    public static ChatMessage ToolResult(string content) => new(ChatRole.Tool, content);
}

/// <summary>A tool invocation: the function name and its arguments in order (values are JSON: strings, numbers, objects...).</summary>
public sealed record ToolCall(string Name, JsonObject Arguments)
{
    public static ToolCall Create(string name, params (string Key, JsonNode? Value)[] arguments)
    {
        var args = new JsonObject();
        foreach (var (key, value) in arguments)
            args[key] = value;
        return new ToolCall(name, args);
    }

    /// <summary>The arguments as a compact JSON object string (the OpenAI "arguments" field).</summary>
    public string ArgumentsJson => Arguments.ToJsonString();
}

/// <summary>
/// A tool the model may call, as a JSON-schema function description. <see cref="Parameters"/> is the JSON
/// schema object ({"type": "object", "properties": {...}, "required": [...]}).
/// </summary>
public sealed record ToolDefinition(string Name, string? Description = null, JsonObject? Parameters = null)
{
    /// <summary>OpenAI's function <c>strict</c>: every call of this tool follows its parameter schema, also under
    /// tool_choice auto (docs/structured-output.md).</summary>
    public bool Strict { get; init; }

    /// <summary>The JSON-schema "type" of one parameter ("string", "integer", ...; several for a type list), or empty when unknown.</summary>
    public IReadOnlyList<string> ParameterTypes(string parameter)
    {
        if (Parameters?["properties"] is not JsonObject properties || properties[parameter] is not JsonObject schema)
            return [];
        return schema["type"] switch
        {
            JsonValue value when value.TryGetValue<string>(out var single) => [single],
            JsonArray list => list.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToList(),
            _ => [],
        };
    }
}
