using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Runtime.Drafting;

/// <summary>
/// Drafts by replaying a continuation given per request (the benchmark's known greedy output, so that every draft is
/// accepted; tests' continuations with planted mistakes, so that chosen positions are rejected). Past the end of its
/// script, or for a request without one, it proposes <see cref="FillerToken"/>. Its drafts are certain (q is the
/// point mass), so with sampling the verifier accepts one with the target's probability of it. With an <paramref name="inner"/>
/// drafter (the MTP drafter) that one runs first and its cost and draft-cache upkeep are kept; only its tokens are
/// replaced: a benchmark then pays the real drafting work at full acceptance.
/// </summary>
public sealed class OracleDrafter(IDrafter? inner = null) : IDrafter
{
    private readonly Dictionary<GenerationRequest, IReadOnlyList<int>> _scripts = new(ReferenceEqualityComparer.Instance);

    /// <summary>What is proposed where the script has no token.</summary>
    public int FillerToken { get; init; }

    public bool UsesDraftCache => inner?.UsesDraftCache ?? false;

    /// <summary>Output token j of <paramref name="request"/> is drafted as <paramref name="continuation"/>[j].</summary>
    public void Script(GenerationRequest request, IReadOnlyList<int> continuation)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(continuation);
        lock (_scripts)
            _scripts[request] = continuation;
    }

    public void Draft(IReadOnlyList<DraftWork> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        inner?.Draft(work);
        foreach (var w in work)
        {
            IReadOnlyList<int>? script;
            lock (_scripts)
                _scripts.TryGetValue(w.Request, out script);
            int next = w.Sequence.OutputLength; // output index of the first draft
            for (int j = 0; j < w.Count; j++)
                w.Propose(j, script is not null && next + j < script.Count ? script[next + j] : FillerToken);
        }
    }

    public void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count) =>
        inner?.Observe(sequence, position, buffer, firstRow, count);

    public void Forget(Sequence sequence) => inner?.Forget(sequence);
}
