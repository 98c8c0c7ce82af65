namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>Limits of one step.</summary>
/// <param name="MaxTokensPerStep">Token budget of a step: decodes first, then prefill chunks up to this many new tokens.</param>
/// <param name="MaxSequences">Most sequences running at once (and therefore in one step).</param>
/// <param name="EnablePrefixCaching">Reuse cached full blocks of an identical prompt prefix.</param>
public sealed record SchedulerOptions(int MaxTokensPerStep = 512, int MaxSequences = 64, bool EnablePrefixCaching = true)
{
    public void Validate()
    {
        if (MaxTokensPerStep <= 0)
            throw new ArgumentException($"MaxTokensPerStep must be positive, got {MaxTokensPerStep}.");
        if (MaxSequences <= 0)
            throw new ArgumentException($"MaxSequences must be positive, got {MaxSequences}.");
    }
}
