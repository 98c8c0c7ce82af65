namespace Glm.Onnx.Verification;

/// <summary>
/// KL(p || q) of two logits rows, each turned into a distribution by a softmax in double precision (the quantity
/// llama.cpp's <c>llama-perplexity --kl-divergence</c> reports per token, with p the reference model's).
/// </summary>
public static class KlDivergence
{
    public static double Of(ReadOnlySpan<float> referenceLogits, ReadOnlySpan<float> candidateLogits)
    {
        if (referenceLogits.Length != candidateLogits.Length || referenceLogits.Length == 0)
            throw new ArgumentException($"logits rows of {referenceLogits.Length} and {candidateLogits.Length} entries cannot be compared");
        double lseP = LogSumExp(referenceLogits), lseQ = LogSumExp(candidateLogits);
        double kl = 0;
        for (int i = 0; i < referenceLogits.Length; i++)
        {
            double logP = referenceLogits[i] - lseP, logQ = candidateLogits[i] - lseQ;
            kl += Math.Exp(logP) * (logP - logQ);
        }
        // Rounding can leave a tiny negative sum for identical rows; KL itself is never negative.
        return Math.Max(0, kl);
    }

    private static double LogSumExp(ReadOnlySpan<float> x)
    {
        double max = double.NegativeInfinity;
        foreach (var v in x)
        {
            if (!float.IsFinite(v)) throw new ArgumentException($"logits row holds {v}: not a finite logit");
            max = Math.Max(max, v);
        }
        double sum = 0;
        foreach (var v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
