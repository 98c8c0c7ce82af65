using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Verification;

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
/// Runs artifacts against a reference file through the runtime: prefill over every prompt position (the engine's
/// prompt logits), then greedy decode one token at a time through the paged caches (the engine's greedy path).
/// </summary>
public static class ReferenceVerifier
{
    public static async Task<IReadOnlyList<PromptVerification>> RunAsync(string artifactsDir, string referencePath,
        VerificationOptions? options = null, bool decode = true, CancellationToken cancellationToken = default)
    {
        var manifest = Glm.Onnx.Contracts.Manifest.ModelManifestJson.Load(artifactsDir);
        int vocab = manifest.Dimensions.VocabSize;
        var prompts = ReferencePrompts.Load(referencePath, vocab);
        // Room for the longest prompt with its greedy continuation (at least one generated token: the prefill samples one).
        int longest = prompts.Max(p => Math.Max(p.InputIds.Length + 1, decode && p.GreedyIds is { } g ? g.Length : 0));
        using var model = VerificationModel.Open(artifactsDir, longest, options);

        var results = new List<PromptVerification>();
        foreach (var prompt in prompts)
        {
            int s = prompt.InputIds.Length;
            var logits = await model.PromptLogitsAsync(prompt.InputIds, cancellationToken).ConfigureAwait(false);
            var err = new double[s];
            var agree = new bool[s];
            for (int p = 0; p < s; p++)
            {
                var a = logits.AsSpan(p * vocab, vocab);
                var e = prompt.PrefillLogits.AsSpan(p * vocab, vocab);
                double m = 0;
                for (int v = 0; v < vocab; v++) m = Math.Max(m, Math.Abs(a[v] - e[v]));
                err[p] = m;
                agree[p] = Sampler.ArgMax(a) == Sampler.ArgMax(e);
            }

            long[]? greedy = null;
            double? greedyErr = null;
            if (decode && prompt.GreedyIds is { } expected)
            {
                int newTokens = expected.Length - s;
                var run = await model.GreedyAsync(prompt.InputIds, newTokens, cancellationToken).ConfigureAwait(false);
                greedy = run.Ids;
                if (prompt.GreedyLogits is { } gl && gl.Length == newTokens * vocab && run.StepLogits.Length == newTokens)
                {
                    double m = 0;
                    for (int i = 0; i < newTokens; i++)
                        for (int v = 0; v < vocab; v++) m = Math.Max(m, Math.Abs(run.StepLogits[i][v] - gl[i * vocab + v]));
                    greedyErr = m;
                }
            }
            results.Add(new PromptVerification(prompt.Name, err, agree, prompt.GreedyIds, greedy, greedyErr));
        }
        return results;
    }
}
