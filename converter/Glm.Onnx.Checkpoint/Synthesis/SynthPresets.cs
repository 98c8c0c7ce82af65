namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Configs for <see cref="CheckpointSynthesizer"/>. All use GLM-5.2 IndexShare (index_topk_freq 4, offset 3:
/// full layers 0, 1, 2, 6, 10, ...) and write no MTP layer.
/// <list type="bullet">
/// <item><c>tiny</c>: the shape of the fixtures' glm52-tiny (hidden 64, 8 layers, 8 experts top-2, vocab 256, index_topk 8).</item>
/// <item><c>small</c>: about 0.5 B parameters (hidden 1024, 12 layers, 32 experts top-4 + 1 shared, vocab 16384,
/// index_topk 256) for CPU benchmarks.</item>
/// <item><c>glm52</c>: the real GLM-5.2 dimensions (hidden 6144, 256 experts, vocab 154880) with few layers, for GPU benchmarks.</item>
/// </list>
/// </summary>
public static class SynthPresets
{
    /// <summary>Preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "small", "glm52"];

    /// <summary>
    /// The preset <paramref name="name"/> with <paramref name="layers"/> main layers (null: the preset's default:
    /// tiny 8, small 12, glm52 4), quantised to block FP8 when <paramref name="fp8"/>.
    /// </summary>
    public static GlmConfig Get(string name, int? layers = null, bool fp8 = false)
    {
        var config = name switch
        {
            "tiny" => Tiny(layers ?? 8),
            "small" => Small(layers ?? 12),
            "glm52" => Glm52(layers ?? 4),
            _ => throw new ArgumentException($"unknown preset '{name}': expected one of {string.Join(", ", Names)}", nameof(name)),
        };
        if (fp8) config = config with { Quantization = DefaultFp8 };
        config.Validate($"preset '{name}'");
        return config;
    }

    /// <summary>The block-FP8 quantization the official checkpoints use: e4m3, dynamic activations, 128 x 128 blocks.</summary>
    public static QuantizationConfig DefaultFp8 { get; } = new("fp8", "e4m3", "dynamic", 128, 128, null);

    /// <summary>
    /// Adapts any config for synthesis: <paramref name="layers"/> keeps the first N main layers (their indexer and MLP
    /// types unchanged; more layers than the config has is an error), <paramref name="fp8"/> true adds
    /// <see cref="DefaultFp8"/> unless the config already quantises, false removes quantization, null keeps it.
    /// </summary>
    public static GlmConfig Adapt(GlmConfig config, int? layers = null, bool? fp8 = null)
    {
        if (layers is int n)
        {
            if (n < 1 || n > config.NumHiddenLayers)
                throw new ArgumentOutOfRangeException(nameof(layers), n, $"expected 1..{config.NumHiddenLayers} (the config's num_hidden_layers)");
            config = config with
            {
                NumHiddenLayers = n,
                IndexerTypes = config.IndexerTypes.Take(n).ToArray(),
                MlpLayerTypes = config.MlpLayerTypes.Take(n).ToArray(),
                FirstKDenseReplace = config.FirstKDenseReplace is int k ? Math.Min(k, n) : null,
            };
        }
        if (fp8 == true && config.Quantization is null) config = config with { Quantization = DefaultFp8 };
        if (fp8 == false) config = config with { Quantization = null };
        config.Validate("synth config");
        return config;
    }

    private static GlmConfig WithLayers(GlmConfig c, int layers, int firstKDense)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "expected at least 1 layer");
        int dense = Math.Min(firstKDense, layers);
        return c with
        {
            NumHiddenLayers = layers,
            FirstKDenseReplace = dense,
            MlpLayerTypes = GlmConfig.DeriveMlpLayerTypes(layers, dense),
            IndexTopkFreq = 4,
            IndexSkipTopkOffset = 3,
            IndexerTypes = GlmConfig.DeriveIndexerTypes(layers, 4, 3),
        };
    }

    private static GlmConfig Tiny(int layers) => WithLayers(new GlmConfig
    {
        ModelType = "glm_moe_dsa",
        Architectures = ["GlmMoeDsaForCausalLM"],
        VocabSize = 256,
        HiddenSize = 64,
        IntermediateSize = 96,
        MoeIntermediateSize = 32,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 4,
        QLoraRank = 48,
        KvLoraRank = 32,
        QkNopeHeadDim = 16,
        QkRopeHeadDim = 8,
        VHeadDim = 16,
        HeadDimInConfig = 8,
        NRoutedExperts = 8,
        NSharedExperts = 1,
        NumExpertsPerTok = 2,
        RoutedScalingFactor = 2.5,
        MlpLayerTypes = [],
        IndexTopK = 8,
        IndexHeadDim = 16,
        IndexNHeads = 32,
        IndexerTypes = [],
        Rope = new RopeParameters("default", 1_000_000),
        MaxPositionEmbeddings = 4096,
        InitializerRange = 0.02,
        EosTokenIds = [1, 2],
        BosTokenId = 0,
        PadTokenId = 3,
        Dtype = "bfloat16",
    }, layers, firstKDense: 1);

    private static GlmConfig Small(int layers) => WithLayers(new GlmConfig
    {
        ModelType = "glm_moe_dsa",
        Architectures = ["GlmMoeDsaForCausalLM"],
        VocabSize = 16384,
        HiddenSize = 1024,
        IntermediateSize = 2816,
        MoeIntermediateSize = 384,
        NumHiddenLayers = layers,
        NumAttentionHeads = 16,
        NumKeyValueHeads = 16,
        QLoraRank = 384,
        KvLoraRank = 256,
        QkNopeHeadDim = 64,
        QkRopeHeadDim = 32,
        VHeadDim = 64,
        HeadDimInConfig = 32,
        NRoutedExperts = 32,
        NSharedExperts = 1,
        NumExpertsPerTok = 4,
        RoutedScalingFactor = 2.5,
        MlpLayerTypes = [],
        IndexTopK = 256,
        IndexHeadDim = 64,
        IndexNHeads = 32,
        IndexerTypes = [],
        Rope = new RopeParameters("default", 8_000_000),
        MaxPositionEmbeddings = 65536,
        InitializerRange = 0.02,
        EosTokenIds = [1, 2],
        BosTokenId = 0,
        PadTokenId = 3,
        Dtype = "bfloat16",
    }, layers, firstKDense: 1);

    private static GlmConfig Glm52(int layers) => WithLayers(new GlmConfig
    {
        ModelType = "glm_moe_dsa",
        Architectures = ["GlmMoeDsaForCausalLM"],
        VocabSize = 154880,
        HiddenSize = 6144,
        IntermediateSize = 12288,
        MoeIntermediateSize = 2048,
        NumHiddenLayers = layers,
        NumAttentionHeads = 64,
        NumKeyValueHeads = 64,
        QLoraRank = 2048,
        KvLoraRank = 512,
        QkNopeHeadDim = 192,
        QkRopeHeadDim = 64,
        VHeadDim = 256,
        HeadDimInConfig = 192,
        NRoutedExperts = 256,
        NSharedExperts = 1,
        NumExpertsPerTok = 8,
        RoutedScalingFactor = 2.5,
        MlpLayerTypes = [],
        IndexTopK = 2048,
        IndexHeadDim = 128,
        IndexNHeads = 32,
        IndexerTypes = [],
        IndexShareForMtpIteration = true,
        Rope = new RopeParameters("default", 8_000_000),
        MaxPositionEmbeddings = 1_048_576,
        InitializerRange = 0.02,
        EosTokenIds = [154820, 154827, 154829],
        PadTokenId = 154820,
        Dtype = "bfloat16",
        MoeRouterDtype = "float32",
    }, layers, firstKDense: 3);
}
