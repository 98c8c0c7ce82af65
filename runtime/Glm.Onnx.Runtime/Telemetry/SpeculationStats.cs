namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// Speculative decoding totals of an engine since it started: verify steps (decode steps that carried drafts), draft
/// tokens proposed, and how many were accepted at each draft position (index j: the (j+1)-th draft of a step; a draft
/// counts only when every earlier draft of its step was accepted too).
/// </summary>
public sealed record SpeculationStats(long VerifySteps, long DraftedTokens, IReadOnlyList<long> AcceptedByPosition)
{
    public long AcceptedTokens => AcceptedByPosition.Sum();

    /// <summary>Accepted / drafted; 0 before any draft.</summary>
    public double AcceptanceRate => DraftedTokens > 0 ? (double)AcceptedTokens / DraftedTokens : 0;

    /// <summary>
    /// Tokens emitted per verify step, the target's own token included: 1 + accepted drafts / verify steps (the
    /// "accept length" engines publish; GLM-5's is about 3.5). 0 before any verify step.
    /// </summary>
    public double MeanAcceptedLength => VerifySteps > 0 ? 1 + (double)AcceptedTokens / VerifySteps : 0;
}
