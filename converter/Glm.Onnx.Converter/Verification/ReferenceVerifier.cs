namespace Glm.Onnx.Converter.Verification;

/// <summary>Per-position comparison of one prompt's prefill logits, plus the greedy decode check.</summary>
public sealed record PromptVerification(
    string Prompt,
    double[] MaxAbsErrorPerPosition,
    bool[] ArgmaxAgreesPerPosition,
    long[]? ExpectedGreedy,
    long[]? ActualGreedy,
    double? GreedyLogitsMaxAbsError)
{
    public double MaxAbsError => MaxAbsErrorPerPosition.Max();
    public int ArgmaxAgreements => ArgmaxAgreesPerPosition.Count(a => a);
    public bool GreedyMatches => ExpectedGreedy is null || ExpectedGreedy.SequenceEqual(ActualGreedy!);
}

/// <summary>
/// Runs artifacts against a reference file: prefill over every prompt position (logits at all positions through
/// <c>logits_indices</c>), then greedy decode one token at a time through the paged caches.
/// </summary>
public static class ReferenceVerifier
{
    public static IReadOnlyList<PromptVerification> Run(ArtifactRunner runner, string referencePath, bool decode = true)
    {
        var results = new List<PromptVerification>();
        int vocab = runner.VocabSize;
        foreach (var prompt in ReferencePrompts.Load(referencePath, vocab))
        {
            int s = prompt.InputIds.Length;
            float[] logits;
            using (var cache = runner.NewSequence(s))
                logits = runner.Forward(cache, prompt.InputIds, allPositions: true);
            var err = new double[s];
            var agree = new bool[s];
            for (int p = 0; p < s; p++)
            {
                var a = logits.AsSpan(p * vocab, vocab);
                var e = prompt.PrefillLogits.AsSpan(p * vocab, vocab);
                double m = 0;
                for (int v = 0; v < vocab; v++) m = Math.Max(m, Math.Abs(a[v] - e[v]));
                err[p] = m;
                agree[p] = ArtifactRunner.ArgMax(a) == ArtifactRunner.ArgMax(e);
            }

            long[]? greedy = null;
            double? greedyErr = null;
            if (decode && prompt.GreedyIds is { } expected)
            {
                int newTokens = expected.Length - s;
                var (ids, steps) = runner.Greedy(prompt.InputIds, newTokens);
                greedy = ids;
                if (prompt.GreedyLogits is { } gl && gl.Length == newTokens * vocab)
                {
                    double m = 0;
                    for (int i = 0; i < newTokens; i++)
                        for (int v = 0; v < vocab; v++) m = Math.Max(m, Math.Abs(steps[i][v] - gl[i * vocab + v]));
                    greedyErr = m;
                }
            }
            results.Add(new PromptVerification(prompt.Name, err, agree, prompt.GreedyIds, greedy, greedyErr));
        }
        return results;
    }
}
