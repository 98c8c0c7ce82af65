namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Every weight of one decoder layer, typed (as llama.cpp's per-layer tensor struct): pre-norm MLA attention, the DSA
/// indexer on full-indexer layers, a dense MLP or a mixture of experts, and the MTP extras on an MTP layer.
/// </summary>
/// <param name="Index">Layer index; MTP layers follow the main ones (num_hidden_layers + k).</param>
/// <param name="InputLayerNorm">[hidden]: RMSNorm before attention.</param>
/// <param name="Attention">The MLA projections and norms.</param>
/// <param name="Indexer">The lightning indexer, or null on an IndexShare "shared" layer.</param>
/// <param name="Mlp">The dense SwiGLU MLP, or null on a sparse layer.</param>
/// <param name="Moe">The mixture of experts, or null on a dense layer.</param>
/// <param name="PostAttentionLayerNorm">[hidden]: RMSNorm before the MLP / MoE.</param>
/// <param name="Mtp">The MTP layer's extra tensors, or null on a main-model layer.</param>
public sealed record LayerTensors(int Index, ModelTensor InputLayerNorm, AttentionTensors Attention, IndexerTensors? Indexer,
    MlpTensors? Mlp, MoeTensors? Moe, ModelTensor PostAttentionLayerNorm, MtpTensors? Mtp)
{
    /// <summary>
    /// The layer's tensors in checkpoint order (transformers' module order): MTP extras, attention, indexer, then
    /// routed experts, router and shared experts (or the dense MLP), then the two decoder norms.
    /// </summary>
    public IEnumerable<ModelTensor> All() => InOrder(Moe?.Experts.All() ?? []);

    /// <summary>The tensors other than the routed experts, in checkpoint order (bounded whatever n_routed_experts says).</summary>
    public IEnumerable<ModelTensor> AllButRoutedExperts() => InOrder([]);

    /// <summary>Number of tensors (scales excluded), counting routed experts without describing them.</summary>
    public long TensorCount => AllButRoutedExperts().LongCount() + 3L * (Moe?.Experts.Count ?? 0);

    /// <summary>Parameters of the layer, counting routed experts without describing them.</summary>
    public long ParameterCount => AllButRoutedExperts().Sum(t => t.ElementCount) + (Moe?.Experts.ParameterCount ?? 0);

    private IEnumerable<ModelTensor> InOrder(IEnumerable<MlpTensors> routedExperts)
    {
        if (Mtp is not null)
            foreach (var t in Mtp.All) yield return t;
        foreach (var t in Attention.All) yield return t;
        if (Indexer is not null)
            foreach (var t in Indexer.All) yield return t;
        if (Moe is not null)
        {
            foreach (var expert in routedExperts)
                foreach (var t in expert.All) yield return t;
            yield return Moe.Gate;
            yield return Moe.EScoreCorrectionBias;
            if (Moe.SharedExperts is not null)
                foreach (var t in Moe.SharedExperts.All) yield return t;
        }
        if (Mlp is not null)
            foreach (var t in Mlp.All) yield return t;
        yield return InputLayerNorm;
        yield return PostAttentionLayerNorm;
    }
}
