namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// The token counts penalties need for one request: which ids occur in the prompt, and how often each id occurs in
/// the output so far. Penalties then touch only these ids, never the whole vocabulary.
/// </summary>
public sealed class TokenHistory
{
    private readonly HashSet<int> _prompt;
    private readonly Dictionary<int, int> _outputCounts = new();

    public TokenHistory(ReadOnlySpan<int> prompt)
    {
        _prompt = new HashSet<int>(prompt.Length);
        foreach (var id in prompt)
            _prompt.Add(id);
    }

    public IReadOnlyCollection<int> PromptTokens => _prompt;

    public IReadOnlyDictionary<int, int> OutputCounts => _outputCounts;

    public void AddOutput(int id) => _outputCounts[id] = _outputCounts.GetValueOrDefault(id) + 1;
}
