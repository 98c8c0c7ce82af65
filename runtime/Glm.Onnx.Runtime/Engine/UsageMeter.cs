using System.Diagnostics;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>One request's timestamps (submission, first token) and its <see cref="GenerationUsage"/> when it ends.</summary>
internal sealed class UsageMeter
{
    private readonly long _submittedAt = Stopwatch.GetTimestamp();
    private long _firstTokenAt;

    /// <summary>Notes a sampled token; true for the request's first.</summary>
    public bool MarkToken()
    {
        if (_firstTokenAt != 0)
            return false;
        _firstTokenAt = Stopwatch.GetTimestamp();
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
