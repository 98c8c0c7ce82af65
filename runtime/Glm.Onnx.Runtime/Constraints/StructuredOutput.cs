namespace Glm.Onnx.Runtime.Constraints;

/// <summary>What a request's output must be: any JSON object, JSON matching a schema, or text matching a GBNF grammar.</summary>
public enum StructuredOutputKind
{
    JsonObject,
    JsonSchema,
    Gbnf,

    /// <summary>A GLM tool call (internal: the chat generator asks for it when a tool call is required).</summary>
    ToolCall,
}

/// <summary>A structured-output request (OpenAI's response_format, IChatClient's ChatResponseFormat, glm-run's flags).</summary>
/// <param name="Kind">The kind of constraint.</param>
/// <param name="Text">The JSON Schema or GBNF text; empty for <see cref="StructuredOutputKind.JsonObject"/>.</param>
public sealed record StructuredOutput(StructuredOutputKind Kind, string Text)
{
    public static StructuredOutput JsonObject { get; } = new(StructuredOutputKind.JsonObject, "");

    public static StructuredOutput ForJsonSchema(string schemaJson) => new(StructuredOutputKind.JsonSchema, schemaJson);

    public static StructuredOutput ForGbnf(string grammar) => new(StructuredOutputKind.Gbnf, grammar);
}
