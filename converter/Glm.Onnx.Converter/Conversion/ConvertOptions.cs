namespace Glm.Onnx.Converter.Conversion;

/// <summary>What <c>glm-convert convert</c> was asked to do.</summary>
/// <param name="CheckpointDir">Hugging Face checkpoint directory (config.json + safetensors, single or sharded).</param>
/// <param name="OutputDir">Artifacts directory to create; written as <c>{OutputDir}.partial</c> and renamed on success.</param>
public sealed record ConvertOptions(string CheckpointDir, string OutputDir)
{
    public TargetPrecision Precision { get; init; } = TargetPrecision.Fp32;

    /// <summary>Per-part precisions that override <see cref="Precision"/> (<c>--experts int4</c> etc.).</summary>
    public IReadOnlyDictionary<WeightPart, TargetPrecision>? PartPrecisions { get; init; }

    /// <summary>Input columns per int8 / int4 scale group (32 or 128).</summary>
    public int QuantGroupSize { get; init; } = 32;

    /// <summary>
    /// MatMulNBits accuracy_level of int8 / int4 dense projections (docs/artifacts.md, "Quantized weights"). 4 (int8
    /// activations) by default: ONNX Runtime 1.31's CPU kernel has no fast float path for 8-bit weights (measured on
    /// the small preset: 439 ms CPU per decode step at level 0 against 27 ms at level 4), and 4-bit is faster at 4 too.
    /// </summary>
    public int AccuracyLevel { get; init; } = 4;

    /// <summary>
    /// The op of int8 / int4 dense projections: DenseProjection by default (its own int8 / int4 kernels take less CPU
    /// than MatMulNBits at decode and prefill sizes, docs/benchmarks.md "DenseProjection's own int8 / int4 kernels"),
    /// MatMulNBits as the option.
    /// </summary>
    public DenseIntOp DenseIntOp { get; init; } = DenseIntOp.DenseProjection;

    /// <summary>The precision of every part, as the writers apply it.</summary>
    public PrecisionPolicy Policy() => new(Precision, PartPrecisions, QuantGroupSize, AccuracyLevel, DenseIntOp);

    /// <summary>Decoder layers per stage; null puts every layer in one stage.</summary>
    public int? LayersPerStage { get; init; }

    /// <summary>Explicit layer counts per stage (must sum to num_hidden_layers); overrides <see cref="LayersPerStage"/>.</summary>
    public IReadOnlyList<int>? StageLayers { get; init; }

    /// <summary>Cap on one external-data shard; a single larger tensor gets a shard of its own.</summary>
    public long MaxShardBytes { get; init; } = 2L << 30;

    /// <summary>Suggested cache block size recorded in the manifest.</summary>
    public int BlockSize { get; init; } = 64;

    /// <summary>
    /// Threads that quantise int8 / int4 rows (<c>--threads</c>; default: every processor). Each row is quantised on its
    /// own into its fixed place in the chunk, so the bytes written do not depend on it (not part of the resume fingerprint).
    /// </summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Replace an existing output directory.</summary>
    public bool Force { get; init; }

    /// <summary>Test hook: sleep this long after each tensor (lets a test interrupt a tiny conversion mid-way).</summary>
    public int DelayPerTensorMs { get; init; }
}
