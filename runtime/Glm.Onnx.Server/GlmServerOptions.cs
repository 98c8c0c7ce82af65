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

    /// <summary>Largest request body accepted; a larger one gets 413 before it is read (docs/hardening.md).</summary>
    public long MaxRequestBodyBytes { get; init; } = 8L << 20;

    /// <summary>Time allowed to receive a whole request body; a slower client gets 408.</summary>
    public TimeSpan RequestBodyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Completions requests in flight at once (reading, tokenizing or generating); more get 429 at once.</summary>
    public int MaxConcurrentRequests { get; init; } = 64;

    /// <summary>
    /// Speculative decoding: draft tokens per decode step for requests that do not say (speculative_tokens), and the
    /// most a request may ask for; 0 = off. Needs a model with an MTP stage.
    /// </summary>
    public int SpeculativeTokens { get; init; }

    /// <summary>
    /// Time limit for compiling a request's response format or tool-call grammar; a schema that takes longer is a 400
    /// naming <c>CompileTimeout</c> before any generation (docs/structured-output.md). Compiled grammars are cached.
    /// </summary>
    public TimeSpan GrammarCompileTimeout { get; init; } = TimeSpan.FromSeconds(10);

    private static bool IsListenUrl(string url)
    {
        // Kestrel accepts "*" and "+" as any-address hosts; Uri does not parse them.
        var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0 && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.UserInfo.Length == 0;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that cannot work.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelId))
            throw new ArgumentException("The model id must not be empty.");
        // An empty key must not silently mean "no authentication": the caller asked for a key and gave none.
        if (ApiKey is not null && string.IsNullOrWhiteSpace(ApiKey))
            throw new ArgumentException("The API key is empty; give a non-empty key, or none to serve without authentication.");
        foreach (var url in ListenUrls)
            if (!IsListenUrl(url))
                throw new ArgumentException(
                    $"'{url}' is not a listen address; expected http://HOST:PORT or https://HOST:PORT (HOST an IP address, localhost, * or +).");
        if (MaxRequestBodyBytes <= 0)
            throw new ArgumentException($"The maximum request body size must be positive, got {MaxRequestBodyBytes}.");
        if (RequestBodyTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"The request body timeout must be positive, got {RequestBodyTimeout}.");
        if (GrammarCompileTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"--grammar-compile-timeout must be positive, got {GrammarCompileTimeout.TotalSeconds} s.");
        if (MaxConcurrentRequests <= 0)
            throw new ArgumentException($"The concurrent request limit must be positive, got {MaxConcurrentRequests}.");
        if (SpeculativeTokens < 0 || SpeculativeTokens > Glm.Onnx.Runtime.Engine.GenerationRequest.MaxSpeculativeTokens)
            throw new ArgumentException(
                $"--speculative-tokens must be in [0, {Glm.Onnx.Runtime.Engine.GenerationRequest.MaxSpeculativeTokens}], got {SpeculativeTokens}.");
        if (DefaultMaxTokens <= 0 || DefaultCompletionMaxTokens <= 0)
            throw new ArgumentException("The default max tokens must be positive.");
    }

    public IReadOnlyList<string> ListenUrls => Urls is { Count: > 0 } urls ? urls : [DefaultUrl];
}
