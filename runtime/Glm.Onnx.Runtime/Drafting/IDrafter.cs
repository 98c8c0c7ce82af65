using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Drafting;

/// <summary>
/// Proposes the draft tokens a speculative decode step verifies (docs/architecture.md, "Speculative decoding"). The
/// engine calls <see cref="Draft"/> once per step, after the scheduler has allocated the blocks of every verify chunk
/// and before the target step runs; a drafter with its own cache keeps it in step through <see cref="Observe"/>.
/// Called only from the engine's step thread.
/// </summary>
public interface IDrafter
{
    /// <summary>
    /// The drafter keeps its own per-position cache beside the target's (the MTP layer's pools): sequences that
    /// speculate track <see cref="Sequence.DraftCacheLength"/>, and the engine hands over the target's final hidden
    /// state of every position they compute.
    /// </summary>
    bool UsesDraftCache { get; }

    /// <summary>
    /// Fills <see cref="DraftWork.Tokens"/> of every entry (exactly <see cref="DraftWork.Count"/> tokens), and brings
    /// the draft cache of each entry's sequence up to its computed length (entries with Count 0 only catch up).
    /// </summary>
    void Draft(IReadOnlyList<DraftWork> work);

    /// <summary>
    /// The target step computed positions [<paramref name="position"/>, + count) of <paramref name="sequence"/> and
    /// they are accepted: their final hidden states are <paramref name="count"/> rows of <paramref name="buffer"/>
    /// from <paramref name="firstRow"/>. Called only when <see cref="UsesDraftCache"/>.
    /// </summary>
    void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count);

    /// <summary>The sequence ended: drop what is kept for it.</summary>
    void Forget(Sequence sequence);
}

/// <summary>One sequence's part of a <see cref="IDrafter.Draft"/> call.</summary>
public sealed class DraftWork
{
    public DraftWork(Sequence sequence, Engine.GenerationRequest request, int count)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Sequence = sequence;
        Request = request;
        Count = count;
        Tokens = new int[count];
    }

    /// <summary>The sequence: its accepted tokens, computed length, block table and draft cache length.</summary>
    public Sequence Sequence { get; }

    /// <summary>The request the sequence serves.</summary>
    public Engine.GenerationRequest Request { get; }

    /// <summary>Tokens to draft after the sequence's last token (0: only catch the draft cache up).</summary>
    public int Count { get; }

    /// <summary>The drafts, filled by the drafter: Tokens[j] is proposed for position Sequence.Tokens.Count + j.</summary>
    public int[] Tokens { get; }
}
