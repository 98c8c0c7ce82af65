using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.Contracts.Stages;

/// <summary>
/// The inputs and outputs of one stage graph (docs/onnx-contract.md, "Stage graphs"), computed from the manifest: the
/// stage's place in the model, the model's sizes and the cache layout. The converter declares exactly these graph
/// inputs and outputs, the runtime checks a loaded graph against them and binds them; nothing else spells them.
/// </summary>
public sealed record StageContract(IReadOnlyList<StageTensor> Inputs, IReadOnlyList<StageTensor> Outputs)
{
    /// <summary>Symbolic dimensions of the packed variable-length layout.</summary>
    public const string NumTokens = "num_tokens", Batch = "batch", BatchPlus1 = "batch_plus_1", MaxBlocks = "max_blocks",
        NumBlocks = "num_blocks", BlockSize = "block_size", NumLogits = "num_logits", PrevTopkRows = "prev_topk_rows";

    /// <summary>The glm-model.json fields the fixed sizes come from.</summary>
    public const string HiddenSizeField = "dimensions.hidden_size", VocabSizeField = "dimensions.vocab_size",
        IndexTopKField = "dimensions.index_topk", LatentWidthField = "cache.latent_width", IndexWidthField = "cache.index_width";

    public static StageContract For(StageManifest stage, ModelDimensions dimensions, CacheLayout cache)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(dimensions);
        ArgumentNullException.ThrowIfNull(cache);
        StageDim tokens = StageDim.Of(NumTokens);
        var inputs = new List<StageTensor>();
        void In(string name, StageTensorKind kind, StageElementType type, StageMemory memory, params StageDim[] shape) =>
            inputs.Add(new StageTensor(name, kind, type, shape, Optional: false, memory));

        if (stage.EmbedsTokens)
            In(GraphNames.InputIds, StageTensorKind.InputIds, StageElementType.Int64, StageMemory.Host, tokens);
        // The MTP stage takes both: token t+1's embedding and the main model's final hidden state of row t.
        if (!stage.EmbedsTokens || stage.IsMtp)
            In(GraphNames.HiddenStates, StageTensorKind.HiddenStates, StageElementType.Float32, StageMemory.Device,
                tokens, StageDim.Of(dimensions.HiddenSize, HiddenSizeField));
        // Every stage applies rope to its own layers, so every stage reads the positions: required, not optional.
        In(GraphNames.Positions, StageTensorKind.Positions, StageElementType.Int64, StageMemory.Host, tokens);
        // The custom ops read these three on the host to validate and plan the step (docs/onnx-contract.md).
        In(GraphNames.CumulativeSequenceLengths, StageTensorKind.CumulativeSequenceLengths, StageElementType.Int32, StageMemory.Host,
            StageDim.Of(BatchPlus1));
        In(GraphNames.PastSequenceLengths, StageTensorKind.PastSequenceLengths, StageElementType.Int32, StageMemory.Host,
            StageDim.Of(Batch));
        In(GraphNames.BlockTable, StageTensorKind.BlockTable, StageElementType.Int32, StageMemory.Host,
            StageDim.Of(Batch), StageDim.Of(MaxBlocks));
        if (stage.ProducesLogits)
            In(GraphNames.LogitsIndices, StageTensorKind.LogitsIndices, StageElementType.Int64, StageMemory.Host, StageDim.Of(NumLogits));
        if (stage.TakesPrevTopk)
            In(GraphNames.PrevTopkIndices, StageTensorKind.PrevTopkIndices, StageElementType.Int32, StageMemory.Device,
                tokens, StageDim.Of(dimensions.IndexTopK, IndexTopKField));
        else if (stage.IsMtp)
            // IndexShare across draft steps (index_share_for_mtp_iteration): T rows replace the MTP layer's own
            // selection, 0 rows keep it. Always bound, so that no stale binding survives a step.
            In(GraphNames.PrevTopkIndices, StageTensorKind.PrevTopkIndices, StageElementType.Int32, StageMemory.Device,
                StageDim.Of(PrevTopkRows), StageDim.Of(dimensions.IndexTopK, IndexTopKField));
        var indexLayers = new HashSet<int>(stage.IndexLayers);
        for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++)
        {
            inputs.Add(Pool(GraphNames.LatentPool(layer), StageTensorKind.LatentPool, layer, cache.LatentWidth, LatentWidthField));
            if (indexLayers.Contains(layer))
                inputs.Add(Pool(GraphNames.IndexPool(layer), StageTensorKind.IndexPool, layer, cache.IndexWidth, IndexWidthField));
        }

        var outputs = new List<StageTensor>();
        if (stage.ProducesLogits)
            // The sampler reads the logits on the host.
            outputs.Add(new StageTensor(GraphNames.Logits, StageTensorKind.Logits, StageElementType.Float32,
                [StageDim.Of(NumLogits), StageDim.Of(dimensions.VocabSize, VocabSizeField)], Optional: false, StageMemory.Host));
        else
            outputs.Add(new StageTensor(GraphNames.HiddenStatesOut, StageTensorKind.HiddenStatesOut, StageElementType.Float32,
                [tokens, StageDim.Of(dimensions.HiddenSize, HiddenSizeField)], Optional: false, StageMemory.Device));
        if (stage.ProducesLogits && (stage.EmitsFinalHidden || stage.IsMtp))
            // The hidden state after the final norm (main stage) or shared_head.norm (MTP stage) of the logits rows:
            // the next draft step's hidden input, read on the host like the logits.
            outputs.Add(new StageTensor(GraphNames.FinalHidden, StageTensorKind.FinalHidden, StageElementType.Float32,
                [StageDim.Of(NumLogits), StageDim.Of(dimensions.HiddenSize, HiddenSizeField)], Optional: false, StageMemory.Host));
        if (stage.EmitsTopk || stage.IsMtp)
            // The MTP stage hands its selection to the caller (host), which may feed it back as prev_topk_indices.
            outputs.Add(new StageTensor(GraphNames.TopkIndicesOut, StageTensorKind.TopkIndicesOut, StageElementType.Int32,
                [tokens, StageDim.Of(dimensions.IndexTopK, IndexTopKField)], Optional: false, stage.IsMtp ? StageMemory.Host : StageMemory.Device));
        return new StageContract(inputs, outputs);
    }

    /// <summary>The stage's cache pools, in input order.</summary>
    public IEnumerable<StageTensor> Pools => Inputs.Where(t => t.IsPool);

    private static StageTensor Pool(string name, StageTensorKind kind, int layer, int width, string widthField) =>
        new(name, kind, StageElementType.Float32, [StageDim.Of(NumBlocks), StageDim.Of(BlockSize), StageDim.Of(width, widthField)],
            Optional: false, StageMemory.Device, layer);
}
