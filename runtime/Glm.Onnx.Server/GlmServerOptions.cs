namespace Glm.Onnx.Server;

/// <summary>How <c>glm-run serve</c> listens and answers.</summary>
/// <param name="ModelId">The one model id this server answers to (requests naming another get 404).</param>
/// <param name="Urls">Listen addresses; loopback by default. Port 0 picks a free port (see <see cref="GlmServer.StartAsync"/>).</param>
/// <param name="ApiKey">When set, every /v1 request needs "Authorization: Bearer KEY" (health stays open).</param>
/// <param name="DefaultMaxTokens">Tokens a chat completion may generate when the request gives no max_tokens.</param>
/// <param name="DefaultCompletionMaxTokens">The same for /v1/completions (OpenAI's default there is 16).</param>
public sealed record GlmServerOptions(
    string ModelId,
    IReadOnlyList<string>? Urls = null,
    string? ApiKey = null,
    int DefaultMaxTokens = 1024,
    int DefaultCompletionMaxTokens = 16)
{
    public const string DefaultUrl = "http://127.0.0.1:8000";

    public IReadOnlyList<string> ListenUrls => Urls is { Count: > 0 } urls ? urls : [DefaultUrl];
}
