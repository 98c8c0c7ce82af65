using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.Runtime.Drafting;

/// <summary>
/// The teacher-forced MTP pass over a prompt t_0 .. t_{S-1} (docs/architecture.md, "MTP"): one main-model prefill
/// with every row's logits and final hidden state h_i, then one MTP draft pass whose row i takes h_i and t_{i+1} at
/// position i and yields the draft logits for t_{i+2}; the MTP layer attends causally over its own rows 0..i. This is
/// what <c>glm-run logits --mtp</c> writes and what the fixtures' <c>mtp_logits</c> reference holds.
/// </summary>
public static class TeacherForcedDraft
{
    /// <summary>
    /// Runs both passes for one sequence on <paramref name="blocks"/> (its block table; the main layers' pools and the
    /// MTP layer's pools are addressed by the same ids). The caller owns those blocks for the duration of the call.
    /// </summary>
    public static TeacherForcedDraftResult Run(IModelExecutor executor, IReadOnlyList<int> promptIds, IReadOnlyList<int> blocks)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(blocks);
        var info = executor.Info;
        if (!info.HasDraftStage)
            throw new NotSupportedException("This model has no MTP draft stage (convert a checkpoint with num_nextn_predict_layers 1).");
        int s = promptIds.Count, vocab = info.VocabSize, hiddenSize = info.HiddenSize;
        if (s < 2)
            throw new ArgumentException($"The teacher-forced MTP pass needs at least 2 prompt tokens, got {s}.", nameof(promptIds));
        if ((long)blocks.Count * info.BlockSize < s)
            throw new ArgumentException($"{blocks.Count} blocks of {info.BlockSize} tokens do not hold the {s} prompt tokens.", nameof(blocks));
        foreach (var id in promptIds)
            if ((uint)id >= (uint)vocab)
                throw new ArgumentException($"Prompt token id {id} is outside the vocabulary [0, {vocab}).", nameof(promptIds));

        var table = blocks.ToArray();
        var main = Batch(promptIds.Select(id => (long)id).ToArray(), table);
        var mainOut = executor.Forward(main);
        var logits = Rows(mainOut, s, vocab, (b, r) => b.Row(r));
        var hidden = Rows(mainOut, s, hiddenSize, (b, r) => b.HiddenRow(r));

        // Row i: token t_{i+1}, position i, hidden h_i. h_{S-1} drafts past the prompt and needs t_S: not used.
        var draft = Batch(promptIds.Skip(1).Select(id => (long)id).ToArray(), table);
        var draftOut = executor.ForwardDraft(new DraftBatch(draft, hidden.AsMemory(0, (s - 1) * hiddenSize)));
        var draftLogits = Rows(draftOut.Logits, s - 1, vocab, (b, r) => b.Row(r));
        return new TeacherForcedDraftResult(logits, hidden, draftLogits, draftOut.TopkIndices.ToArray(), vocab, hiddenSize, draftOut.IndexTopK);
    }

    /// <summary>One sequence from position 0, every row's logits wanted.</summary>
    private static ForwardBatch Batch(long[] ids, int[] table)
    {
        var rows = Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray();
        return new ForwardBatch(ids, rows, [0, ids.Length], [0], table, table.Length, rows);
    }

    private delegate ReadOnlySpan<float> RowOf(LogitsBuffer buffer, int row);

    private static float[] Rows(LogitsBuffer buffer, int rows, int width, RowOf row)
    {
        var result = new float[rows * width];
        for (int r = 0; r < rows; r++)
            row(buffer, r).CopyTo(result.AsSpan(r * width, width));
        return result;
    }
}

/// <summary>
/// The outcome of <see cref="TeacherForcedDraft.Run"/>, row-major: main logits [S, vocab] and final hidden states
/// [S, hidden], MTP draft logits [S-1, vocab] (row i predicts t_{i+2}) and the MTP layer's selection [S-1, index_topk]
/// (-1 padded; a set per row).
/// </summary>
public sealed record TeacherForcedDraftResult(float[] Logits, float[] Hidden, float[] DraftLogits, int[] DraftTopk,
    int VocabSize, int HiddenSize, int IndexTopK);
