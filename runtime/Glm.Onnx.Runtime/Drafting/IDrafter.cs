using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Sampling;
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

/// <summary>
/// Draws one draft token from a draft-model logits row under the request's sampling options, leaving in
/// <paramref name="q"/> the distribution it was drawn from; <paramref name="earlier"/> are the step's earlier drafts.
/// </summary>
public delegate int DraftChooser(ReadOnlySpan<float> draftLogits, ReadOnlySpan<int> earlier, TokenDistribution q);

/// <summary>One sequence's part of a <see cref="IDrafter.Draft"/> call.</summary>
public sealed class DraftWork
{
    private readonly DraftChooser? _chooser;
    private readonly int _vocab;

    /// <param name="sequence">The sequence to draft for.</param>
    /// <param name="request">Its request.</param>
    /// <param name="count">Drafts wanted (0: only catch the draft cache up).</param>
    /// <param name="vocabSize">Width of a logits row.</param>
    /// <param name="distributions">At least <paramref name="count"/> reusable distributions for the drafts' q.</param>
    /// <param name="chooser">How a draft is drawn from a logits row (null: the argmax, q its point mass).</param>
    public DraftWork(Sequence sequence, Engine.GenerationRequest request, int count, int vocabSize,
        IReadOnlyList<TokenDistribution>? distributions = null, DraftChooser? chooser = null)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        Sequence = sequence;
        Request = request;
        Count = count;
        Tokens = new int[count];
        _vocab = vocabSize;
        _chooser = chooser;
        if (distributions is not null && distributions.Count < count)
            throw new ArgumentException($"{count} drafts need {count} distributions, got {distributions.Count}.", nameof(distributions));
        Distributions = distributions?.Take(count).ToArray() ?? Enumerable.Range(0, count).Select(_ => new TokenDistribution()).ToArray();
    }

    /// <summary>The sequence: its accepted tokens, computed length, block table and draft cache length.</summary>
    public Sequence Sequence { get; }

    /// <summary>The request the sequence serves.</summary>
    public Engine.GenerationRequest Request { get; }

    /// <summary>Tokens to draft after the sequence's last token (0: only catch the draft cache up).</summary>
    public int Count { get; }

    /// <summary>The drafts: Tokens[j] is proposed for position Sequence.Tokens.Count + j.</summary>
    public int[] Tokens { get; }

    /// <summary>Per draft, the distribution q it was drawn from (what the verifier's acceptance rule needs).</summary>
    public IReadOnlyList<TokenDistribution> Distributions { get; }

    /// <summary>Draws draft <paramref name="index"/> from a draft-model logits row and returns it.</summary>
    public int Choose(int index, ReadOnlySpan<float> draftLogits)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        int token;
        if (_chooser is null)
        {
            token = Sampler.ArgMax(draftLogits);
            Distributions[index].SetPointMass(token, _vocab);
        }
        else
            token = _chooser(draftLogits, Tokens.AsSpan(0, index), Distributions[index]);
        Tokens[index] = token;
        return token;
    }

    /// <summary>Proposes <paramref name="token"/> as draft <paramref name="index"/> with certainty (q = its point mass).</summary>
    public void Propose(int index, int token)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        if ((uint)token >= (uint)_vocab)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"a draft token must be in [0, {_vocab})");
        Tokens[index] = token;
        Distributions[index].SetPointMass(token, _vocab);
    }
}
