using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Drafting;

/// <summary>
/// Drafts with the model's MTP layer (docs/architecture.md, "Speculative decoding"). Per step, one batched MTP pass
/// writes the draft rows of every position the target accepted since the last pass (row i takes the target's final
/// hidden h_i and token i+1 at position i: exactly the teacher-forced rows) and, for a sequence that drafts, its last
/// row yields the first draft. Then K-1 recursive passes, one row per drafting sequence each, feed the MTP layer's own
/// hidden state and the previous draft back in at the next position; with index_share_for_mtp_iteration they reuse
/// the first pass's top-k selection. The recursive passes write rows past <see cref="Sequence.DraftCacheLength"/>;
/// the next pass rewrites those positions from the target's hidden states before any row reads them (the MTP layer
/// writes a step's rows before it attends, and attends causally), so rejected drafts leave nothing behind.
/// Drafts are drawn from the MTP logits under the request's sampling options (<see cref="DraftWork.Choose"/>).
/// </summary>
public sealed class MtpDrafter : IDrafter
{
    private readonly IModelExecutor _executor;
    private readonly int _hidden;
    private readonly Dictionary<long, PendingRows> _pending = new();

    public MtpDrafter(IModelExecutor executor)
    {
        ArgumentNullException.ThrowIfNull(executor);
        if (!executor.Info.HasDraftStage || executor.Info.HiddenSize <= 0)
            throw new NotSupportedException("This model has no MTP draft stage (convert a checkpoint with num_nextn_predict_layers 1).");
        _executor = executor;
        _hidden = executor.Info.HiddenSize;
    }

    public bool UsesDraftCache => true;

    /// <summary>MTP passes run so far (the catch-up pass and each recursive pass count one each).</summary>
    public long Passes { get; private set; }

