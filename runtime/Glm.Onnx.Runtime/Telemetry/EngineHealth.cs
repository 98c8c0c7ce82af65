namespace Glm.Onnx.Runtime.Telemetry;

public enum EngineHealthStatus
{
    /// <summary>The last steps produced tokens (or nothing has run yet).</summary>
    Healthy,

    /// <summary>The last <see cref="EngineTelemetryOptions.FailedStepsBeforeUnhealthy"/> steps all failed; a successful
    /// step makes the engine healthy again.</summary>
    Failing,

    /// <summary>The step loop stopped on an unexpected error; the engine serves nothing until it is recreated.</summary>
    Faulted,
}

/// <summary>Whether the engine is generating, and if not, why (the last error's message).</summary>
public sealed record EngineHealth(EngineHealthStatus Status, string? Problem)
{
    public bool IsHealthy => Status == EngineHealthStatus.Healthy;
}
