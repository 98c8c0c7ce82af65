using System.Text.Json;
using Glm.Onnx.Grammar.Json;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar;

/// <summary>Which tool call the grammar allows: any offered tool (its name first), or one named tool (name given).</summary>
/// <param name="Name">Null: any tool, the output starts with its name; else that tool, whose name is already written.</param>
public sealed record ToolCallGrammarOptions(string? Name = null)
{
    /// <summary>Tools whose arguments are not held to their schema (no <c>strict</c> under tool_choice auto): after
    /// the name, any arg_key / arg_value pairs (text without '&lt;'), then "&lt;/tool_call&gt;".</summary>
    public IReadOnlyCollection<string> FreeArguments { get; init; } = [];
}

/// <summary>
/// A grammar for one GLM tool call after "&lt;tool_call&gt;" (docs/structured-output.md): the tool's name (unless
/// fixed), its arguments in GLM's arg_key / arg_value markup with values held to each parameter's schema, then
/// "&lt;/tool_call&gt;". Schema errors are <see cref="GrammarException"/>s naming the keyword and the pointer
/// (/index/parameters/...).
/// </summary>
public static class ToolCallGrammar
{
    /// <param name="tools">(name, parameters JSON Schema text or null) of every offered tool.</param>
    public static CompiledGrammar Compile(IReadOnlyList<(string Name, string? ParametersJson)> tools, ToolCallGrammarOptions markup,
        TokenVocabulary vocabulary, JsonSchemaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(markup);
        if (tools.Count == 0)
            throw new GrammarException("a tool-call grammar needs at least one tool");
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var (name, parameters) in tools)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (parameters is not null)
                {
                    w.WritePropertyName("parameters");
                    try
                    {
                        using var doc = JsonDocument.Parse(parameters);
                        doc.RootElement.WriteTo(w);
                    }
                    catch (JsonException e)
                    {
                        throw new GrammarException($"tool '{name}': parameters are not valid JSON: {e.Message}");
                    }
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        var (grammar, dfa) = JsonSchemaCompiler.CompileToolCalls(System.Text.Encoding.UTF8.GetString(buffer.ToArray()), markup,
            options ?? JsonSchemaOptions.Default);
        return new CompiledGrammar(grammar, dfa, vocabulary);
    }
}
