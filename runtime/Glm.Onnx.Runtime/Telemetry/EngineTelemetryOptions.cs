using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>How a <see cref="Engine.GenerationEngine"/> reports: its metrics, its log and when it calls itself unhealthy.</summary>
/// <param name="ModelName">The <see cref="GlmMetrics.ModelNameTag"/> of every measurement (the served model id); engines
/// that share a name are reported together.</param>
/// <param name="Logger">One line per finished request, and every failed step; null: no log.</param>
/// <param name="FailedStepsBeforeUnhealthy">Consecutive failed steps (executor error, NaN logits) after which
/// <see cref="Engine.GenerationEngine.Health"/> reports the engine as failing; a successful step resets the count.</param>
public sealed record EngineTelemetryOptions(
    string ModelName = "glm",
    ILogger? Logger = null,
    int FailedStepsBeforeUnhealthy = 3)
{
    public void Validate()
    {
        if (string.IsNullOrEmpty(ModelName))
            throw new ArgumentException("EngineTelemetryOptions.ModelName must not be empty.");
        if (FailedStepsBeforeUnhealthy <= 0)
            throw new ArgumentException($"EngineTelemetryOptions.FailedStepsBeforeUnhealthy must be positive, got {FailedStepsBeforeUnhealthy}.");
    }
}
