using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Verification;

/// <summary>
/// One prompt position compared: KL(p_reference || p_candidate), whether both argmaxes agree, the reference's top-1
/// margin (largest logit minus the second largest) and the candidate's logit change (RMS over the vocabulary of
/// candidate - reference, centred: a shift of every logit changes no probability).
/// </summary>
public readonly record struct PositionComparison(double Kl, bool Top1Agrees, double Margin, double LogitChange)
{
    public static PositionComparison Of(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        int top = Sampler.ArgMax(reference);
        double second = double.NegativeInfinity, meanDelta = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            if (i != top) second = Math.Max(second, reference[i]);
            meanDelta += (double)candidate[i] - reference[i];
        }
        meanDelta /= reference.Length;
        double sq = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)candidate[i] - reference[i] - meanDelta;
            sq += d * d;
        }
        double margin = reference.Length > 1 ? reference[top] - second : double.PositiveInfinity;
        return new PositionComparison(KlDivergence.Of(reference, candidate), top == Sampler.ArgMax(candidate), margin, Math.Sqrt(sq / reference.Length));
    }
}

/// <summary>Top-1 agreement over the positions whose reference margin exceeds <see cref="MinMargin"/>.</summary>
public sealed record MarginBand(double MinMargin, int Positions, double Top1Agreement);

/// <summary>
/// Per-position KL(p_reference || p_candidate) over every prompt position and the top-1 agreement, summarised as
/// llama.cpp's <c>--kl-divergence</c> report does (mean, median, p99, max; top-1 %), plus how far apart the reference's
/// top two logits are (median margin) against how much the candidate moves the logits (median logit change), and
/// the top-1 agreement among positions whose margin exceeds given thresholds: on a nearly flat distribution
/// (random-weight models) any perturbation moves the argmax, on a peaked one it takes a change near the margin.
/// </summary>
public sealed record KlSummary(int Positions, double Mean, double Median, double P99, double Max, double Top1Agreement)
{
    /// <summary>Median over the positions of the reference's top-1 margin (logits); NaN when not computed.</summary>
    public double MarginMedian { get; init; } = double.NaN;

    /// <summary>Median over the positions of the candidate's centred RMS logit change; NaN when not computed.</summary>
    public double LogitChangeMedian { get; init; } = double.NaN;

    /// <summary>Top-1 agreement above each margin threshold asked for.</summary>
    public IReadOnlyList<MarginBand> Bands { get; init; } = [];

    /// <summary>Summarises per-position values (nearest-rank percentiles).</summary>
    public static KlSummary From(IReadOnlyList<double> kl, int top1Agreements)
    {
        if (kl.Count == 0) throw new ArgumentException("no positions to summarise", nameof(kl));
        var sorted = kl.Order().ToArray();
        return new KlSummary(sorted.Length, sorted.Average(), Rank(sorted, 0.5), Rank(sorted, 0.99), sorted[^1], (double)top1Agreements / sorted.Length);
    }

    /// <summary>Summarises compared positions, with the top-1 agreement above each of <paramref name="marginThresholds"/>.</summary>
    public static KlSummary From(IReadOnlyList<PositionComparison> positions, IReadOnlyList<double> marginThresholds)
    {
        var s = From(positions.Select(p => p.Kl).ToArray(), positions.Count(p => p.Top1Agrees));
        return s with
        {
            MarginMedian = Rank(positions.Select(p => p.Margin).Order().ToArray(), 0.5),
            LogitChangeMedian = Rank(positions.Select(p => p.LogitChange).Order().ToArray(), 0.5),
            Bands = marginThresholds.Select(t =>
            {
                var above = positions.Where(p => p.Margin > t).ToArray();
                return new MarginBand(t, above.Length, above.Length == 0 ? double.NaN : (double)above.Count(p => p.Top1Agrees) / above.Length);
            }).ToArray(),
        };
    }

    private static double Rank(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>
/// Runs two artifacts of the same model (e.g. fp32 and int4) on the same prompts through the runtime's prefill and
/// compares their logits at every prompt position. One model is loaded at a time.
/// </summary>
public static class KlComparison
{
    public static async Task<KlSummary> RunAsync(string referenceDir, string candidateDir, IReadOnlyList<long[]> prompts,
        VerificationOptions? options = null, IReadOnlyList<double>? marginThresholds = null, CancellationToken cancellationToken = default)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts to compare on", nameof(prompts));
        var reference = await LogitsAsync(referenceDir, prompts, options, cancellationToken).ConfigureAwait(false);
        var candidate = await LogitsAsync(candidateDir, prompts, options, cancellationToken).ConfigureAwait(false);
        if (reference.Vocab != candidate.Vocab)
            throw new InvalidDataException($"{candidateDir}: vocabulary of {candidate.Vocab} tokens, the reference {referenceDir} has {reference.Vocab}");
        var positions = new List<PositionComparison>();
        int vocab = reference.Vocab;
        for (int i = 0; i < prompts.Count; i++)
            for (int p = 0; p < prompts[i].Length; p++)
                positions.Add(PositionComparison.Of(reference.Rows[i].AsSpan(p * vocab, vocab), candidate.Rows[i].AsSpan(p * vocab, vocab)));
        return KlSummary.From(positions, marginThresholds ?? []);
    }

    /// <summary>The prompts of a reference file (the fixtures' reference.safetensors), for any vocabulary.</summary>
    public static IReadOnlyList<long[]> PromptsOf(string referenceFile, int vocabSize) =>
        ReferencePrompts.Load(referenceFile, vocabSize).Select(p => p.InputIds).ToArray();

    /// <summary><paramref name="count"/> prompts of <paramref name="length"/> ids drawn uniformly from the vocabulary.</summary>
    public static IReadOnlyList<long[]> RandomPrompts(int count, int length, int vocabSize, int seed)
    {
        if (count <= 0 || length <= 0) throw new ArgumentException($"random prompts need a positive count and length, got {count} x {length}");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => (long)random.Next(vocabSize)).ToArray()).ToArray();
    }

    private static async Task<(int Vocab, float[][] Rows)> LogitsAsync(string dir, IReadOnlyList<long[]> prompts,
        VerificationOptions? options, CancellationToken cancellationToken)
    {
        using var model = VerificationModel.Open(dir, prompts.Max(p => p.Length), options);
        var rows = new float[prompts.Count][];
        for (int i = 0; i < prompts.Count; i++)
            rows[i] = await model.PromptLogitsAsync(prompts[i], cancellationToken).ConfigureAwait(false);
        return (model.VocabSize, rows);
    }
}
