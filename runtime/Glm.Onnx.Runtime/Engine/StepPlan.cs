using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>
/// Turns a scheduled step into the packed <see cref="ForwardBatch"/> and remembers which logits row belongs to which
/// request: the rows of prompt positions when prompt logits are wanted, the sampling row of each chunk that
/// reaches its sequence's last token, every row of a verify chunk, and every row of a sequence that keeps a draft
/// cache (their final hidden states feed it).
/// </summary>
internal sealed class StepPlan
{
    private StepPlan(ForwardBatch batch, int[] samplingRow, int[] promptRowStart, int[] promptPositionStart, int[] promptRowCount,
        int[] hiddenRowStart)
    {
        Batch = batch;
        HiddenRowStart = hiddenRowStart;
        SamplingRow = samplingRow;
        PromptRowStart = promptRowStart;
        PromptPositionStart = promptPositionStart;
        PromptRowCount = promptRowCount;
    }

    public ForwardBatch Batch { get; }

    /// <summary>
    /// Per chunk: the logits row to sample from, or -1 (the chunk is a prefill piece). For a verify chunk (drafts), the
    /// first of its Count consecutive rows: row j chooses the token after position Start + j.
    /// </summary>
    public int[] SamplingRow { get; }

    /// <summary>
    /// Per chunk: the first of Count consecutive rows covering every position of the chunk, whose final hidden states
    /// feed the draft cache; -1 when the sequence keeps none.
    /// </summary>
    public int[] HiddenRowStart { get; }

    /// <summary>Per chunk: first logits row holding prompt logits, their first prompt position and count.</summary>
    public int[] PromptRowStart { get; }

    public int[] PromptPositionStart { get; }

    public int[] PromptRowCount { get; }

    /// <param name="step">The scheduled chunks.</param>
    /// <param name="requestOf">The request of a sequence.</param>
    /// <param name="drafts">Per chunk, its draft tokens (null or shorter lists where a chunk has none).</param>
    public static StepPlan Build(ScheduledStep step, Func<Sequence, ActiveRequest> requestOf, IReadOnlyList<int[]?>? drafts = null)
    {
        var chunks = step.Chunks;
        int tokens = step.TokenCount;
        int sequences = chunks.Count;
        int maxBlocks = 1;
        foreach (var chunk in chunks)
            maxBlocks = Math.Max(maxBlocks, chunk.Sequence.Blocks.Count);

        var inputIds = new long[tokens];
        var positions = new long[tokens];
        var cu = new int[sequences + 1];
        var past = new int[sequences];
        var blockTable = new int[sequences * maxBlocks]; // unused entries stay 0, a valid id that is never read
        var logitsIndices = new List<long>(sequences);
        var samplingRow = new int[sequences];
        var promptRowStart = new int[sequences];
        var promptPositionStart = new int[sequences];
        var promptRowCount = new int[sequences];
        var hiddenRowStart = new int[sequences];

        int offset = 0;
        for (int b = 0; b < sequences; b++)
        {
            var (sequence, start, count, draftCount) = chunks[b];
            var tokenIds = new int[count];
            sequence.CopyTokens(start, count - draftCount, tokenIds);
            if (draftCount > 0)
            {
                var proposed = drafts?[b] ?? throw new InvalidOperationException($"Chunk {b} has {draftCount} draft positions but no drafts.");
                if (proposed.Length != draftCount)
                    throw new InvalidOperationException($"Chunk {b} has {draftCount} draft positions but {proposed.Length} drafts.");
                proposed.CopyTo(tokenIds, count - draftCount);
            }
            for (int j = 0; j < count; j++)
            {
                inputIds[offset + j] = tokenIds[j];
                positions[offset + j] = start + j;
            }
            past[b] = start;
            cu[b + 1] = offset + count;
            for (int j = 0; j < sequence.Blocks.Count; j++)
                blockTable[b * maxBlocks + j] = sequence.Blocks[j];

            var request = requestOf(sequence);
            int from = Math.Max(start, request.PromptLogitsCollected);
            int to = Math.Min(start + count, sequence.PromptLength);
            hiddenRowStart[b] = -1;
            if (draftCount > 0 || sequence.TracksDraftCache)
            {
                // Every position's row: a verify chunk samples each, and a draft cache takes each one's hidden state.
                int first = logitsIndices.Count;
                for (int j = 0; j < count; j++)
                    logitsIndices.Add(offset + j);
                hiddenRowStart[b] = sequence.TracksDraftCache ? first : -1;
                if (request.Request.ReturnPromptLogits && from < to)
                {
                    promptRowStart[b] = first + from - start;
                    promptPositionStart[b] = from;
                    promptRowCount[b] = to - from;
                }
                samplingRow[b] = -1;
                if (draftCount > 0)
                    samplingRow[b] = first;
                else if (start + count == sequence.Tokens.Count)
                    samplingRow[b] = first + count - 1;
                offset += count;
                continue;
            }
            if (request.Request.ReturnPromptLogits && from < to)
            {
                promptRowStart[b] = logitsIndices.Count;
                promptPositionStart[b] = from;
                promptRowCount[b] = to - from;
                for (int p = from; p < to; p++)
                    logitsIndices.Add(offset + p - start);
            }
            samplingRow[b] = -1;
            if (start + count == sequence.Tokens.Count)
            {
                int last = offset + count - 1;
                if (promptRowCount[b] > 0 && logitsIndices[^1] == last)
                    samplingRow[b] = logitsIndices.Count - 1;
                else
                {
                    samplingRow[b] = logitsIndices.Count;
                    logitsIndices.Add(last);
                }
            }
            offset += count;
        }

        var batch = new ForwardBatch(inputIds, positions, cu, past, blockTable, maxBlocks, [.. logitsIndices]);
        return new StepPlan(batch, samplingRow, promptRowStart, promptPositionStart, promptRowCount, hiddenRowStart);
    }
}
