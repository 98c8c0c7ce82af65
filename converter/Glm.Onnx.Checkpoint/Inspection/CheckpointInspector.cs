namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Builds an <see cref="InspectionReport"/> from config.json and the safetensors headers only: parameters, bytes per
/// dtype, layer maps, KV-cache size, and completeness against <see cref="ExpectedTensors.ForCheckpoint"/>.
/// Sizes that multiply the number of tensors are checked against the headers before the expected list is built, as
/// <c>convert</c> checks each router before its experts: a config.json that calls for millions of tensors the
/// weights do not hold is reported, never enumerated.
/// </summary>
public static class CheckpointInspector
{
    /// <summary>
    /// Most tensors the config may call for beyond those stored before the name-by-name comparison is skipped: a
    /// checkpoint missing a few shards still gets its full missing list, a config that disagrees with its weights by
    /// orders of magnitude gets one error.
    /// </summary>
    public const long MaxMissingTensors = 100_000;

    /// <summary>Inspects <paramref name="directory"/>. Never throws for a malformed checkpoint: problems land in <see cref="InspectionReport.Errors"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static InspectionReport Inspect(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: checkpoint directory not found");
        var errors = new List<string>();

        GlmConfig? config = null;
        try { config = GlmConfig.Load(Path.Combine(directory, GlmCheckpoint.ConfigFileName)); }
        catch (Exception e) when (e is CheckpointFormatException or FileNotFoundException or IOException) { errors.Add(e.Message); }

        IReadOnlyList<SafetensorsFile> files;
        IReadOnlyDictionary<string, TensorInfo> stored;
        try { (files, stored, _) = GlmCheckpoint.OpenWeightsOnly(directory); }
        catch (Exception e) when (e is CheckpointFormatException or FileNotFoundException or IOException)
        {
            errors.Add(e.Message);
            return new InspectionReport { Directory = directory, Config = config, Errors = errors };
        }
        try
        {
            return Build(directory, config, errors, files, stored);
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    private static InspectionReport Build(string directory, GlmConfig? config, List<string> errors,
        IReadOnlyList<SafetensorsFile> files, IReadOnlyDictionary<string, TensorInfo> stored)
    {
        var bytes = new SortedDictionary<DType, long>();
        long total = 0, scales = 0, mtp = 0;
        foreach (var t in stored.Values)
        {
            bytes[t.DType] = bytes.GetValueOrDefault(t.DType) + t.ByteLength;
            if (t.Name.EndsWith(ModelTensors.ScaleSuffix, StringComparison.Ordinal)) { scales += t.ElementCount; continue; }
            total += t.ElementCount;
            if (config is not null && ModelTensors.LayerOf(t.Name) >= config.NumHiddenLayers) mtp += t.ElementCount;
        }
        var report = new InspectionReport
        {
            Directory = directory,
            Config = config,
            Errors = errors,
            Files = files.Select(f => new FileSummary(Path.GetFileName(f.FilePath), f.Tensors.Count, new FileInfo(f.FilePath).Length))
                .OrderBy(f => f.Name, StringComparer.Ordinal).ToList(),
            TotalParameters = total,
            MtpParameters = mtp,
            ScaleElements = scales,
            BytesPerDType = bytes,
        };
        if (config is null) return report;

        var model = ModelTensors.For(config);
        var cache = report with
        {
            LatentCacheBytesPerToken = 2L * config.NumHiddenLayers * config.LatentCacheWidth,
            IndexerCacheBytesPerToken = 2L * config.FullIndexerLayers.Count * config.IndexHeadDim,
        };
        if (SizeDisagreement(model, stored) is { } disagreement)
        {
            errors.Add(disagreement);
            return cache with { ExpectedParameters = model.ParameterCount };
        }

        var expected = ExpectedTensors.ForCheckpoint(config, stored);
        var expectedNames = expected.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(t => !stored.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        var unexpected = stored.Keys.Where(n => !expectedNames.Contains(n)).Order(StringComparer.Ordinal).ToList();
        var wrongShape = new List<TensorMismatch>();
        var wrongDType = new List<TensorMismatch>();
        foreach (var t in expected)
        {
            if (!stored.TryGetValue(t.Name, out var s)) continue;
            if (!s.Shape.AsSpan().SequenceEqual(t.Shape)) wrongShape.Add(new TensorMismatch(t.Name, ShapeMath.Format(t.Shape), s.ShapeText));
            if (!t.AcceptsDType(s.DType))
                wrongDType.Add(new TensorMismatch(t.Name, t.DType == DType.F8_E4M3 || t.Group == TensorGroup.QuantScale ? t.DType.HeaderName() : "F32, F16 or BF16", s.DType.HeaderName()));
        }
        return cache with
        {
            ExpectedParameters = ExpectedTensors.ParameterCount(expected),
            ActiveParametersPerToken = ExpectedTensors.ActiveParameterCount(config, expected),
            MissingTensors = missing,
            UnexpectedTensors = unexpected,
            WrongShape = wrongShape,
            WrongDType = wrongDType,
        };
    }

    /// <summary>
    /// The first size of config.json that the headers contradict in a way that multiplies the tensor count, or null:
    /// each stored router weight must have n_routed_experts rows, and the config may not call for more than
    /// <see cref="MaxMissingTensors"/> tensors beyond those stored. Reads the description without its routed experts.
    /// </summary>
    private static string? SizeDisagreement(ModelTensors model, IReadOnlyDictionary<string, TensorInfo> stored)
    {
        for (int i = 0; i < model.LayerCount; i++)
        {
            if (model.Layer(i).Moe is not { } moe || !stored.TryGetValue(moe.Gate.Name, out var router)) continue;
            if (router.Shape.Length != 2 || router.Shape[0] != moe.Experts.Count)
                return $"{router.FilePath}: tensor '{router.Name}' is {router.ShapeText} in the header, but config.json " +
                       $"n_routed_experts = {moe.Experts.Count} calls for {ShapeMath.Format(moe.Gate.Shape)}: the config does not " +
                       "describe these weights (expected tensors not listed)";
        }
        long storedWeights = stored.Keys.Count(n => !n.EndsWith(ModelTensors.ScaleSuffix, StringComparison.Ordinal));
        long implied = model.TensorCount;
        if (implied - storedWeights > MaxMissingTensors)
            return $"config.json implies {implied:N0} tensors (num_hidden_layers, num_nextn_predict_layers, n_routed_experts), " +
                   $"but the safetensors headers hold {storedWeights:N0}: the config does not describe these weights (expected tensors not listed)";
        return null;
    }
}
