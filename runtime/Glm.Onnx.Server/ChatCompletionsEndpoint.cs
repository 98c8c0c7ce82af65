using System.Text;
using System.Text.Json;
using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Constraints;
using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>
/// POST /v1/chat/completions, streamed (SSE "chat.completion.chunk" events, then "data: [DONE]") or not. Reasoning
/// goes in "reasoning_content" and tool calls in "tool_calls" with JSON-string arguments, as the OpenAI-compatible GLM
/// servers return them. A client that disconnects cancels its generation, which frees its cache blocks.
/// </summary>
internal static class ChatCompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext context, GlmChatGenerator generator, GlmServerOptions options)
    {
        var cancel = context.RequestAborted;
        var body = await RequestJson.ReadObjectAsync(context.Request, options, cancel).ConfigureAwait(false);
        string model = ModelCheck.Require(body, options);
        var parsed = ChatCompletionRequest.Parse(body, options);
        PreparedChat prepared;
        try
        {
            prepared = generator.Prepare(parsed.Chat);
        }
        catch (ContextLengthExceededException e)
        {
            throw ApiError.BadRequest(e.Message, "messages", "context_length_exceeded");
        }
        catch (ArgumentException e)
        {
            throw ApiError.BadRequest(e.Message);
        }
        catch (GrammarException e)
        {
            throw ResponseFormatField.Invalid(e);
        }
        var id = ResponseIds.NewChatCompletionId();
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (parsed.Stream)
            await StreamAsync(context, generator, prepared, parsed.IncludeUsage, id, created, model).ConfigureAwait(false);
        else
            await CompleteAsync(context, generator, prepared, id, created, model).ConfigureAwait(false);
    }

    private static async Task CompleteAsync(HttpContext context, GlmChatGenerator generator, PreparedChat prepared, string id, long created, string model)
    {
        var cancel = context.RequestAborted;
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        ChatFinished? finished = null;
        try
        {
            await foreach (var e in generator.GenerateAsync(prepared, cancel).ConfigureAwait(false))
            {
                switch (e)
                {
                    case ReasoningDelta r: reasoning.Append(r.Text); break;
                    case ContentDelta c: content.Append(c.Text); break;
                    case ToolCallEvent t: calls.Add(t.Call); break;
                    case ChatFinished f: finished = f; break;
                }
            }
        }
        catch (GrammarDeadEndException e)
        {
            throw ResponseFormatField.DeadEnd(e);
        }
        var end = finished ?? throw new InvalidOperationException("The chat generator ended without a finish event.");
        await JsonOutput.WriteAsync(context.Response, 200, w =>
        {
            JsonOutput.StartResponse(w, id, "chat.completion", created, model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (content.Length == 0 && calls.Count > 0) w.WriteNull("content"); else w.WriteString("content", content.ToString());
            if (reasoning.Length > 0)
                w.WriteString("reasoning_content", reasoning.ToString());
            if (calls.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                for (int i = 0; i < calls.Count; i++)
                    WriteToolCall(w, calls[i], ResponseIds.ToolCallId(id, i), index: null);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteString("finish_reason", FinishReasons.Text(end.Reason));
            w.WriteEndObject();
            w.WriteEndArray();
            JsonOutput.WriteUsage(w, end.Usage);
            w.WriteEndObject();
        }, cancel).ConfigureAwait(false);
    }

    private static async Task StreamAsync(
        HttpContext context, GlmChatGenerator generator, PreparedChat prepared, bool includeUsage, string id, long created, string model)
    {
        var response = context.Response;
        var cancel = context.RequestAborted;
        void Chunk(Utf8JsonWriter w, Action<Utf8JsonWriter>? delta, string? finish)
        {
            JsonOutput.StartResponse(w, id, "chat.completion.chunk", created, model);
            w.WriteStartArray("choices");
            if (delta is not null)
            {
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                w.WriteStartObject("delta");
                delta(w);
                w.WriteEndObject();
                if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finish);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }

        JsonOutput.StartEvents(response);
        await JsonOutput.WriteEventAsync(response, w => Chunk(w, d => { d.WriteString("role", "assistant"); d.WriteString("content", ""); }, null), cancel)
            .ConfigureAwait(false);
        int calls = 0;
        try
        {
            await foreach (var e in generator.GenerateAsync(prepared, cancel).ConfigureAwait(false))
            {
                Action<Utf8JsonWriter> write = e switch
                {
                    ReasoningDelta r => w => Chunk(w, d => d.WriteString("reasoning_content", r.Text), null),
                    ContentDelta c => w => Chunk(w, d => d.WriteString("content", c.Text), null),
                    ToolCallEvent t => ToolCallChunk(t.Call, calls++),
                    ChatFinished f => w => Chunk(w, _ => { }, FinishReasons.Text(f.Reason)),
                    _ => _ => { },
                };
                await JsonOutput.WriteEventAsync(response, write, cancel).ConfigureAwait(false);
                if (e is ChatFinished done && includeUsage)
                    await JsonOutput.WriteEventAsync(response, w =>
                    {
                        JsonOutput.StartResponse(w, id, "chat.completion.chunk", created, model);
                        w.WriteStartArray("choices");
                        w.WriteEndArray();
                        JsonOutput.WriteUsage(w, done.Usage);
                        w.WriteEndObject();
                    }, cancel).ConfigureAwait(false);
            }
        }
        catch (GrammarDeadEndException error) when (!cancel.IsCancellationRequested)
        {
            await JsonOutput.WriteEventAsync(response, ResponseFormatField.DeadEnd(error).Write, cancel).ConfigureAwait(false);
        }
        catch (Exception error) when (!cancel.IsCancellationRequested && error is not OperationCanceledException)
        {
            // Headers are gone: report the failure as an error event, as OpenAI-compatible servers do.
            await JsonOutput.WriteEventAsync(response, new ApiError(500, $"Generation failed: {error.Message}", type: "server_error").Write, cancel)
                .ConfigureAwait(false);
        }
        await JsonOutput.WriteDoneAsync(response, cancel).ConfigureAwait(false);

        Action<Utf8JsonWriter> ToolCallChunk(ToolCall call, int index) => w => Chunk(w, d =>
        {
            d.WriteStartArray("tool_calls");
            WriteToolCall(d, call, ResponseIds.ToolCallId(id, index), index);
            d.WriteEndArray();
        }, null);
    }

    private static void WriteToolCall(Utf8JsonWriter w, ToolCall call, string callId, int? index)
    {
        w.WriteStartObject();
        if (index is { } i)
            w.WriteNumber("index", i);
        w.WriteString("id", callId);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", call.Name);
        w.WriteString("arguments", call.ArgumentsJson);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
