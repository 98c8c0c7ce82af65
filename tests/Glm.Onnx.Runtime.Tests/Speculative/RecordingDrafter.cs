using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Tests.Speculative;

/// <summary>What a sequence looked like when it was asked for drafts, and what was drafted.</summary>
public sealed record DraftCall(long SequenceId, int Tokens, int Computed, int DraftCache, int Blocks, int[] Drafts);

/// <summary>Wraps a drafter and records every call's state (the engine's view at draft time) for assertions.</summary>
public sealed class RecordingDrafter(IDrafter inner) : IDrafter
{
    public List<DraftCall> Calls { get; } = new();

    public bool UsesDraftCache => inner.UsesDraftCache;

    public void Draft(IReadOnlyList<DraftWork> work)
    {
        inner.Draft(work);
        lock (Calls)
            foreach (var w in work)
                Calls.Add(new DraftCall(w.Sequence.Id, w.Sequence.Tokens.Count, w.Sequence.ComputedLength, w.Sequence.DraftCacheLength,
                    w.Sequence.Blocks.Count, [.. w.Tokens]));
    }

    public void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count) =>
        inner.Observe(sequence, position, buffer, firstRow, count);

    public void Forget(Sequence sequence) => inner.Forget(sequence);
}
