using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// Drafts what the scripted model will say next (its policy run ahead), except that the draft at
/// <paramref name="wrongPosition"/> of every step is replaced by another token, so that steps accept some drafts and
/// reject the rest.
/// </summary>
public sealed class ScriptDrafter(Func<IReadOnlyList<int>, int> policy, int vocab, int wrongPosition = 2) : IDrafter
{
    public bool UsesDraftCache => false;

    public void Draft(IReadOnlyList<DraftWork> work)
    {
        foreach (var w in work)
        {
            var history = w.Sequence.Tokens.ToList();
            for (int j = 0; j < w.Count; j++)
            {
                int next = policy(history);
                history.Add(next);
                w.Propose(j, j == wrongPosition ? (next + 1) % vocab : next);
            }
        }
    }

    public void Observe(Sequence sequence, int position, LogitsBuffer buffer, int firstRow, int count)
    {
    }

    public void Forget(Sequence sequence)
    {
    }
}
