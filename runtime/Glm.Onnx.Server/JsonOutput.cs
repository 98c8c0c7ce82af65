using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>Writes JSON bodies and server-sent events without synchronous I/O on the response stream.</summary>
internal static class JsonOutput
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static ReadOnlyMemory<byte> Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Options))
            write(w);
        return buffer.WrittenMemory;
    }

    public static async Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var body = Build(write);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    public static void StartEvents(HttpResponse response)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>One "data: {json}" event, flushed so the client sees it now.</summary>
    public static async Task WriteEventAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(DataPrefix, cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(Build(write), cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(EventEnd, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task WriteDoneAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.ASCII.GetBytes("data: [DONE]\n\n"), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a completion response or chunk with the fields all of them start with: id, object, created, model.
    /// The caller writes "choices" (and "usage") and closes the object.
    /// </summary>
    public static void StartResponse(Utf8JsonWriter w, string id, string objectType, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", objectType);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    public static void WriteUsage(Utf8JsonWriter w, Glm.Onnx.Runtime.Engine.GenerationUsage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", usage.PromptTokens);
        w.WriteNumber("completion_tokens", usage.CompletionTokens);
        w.WriteNumber("total_tokens", usage.PromptTokens + usage.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", usage.ReusedPromptTokens);
        w.WriteEndObject();
        if (usage.MaskTime > TimeSpan.Zero || usage.ForcedTokens > 0)
        {
            // Structured output: time spent on grammar masks, and tokens the grammar forced (no sampling needed).
            w.WriteNumber("mask_ms", Math.Round(usage.MaskTime.TotalMilliseconds, 3));
            w.WriteNumber("forced_tokens", usage.ForcedTokens);
            w.WriteNumber("jump_forward_tokens", usage.JumpForwardTokens);
        }
        if (usage.Speculation is { } speculation)
            speculation.WriteJson(w); // extension object "speculative_decoding" (docs/speculative.md)
        w.WriteEndObject();
    }
}
