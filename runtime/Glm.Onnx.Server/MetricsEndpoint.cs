using Glm.Onnx.Runtime.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Glm.Onnx.Server;

/// <summary>
/// <c>GET /metrics</c>: the runtime's <see cref="GlmMetrics.MeterName"/> meter in Prometheus text format through
/// OpenTelemetry's exporter. The server only exports; the engine measures, so an embedder without this server can
/// export the same instruments with any OpenTelemetry exporter (docs/deploy.md, "Metrics").
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>Registers an OpenTelemetry meter provider that listens to the runtime's meter and serves Prometheus scrapes.</summary>
    public static IServiceCollection AddGlmMetrics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(GlmMetrics.MeterName)
            // No response cache: a gateway polls queue length and cache use every few hundred ms and needs them fresh.
            .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Maps <see cref="Path"/> when the app registered a meter provider (<see cref="AddGlmMetrics"/> or its own).</summary>
    public static void Map(WebApplication app)
    {
        if (app.Services.GetService<MeterProvider>() is not null)
            app.MapPrometheusScrapingEndpoint(Path);
    }
}
