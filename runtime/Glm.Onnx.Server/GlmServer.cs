using System.Net;
using System.Security.Cryptography;
using System.Text;
using Glm.Onnx.Runtime.ChatClient;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Server;

/// <summary>
/// The OpenAI-compatible server: POST /v1/chat/completions, POST /v1/completions, GET /v1/models (and
/// /v1/models/{id}), the probes GET /health, /health/live, /health/ready (<see cref="HealthEndpoints"/>) and GET /metrics
/// (<see cref="MetricsEndpoint"/>). Errors are OpenAI-shaped JSON with a 4xx status (5xx when generation fails or the
/// model is not loaded, each logged with its cause). Every request is one engine request, so concurrent clients are
/// batched by the engine.
/// </summary>
public static class GlmServer
{
    /// <summary>A Kestrel application over the generator (borrowed), listening on the options' URLs.</summary>
    public static WebApplication Build(GlmChatGenerator generator, GlmServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return Build(ServedModel.Of(generator), options, logging);
    }

    /// <summary>A Kestrel application over a model that may still be loading (probes answer "loading" meanwhile).</summary>
    public static WebApplication Build(ServedModel served, GlmServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(served);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "glm-run" });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.WebHost.UseUrls([.. options.ListenUrls]);
        // Kestrel enforces the body cap too (chunked bodies, and any endpoint that reads the body another way).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Services.AddGlmMetrics();
        var app = builder.Build();
        app.MapGlmEndpoints(served, options);
        return app;
    }

    /// <summary>Builds and starts the server; returns it with the addresses it actually listens on (port 0 resolved).</summary>
    public static Task<(WebApplication App, IReadOnlyList<string> Addresses)> StartAsync(
        GlmChatGenerator generator, GlmServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return StartAsync(ServedModel.Of(generator), options, logging: null, cancellationToken);
    }

    /// <summary>The same over a model that may still be loading, with the given logging providers.</summary>
    public static async Task<(WebApplication App, IReadOnlyList<string> Addresses)> StartAsync(
        ServedModel served, GlmServerOptions options, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken = default)
    {
        var app = Build(served, options, logging);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        return (app, addresses);
    }

    /// <summary>True when every URL binds a loopback address (or localhost).</summary>
    public static bool IsLoopbackOnly(IEnumerable<string> urls) => urls.All(url =>
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri))
            return false;
        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    });

    public static void MapGlmEndpoints(this WebApplication app, GlmChatGenerator generator, GlmServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(generator);
        app.MapGlmEndpoints(ServedModel.Of(generator), options);
    }

    /// <summary>The endpoints over a model that may still be loading (generation requests get 503 until it is ready).</summary>
    public static void MapGlmEndpoints(this WebApplication app, ServedModel served, GlmServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var admission = new Admission(options.MaxConcurrentRequests);
        app.Use(async (context, next) =>
        {
            if (options.ApiKey is { Length: > 0 } key && context.Request.Path.StartsWithSegments("/v1") && !Authorized(context, key))
            {
                await Fail(context, new ApiError(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.", code: "invalid_api_key"));
                return;
            }
            await next(context);
        });
        app.MapPost("/v1/chat/completions", context => Guard(context, () => admission.RunAsync(() => ChatCompletionsEndpoint.HandleAsync(context, served.RequireGenerator(), options))));
        app.MapPost("/v1/completions", context => Guard(context, () => admission.RunAsync(() => CompletionsEndpoint.HandleAsync(context, served.RequireGenerator(), options))));
        app.MapGet("/v1/models", context => Guard(context, () => JsonOutput.WriteAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            WriteModel(w, options.ModelId);
            w.WriteEndArray();
            w.WriteEndObject();
        }, context.RequestAborted)));
        app.MapGet("/v1/models/{id}", context => Guard(context, () =>
        {
            var id = (string)context.Request.RouteValues["id"]!;
            if (id != options.ModelId)
                throw new ApiError(404, $"The model '{id}' does not exist; this server serves '{options.ModelId}'.", "model", "model_not_found");
            return JsonOutput.WriteAsync(context.Response, 200, w => WriteModel(w, id), context.RequestAborted);
        }));
        HealthEndpoints.Map(app, served, options);
        MetricsEndpoint.Map(app);
    }

    private static void WriteModel(System.Text.Json.Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", 0);
        w.WriteString("owned_by", "glm-onnx");
        w.WriteEndObject();
    }

    private static bool Authorized(HttpContext context, string key)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(key));
    }

    // Turns refusals into OpenAI-shaped errors; a vanished client just ends the request (its generation is cancelled).
    private static async Task Guard(HttpContext context, Func<Task> handler)
    {
        try
        {
            await handler();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (ApiError error)
        {
            if (error.Status >= 500)
                ServerLog.Refused(context, error);
            await Fail(context, error);
        }
        catch (BadHttpRequestException error)
        {
            await Fail(context, RequestBody.FromKestrel(error));
        }
        catch (Exception error) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            ServerLog.Failed(context, error);
            await Fail(context, new ApiError(500, $"Generation failed: {error.Message}", type: "server_error"));
        }
    }

    private static async Task Fail(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted)
            return;
        try
        {
            if (error.Status == 429)
                context.Response.Headers.RetryAfter = "1";
            await JsonOutput.WriteAsync(context.Response, error.Status, error.Write, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }
}
