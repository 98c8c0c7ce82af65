using System.Text.Json;

namespace Glm.Onnx.Server;

/// <summary>
/// Checks every string and property name of a request once, before any field is used: invalid UTF-8 (which
/// System.Text.Json only notices when a string is read) or a lone UTF-16 surrogate (legal JSON "\ud800", but not
/// text) is a 400 naming the field, not a 500 from deep inside tokenization.
/// </summary>
internal static class RequestStrings
{
    public static void Validate(JsonElement root) => Visit(root, "");

    private static void Visit(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw ApiError.BadRequest($"A property name in '{(path.Length == 0 ? "the request" : path)}' is not valid UTF-8.",
                            path.Length == 0 ? null : path, "invalid_string");
                    }

                    var child = path.Length == 0 ? name : $"{path}.{name}";
                    Check(name, child, "property name");
                    Visit(property.Value, child);
                }
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in element.EnumerateArray())
                    Visit(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.String:
                string text;
                try
                {
                    text = element.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    throw ApiError.BadRequest($"'{path}' is not valid UTF-8.", path, "invalid_string");
                }

                Check(text, path, "string");
                break;
        }
    }

    private static void Check(string text, string path, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c))
                continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            throw ApiError.BadRequest($"The {what} '{path}' contains a lone surrogate (U+{(int)c:X4} at char {i}); send valid Unicode text.",
                path, "invalid_string");
        }
    }
}
