using Glm.Onnx.Runtime.ChatClient;

namespace Glm.Onnx.Server;

public enum ServedModelState
{
    /// <summary>The server listens (probes answer) while the model loads; generation requests get 503.</summary>
    Loading,

    Ready,

    /// <summary>Loading failed; the server answers 503 until the process is replaced.</summary>
    Failed,
}

/// <summary>
/// The model behind the endpoints, which may still be loading: the server can listen from the start, so a readiness
/// probe tells "loading" from "ready" instead of seeing a closed port (docs/deploy.md, "Probes"). Thread-safe.
/// </summary>
public sealed class ServedModel
{
    private volatile GlmChatGenerator? _generator;
    private volatile string? _loadError;

    /// <summary>A model that is ready at once (the generator is borrowed).</summary>
    public static ServedModel Of(GlmChatGenerator generator)
    {
        var served = new ServedModel();
        served.SetReady(generator);
        return served;
    }

    public ServedModelState State =>
        _generator is not null ? ServedModelState.Ready : _loadError is not null ? ServedModelState.Failed : ServedModelState.Loading;

    /// <summary>The generator once ready, else null.</summary>
    public GlmChatGenerator? Generator => _generator;

    /// <summary>Why loading failed (null unless <see cref="State"/> is Failed).</summary>
    public string? LoadError => _loadError;

    public void SetReady(GlmChatGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _generator = generator;
    }

    public void SetFailed(string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        _loadError = error;
    }

    /// <summary>The generator, or a 503 the client can retry on another replica.</summary>
    internal GlmChatGenerator RequireGenerator() => _generator ?? throw new ApiError(503,
        _loadError is { } error ? $"The model failed to load: {error}" : "The model is still loading; retry shortly.",
        code: _loadError is null ? "model_loading" : "model_load_failed", type: "server_error");
}
