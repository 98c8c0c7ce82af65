using System.Text.Json;
using Glm.Onnx.Runtime.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>
/// Probes, open without the API key (docs/deploy.md, "Probes"):
/// <list type="bullet">
/// <item><c>GET /health</c>: 200 {"status": "ok", ...} while the model is loaded and generating; 503 with the status
/// ("loading", "failing", "faulted", "failed") and the problem otherwise.</item>
/// <item><c>GET /health/live</c>: liveness; 503 only when generation is broken (failing steps, a faulted engine, a
/// failed load): a restart may help. A model still loading is alive.</item>
/// <item><c>GET /health/ready</c>: readiness; 200 {"status": "ready"} only when requests can be served now.</item>
/// </list>
/// </summary>
internal static class HealthEndpoints
{
    public static void Map(WebApplication app, ServedModel served, GlmServerOptions options)
    {
        app.MapGet("/health", context =>
        {
            var (status, problem) = Check(served);
            bool ok = status == "ok";
            return Write(context, ok ? 200 : 503, w =>
            {
                w.WriteString("status", status);
                w.WriteString("model", options.ModelId);
                if (served.Generator is { } generator)
                    w.WriteNumber("free_cache_blocks", generator.Engine.FreeBlockCount);
                if (problem is not null)
                    w.WriteString("problem", problem);
            });
        });
        app.MapGet("/health/live", context =>
        {
            var (status, problem) = Check(served);
            bool alive = status is "ok" or "loading";
            return Write(context, alive ? 200 : 503, w =>
            {
                w.WriteString("status", alive ? "alive" : status);
                if (problem is not null)
                    w.WriteString("problem", problem);
            });
        });
        app.MapGet("/health/ready", context =>
        {
            var (status, problem) = Check(served);
            bool ready = status == "ok";
            return Write(context, ready ? 200 : 503, w =>
            {
                w.WriteString("status", ready ? "ready" : status);
                if (problem is not null)
                    w.WriteString("problem", problem);
            });
        });
    }

    /// <summary>"ok", "loading", "failed" (the load), "failing" or "faulted" (the engine), and the problem if any.</summary>
    private static (string Status, string? Problem) Check(ServedModel served)
    {
        switch (served.State)
        {
            case ServedModelState.Loading:
                return ("loading", null);
            case ServedModelState.Failed:
                return ("failed", served.LoadError);
        }
        var health = served.Generator!.Engine.Health;
        return health.Status switch
        {
            EngineHealthStatus.Healthy => ("ok", null),
            EngineHealthStatus.Failing => ("failing", health.Problem),
            _ => ("faulted", health.Problem),
        };
    }

    private static Task Write(HttpContext context, int status, Action<Utf8JsonWriter> fields)
    {
        // Probes must never be cached by a proxy between the kubelet or the gateway and the server.
        context.Response.Headers.CacheControl = "no-store";
        return JsonOutput.WriteAsync(context.Response, status, w =>
        {
            w.WriteStartObject();
            fields(w);
            w.WriteEndObject();
        }, context.RequestAborted);
    }
}
