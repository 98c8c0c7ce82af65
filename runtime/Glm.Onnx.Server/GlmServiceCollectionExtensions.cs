using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Server;

/// <summary>
/// Registers a GLM model for hosted services: one <see cref="LoadedChatModel"/> singleton (model, engine, chat
/// generator; disposed by the container), the <see cref="IChatClient"/> over it, and the engine and generator
/// themselves. A hosted service loads the model at startup, so the first request does not pay for it and a bad model
/// directory stops the host with a clear error.
/// </summary>
public static class GlmServiceCollectionExtensions
{
    /// <summary>The log category of the engine's per-request lines.</summary>
    public const string EngineLogCategory = "Glm.Onnx.Runtime.Engine";

    public static IServiceCollection AddGlmChatClient(
        this IServiceCollection services,
        string modelDirectory,
        GlmModelOptions? modelOptions = null,
        GlmChatClientOptions? clientOptions = null,
        SchedulerOptions? scheduling = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        clientOptions ??= new GlmChatClientOptions(Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDirectory)));
        // The engine's metrics carry the model id; its per-request lines go to the container's logging, when it has one.
        services.AddSingleton(sp => LoadedChatModel.Load(modelDirectory, modelOptions, scheduling, new EngineTelemetryOptions(
            clientOptions.ModelId, sp.GetService<ILoggerFactory>()?.CreateLogger(EngineLogCategory))));
        return services.AddGlmChatClientCore(clientOptions);
    }

    /// <summary>The same over a model the caller has loaded (the container takes ownership of it).</summary>
    public static IServiceCollection AddGlmChatClient(this IServiceCollection services, LoadedChatModel model, GlmChatClientOptions? clientOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(model);
        services.AddSingleton(_ => model); // a factory registration, so the container disposes it
        return services.AddGlmChatClientCore(clientOptions ?? new GlmChatClientOptions());
    }

    private static IServiceCollection AddGlmChatClientCore(this IServiceCollection services, GlmChatClientOptions clientOptions)
    {
        services.AddSingleton(sp => sp.GetRequiredService<LoadedChatModel>().Generator);
        services.AddSingleton<GenerationEngine>(sp => sp.GetRequiredService<LoadedChatModel>().Engine);
        services.AddSingleton<IChatClient>(sp => new GlmChatClient(sp.GetRequiredService<GlmChatGenerator>(), clientOptions));
        services.AddHostedService<ModelWarmup>();
        return services;
    }

    private sealed class ModelWarmup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<LoadedChatModel>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
