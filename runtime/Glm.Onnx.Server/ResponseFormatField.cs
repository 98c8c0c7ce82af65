using System.Text.Json;
using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Constraints;

namespace Glm.Onnx.Server;

/// <summary>
/// OpenAI's "response_format" (chat and text completions): {"type": "text"}, {"type": "json_object"} (any JSON
/// object) or {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}. The output is always held to the
/// schema, so "strict" changes nothing here (docs/structured-output.md).
/// </summary>
internal static class ResponseFormatField
{
    public const string SchemaPath = "response_format.json_schema.schema";

    public static StructuredOutput? Read(JsonElement body)
    {
        if (RequestJson.Object(body, "response_format") is not { } format)
            return null;
        var type = RequestJson.String(format, "type", "response_format.type")
            ?? throw ApiError.BadRequest("'response_format.type' is required.", "response_format.type");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return StructuredOutput.JsonObject;
            case "json_schema":
                var spec = RequestJson.Object(format, "json_schema", "response_format.json_schema")
                    ?? throw ApiError.BadRequest("'response_format.json_schema' is required for type \"json_schema\".", "response_format.json_schema");
                RequestJson.Bool(spec, "strict", "response_format.json_schema.strict"); // type-checked; always strict
                var schema = RequestJson.Field(spec, "schema")
                    ?? throw ApiError.BadRequest($"'{SchemaPath}' is required.", SchemaPath);
                if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
                    throw RequestJson.TypeError(SchemaPath, "a JSON Schema (object or boolean)", schema);
                return StructuredOutput.ForJsonSchema(schema.GetRawText());
            default:
                throw ApiError.BadRequest(
                    $"'response_format.type' must be \"text\", \"json_object\" or \"json_schema\", got \"{type}\".", "response_format.type");
        }
    }

    /// <summary>A schema the grammar engine cannot take, as a 400 naming the keyword and JSON pointer.</summary>
    /// <summary>
    /// A grammar that reached a point with no allowed token where it cannot end (a part of the schema no value
    /// satisfies, met during generation): a 400, since the request's schema is at fault (docs/structured-output.md).
    /// </summary>
    public static ApiError DeadEnd(Glm.Onnx.Runtime.Constraints.GrammarDeadEndException error) =>
        ApiError.BadRequest($"Generation stopped: {error.Message}", null, "grammar_dead_end");

    public static ApiError Invalid(GrammarException error) =>
        ApiError.BadRequest($"'{SchemaPath}' cannot be used: {error.Message}", SchemaPath, "invalid_response_format");
}
