namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Builds an <see cref="InspectionReport"/> from config.json and the safetensors headers only: parameters, bytes per
/// dtype, layer maps, KV-cache size, and completeness against <see cref="ExpectedTensors.ForCheckpoint"/>.
/// </summary>
public static class CheckpointInspector
{
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
            if (t.Name.EndsWith("_scale_inv", StringComparison.Ordinal)) { scales += t.ElementCount; continue; }
            total += t.ElementCount;
            if (config is not null && LayerOf(t.Name) >= config.NumHiddenLayers) mtp += t.ElementCount;
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
        return report with
        {
            ExpectedParameters = ExpectedTensors.ParameterCount(expected),
            ActiveParametersPerToken = ExpectedTensors.ActiveParameterCount(config, expected),
            LatentCacheBytesPerToken = 2L * config.NumHiddenLayers * config.LatentCacheWidth,
            IndexerCacheBytesPerToken = 2L * config.FullIndexerLayers.Count * config.IndexHeadDim,
            MissingTensors = missing,
            UnexpectedTensors = unexpected,
            WrongShape = wrongShape,
            WrongDType = wrongDType,
        };
    }

    /// <summary>The layer index of <c>model.layers.N.*</c>, else -1.</summary>
    private static int LayerOf(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', prefix.Length);
        return end > 0 && int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), out int layer) ? layer : -1;
    }
}
