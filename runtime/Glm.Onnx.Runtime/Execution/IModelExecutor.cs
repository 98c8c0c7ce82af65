using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Runs one forward step of the model over the paged cache it owns. This is the only part of the engine that touches
/// ONNX Runtime; a fake implementation lets the scheduler, allocator and sampler be tested without a model.
/// </summary>
public interface IModelExecutor : IDisposable
{
    /// <summary>Vocabulary size (width of a logits row) and cache geometry the engine schedules against.</summary>
    ModelExecutorInfo Info { get; }

    /// <summary>
    /// Writes the new tokens into the cache and returns one logits row per entry of
    /// <see cref="ForwardBatch.LogitsIndices"/>. The returned buffer stays valid until the next call.
    /// </summary>
    LogitsBuffer Forward(ForwardBatch batch);

    /// <summary>
    /// One pass of the MTP draft layer (docs/architecture.md, "MTP"): row t of <paramref name="batch"/> takes token
    /// t+1 and the main model's final hidden state of row t, at the RoPE position of row t, over the MTP layer's own
    /// pools addressed by the batch's block table. Returns the draft logits and the MTP final hidden state of the
    /// logits rows, and the selection the MTP layer attended with. Buffers stay valid until the next draft call.
    /// Executors of models without an MTP stage (<see cref="ModelExecutorInfo.HasDraftStage"/> false) refuse.
    /// </summary>
    DraftOutput ForwardDraft(DraftBatch batch) =>
        throw new NotSupportedException("This model has no MTP draft stage (num_nextn_predict_layers is 0 or was not converted).");

    /// <summary>
    /// Wall time spent inside the inference runtime's own Run calls since load (main and draft passes), so that a
    /// step's time splits into the graph's and the host's around it (docs/benchmarks.md, "Where a decode step goes").
    /// Executors without such a runtime report zero.
    /// </summary>
    TimeSpan RunTime => TimeSpan.Zero;
}

/// <summary>What the engine needs to know about an executor's model and cache.</summary>
/// <param name="VocabSize">Width of a logits row.</param>
/// <param name="BlockSize">Tokens per cache block (rows of a pool block).</param>
/// <param name="NumBlocks">Blocks in every pool (latent and indexer pools share block ids).</param>
/// <param name="MaxSequenceLength">Longest sequence (prompt + output) the model accepts.</param>
/// <param name="EosTokenIds">The model's end-of-sequence ids (generation defaults).</param>
/// <param name="BlockOrder">The order in which the engine's allocator hands out the blocks.</param>
/// <param name="HiddenSize">Width of a final hidden row; 0 when <see cref="IModelExecutor.Forward"/> hands out none.</param>
/// <param name="HasDraftStage">Whether <see cref="IModelExecutor.ForwardDraft"/> runs an MTP draft stage.</param>
/// <param name="IndexTopK">Width of a top-k selection row (the MTP layer's <see cref="DraftOutput.TopkIndices"/>).</param>
/// <param name="ShareDraftTopK">index_share_for_mtp_iteration: recursive draft steps reuse the first step's selection.</param>
public sealed record ModelExecutorInfo(
    int VocabSize,
    int BlockSize,
    int NumBlocks,
    int MaxSequenceLength,
    IReadOnlyList<int> EosTokenIds,
    BlockOrder BlockOrder = BlockOrder.Ascending,
    int HiddenSize = 0,
    bool HasDraftStage = false,
    int IndexTopK = 0,
    bool ShareDraftTopK = false)
{
    public void Validate()
    {
        if (VocabSize <= 0) throw new ArgumentException($"VocabSize must be positive, got {VocabSize}.");
        if (BlockSize <= 0) throw new ArgumentException($"BlockSize must be positive, got {BlockSize}.");
        if (NumBlocks <= 0) throw new ArgumentException($"NumBlocks must be positive, got {NumBlocks}.");
        if (MaxSequenceLength <= 0) throw new ArgumentException($"MaxSequenceLength must be positive, got {MaxSequenceLength}.");
    }
}
