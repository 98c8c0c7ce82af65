namespace Glm.Onnx.Checkpoint;

/// <summary>A SwiGLU block: down(silu(gate(x)) * up(x)). Used for dense MLPs, shared experts and each routed expert.</summary>
/// <param name="GateProj">[intermediate, hidden].</param>
/// <param name="UpProj">[intermediate, hidden].</param>
/// <param name="DownProj">[hidden, intermediate].</param>
public sealed record MlpTensors(ModelTensor GateProj, ModelTensor UpProj, ModelTensor DownProj)
{
    /// <summary>The tensors in checkpoint order.</summary>
    public IEnumerable<ModelTensor> All => [GateProj, UpProj, DownProj];
}

/// <summary>
/// The mixture of experts of a sparse layer (<c>mlp.*</c>, docs/architecture.md "MoE routing").
/// </summary>
/// <param name="Gate">Router weight [n_routed_experts, hidden] (never quantised).</param>
/// <param name="EScoreCorrectionBias">[n_routed_experts], F32: added to the sigmoid scores for choosing experts only.</param>
/// <param name="Experts">The routed experts, described on demand.</param>
/// <param name="SharedExperts">The always-on shared expert block (n_shared_experts x moe_intermediate_size wide), or
/// null when n_shared_experts is 0.</param>
public sealed record MoeTensors(ModelTensor Gate, ModelTensor EScoreCorrectionBias, RoutedExperts Experts, MlpTensors? SharedExperts);

/// <summary>
/// The routed experts of one MoE layer (<c>mlp.experts.{e}.*</c>, per-expert 2-D tensors as stored on disk, not
/// transformers' fused gate_up_proj). Each expert is described when asked for, so a config's expert count never
/// costs memory before the checkpoint has been checked against it.
/// </summary>
public sealed class RoutedExperts
{
    private readonly Func<int, MlpTensors> _expert;

    internal RoutedExperts(int count, long moeIntermediateSize, long hiddenSize, Func<int, MlpTensors> expert)
    {
        Count = count;
        MoeIntermediateSize = moeIntermediateSize;
        HiddenSize = hiddenSize;
        _expert = expert;
    }

    /// <summary>n_routed_experts.</summary>
    public int Count { get; }

    /// <summary>moe_intermediate_size: rows of gate_proj / up_proj, columns of down_proj.</summary>
    public long MoeIntermediateSize { get; }

    /// <summary>hidden_size.</summary>
    public long HiddenSize { get; }

    /// <summary>Parameters of all routed experts (3 matrices each).</summary>
    public long ParameterCount => Count * 3L * MoeIntermediateSize * HiddenSize;

    /// <summary>Expert <paramref name="expert"/> (0 .. <see cref="Count"/> - 1).</summary>
    public MlpTensors this[int expert] => (uint)expert < (uint)Count
        ? _expert(expert)
        : throw new ArgumentOutOfRangeException(nameof(expert), expert, $"expected 0..{Count - 1}");

    /// <summary>Every expert in index order, described one at a time.</summary>
    public IEnumerable<MlpTensors> All()
    {
        for (int e = 0; e < Count; e++) yield return _expert(e);
    }
}
