namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// Picks the next token from one logits row. Greedy without penalties reads the row in place; anything else copies it
/// once into a reused scratch buffer and works there (penalties touch only the ids in the request's history; the
/// softmax subtracts the row maximum; top-k / top-p sort only as many candidates as they need).
/// One instance per step thread: the scratch buffers are not shared.
/// </summary>
public sealed partial class Sampler
{
    // Top-p first sorts this many candidates and widens only when they do not reach p.
    private const int FirstTopPWindow = 64;

    private float[] _weights = [];
    private int[] _candidates = [];
    private int _count;

    public int Sample(ReadOnlySpan<float> logits, SamplingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var options = state.Options;
        if (options.IsGreedy && !options.HasPenalties)
            return ArgMax(logits);

        var work = Scratch(logits);
        if (options.HasPenalties)
            ApplyPenalties(work, state.History, options, []);
        if (options.IsGreedy)
            return ArgMax(work);

        Filter(work, options);
        double total = 0;
        for (int i = 0; i < _count; i++)
            total += work[_candidates[i]];
        double u = state.Random.NextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < _count; i++)
        {
            cumulative += work[_candidates[i]];
            if (u < cumulative)
                return _candidates[i];
        }
        return _candidates[_count - 1];
    }

    /// <summary>
    /// The distribution <see cref="Sample"/> draws from for this row and state (token, probability), most likely
    /// first when a top-k / top-p cut sorted them. For inspection and tests; consumes no randomness.
    /// </summary>
    public IReadOnlyList<(int Token, double Probability)> Distribution(ReadOnlySpan<float> logits, SamplingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var options = state.Options;
        var work = Scratch(logits);
        if (options.HasPenalties)
            ApplyPenalties(work, state.History, options, []);
        if (options.IsGreedy)
            return [(ArgMax(work), 1.0)];
        Filter(work, options);
        double total = 0;
        for (int i = 0; i < _count; i++)
            total += work[_candidates[i]];
        var result = new List<(int, double)>(_count);
        for (int i = 0; i < _count; i++)
            if (work[_candidates[i]] > 0)
                result.Add((_candidates[i], work[_candidates[i]] / total));
        return result;
    }

    /// <summary>Index of the largest logit; ties go to the lowest id. NaN logits are an error.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
            throw new ArgumentException("Cannot sample from an empty logits row.", nameof(logits));
        int best = 0;
        float bestValue = logits[0];
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > bestValue)
            {
                bestValue = logits[i];
                best = i;
            }
        if (float.IsNaN(bestValue) || logits.IndexOfAnyExceptInRange(float.NegativeInfinity, float.PositiveInfinity) >= 0)
            throw new InvalidOperationException("The logits row contains NaN; the model produced invalid output.");
        return best;
    }

    private float[] Scratch(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
            throw new ArgumentException("Cannot sample from an empty logits row.", nameof(logits));
        // Exactly the row's width: the filters and argmax walk the whole buffer, so no stale tail may remain.
        if (_weights.Length != logits.Length)
        {
            _weights = new float[logits.Length];
            _candidates = new int[logits.Length];
        }
        logits.CopyTo(_weights);
        return _weights;
    }

    /// <summary>
    /// Applies the penalties for the request's history plus <paramref name="pending"/>: tokens not yet recorded in
    /// the history that count as output here (a drafter's earlier drafts of the same round). With none pending this
    /// is exactly plain sampling's arithmetic; with some, each id gets the same single update it would get had the
    /// pending tokens been recorded.
    /// </summary>
    private static void ApplyPenalties(float[] work, TokenHistory history, SamplingOptions options, ReadOnlySpan<int> pending)
    {
        if (options.RepetitionPenalty != 1f)
        {
            float r = options.RepetitionPenalty;
            foreach (var id in history.PromptTokens)
                Penalise(work, id, r);
            foreach (var id in history.OutputCounts.Keys)
                if (!history.PromptTokens.Contains(id))
                    Penalise(work, id, r);
            for (int i = 0; i < pending.Length; i++)
            {
                int id = pending[i];
                if (!history.PromptTokens.Contains(id) && !history.OutputCounts.ContainsKey(id) && pending[..i].IndexOf(id) < 0)
                    Penalise(work, id, r);
            }
        }
        foreach (var (id, count) in history.OutputCounts)
            if ((uint)id < (uint)work.Length)
                work[id] -= options.FrequencyPenalty * (count + Occurrences(pending, id)) + options.PresencePenalty;
        for (int i = 0; i < pending.Length; i++)
        {
            int id = pending[i];
            if ((uint)id < (uint)work.Length && !history.OutputCounts.ContainsKey(id) && pending[..i].IndexOf(id) < 0)
                work[id] -= options.FrequencyPenalty * Occurrences(pending, id) + options.PresencePenalty;
        }
    }

    private static int Occurrences(ReadOnlySpan<int> tokens, int id)
    {
        int n = 0;
        foreach (var t in tokens)
            if (t == id)
                n++;
        return n;
    }

    private static void Penalise(float[] work, int id, float penalty)
    {
        if ((uint)id >= (uint)work.Length)
            return;
        work[id] = work[id] > 0 ? work[id] / penalty : work[id] * penalty;
    }

    /// <summary>
    /// Turns the row into unnormalised probabilities exp((l - max) / T) (the most likely token weighs exactly 1) and
    /// leaves the surviving token ids in _candidates[0.._count).
    /// </summary>
    private void Filter(float[] work, SamplingOptions options)
    {
        float max = float.NegativeInfinity;
        foreach (var value in work)
        {
            if (float.IsNaN(value))
                throw new InvalidOperationException("The logits row contains NaN; the model produced invalid output.");
            if (value > max) max = value;
        }
        if (float.IsNegativeInfinity(max))
            throw new InvalidOperationException("Every token of the logits row is -infinity: nothing can be sampled.");
        float invT = 1f / options.Temperature;
        double total = 0;
        for (int i = 0; i < work.Length; i++)
        {
            work[i] = MathF.Exp((work[i] - max) * invT);
            total += work[i];
        }

        bool window = false;
        if (options.TopK > 0 && options.TopK < work.Length)
        {
            SelectTop(work, options.TopK);
            total = 0;
            for (int i = 0; i < _count; i++)
                total += work[_candidates[i]];
        }
        else if (options.TopP < 1f)
        {
            SelectTop(work, Math.Min(FirstTopPWindow, work.Length));
            window = true;
        }
        else
        {
            for (int i = 0; i < work.Length; i++)
                _candidates[i] = i;
            _count = work.Length;
        }

        if (options.TopP < 1f)
            CutTopP(work, options.TopP * total, window);

        if (options.MinP > 0f)
        {
            // The most likely token weighs 1, so the threshold is min_p itself; that token always survives.
            int kept = 0;
            for (int i = 0; i < _count; i++)
                if (work[_candidates[i]] >= options.MinP)
                    _candidates[kept++] = _candidates[i];
            _count = kept;
        }
    }

    /// <summary>
    /// Keeps the shortest most-likely prefix of the sorted candidates whose mass reaches <paramref name="target"/>.
    /// When the candidates are only a window of the vocabulary (no top-k cut) and fall short, the window widens.
    /// </summary>
    private void CutTopP(float[] work, double target, bool window)
    {
        while (true)
        {
            double cumulative = 0;
            for (int i = 0; i < _count; i++)
            {
                cumulative += work[_candidates[i]];
                if (cumulative >= target)
                {
                    _count = i + 1;
                    return;
                }
            }
            if (!window || _count == work.Length)
                return; // the whole set is needed (p rounds to all of it)
            SelectTop(work, (int)Math.Min(work.Length, (long)_count * 8));
        }
    }

    /// <summary>Puts the <paramref name="n"/> largest weights' ids into _candidates, largest first (ties: lower id).</summary>
    private void SelectTop(float[] work, int n)
    {
        // Min-heap (worst candidate at the root) of the best n seen so far.
        var heap = _candidates;
        int size = 0;
        for (int id = 0; id < work.Length; id++)
        {
            if (size < n)
            {
                heap[size] = id;
                SiftUp(work, heap, size++);
            }
            else if (Better(work, id, heap[0]))
            {
                heap[0] = id;
                SiftDown(work, heap, 0, size);
            }
        }
        // Heap sort in place: repeatedly move the worst to the end, leaving the best first.
        for (int end = size - 1; end > 0; end--)
        {
            (heap[0], heap[end]) = (heap[end], heap[0]);
            SiftDown(work, heap, 0, end);
        }
        _count = size;
    }

    private static bool Better(float[] w, int a, int b) => w[a] > w[b] || (w[a] == w[b] && a < b);

    private static void SiftUp(float[] w, int[] heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Better(w, heap[parent], heap[i]))
                break;
            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(float[] w, int[] heap, int i, int size)
    {
        while (true)
        {
            int left = 2 * i + 1, worst = i;
            if (left < size && Better(w, heap[worst], heap[left])) worst = left;
            if (left + 1 < size && Better(w, heap[worst], heap[left + 1])) worst = left + 1;
            if (worst == i)
                return;
            (heap[worst], heap[i]) = (heap[i], heap[worst]);
            i = worst;
        }
    }
}
