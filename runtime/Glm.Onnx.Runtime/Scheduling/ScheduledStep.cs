namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>New tokens [Start, Start + Count) of one sequence computed in a step.</summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int Start, int Count);

/// <summary>What one step computes: a chunk per scheduled sequence, in packing order.</summary>
public sealed record ScheduledStep(IReadOnlyList<ScheduledChunk> Chunks)
{
    public int TokenCount => Chunks.Sum(c => c.Count);
}
