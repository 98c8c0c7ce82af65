using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Verification;

/// <summary>
/// Per-position KL(p_reference || p_candidate) over every prompt position and the top-1 agreement, summarised as
/// llama.cpp's <c>--kl-divergence</c> report does (mean, median, p99, max; top-1 %).
/// </summary>
public sealed record KlSummary(int Positions, double Mean, double Median, double P99, double Max, double Top1Agreement)
{
    /// <summary>Summarises per-position values (nearest-rank percentiles).</summary>
    public static KlSummary From(IReadOnlyList<double> kl, int top1Agreements)
    {
        if (kl.Count == 0) throw new ArgumentException("no positions to summarise", nameof(kl));
        var sorted = kl.Order().ToArray();
        double Rank(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new KlSummary(sorted.Length, sorted.Average(), Rank(0.5), Rank(0.99), sorted[^1], (double)top1Agreements / sorted.Length);
    }
}

/// <summary>
/// Runs two artifacts of the same model (e.g. fp32 and int4) on the same prompts through the runtime's prefill and
/// compares their logits at every prompt position. One model is loaded at a time.
/// </summary>
public static class KlComparison
{
    public static async Task<KlSummary> RunAsync(string referenceDir, string candidateDir, IReadOnlyList<long[]> prompts,
        VerificationOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts to compare on", nameof(prompts));
        var reference = await LogitsAsync(referenceDir, prompts, options, cancellationToken).ConfigureAwait(false);
        var candidate = await LogitsAsync(candidateDir, prompts, options, cancellationToken).ConfigureAwait(false);
        if (reference.Vocab != candidate.Vocab)
            throw new InvalidDataException($"{candidateDir}: vocabulary of {candidate.Vocab} tokens, the reference {referenceDir} has {reference.Vocab}");
        var kl = new List<double>();
        int agree = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            int vocab = reference.Vocab;
            for (int p = 0; p < prompts[i].Length; p++)
            {
                var a = reference.Rows[i].AsSpan(p * vocab, vocab);
                var b = candidate.Rows[i].AsSpan(p * vocab, vocab);
                kl.Add(KlDivergence.Of(a, b));
                if (Sampler.ArgMax(a) == Sampler.ArgMax(b)) agree++;
            }
        }
        return KlSummary.From(kl, agree);
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
