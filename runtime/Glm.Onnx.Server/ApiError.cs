using System.Text.Json;

namespace Glm.Onnx.Server;

/// <summary>
/// A request the server refuses, answered as OpenAI does: an HTTP status and
/// {"error": {"message", "type", "param", "code"}}.
/// </summary>
public sealed class ApiError(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public string Type { get; } = type;

    public static ApiError BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", Message);
        w.WriteString("type", Type);
        if (Param is null) w.WriteNull("param"); else w.WriteString("param", Param);
        if (Code is null) w.WriteNull("code"); else w.WriteString("code", Code);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
