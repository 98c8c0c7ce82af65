using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>
/// Reads the text between &lt;tool_call&gt; and &lt;/tool_call&gt;: "name&lt;arg_key&gt;k&lt;/arg_key&gt;&lt;arg_value&gt;v&lt;/arg_value&gt;...".
/// Whitespace between the parts (GLM-4.5 put newlines there) is ignored. A value becomes JSON when the tool's
/// schema gives the argument a non-string type and the value parses as JSON; otherwise it stays a string.
/// </summary>
internal static class ToolCallBodyParser
{
    public static ToolCallEvent Parse(string body, IReadOnlyDictionary<string, ToolDefinition> tools, bool closed)
    {
        var firstKey = body.IndexOf(GlmSpecialTokens.ArgKeyStart, StringComparison.Ordinal);
        var name = (firstKey < 0 ? body : body[..firstKey]).Trim();
        tools.TryGetValue(name, out var tool);
        var arguments = new JsonObject();
        var wellFormed = closed && name.Length > 0;
        var position = firstKey < 0 ? body.Length : firstKey;
        while (position < body.Length)
        {
            if (!TryTake(body, ref position, GlmSpecialTokens.ArgKeyStart, GlmSpecialTokens.ArgKeyEnd, out var key) ||
                !TryTake(body, ref position, GlmSpecialTokens.ArgValueStart, GlmSpecialTokens.ArgValueEnd, out var value))
            {
                wellFormed = false;
                break;
            }

            arguments[key.Trim()] = TypedValue(value, tool?.ParameterTypes(key.Trim()) ?? []);
            SkipWhitespace(body, ref position);
        }

        return new ToolCallEvent(new ToolCall(name, arguments), body, wellFormed);
    }

    // Expects optional whitespace, then open, text, close; leaves position after close.
    private static bool TryTake(string body, ref int position, string open, string close, out string text)
    {
        text = string.Empty;
        SkipWhitespace(body, ref position);
        if (!body.AsSpan(position).StartsWith(open, StringComparison.Ordinal))
            return false;
        var start = position + open.Length;
        var end = body.IndexOf(close, start, StringComparison.Ordinal);
        if (end < 0)
            return false;
        text = body[start..end];
        position = end + close.Length;
        return true;
    }

    private static void SkipWhitespace(string body, ref int position)
    {
        while (position < body.Length && char.IsWhiteSpace(body[position]))
            position++;
    }

    private static JsonNode? TypedValue(string value, IReadOnlyList<string> types)
    {
        if (types.Count == 0 || types.Contains("string"))
            return JsonValue.Create(value);
        try
        {
            return JsonNode.Parse(value.Trim());
        }
        catch (JsonException)
        {
            return JsonValue.Create(value);
        }
    }
}
