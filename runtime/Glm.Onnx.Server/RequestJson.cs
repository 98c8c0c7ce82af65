using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>Typed reads of request JSON fields; a wrong type is a 400 naming the field and what was expected.</summary>
internal static class RequestJson
{
    /// <summary>
    /// Reads the body under the server's size and time limits (413, 408), parses it as a JSON object and checks that
    /// every string in it is valid Unicode (400 naming the field).
    /// </summary>
    public static async Task<JsonElement> ReadObjectAsync(HttpRequest request, GlmServerOptions options, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync(request, options, cancellationToken).ConfigureAwait(false);
        return ParseObject(body);
    }

    /// <summary>Parses a request body (400 for anything but a JSON object of valid strings).</summary>
    public static JsonElement ParseObject(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"The request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw ApiError.BadRequest($"The request body must be a JSON object, got {Kind(document.RootElement)}.", code: "invalid_json");
            RequestStrings.Validate(document.RootElement);
            return document.RootElement.Clone();
        }
    }

    public static JsonElement? Field(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string? String(JsonElement obj, string name, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw TypeError(path ?? name, "a string", value);
    }

    public static string RequireString(JsonElement obj, string name, string? path = null) =>
        String(obj, name, path) ?? throw ApiError.BadRequest($"'{path ?? name}' is required.", path ?? name);

    public static bool? Bool(JsonElement obj, string name, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw TypeError(path ?? name, "a boolean", value),
        };
    }

    public static double? Number(JsonElement obj, string name, double min, double max, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        if (value.ValueKind != JsonValueKind.Number)
            throw TypeError(path ?? name, "a number", value);
        double x = value.GetDouble();
        if (!(x >= min && x <= max))
            throw ApiError.BadRequest($"'{path ?? name}' must be between {min} and {max}, got {value.GetRawText()}.", path ?? name);
        return x;
    }

    public static long? Integer(JsonElement obj, string name, long min, long max, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var x))
            throw TypeError(path ?? name, "an integer", value);
        if (x < min || x > max)
            throw ApiError.BadRequest($"'{path ?? name}' must be between {min} and {max}, got {x}.", path ?? name);
        return x;
    }

    public static JsonElement? Array(JsonElement obj, string name, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.Array ? value : throw TypeError(path ?? name, "an array", value);
    }

    public static JsonElement? Object(JsonElement obj, string name, string? path = null)
    {
        if (Field(obj, name) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.Object ? value : throw TypeError(path ?? name, "an object", value);
    }

    /// <summary>"stop": a string or an array of strings (at most 16, none empty).</summary>
    public static IReadOnlyList<string> StopStrings(JsonElement obj)
    {
        if (Field(obj, "stop") is not { } value)
            return [];
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString()!.Length > 0 ? [value.GetString()!] : throw ApiError.BadRequest("'stop' must not be empty.", "stop");
        if (value.ValueKind != JsonValueKind.Array)
            throw TypeError("stop", "a string or an array of strings", value);
        var stops = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString()!.Length == 0)
                throw ApiError.BadRequest($"'stop[{stops.Count}]' must be a non-empty string, got {item.GetRawText()}.", "stop");
            stops.Add(item.GetString()!);
        }
        if (stops.Count > 16)
            throw ApiError.BadRequest($"'stop' may hold at most 16 strings, got {stops.Count}.", "stop");
        return stops;
    }

    public static ApiError TypeError(string path, string expected, JsonElement got) =>
        ApiError.BadRequest($"'{path}' must be {expected}, got {Kind(got)}.", path);

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
