namespace Glm.Onnx.Runtime.Engine;

/// <summary>The token ids that end one request: its own stop ids, plus the model's eos ids unless it ignores them.</summary>
internal sealed class StopTokenSet
{
    private readonly HashSet<int> _ids;

    public StopTokenSet(IEnumerable<int> eosTokenIds, GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(eosTokenIds);
        ArgumentNullException.ThrowIfNull(request);
        _ids = [.. request.StopTokenIds];
        if (!request.IgnoreEos)
            _ids.UnionWith(eosTokenIds);
    }

    public bool Ends(int token) => _ids.Contains(token);

    /// <summary>The ids, for a grammar constraint that allows them where the grammar may end.</summary>
    public IReadOnlyCollection<int> Ids => _ids;
}
