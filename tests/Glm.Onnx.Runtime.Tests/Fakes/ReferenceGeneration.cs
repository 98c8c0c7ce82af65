namespace Glm.Onnx.Tests.Fakes;

/// <summary>Plain greedy decoding straight from the fake model's logits function: no cache, no engine.</summary>
public static class ReferenceGeneration
{
    public static int[] Greedy(IReadOnlyList<int> prompt, int newTokens, int vocab)
    {
        var history = prompt.ToList();
        var logits = new float[vocab];
        for (int i = 0; i < newTokens; i++)
        {
            FakeModelExecutor.ReferenceLogits(history.ToArray(), logits);
            int best = 0;
            for (int v = 1; v < vocab; v++)
                if (logits[v] > logits[best]) best = v;
            history.Add(best);
        }
        return history.Skip(prompt.Count).ToArray();
    }

    /// <summary>Logits of every prompt position, row-major [prompt, vocab].</summary>
    public static float[] PromptLogits(IReadOnlyList<int> prompt, int vocab)
    {
        var result = new float[prompt.Count * vocab];
        for (int p = 0; p < prompt.Count; p++)
            FakeModelExecutor.ReferenceLogits(prompt.Take(p + 1).ToArray(), result.AsSpan(p * vocab, vocab));
        return result;
    }
}
