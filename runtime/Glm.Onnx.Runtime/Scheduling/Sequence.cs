using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Scheduling;

public enum SequenceStatus
{
    Waiting,
    Running,
    Finished,
}

/// <summary>
/// One request's tokens and cache state as the scheduler sees them: all tokens so far (prompt then output), how
/// many of them are in the cache, and the blocks that hold them.
/// </summary>
public sealed class Sequence
{
    private readonly List<int> _tokens;

    public Sequence(long id, ReadOnlySpan<int> prompt)
    {
        if (prompt.IsEmpty)
            throw new ArgumentException("A sequence needs at least one prompt token.", nameof(prompt));
        Id = id;
        _tokens = new List<int>(prompt.Length + 16);
        foreach (var token in prompt)
            _tokens.Add(token);
        PromptLength = prompt.Length;
    }

    public long Id { get; }

    public int PromptLength { get; }

    public SequenceStatus Status { get; internal set; } = SequenceStatus.Waiting;

    /// <summary>Prompt then generated tokens.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    public int OutputLength => _tokens.Count - PromptLength;

    /// <summary>Tokens whose cache rows are written (the rest still need a forward pass).</summary>
    public int ComputedLength { get; internal set; }

    /// <summary>Prompt tokens served from the prefix cache when the request was first admitted.</summary>
    public int ReusedPromptTokens { get; internal set; }

    /// <summary>Times this sequence lost its blocks to make room for an older one.</summary>
    public int Preemptions { get; internal set; }

    /// <summary>The sequence's block table: block j holds positions [j * block_size, (j + 1) * block_size).</summary>
    public IReadOnlyList<int> Blocks => BlockTable.Blocks;

    /// <summary>Its blocks and their prefix hashes, kept by the <see cref="BlockManager"/>.</summary>
    internal BlockTable BlockTable { get; } = new();

    internal bool Admitted { get; set; }

    public void AppendToken(int token)
    {
        if (Status == SequenceStatus.Finished)
            throw new InvalidOperationException($"Sequence {Id} is finished; no tokens can be appended.");
        _tokens.Add(token);
    }

    /// <summary>Copies the tokens in [start, start + count) into <paramref name="destination"/>.</summary>
    public void CopyTokens(int start, int count, Span<int> destination) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens).Slice(start, count).CopyTo(destination);

    internal ReadOnlySpan<int> TokenSpan(int start, int count) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens).Slice(start, count);
}
