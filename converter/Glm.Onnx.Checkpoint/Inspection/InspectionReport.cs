namespace Glm.Onnx.Checkpoint;

/// <summary>A stored tensor whose shape or dtype differs from what the config implies.</summary>
public sealed record TensorMismatch(string Name, string Expected, string Found);

/// <summary>One safetensors file of the checkpoint.</summary>
public sealed record FileSummary(string Name, int Tensors, long Bytes);

/// <summary>
/// What <see cref="CheckpointInspector"/> found from config.json and the safetensors headers (no tensor data is read).
/// When the config or a header is invalid, <see cref="Errors"/> says why and the config-derived fields are empty.
/// </summary>
public sealed record InspectionReport
{
    /// <summary>The checkpoint directory.</summary>
    public required string Directory { get; init; }
    /// <summary>The bound config, or null when config.json is missing or invalid.</summary>
    public GlmConfig? Config { get; init; }
    /// <summary>Fatal problems: invalid config, invalid header or index.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
    /// <summary>The safetensors files.</summary>
    public IReadOnlyList<FileSummary> Files { get; init; } = [];
    /// <summary>Sum of elements of every stored tensor except block-FP8 scales (MTP layers included).</summary>
    public long TotalParameters { get; init; }
    /// <summary>Stored parameters of the MTP layers.</summary>
    public long MtpParameters { get; init; }
    /// <summary>Elements of the stored <c>weight_scale_inv</c> tensors (not parameters).</summary>
    public long ScaleElements { get; init; }
    /// <summary>Parameters the config implies (<see cref="ExpectedTensors.ParameterCount"/>).</summary>
    public long ExpectedParameters { get; init; }
    /// <summary>Active parameters per token, see <see cref="ActiveDefinition"/>.</summary>
    public long ActiveParametersPerToken { get; init; }
    /// <summary>Stored bytes per dtype (scales included).</summary>
    public IReadOnlyDictionary<DType, long> BytesPerDType { get; init; } = new Dictionary<DType, long>();
    /// <summary>KV-cache bytes per token for the latent (bf16): layers x (kv_lora_rank + qk_rope_head_dim) x 2.</summary>
    public long LatentCacheBytesPerToken { get; init; }
    /// <summary>Indexer-key cache bytes per token (bf16): full-indexer layers x index_head_dim x 2.</summary>
    public long IndexerCacheBytesPerToken { get; init; }
    /// <summary>Latent + indexer cache bytes per token (bf16), main model only.</summary>
    public long KvCacheBytesPerToken => LatentCacheBytesPerToken + IndexerCacheBytesPerToken;
    /// <summary>Expected tensors the checkpoint lacks.</summary>
    public IReadOnlyList<string> MissingTensors { get; init; } = [];
    /// <summary>Stored tensors the config does not call for.</summary>
    public IReadOnlyList<string> UnexpectedTensors { get; init; } = [];
    /// <summary>Stored tensors with the wrong shape.</summary>
    public IReadOnlyList<TensorMismatch> WrongShape { get; init; } = [];
    /// <summary>Stored tensors with an unacceptable dtype.</summary>
    public IReadOnlyList<TensorMismatch> WrongDType { get; init; } = [];

    /// <summary>True when the checkpoint is valid and holds exactly the expected tensors with acceptable shapes and dtypes.</summary>
    public bool IsComplete => Errors.Count == 0 && Config is not null && MissingTensors.Count == 0 && UnexpectedTensors.Count == 0
        && WrongShape.Count == 0 && WrongDType.Count == 0;

    /// <summary>The definition of active parameters, printed by inspect.</summary>
    public const string ActiveDefinition =
        "active parameters per token = attention (MLA projections + norms) of every layer + dense MLPs + per MoE layer " +
        "(top-k routed experts + shared experts + router) + indexers of full layers + final norm + lm_head; " +
        "embeddings excluded (a lookup), MTP layers excluded";
}
