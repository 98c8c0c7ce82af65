using System.Diagnostics;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>One request's timestamps (submission, first token) and its <see cref="GenerationUsage"/> when it ends.</summary>
internal sealed class UsageMeter
{
    private readonly long _submittedAt = Stopwatch.GetTimestamp();
    private long _firstTokenAt;
    private long _previousTokenAt;
    private long _lastTokenAt;

    /// <summary>When the request was submitted (a <see cref="Stopwatch"/> timestamp).</summary>
    public long SubmittedAt => _submittedAt;

    /// <summary>
    /// For the first token the time since submission, for later ones the gap since the previous token, in seconds
    /// (the time-to-first-token and inter-token-latency metrics).
    /// </summary>
    public double LastTokenLatencySeconds => Stopwatch.GetElapsedTime(_previousTokenAt, _lastTokenAt).TotalSeconds;

    /// <summary>Notes a sampled token; true for the request's first.</summary>
    public bool MarkToken()
    {
        long now = Stopwatch.GetTimestamp();
        _previousTokenAt = _lastTokenAt == 0 ? _submittedAt : _lastTokenAt;
        _lastTokenAt = now;
        if (_firstTokenAt != 0)
            return false;
        _firstTokenAt = now;
        return true;
    }

    /// <summary>The counts and timings of <paramref name="sequence"/>, which has just sampled its last token.</summary>
    public GenerationUsage Finish(Sequence sequence)
    {
        if (_firstTokenAt == 0)
            throw new InvalidOperationException("A request ends with a sampled token; none was marked.");
        long now = Stopwatch.GetTimestamp();
        return new GenerationUsage(
            sequence.PromptLength,
            sequence.ReusedPromptTokens,
            sequence.OutputLength,
            sequence.Preemptions,
            Stopwatch.GetElapsedTime(_submittedAt, _firstTokenAt),
            Stopwatch.GetElapsedTime(_firstTokenAt, now));
    }
}