    public void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (!sequence.TracksDraftCache || count <= 0)
            return;
        if (!_pending.TryGetValue(sequence.Id, out var pending))
            _pending[sequence.Id] = pending = new PendingRows(_hidden);
        // A gap means the sequence was preempted and is being recomputed: the old rows describe a cache that is gone.
        if (pending.Count == 0 || pending.Start + pending.Count != position)
            pending.Reset(position);
        for (int r = 0; r < count; r++)
            pending.Add(buffer.HiddenRow(firstRow + r));
    }

    public void Forget(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        _pending.Remove(sequence.Id);
    }

    public void Draft(IReadOnlyList<DraftWork> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var catchUp = new List<DraftWork>();
        foreach (var w in work)
        {
            var sequence = w.Sequence;
            if (!sequence.TracksDraftCache)
            {
                if (w.Count > 0)
                    throw new InvalidOperationException($"Sequence {sequence.Id} drafts with the MTP layer but keeps no draft cache.");
                continue;
            }
            int rows = sequence.ComputedLength - sequence.DraftCacheLength;
            if (w.Count > 0 && sequence.ComputedLength != sequence.Tokens.Count - 1)
                throw new InvalidOperationException($"Sequence {sequence.Id} drafts but is not decoding ({sequence.ComputedLength} of {sequence.Tokens.Count} tokens computed).");
            if (rows == 0)
            {
                if (w.Count > 0)
                    throw new InvalidOperationException($"Sequence {sequence.Id} drafts but its last position's hidden state was never handed over.");
                continue;
            }
            if (!_pending.TryGetValue(sequence.Id, out var pending) || pending.Start != sequence.DraftCacheLength || pending.Count != rows)
                throw new InvalidOperationException(
                    $"Sequence {sequence.Id}: the draft cache needs hidden states for positions [{sequence.DraftCacheLength}, {sequence.ComputedLength}), " +
                    $"held are [{pending?.Start ?? 0}, {(pending?.Start ?? 0) + (pending?.Count ?? 0)}).");
            catchUp.Add(w);
        }
        if (catchUp.Count == 0)
            return;

        var drafting = catchUp.Where(w => w.Count > 0).ToList();
        var hidden = new float[drafting.Count][];
        var topk = new int[drafting.Count][];
        bool share = _executor.Info.ShareDraftTopK;
        FirstPass(catchUp, drafting, hidden, topk, share);
        int most = drafting.Count == 0 ? 0 : drafting.Max(w => w.Count);
        for (int step = 1; step < most; step++)
            RecursivePass(drafting, step, hidden, topk, share);
    }

    // Rows [DraftCacheLength, ComputedLength) of every entry; the last row of each drafting entry gives its first draft.
    private void FirstPass(List<DraftWork> catchUp, List<DraftWork> drafting, float[][] hidden, int[][] topk, bool share)
    {
        int tokens = catchUp.Sum(w => w.Sequence.ComputedLength - w.Sequence.DraftCacheLength);
        int maxBlocks = Math.Max(1, catchUp.Max(w => w.Sequence.Blocks.Count));
        var ids = new long[tokens];
        var positions = new long[tokens];
        var cu = new int[catchUp.Count + 1];
        var past = new int[catchUp.Count];
        var table = new int[catchUp.Count * maxBlocks];
        var states = new float[tokens * _hidden];
        var logitsRows = new List<long>();
        int offset = 0;
        for (int b = 0; b < catchUp.Count; b++)
        {
            var sequence = catchUp[b].Sequence;
            int from = sequence.DraftCacheLength, to = sequence.ComputedLength;
            for (int i = from; i < to; i++)
            {
                ids[offset + i - from] = sequence.Tokens[i + 1];
                positions[offset + i - from] = i;
            }
            _pending[sequence.Id].CopyTo(states.AsSpan(offset * _hidden, (to - from) * _hidden));
            past[b] = from;
            cu[b + 1] = offset + to - from;
            for (int j = 0; j < sequence.Blocks.Count; j++)
                table[b * maxBlocks + j] = sequence.Blocks[j];
            offset += to - from;
            if (catchUp[b].Count > 0)
                logitsRows.Add(offset - 1);
        }
        var batch = new ForwardBatch(ids, positions, cu, past, table, maxBlocks, [.. logitsRows]);
        var output = _executor.ForwardDraft(new DraftBatch(batch, states));
        Passes++;
        foreach (var w in catchUp)
        {
            w.Sequence.MarkDraftCache(w.Sequence.ComputedLength);
            _pending[w.Sequence.Id].Reset(w.Sequence.ComputedLength);
        }
        for (int d = 0; d < drafting.Count; d++)
        {
            drafting[d].Choose(0, output.Logits.Row(d));
            hidden[d] = output.Logits.HiddenRow(d).ToArray();
            if (share)
                topk[d] = output.TopkIndices.Span.Slice((int)logitsRows[d] * output.IndexTopK, output.IndexTopK).ToArray();
        }
    }

    // Draft number step + 1 of every entry that wants it: token = the previous draft, hidden = the MTP layer's own.
    private void RecursivePass(List<DraftWork> drafting, int step, float[][] hidden, int[][] topk, bool share)
    {
        var active = Enumerable.Range(0, drafting.Count).Where(d => drafting[d].Count > step).ToArray();
        int n = active.Length;
        int maxBlocks = Math.Max(1, active.Max(d => drafting[d].Sequence.Blocks.Count));
        var ids = new long[n];
        var positions = new long[n];
        var cu = new int[n + 1];
        var past = new int[n];
        var table = new int[n * maxBlocks];
        var states = new float[n * _hidden];
        int k = _executor.Info.IndexTopK;
        var prev = share ? new int[n * k] : [];
        var rows = new long[n];
        for (int b = 0; b < n; b++)
        {
            var w = drafting[active[b]];
            var sequence = w.Sequence;
            int position = sequence.ComputedLength + step - 1;
            ids[b] = w.Tokens[step - 1];
            positions[b] = position;
            past[b] = position;
            cu[b + 1] = b + 1;
            rows[b] = b;
            for (int j = 0; j < sequence.Blocks.Count; j++)
                table[b * maxBlocks + j] = sequence.Blocks[j];
            hidden[active[b]].CopyTo(states.AsSpan(b * _hidden, _hidden));
            if (share)
                topk[active[b]].CopyTo(prev.AsSpan(b * k, k));
        }
        var batch = new ForwardBatch(ids, positions, cu, past, table, maxBlocks, rows);
        var output = _executor.ForwardDraft(new DraftBatch(batch, states, prev));
        Passes++;
        for (int b = 0; b < n; b++)
        {
            drafting[active[b]].Choose(step, output.Logits.Row(b));
            hidden[active[b]] = output.Logits.HiddenRow(b).ToArray();
        }
    }

    /// <summary>Target hidden states of positions [Start, Start + Count) that the draft cache has not taken in yet.</summary>
    private sealed class PendingRows(int width)
    {
        private float[] _rows = [];

        public int Start { get; private set; }

        public int Count { get; private set; }

        public void Reset(int start)
        {
            Start = start;
            Count = 0;
        }

        public void Add(ReadOnlySpan<float> row)
        {
            if (_rows.Length < (Count + 1) * width)
                Array.Resize(ref _rows, Math.Max((Count + 1) * width, _rows.Length * 2));
            row.CopyTo(_rows.AsSpan(Count * width, width));
            Count++;
        }

        public void CopyTo(Span<float> destination) => _rows.AsSpan(0, Count * width).CopyTo(destination);
    }
}
