using System.Text.Json;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Contracts.Stages;
using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>Assembles glm-model.json from the config, the stage split and the written files.</summary>
public static class ManifestFactory
{
    public static ModelManifest Create(GlmCheckpoint checkpoint, ConvertOptions options, IReadOnlyList<StageSpec> stages,
        IReadOnlyList<CompletedStage> written, ExtraFiles extras)
    {
        var c = checkpoint.Config;
        using var configDoc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(checkpoint.Directory, GlmCheckpoint.ConfigFileName)));
        var files = written.OrderBy(s => s.Index).SelectMany(s => s.Files).Concat(extras.All)
            .Select(f => new DataFileEntry { Path = f.Path, Bytes = f.Bytes, Sha256 = f.Sha256 }).ToArray();
        var policy = options.Policy();
        bool fp8Source = c.Quantization is not null;
        return new ModelManifest
        {
            Format = ModelManifest.FormatName,
            FormatVersion = ModelManifest.CurrentFormatVersion,
            Producer = ConverterInfo.Producer,
            ModelType = c.ModelType,
            SourceConfig = configDoc.RootElement.Clone(),
            Dimensions = Dimensions(c),
            Precision = new PrecisionInfo
            {
                Target = options.Precision.Name(),
                Embedding = EmbeddingFormat(options.Precision),
                Linear = PartFormat(policy.Of(WeightPart.Dense), fp8Source ? "float8e4m3fn+bfloat16" : "bfloat16"),
                Experts = PartFormat(policy.Of(WeightPart.Experts), fp8Source ? "float8e4m3fn" : "bfloat16"),
                // lm_head is never block-FP8 in a checkpoint; a tied one is the embedding table.
                LmHead = c.TieWordEmbeddings ? EmbeddingFormat(options.Precision) : PartFormat(policy.Of(WeightPart.LmHead), "bfloat16"),
                Norms = "float32",
                Parts = policy.Parts.Select(p => Part(c, p.Part, p.Precision, policy, fp8Source, c.TieWordEmbeddings)).ToArray(),
            },
            Stages = stages.Where(s => !s.IsMtp).Select(s => Stage(c, options, s, DataFiles(s, written))).ToArray(),
            MtpStage = stages.FirstOrDefault(s => s.IsMtp) is { } mtp ? Stage(c, options, mtp, DataFiles(mtp, written)) : null,
            Cache = Cache(c, options),
            CustomOps = new CustomOpRequirement { Domain = CustomOpNames.Domain, Version = CustomOpNames.DomainVersion, Ops = CustomOpNames.All },
            Tokenizer = new TokenizerFiles { Files = extras.Tokenizer.Select(f => f.Path).ToArray(), ChatTemplate = extras.ChatTemplate },
            Generation = Generation(c, checkpoint.Directory),
            Files = files,
        };
    }

    /// <summary>The manifest's format name of a part's precision; <paramref name="lowFloat"/> for bf16 / fp8.</summary>
    private static string PartFormat(TargetPrecision p, string lowFloat) => p switch
    {
        TargetPrecision.Fp32 => "float32",
        TargetPrecision.Int8 => "int8",
        TargetPrecision.Int4 => "int4",
        _ => lowFloat,
    };

    /// <summary>The embedding table's format: never quantised (docs/artifacts.md, "Precision").</summary>
    private static string EmbeddingFormat(TargetPrecision target) => target == TargetPrecision.Fp32 ? "float32" : "bfloat16";

    /// <summary>
    /// What one part is stored as and which op reads it (docs/artifacts.md, "Precision"): the op follows the storage
    /// as <see cref="Weights.LinearWeight"/> decides it. A tied lm-head is the embedding table, whatever its override.
    /// </summary>
    private static PartPrecision Part(GlmConfig c, WeightPart part, TargetPrecision p, PrecisionPolicy policy, bool fp8Source, bool tiedHead)
    {
        bool experts = part == WeightPart.Experts;
        if (part == WeightPart.LmHead && tiedHead)
            p = policy.Target == TargetPrecision.Fp32 ? TargetPrecision.Fp32 : TargetPrecision.Bf16;
        string lowFloat = experts ? (fp8Source ? "float8e4m3fn" : "bfloat16")
            : part == WeightPart.LmHead || !fp8Source ? "bfloat16" : "float8e4m3fn+bfloat16";
        string op = experts ? CustomOpNames.MoeExperts
            : p.IntBits() > 0 ? (policy.DenseIntOp == DenseIntOp.DenseProjection ? CustomOpNames.DenseProjection : "com.microsoft.MatMulNBits")
            : p == TargetPrecision.Fp32 && part != WeightPart.LmHead ? "Gemm" : CustomOpNames.DenseProjection;
        return new PartPrecision
        {
            Part = PrecisionPolicy.PartName(part),
            Format = PartFormat(p, lowFloat),
            GroupSize = p.IntBits() > 0 ? policy.GroupSize : null,
            Op = op,
            AccuracyLevel = p.IntBits() > 0 && !experts && policy.DenseIntOp == DenseIntOp.MatMulNBits ? policy.AccuracyLevel : null,
            Absorbed = part == WeightPart.Attention ? Absorbed(c, p, policy) : null,
        };
    }

    /// <summary>W_UK^T / W_UV as <see cref="AbsorbedFormat.For"/> stores them under the attention part.</summary>
    private static MatrixPrecision Absorbed(GlmConfig c, TargetPrecision attention, PrecisionPolicy policy)
    {
        var f = AbsorbedFormat.For(attention, c.Quantization, c.QkNopeHeadDim, c.VHeadDim, c.KvLoraRank);
        return new MatrixPrecision
        {
            Format = f.ManifestName,
            GroupSize = f.Bits > 0 ? policy.GroupSize : null,
            BlockSize = f.Fp8Block > 0 ? f.Fp8Block : null,
            Op = CustomOpNames.DenseProjection,
        };
    }

    /// <summary>
    /// The stage's data shards: its own, then (MTP stage) the main stages' shards its shared embedding / lm_head
    /// initializers point into.
    /// </summary>
    private static string[] DataFiles(StageSpec s, IReadOnlyList<CompletedStage> written)
    {
        var done = written.First(w => w.Index == s.Index);
        return done.Files.Where(f => f.Path != s.FileName).Select(f => f.Path).Concat(done.SharedDataFiles ?? []).ToArray();
    }

    /// <summary>
    /// The graph inputs and outputs of <paramref name="stage"/>, from the same manifest entries the runtime will read
    /// (its data files are not known yet and do not enter the contract).
    /// </summary>
    public static StageContract Contract(GlmConfig c, ConvertOptions options, StageSpec stage) =>
        StageContract.For(Stage(c, options, stage, []), Dimensions(c), Cache(c, options));

    private static ModelDimensions Dimensions(GlmConfig c) => new()
    {
        VocabSize = c.VocabSize,
        HiddenSize = c.HiddenSize,
        NumHiddenLayers = c.NumHiddenLayers,
        IndexTopK = c.IndexTopK,
        MaxPositionEmbeddings = (int)Math.Min(int.MaxValue, c.MaxPositionEmbeddings),
    };

    private static CacheLayout Cache(GlmConfig c, ConvertOptions options) => new()
    {
        BlockSize = options.BlockSize,
        LatentWidth = c.LatentCacheWidth,
        KvLoraRank = c.KvLoraRank,
        QkRopeHeadDim = c.QkRopeHeadDim,
        IndexWidth = c.IndexHeadDim,
        DType = "float32",
        // The MTP layer runs a full indexer over its own indexer-key pool (docs/architecture.md, "MTP").
        IndexLayers = c.FullIndexerLayers.Concat(c.MtpLayers.Take(MtpLayerLimit)).ToArray(),
        MtpLayers = c.NumNextnPredictLayers > 0 ? c.MtpLayers.Take(MtpLayerLimit).ToArray() : null,
    };

    /// <summary>One MTP stage at most (StagePlanner refuses more).</summary>
    private const int MtpLayerLimit = 1;

    private static StageManifest Stage(GlmConfig c, ConvertOptions options, StageSpec s, IReadOnlyList<string> dataFiles) => new()
    {
        Index = s.Index,
        File = s.FileName,
        DataFiles = dataFiles,
        FirstLayer = s.FirstLayer,
        LayerCount = s.LayerCount,
        EmbedsTokens = s.IsFirst,
        ProducesLogits = s.IsLast,
        TakesPrevTopk = s.TakesPrevTopk,
        EmitsTopk = s.EmitsTopk,
        EmitsFinalHidden = s.EmitsFinalHidden,
        IsMtp = s.IsMtp,
        IndexLayers = s.IsMtp ? [s.FirstLayer]
            : Enumerable.Range(s.FirstLayer, s.LayerCount).Where(l => c.IndexerTypes[l] == IndexerType.Full).ToArray(),
        // int8 / int4 weights target CPU servers (MatMulNBits' MLAS kernels, MoeExperts' int kernels).
        DeviceHint = options.Precision is TargetPrecision.Fp32 or TargetPrecision.Int8 or TargetPrecision.Int4 ? "cpu" : "cuda",
    };

    private static GenerationDefaults Generation(GlmConfig c, string dir)
    {
        var eos = c.EosTokenIds.Select(i => (int)i).ToList();
        double? temperature = null, topP = null;
        int? topK = null;
        var path = Path.Combine(dir, ArtifactExtras.GenerationConfigFile);
        if (File.Exists(path))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.TryGetProperty("temperature", out var t) && t.ValueKind == JsonValueKind.Number) temperature = t.GetDouble();
            if (root.TryGetProperty("top_p", out var p) && p.ValueKind == JsonValueKind.Number) topP = p.GetDouble();
            if (root.TryGetProperty("top_k", out var k) && k.ValueKind == JsonValueKind.Number) topK = k.GetInt32();
            if (root.TryGetProperty("eos_token_id", out var e))
            {
                if (e.ValueKind == JsonValueKind.Number) eos = [e.GetInt32()];
                else if (e.ValueKind == JsonValueKind.Array) eos = e.EnumerateArray().Select(x => x.GetInt32()).ToList();
            }
        }
        return new GenerationDefaults
        {
            EosTokenIds = eos,
            PadTokenId = c.PadTokenId is { } pad ? (int)pad : null,
            BosTokenId = c.BosTokenId is { } bos ? (int)bos : null,
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
        };
    }
}
