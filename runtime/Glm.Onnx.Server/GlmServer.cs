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
/// /v1/models/{id}), GET /health. Errors are OpenAI-shaped JSON with a 4xx status. Every request is one engine
/// request, so concurrent clients are batched by the engine.
/// </summary>
public static class GlmServer
{
    /// <summary>A Kestrel application over the generator (borrowed), listening on the options' URLs.</summary>
    public static WebApplication Build(GlmChatGenerator generator, GlmServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "glm-run" });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.WebHost.UseUrls([.. options.ListenUrls]);
        // Kestrel enforces the body cap too (chunked bodies, and any endpoint that reads the body another way).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        var app = builder.Build();
        app.MapGlmEndpoints(generator, options);
        return app;
    }

    /// <summary>Builds and starts the server; returns it with the addresses it actually listens on (port 0 resolved).</summary>
    public static async Task<(WebApplication App, IReadOnlyList<string> Addresses)> StartAsync(
        GlmChatGenerator generator, GlmServerOptions options, CancellationToken cancellationToken = default)
    {
        var app = Build(generator, options);
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
        app.MapPost("/v1/chat/completions", context => Guard(context, () => admission.RunAsync(() => ChatCompletionsEndpoint.HandleAsync(context, generator, options))));
        app.MapPost("/v1/completions", context => Guard(context, () => admission.RunAsync(() => CompletionsEndpoint.HandleAsync(context, generator, options))));
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
        app.MapGet("/health", context => JsonOutput.WriteAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "ok");
            w.WriteString("model", options.ModelId);
            w.WriteNumber("free_cache_blocks", generator.Engine.FreeBlockCount);
            w.WriteEndObject();
        }, context.RequestAborted));
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
            await Fail(context, error);
        }
        catch (BadHttpRequestException error)
        {
            await Fail(context, RequestBody.FromKestrel(error));
        }
        catch (Exception error) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
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
