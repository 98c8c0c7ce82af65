using System.Text.Json;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Server;

/// <summary>The sampling and length fields chat and text completions share, validated with OpenAI's ranges.</summary>
internal static class SamplingParameters
{
    public static SamplingOptions Read(JsonElement body)
    {
        double? topP = RequestJson.Number(body, "top_p", 0, 1);
        if (topP == 0)
            throw ApiError.BadRequest("'top_p' must be greater than 0 and at most 1, got 0.", "top_p");
        long? topK = RequestJson.Integer(body, "top_k", -1, int.MaxValue);
        return new SamplingOptions(
            Temperature: (float)(RequestJson.Number(body, "temperature", 0, 2) ?? 1.0),
            TopK: topK is null or -1 ? 0 : (int)topK,
            TopP: (float)(topP ?? 1.0),
            MinP: (float)(RequestJson.Number(body, "min_p", 0, 1) ?? 0),
            RepetitionPenalty: (float)(RequestJson.Number(body, "repetition_penalty", 1e-6, 100) ?? 1),
            PresencePenalty: (float)(RequestJson.Number(body, "presence_penalty", -2, 2) ?? 0),
            FrequencyPenalty: (float)(RequestJson.Number(body, "frequency_penalty", -2, 2) ?? 0),
            Seed: RequestJson.Integer(body, "seed", long.MinValue, long.MaxValue) is { } seed ? unchecked((ulong)seed) : null);
    }

    /// <summary>max_completion_tokens (newer name) or max_tokens, else the default.</summary>
    public static int MaxTokens(JsonElement body, int fallback)
    {
        var value = RequestJson.Integer(body, "max_completion_tokens", 1, int.MaxValue)
            ?? RequestJson.Integer(body, "max_tokens", 1, int.MaxValue);
        return value is { } v ? (int)v : fallback;
    }

    /// <summary>
    /// speculative_tokens (this server's extension): draft tokens per decode step, at most the server's
    /// --speculative-tokens (the default when absent); a request may lower it (0 = off), never raise it.
    /// </summary>
    public static int SpeculativeTokens(JsonElement body, int serverDefault)
    {
        var given = RequestJson.Integer(body, "speculative_tokens", 0, int.MaxValue);
        if (given > serverDefault)
            throw ApiError.BadRequest(
                $"'speculative_tokens' may lower the server's --speculative-tokens {serverDefault}, not exceed it; got {given}.", "speculative_tokens");
        return (int?)given ?? serverDefault;
    }

    /// <summary>Only one choice per request is generated.</summary>
    public static void RequireSingleChoice(JsonElement body)
    {
        if (RequestJson.Integer(body, "n", 1, 128) is { } n && n != 1)
            throw ApiError.BadRequest($"'n' must be 1 (this server generates one choice per request), got {n}.", "n");
    }

    /// <summary>stream and stream_options.include_usage.</summary>
    public static (bool Stream, bool IncludeUsage) Streaming(JsonElement body)
    {
        bool stream = RequestJson.Bool(body, "stream") ?? false;
        bool usage = RequestJson.Object(body, "stream_options") is { } options
            && (RequestJson.Bool(options, "include_usage", "stream_options.include_usage") ?? false);
        return (stream, usage);
    }
}
