namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The complete list of tensors a GLM-5.x checkpoint must hold for a <see cref="GlmConfig"/>: the flattening of
/// <see cref="ModelTensors"/> (names as on disk, per-expert 2-D tensors, transformers' module order) with the dtype
/// each tensor is stored in. Block-FP8 configs add a float32 <c>weight_scale_inv</c>
/// [ceil(out / block_rows), ceil(in / block_cols)] after each quantised weight.
/// </summary>
public static class ExpectedTensors
{
    /// <summary>
    /// The expected tensors. For an FP8 config, <paramref name="isQuantized"/> decides per quantizable weight whether it
    /// is stored as F8_E4M3 (default: <see cref="DefaultIsQuantized"/>); unquantizable tensors are never quantised.
    /// </summary>
    public static IReadOnlyList<ExpectedTensor> For(GlmConfig config, Func<string, bool>? isQuantized = null) =>
        Enumerate(config, isQuantized).ToList();

    /// <summary>
    /// <see cref="For"/> as a lazy sequence: one tensor described at a time, for callers that must not hold the whole
    /// list of a config they have not yet checked.
    /// </summary>
    public static IEnumerable<ExpectedTensor> Enumerate(GlmConfig config, Func<string, bool>? isQuantized = null)
    {
        var q = config.Quantization;
        Func<string, bool> quantized = isQuantized ?? (name => DefaultIsQuantized(config, name));
        foreach (var t in ModelTensors.For(config).All())
        {
            if (!t.IsLinear)
            {
                yield return new ExpectedTensor(t.Name, t.Shape, t.DType, t.Group, t.Layer, t.Expert, Quantizable: false);
                continue;
            }
            bool fp8 = q is not null && quantized(t.Name);
            yield return new ExpectedTensor(t.Name, t.Shape, fp8 ? DType.F8_E4M3 : t.DType, t.Group, t.Layer, t.Expert, Quantizable: true);
            if (fp8)
                yield return new ExpectedTensor(ScaleName(t.Name), [CeilDiv(t.Rows, q!.BlockRows), CeilDiv(t.Cols, q.BlockCols)],
                    DType.F32, TensorGroup.QuantScale, t.Layer, t.Expert, Quantizable: false);
        }
    }

    /// <summary>
    /// The expected tensors of an existing checkpoint: each quantizable weight counts as quantised exactly when the
    /// checkpoint stores it as F8_E4M3 (official FP8 checkpoints and the fixtures differ on which small projections
    /// they quantise, and neither choice is wrong).
    /// </summary>
    public static IReadOnlyList<ExpectedTensor> ForCheckpoint(GlmConfig config, IReadOnlyDictionary<string, TensorInfo> stored) =>
        For(config, name => stored.TryGetValue(name, out var t) && t.DType == DType.F8_E4M3);

    /// <summary>
    /// Default FP8 policy for writing: every quantizable linear weight is quantised unless a
    /// <c>modules_to_not_convert</c> entry occurs in its module name (substring match, as transformers does).
    /// Never quantised: embeddings, lm_head, norms, router, indexer weights_proj, MTP eh_proj.
    /// </summary>
    public static bool DefaultIsQuantized(GlmConfig config, string weightName)
    {
        if (config.Quantization is not { } q) return false;
        string module = weightName.EndsWith(".weight", StringComparison.Ordinal) ? weightName[..^".weight".Length] : weightName;
        return q.ModulesToNotConvert is not { } skip || !skip.Any(s => s.Length > 0 && module.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>Name of the block scale of <paramref name="weightName"/> (<c>X.weight</c> -> <c>X.weight_scale_inv</c>).</summary>
    public static string ScaleName(string weightName) => weightName + ModelTensors.ScaleSuffix;

    /// <summary>Sum of parameter elements (scales excluded).</summary>
    public static long ParameterCount(IEnumerable<ExpectedTensor> tensors) => tensors.Where(t => t.IsParameter).Sum(t => t.ElementCount);

    /// <summary>
    /// Active parameters per token of the main model (MTP layers excluded): attention (MLA projections and norms) of every
    /// layer, dense MLPs, top-k routed experts plus shared experts and the router of every MoE layer, the indexers of
    /// full layers, the final norm and lm_head (the embedding matrix when tied). Embeddings are excluded: a lookup, not
    /// a matmul.
    /// </summary>
    public static long ActiveParameterCount(GlmConfig config, IEnumerable<ExpectedTensor> tensors)
    {
        long active = 0;
        foreach (var t in tensors)
        {
            if (!t.IsParameter || t.Layer >= config.NumHiddenLayers) continue;
            active += t.Group switch
            {
                TensorGroup.Embedding => config.TieWordEmbeddings ? t.ElementCount : 0,
                TensorGroup.RoutedExpert => t.Expert < config.NumExpertsPerTok ? t.ElementCount : 0,
                _ => t.ElementCount,
            };
        }
        return active;
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
