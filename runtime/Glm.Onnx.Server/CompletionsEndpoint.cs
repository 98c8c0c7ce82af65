using System.Text;
using System.Text.Json;
using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Engine;
using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>
/// POST /v1/completions: raw text continuation of "prompt" (a string, a one-string array, or an array of token ids),
/// streamed or not. The turn-ending control token that stops generation is not part of the returned text.
/// </summary>
internal static class CompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext context, GlmChatGenerator generator, GlmServerOptions options)
    {
        var cancel = context.RequestAborted;
        var body = await RequestJson.ReadObjectAsync(context.Request, options, cancel).ConfigureAwait(false);
        string model = ModelCheck.Require(body, options);
        SamplingParameters.RequireSingleChoice(body);
        foreach (var unsupported in new[] { "echo", "logprobs", "suffix" })
            if (RequestJson.Field(body, unsupported) is { } value && value.ValueKind is not (JsonValueKind.False or JsonValueKind.Null))
                throw ApiError.BadRequest($"'{unsupported}' is not supported by this server.", unsupported);
        if (RequestJson.Integer(body, "best_of", 1, 128) is { } bestOf && bestOf != 1)
            throw ApiError.BadRequest($"'best_of' must be 1, got {bestOf}.", "best_of");
        var (stream, includeUsage) = SamplingParameters.Streaming(body);
        var ids = PromptIds(body, generator);
        int limit = generator.Engine.MaxSequenceTokens;
        if (ids.Length >= limit)
            throw ApiError.BadRequest(new ContextLengthExceededException(ids.Length, limit).Message, "prompt", "context_length_exceeded");
        var sampling = SamplingParameters.Read(body);
        var request = new GenerationRequest(ids)
        {
            Sampling = sampling,
            SpeculativeTokens = SamplingParameters.SpeculativeTokens(body, options.SpeculativeTokens),
            MaxNewTokens = SamplingParameters.MaxTokens(body, options.DefaultCompletionMaxTokens),
            StopStrings = RequestJson.StopStrings(body),
            Constraint = Constraint(ResponseFormatField.Read(body), generator, options),
        };
        try
        {
            request.Sampling.Validate();
        }
        catch (ArgumentException e)
        {
            throw ApiError.BadRequest(e.Message);
        }
        var id = ResponseIds.NewTextCompletionId();
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = context.Response;

        void Body(Utf8JsonWriter w, string text, string? finish, GenerationUsage? usage, bool withChoice = true)
        {
            JsonOutput.StartResponse(w, id, "text_completion", created, model);
            w.WriteStartArray("choices");
            if (withChoice)
            {
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                w.WriteString("text", text);
                w.WriteNull("logprobs");
                if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finish);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (usage is not null)
                JsonOutput.WriteUsage(w, usage);
            w.WriteEndObject();
        }

        var all = new StringBuilder();
        if (stream)
            JsonOutput.StartEvents(response);
        try
        {
            await foreach (var token in generator.Engine.GenerateAsync(request, cancel).ConfigureAwait(false))
            {
                string text = token.TextDelta;
                if (token.FinishReason == FinishReason.Stop && generator.Tokenizer.IsSpecial(token.TokenId)
                    && generator.Tokenizer.IdToToken(token.TokenId) is { } special && text.EndsWith(special, StringComparison.Ordinal))
                    text = text[..^special.Length];
                string? finish = token.FinishReason is { } reason ? FinishReasons.Text(reason) : null;
                if (!stream)
                {
                    all.Append(text);
                    if (finish is not null)
                        await JsonOutput.WriteAsync(response, 200, w => Body(w, all.ToString(), finish, token.Usage), cancel).ConfigureAwait(false);
                    continue;
                }
                if (text.Length > 0 || finish is not null)
                    await JsonOutput.WriteEventAsync(response, w => Body(w, text, finish, null), cancel).ConfigureAwait(false);
                if (finish is not null && includeUsage)
                    await JsonOutput.WriteEventAsync(response, w => Body(w, "", null, token.Usage, withChoice: false), cancel).ConfigureAwait(false);
            }
        }
        catch (GrammarDeadEndException e) when (!cancel.IsCancellationRequested)
        {
            if (!stream)
                throw ResponseFormatField.DeadEnd(e);
            await JsonOutput.WriteEventAsync(response, ResponseFormatField.DeadEnd(e).Write, cancel).ConfigureAwait(false);
        }
        if (stream)
            await JsonOutput.WriteDoneAsync(response, cancel).ConfigureAwait(false);
    }

    private static int[] PromptIds(JsonElement body, GlmChatGenerator generator)
    {
        var prompt = RequestJson.Field(body, "prompt") ?? throw ApiError.BadRequest("'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.String)
            return Encode(prompt.GetString()!, generator);
        if (prompt.ValueKind != JsonValueKind.Array)
            throw RequestJson.TypeError("prompt", "a string, an array of one string, or an array of token ids", prompt);
        var items = prompt.EnumerateArray().ToList();
        if (items.Count == 1 && items[0].ValueKind == JsonValueKind.String)
            return Encode(items[0].GetString()!, generator);
        int vocab = generator.Engine.ModelInfo.VocabSize;
        var ids = new int[items.Count];
        for (int i = 0; i < items.Count; i++)
            if (items[i].ValueKind != JsonValueKind.Number || !items[i].TryGetInt32(out ids[i]) || ids[i] < 0 || ids[i] >= vocab)
                throw ApiError.BadRequest(
                    $"'prompt[{i}]' must be a token id in [0, {vocab}) (or give one prompt string), got {items[i].GetRawText()}.", "prompt");
        if (ids.Length == 0)
            throw ApiError.BadRequest("'prompt' must not be empty.", "prompt");
        return ids;
    }

    private static int[] Encode(string text, GlmChatGenerator generator)
    {
        if (text.Length == 0)
            throw ApiError.BadRequest("'prompt' must not be empty.", "prompt");
        // Refuse a prompt that cannot fit from its length alone, before tokenizing megabytes of it.
        int limit = generator.Engine.MaxSequenceTokens;
        if (generator.Tokenizer.TokenCountLowerBound(text) is var atLeast && atLeast >= limit)
            throw ApiError.BadRequest(new ContextLengthExceededException((int)Math.Min(atLeast, int.MaxValue), limit, atLeast: true).Message,
                "prompt", "context_length_exceeded");
        return generator.Tokenizer.Encode(text, addSpecialTokens: false);
    }

    // A raw completion has no reasoning block: the grammar holds from the first generated token.
    private static GrammarConstraint? Constraint(StructuredOutput? format, GlmChatGenerator generator, GlmServerOptions options)
    {
        if (format is null)
            return null;
        try
        {
            return new GrammarConstraint(generator.Grammars.Get(format, options.GrammarCompileTimeout));
        }
        catch (GrammarException e)
        {
            throw ResponseFormatField.Invalid(e);
        }
    }
}
