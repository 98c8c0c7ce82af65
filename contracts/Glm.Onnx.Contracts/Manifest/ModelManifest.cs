using System.Text.Json;
using System.Text.Json.Serialization;

namespace Glm.Onnx.Contracts.Manifest;

/// <summary>
/// The artifact manifest <c>glm-model.json</c> that <c>glm-convert</c> writes last into an artifacts directory.
/// A directory without a valid manifest is not a model. Read it with <see cref="ModelManifestJson.Load"/>.
/// See docs/artifacts.md for every field.
/// </summary>
public sealed record ModelManifest
{
    public const string FileName = "glm-model.json";
    public const string FormatName = "glm-onnx";
    public const int CurrentFormatVersion = 1;

    /// <summary>Always <see cref="FormatName"/>: lets a loader reject an unrelated JSON file with a clear message.</summary>
    public required string Format { get; init; }

    public required int FormatVersion { get; init; }

    /// <summary>Tool and version that wrote the artifacts, e.g. "glm-convert 1.0".</summary>
    public required string Producer { get; init; }

    /// <summary>Hugging Face model_type of the source (glm_moe_dsa).</summary>
    public required string ModelType { get; init; }

    /// <summary>The source checkpoint's config.json, verbatim.</summary>
    public required JsonElement SourceConfig { get; init; }

    public required ModelDimensions Dimensions { get; init; }

    public required PrecisionInfo Precision { get; init; }

    /// <summary>Stages in execution order; their layer ranges are contiguous and cover every decoder layer.</summary>
    public required IReadOnlyList<StageManifest> Stages { get; init; }

    /// <summary>
    /// The MTP (NextN) draft stage: layer <c>num_hidden_layers</c> with its own pools, reading the main model's
    /// embedding and lm_head bytes from the main stages' shards (docs/architecture.md, "MTP"). Absent: no MTP layer.
    /// </summary>
    public StageManifest? MtpStage { get; init; }

    public required CacheLayout Cache { get; init; }

    public required CustomOpRequirement CustomOps { get; init; }

    public required TokenizerFiles Tokenizer { get; init; }

    public required GenerationDefaults Generation { get; init; }

    /// <summary>Every file of the artifacts (graphs, data shards, tokenizer files) with its size and SHA-256.</summary>
    public required IReadOnlyList<DataFileEntry> Files { get; init; }
}

/// <summary>Model sizes a runtime needs without parsing the source config.</summary>
public sealed record ModelDimensions
{
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int IndexTopK { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
}

/// <summary>
/// Storage precision per tensor class. Values: "float32", "bfloat16", "float8e4m3fn" (block scales beside), "int8",
/// "int4" (group scales beside).
/// Activations are always float32.
/// </summary>
public sealed record PrecisionInfo
{
    /// <summary>The --precision the converter ran with: fp32, bf16, fp8, int8 or int4.</summary>
    public required string Target { get; init; }
    public required string Embedding { get; init; }
    public required string Linear { get; init; }
    public required string Experts { get; init; }
    public required string LmHead { get; init; }
    public required string Norms { get; init; }

    /// <summary>
    /// Per part (attention, dense, experts, lm-head): storage format, int group size and the op that reads it
    /// (docs/artifacts.md, "Precision"). Absent in manifests written before per-part precisions.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<PartPrecision>? Parts { get; init; }
}

/// <summary>How one part of the model's weights is stored and computed.</summary>
public sealed record PartPrecision
{
    /// <summary>attention, dense, experts or lm-head.</summary>
    public required string Part { get; init; }

    /// <summary>float32, bfloat16, float8e4m3fn(+bfloat16), int8 or int4.</summary>
    public required string Format { get; init; }

    /// <summary>Input columns per scale group (int8 / int4 only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? GroupSize { get; init; }

    /// <summary>The op that reads the weights (Gemm, DenseProjection, com.microsoft.MatMulNBits, MoeExperts).</summary>
    public required string Op { get; init; }

    /// <summary>MatMulNBits accuracy_level (int8 / int4 dense projections only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? AccuracyLevel { get; init; }

    /// <summary>
    /// Attention only: the absorbed per-head matrices W_UK^T / W_UV cut from kv_b_proj, which are stored and run
    /// apart from the part's projections (grouped DenseProjection, one step wider under an integer part;
    /// docs/artifacts.md, "Per-part precisions"). Absent in manifests written before it was recorded.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public MatrixPrecision? Absorbed { get; init; }
}

/// <summary>How one kind of matrix inside a part is stored and which op reads it.</summary>
public sealed record MatrixPrecision
{
    /// <summary>float32, bfloat16, float8e4m3fn, int8 or int4.</summary>
    public required string Format { get; init; }

