using System.Text.Json;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// Small readers for tokenizer JSON that fail with the file and JSON path of the offending field, so a bad
/// tokenizer.json says exactly what was expected and what was found.
/// </summary>
internal static class JsonFields
{
    public static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    public static JsonElement Required(JsonElement obj, string name, string file, string path)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException($"{file}: '{path}' must be an object, found {Kind(obj)}");
        if (!obj.TryGetProperty(name, out var value))
            throw new TokenizerFormatException($"{file}: '{path}.{name}' is missing");
        return value;
    }

    public static JsonElement? Optional(JsonElement obj, string name)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) &&
            value.ValueKind != JsonValueKind.Null)
            return value;
        return null;
    }

    public static string RequiredString(JsonElement obj, string name, string file, string path)
    {
        var value = Required(obj, name, file, path);
        if (value.ValueKind != JsonValueKind.String)
            throw new TokenizerFormatException($"{file}: '{path}.{name}' must be a string, found {Kind(value)}");
        return value.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string file, string path)
    {
        var value = Optional(obj, name);
        if (value is null)
            return null;
        if (value.Value.ValueKind != JsonValueKind.String)
            throw new TokenizerFormatException($"{file}: '{path}.{name}' must be a string, found {Kind(value.Value)}");
        return value.Value.GetString();
    }

    public static bool OptionalBool(JsonElement obj, string name, bool fallback, string file, string path)
    {
        var value = Optional(obj, name);
        return value?.ValueKind switch
        {
            null => fallback,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new TokenizerFormatException(
                $"{file}: '{path}.{name}' must be true or false, found {Kind(value!.Value)}"),
        };
    }

    public static int RequiredInt(JsonElement obj, string name, string file, string path)
    {
        var value = Required(obj, name, file, path);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var result))
            throw new TokenizerFormatException($"{file}: '{path}.{name}' must be a 32-bit integer, found {value.GetRawText()}");
        return result;
    }

    public static string TypeOf(JsonElement obj, string file, string path) => RequiredString(obj, "type", file, path);

    public static IEnumerable<(JsonElement Item, string Path)> Items(JsonElement obj, string name, string file, string path)
    {
        var array = Required(obj, name, file, path);
        if (array.ValueKind != JsonValueKind.Array)
            throw new TokenizerFormatException($"{file}: '{path}.{name}' must be an array, found {Kind(array)}");
        var i = 0;
        foreach (var item in array.EnumerateArray())
            yield return (item, $"{path}.{name}[{i++}]");
    }
}
