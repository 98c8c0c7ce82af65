namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Immutable description of one model step in the packed variable-length layout of docs/onnx-contract.md:
/// the new tokens of every scheduled sequence laid end to end, where each sequence starts in the cache, its block
/// table, and which rows of the packed batch need logits. Nothing global: an executor needs only this.
/// </summary>
public sealed class ForwardBatch
{
    public ForwardBatch(
        long[] inputIds,
        long[] positions,
        int[] cumulativeSequenceLengths,
        int[] pastSequenceLengths,
        int[] blockTable,
        int maxBlocks,
        long[] logitsIndices)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(cumulativeSequenceLengths);
        ArgumentNullException.ThrowIfNull(pastSequenceLengths);
        ArgumentNullException.ThrowIfNull(blockTable);
        ArgumentNullException.ThrowIfNull(logitsIndices);
        int sequences = pastSequenceLengths.Length;
        if (sequences == 0)
            throw new ArgumentException("A forward batch needs at least one sequence.", nameof(pastSequenceLengths));
        if (positions.Length != inputIds.Length)
            throw new ArgumentException($"positions: expected {inputIds.Length} entries (one per token), got {positions.Length}.", nameof(positions));
        if (cumulativeSequenceLengths.Length != sequences + 1 || cumulativeSequenceLengths[0] != 0 ||
            cumulativeSequenceLengths[^1] != inputIds.Length)
            throw new ArgumentException(
                $"cumulative_sequence_lengths: expected {sequences + 1} entries from 0 to {inputIds.Length}, got [{string.Join(',', cumulativeSequenceLengths)}].",
                nameof(cumulativeSequenceLengths));
        if (maxBlocks <= 0 || blockTable.Length != sequences * maxBlocks)
            throw new ArgumentException($"block_table: expected {sequences} x {maxBlocks} entries, got {blockTable.Length}.", nameof(blockTable));
        foreach (var index in logitsIndices)
            if (index < 0 || index >= inputIds.Length)
                throw new ArgumentException($"logits_indices: {index} is outside the packed batch of {inputIds.Length} tokens.", nameof(logitsIndices));

        InputIds = inputIds;
        Positions = positions;
        CumulativeSequenceLengths = cumulativeSequenceLengths;
        PastSequenceLengths = pastSequenceLengths;
        BlockTable = blockTable;
        MaxBlocks = maxBlocks;
        LogitsIndices = logitsIndices;
    }

    /// <summary>Packed new tokens, [T].</summary>
    public ReadOnlyMemory<long> InputIds { get; }

    /// <summary>Absolute position of every new token, [T].</summary>
    public ReadOnlyMemory<long> Positions { get; }

    /// <summary>[B+1], cu[b+1] - cu[b] = new tokens of sequence b.</summary>
    public ReadOnlyMemory<int> CumulativeSequenceLengths { get; }

    /// <summary>[B], tokens of each sequence already in the cache.</summary>
    public ReadOnlyMemory<int> PastSequenceLengths { get; }

    /// <summary>Row-major [B, MaxBlocks]; entries past a sequence's last block are 0 (never read).</summary>
    public ReadOnlyMemory<int> BlockTable { get; }

    public int MaxBlocks { get; }

    /// <summary>Rows of the packed batch whose logits the step returns, in this order, [N].</summary>
    public ReadOnlyMemory<long> LogitsIndices { get; }

    public int TokenCount => InputIds.Length;

    public int SequenceCount => PastSequenceLengths.Length;

    public int LogitsCount => LogitsIndices.Length;

    /// <summary>The block table row of sequence <paramref name="sequence"/>.</summary>
    public ReadOnlySpan<int> BlockTableRow(int sequence) => BlockTable.Span.Slice(sequence * MaxBlocks, MaxBlocks);
}