    /// <summary>Input columns per scale group (int8 / int4 only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? GroupSize { get; init; }

    /// <summary>Side of the square scale blocks (float8e4m3fn only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BlockSize { get; init; }

    /// <summary>The op that reads the matrices (DenseProjection with its groups attribute for W_UK^T / W_UV).</summary>
    public required string Op { get; init; }
}

/// <summary>One stage graph: a contiguous range of decoder layers [FirstLayer, FirstLayer + LayerCount).</summary>
public sealed record StageManifest
{
    public required int Index { get; init; }

    /// <summary>The ONNX file, relative to the artifacts directory.</summary>
    public required string File { get; init; }

    /// <summary>External data shards the graph references, relative to the artifacts directory.</summary>
    public required IReadOnlyList<string> DataFiles { get; init; }

    public required int FirstLayer { get; init; }
    public required int LayerCount { get; init; }

    /// <summary>True for the first stage: it takes <c>input_ids</c>; later stages take <c>hidden_states</c>.</summary>
    public required bool EmbedsTokens { get; init; }

    /// <summary>True for the last stage: it takes <c>logits_indices</c> and returns <c>logits</c>.</summary>
    public required bool ProducesLogits { get; init; }

    /// <summary>True when the stage's first layer is an IndexShare "shared" layer: it takes <c>prev_topk_indices</c>.</summary>
    public required bool TakesPrevTopk { get; init; }

    /// <summary>True when the next stage starts with a shared layer: this stage returns <c>topk_indices_out</c>.</summary>
    public required bool EmitsTopk { get; init; }

    /// <summary>Layers of this stage that own an indexer-key pool (<c>index_pool.{layer}</c> inputs).</summary>
    public required IReadOnlyList<int> IndexLayers { get; init; }

    /// <summary>A placement suggestion ("cpu" or "cuda"); the runtime decides.</summary>
    public required string DeviceHint { get; init; }

    /// <summary>
    /// True for the MTP draft stage (<see cref="ModelManifest.MtpStage"/>): it takes <c>input_ids</c> and the main
    /// model's <c>hidden_states</c> and returns logits, <c>final_hidden</c> and its top-k selection. Omitted when false.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool IsMtp { get; init; }

    /// <summary>
    /// True when the (last) stage also returns <c>final_hidden</c>: the hidden state after the final norm of its
    /// logits rows, the MTP stage's hidden input. Set when the model has an MTP stage; omitted when false.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool EmitsFinalHidden { get; init; }

    public int EndLayer => FirstLayer + LayerCount;
}

/// <summary>Shapes of the paged cache pools the runtime allocates and binds (one latent pool per layer).</summary>
public sealed record CacheLayout
{
    /// <summary>Suggested tokens per block; the ops read the real block size from the pool shape.</summary>
    public required int BlockSize { get; init; }

    /// <summary>Latent pool row width: kv_lora_rank + qk_rope_head_dim.</summary>
    public required int LatentWidth { get; init; }
    public required int KvLoraRank { get; init; }
    public required int QkRopeHeadDim { get; init; }

    /// <summary>Indexer pool row width: index_head_dim.</summary>
    public required int IndexWidth { get; init; }

    /// <summary>Element type of both pools ("float32").</summary>
    public required string DType { get; init; }

    /// <summary>Every decoder layer that owns an indexer-key pool (the "full" indexer layers, and the MTP layers).</summary>
    public required IReadOnlyList<int> IndexLayers { get; init; }

    /// <summary>
    /// MTP layers (num_hidden_layers, ...) that own a latent pool (and an indexer-key pool) after the main layers'.
    /// Absent: none.
    /// </summary>
    public IReadOnlyList<int>? MtpLayers { get; init; }

    /// <summary>Decoder layers with a latent pool: the main layers, then the MTP layers.</summary>
    public int PoolLayerCount(int numHiddenLayers) => numHiddenLayers + (MtpLayers?.Count ?? 0);
}

public sealed record CustomOpRequirement
{
    public required string Domain { get; init; }
    public required int Version { get; init; }
    public required IReadOnlyList<string> Ops { get; init; }
}

/// <summary>Tokenizer files copied from the checkpoint (absent ones are null / empty).</summary>
public sealed record TokenizerFiles
{
    public required IReadOnlyList<string> Files { get; init; }
    public string? ChatTemplate { get; init; }
}

public sealed record GenerationDefaults
{
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
}

/// <summary>One file of the artifacts: path relative to the directory, byte length and lowercase hex SHA-256.</summary>
public sealed record DataFileEntry
{
    public required string Path { get; init; }
    public required long Bytes { get; init; }
    public required string Sha256 { get; init; }
}
