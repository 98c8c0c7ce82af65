namespace Glm.Onnx.Runtime.Scheduling;

/// <summary>New tokens [Start, Start + Count) of one sequence computed in a step.</summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int Start, int Count)
{
    /// <summary>True when this chunk reaches the sequence's last token, so its last row's logits choose the next token.</summary>
    public bool CompletesSequence => Start + Count == Sequence.Tokens.Count;
}

/// <summary>What one step computes: a chunk per scheduled sequence, in packing order.</summary>
public sealed record ScheduledStep(IReadOnlyList<ScheduledChunk> Chunks)
{
    public int TokenCount => Chunks.Sum(c => c.Count);
}
