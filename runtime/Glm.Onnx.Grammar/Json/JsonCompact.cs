using System.Text;
using System.Text.Json;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>
/// Compact JSON text (separators ',' and ':', no whitespace, non-ASCII unescaped, numbers as written): the form the
/// schema grammars accept by default and the form MaskBench instances are serialized to.
/// </summary>
public static class JsonCompact
{
    public static string Serialize(JsonElement value)
    {
        var sb = new StringBuilder();
        Write(value, sb);
        return sb.ToString();
    }

    private static void Write(JsonElement value, StringBuilder sb)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
            {
                sb.Append('{');
                var first = true;
                foreach (var p in value.EnumerateObject())
                {
                    if (!first)
                        sb.Append(',');
                    first = false;
                    sb.Append('"').Append(JsonStringRegex.Escape(p.Name)).Append("\":");
                    Write(p.Value, sb);
                }
                sb.Append('}');
                break;
            }
            case JsonValueKind.Array:
            {
                sb.Append('[');
                var first = true;
                foreach (var v in value.EnumerateArray())
                {
                    if (!first)
                        sb.Append(',');
                    first = false;
                    Write(v, sb);
                }
                sb.Append(']');
                break;
            }
            case JsonValueKind.String:
                sb.Append('"').Append(JsonStringRegex.Escape(value.GetString()!)).Append('"');
                break;
            case JsonValueKind.Number:
                sb.Append(value.GetRawText());
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            default:
                sb.Append("null");
                break;
        }
    }
}
