namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// One step of the MTP draft layer (docs/architecture.md, "MTP"): <see cref="Tokens"/> is the packed batch in the
/// layout of <see cref="ForwardBatch"/>, where row t holds token t+1 (the token after the one whose hidden state row t
/// carries), the RoPE position of row t, and the block table of the sequence's MTP pools. <see cref="Hidden"/> is the
/// main model's (or the previous draft step's) final hidden state of each row, row-major [T, hidden].
/// <see cref="PrevTopk"/> optionally replaces the MTP layer's own top-k selection ([T, index_topk], -1 padded): the
/// first draft step's selection reused by later steps under index_share_for_mtp_iteration. Empty: the layer selects.
/// </summary>
public sealed class DraftBatch
{
    public DraftBatch(ForwardBatch tokens, ReadOnlyMemory<float> hidden, ReadOnlyMemory<int> prevTopk = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.TokenCount == 0 || hidden.Length % tokens.TokenCount != 0)
            throw new ArgumentException(
                $"hidden: expected {tokens.TokenCount} rows of the hidden size (one per token), got {hidden.Length} floats.", nameof(hidden));
        if (!prevTopk.IsEmpty && prevTopk.Length % tokens.TokenCount != 0)
            throw new ArgumentException(
                $"prev_topk: expected {tokens.TokenCount} rows of index_topk entries (one per token) or none, got {prevTopk.Length}.", nameof(prevTopk));
        Tokens = tokens;
        Hidden = hidden;
        PrevTopk = prevTopk;
    }

    public ForwardBatch Tokens { get; }

    /// <summary>[T, hidden] row-major.</summary>
    public ReadOnlyMemory<float> Hidden { get; }

    /// <summary>[T, index_topk] row-major, or empty.</summary>
    public ReadOnlyMemory<int> PrevTopk { get; }
}

/// <summary>
/// What a draft step returns: the draft logits and MTP final hidden states of the logits rows (<see cref="Logits"/>),
/// and the selection the MTP layer attended with, [T, <see cref="IndexTopK"/>] row-major, -1 padded (a set per row).
/// Valid until the next draft call.
/// </summary>
public readonly record struct DraftOutput(LogitsBuffer Logits, ReadOnlyMemory<int> TopkIndices, int IndexTopK);
