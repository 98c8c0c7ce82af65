namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>
/// New tokens [Start, Start + Count) of one sequence computed in a step. The last <see cref="Drafts"/> of them are
/// draft tokens the engine fills in before the step runs (speculative decoding): the chunk then verifies them, and
/// only the accepted prefix stays (<see cref="Scheduler.CompleteVerified"/>).
/// </summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int Start, int Count, int Drafts = 0)
{
    /// <summary>Tokens of the chunk that the sequence already holds (the rest are drafts).</summary>
    public int KnownCount => Count - Drafts;
}

/// <summary>What one step computes: a chunk per scheduled sequence, in packing order.</summary>
public sealed record ScheduledStep(IReadOnlyList<ScheduledChunk> Chunks)
{
    public int TokenCount => Chunks.Sum(c => c.Count);
}
