namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// How one request picks its next token. Order of application: repetition / presence / frequency penalties,
/// temperature (0 = greedy), top-k, top-p, min-p, then a draw from the renormalised survivors.
/// </summary>
/// <param name="Temperature">0 picks the argmax (after penalties); otherwise logits are divided by it.</param>
/// <param name="TopK">Keep the k most likely tokens; 0 disables.</param>
/// <param name="TopP">Keep the smallest most-likely set whose probability reaches p; 1 disables.</param>
/// <param name="MinP">Drop tokens whose probability is below min_p times the most likely one's; 0 disables.</param>
/// <param name="RepetitionPenalty">For tokens seen in the prompt or output: positive logits divided, negative ones multiplied; 1 disables.</param>
/// <param name="PresencePenalty">Subtracted once from every token that occurs in the output so far.</param>
/// <param name="FrequencyPenalty">Subtracted per occurrence of the token in the output so far.</param>
/// <param name="Seed">Seeds this request's own random stream; null draws a seed from the system.</param>
public sealed record SamplingOptions(
    float Temperature = 0f,
    int TopK = 0,
    float TopP = 1f,
    float MinP = 0f,
    float RepetitionPenalty = 1f,
    float PresencePenalty = 0f,
    float FrequencyPenalty = 0f,
    ulong? Seed = null)
{
    public static SamplingOptions Greedy { get; } = new();

    public bool IsGreedy => Temperature == 0f;

    public bool HasPenalties => RepetitionPenalty != 1f || PresencePenalty != 0f || FrequencyPenalty != 0f;

    public void Validate()
    {
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature))
            throw new ArgumentException($"temperature must be a finite value >= 0, got {Temperature}.");
        if (TopK < 0)
            throw new ArgumentException($"top_k must be >= 0 (0 disables), got {TopK}.");
        if (!(TopP > 0f && TopP <= 1f))
            throw new ArgumentException($"top_p must be in (0, 1], got {TopP}.");
        if (!(MinP >= 0f && MinP <= 1f))
            throw new ArgumentException($"min_p must be in [0, 1], got {MinP}.");
        if (!(RepetitionPenalty > 0f) || float.IsInfinity(RepetitionPenalty))
            throw new ArgumentException($"repetition_penalty must be a finite value > 0, got {RepetitionPenalty}.");
        if (!float.IsFinite(PresencePenalty) || !float.IsFinite(FrequencyPenalty))
            throw new ArgumentException($"presence_penalty and frequency_penalty must be finite, got {PresencePenalty} and {FrequencyPenalty}.");
    }
}
