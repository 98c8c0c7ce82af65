using System.Security.Cryptography;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>
/// The outcome of building one stage: its files (graph last), what it read from the checkpoint, and where it placed
/// each weight initializer (so that the MTP stage can point at the main stages' embedding and lm_head).
/// </summary>
public sealed record StageOutput(StageSpec Stage, IReadOnlyList<WrittenFile> Files, long SourceBytes, int Tensors, long GraphBytes,
    IReadOnlyDictionary<string, ExternalDataLocation> Placed)
{
    /// <summary>The other stages' shards this stage's shared initializers point into (empty but for the MTP stage).</summary>
    public IReadOnlyList<string> SharedDataFiles { get; init; } = [];
}

/// <summary>Builds one stage graph and writes it with its data shards (or, in a dry run, only sizes them).</summary>
public static class StageWriter
{
    /// <param name="mainStages">
    /// The main stages' outputs (dry run or written: the offsets are the same), required for the MTP stage, whose
    /// embedding and lm_head initializers point at the bytes those stages wrote.
    /// </param>
    public static StageOutput Write(GlmConfig config, SourceTensorReader reader, StageSpec stage, string directory,
        ConvertOptions options, bool dryRun, Action<string, long> onTensor, IReadOnlyList<StageOutput>? mainStages = null)
    {
        var shared = stage.IsMtp ? SharedTables(config, mainStages ?? throw new ArgumentNullException(nameof(mainStages),
            "the MTP stage shares the main stages' embedding and lm_head: write those first")) : null;
        long sourceBytes = 0;
        int tensors = 0;
        using var data = new ExternalDataWriter(directory, stage.DataPrefix, options.MaxShardBytes, dryRun);
        var weights = new WeightWriter(reader, data, options.Policy(), (name, bytes) =>
        {
            sourceBytes += bytes;
            tensors++;
            onTensor(name, bytes);
        }, shared, options.Threads);
        var model = new StageGraphBuilder(config, weights, stage, ManifestFactory.Contract(config, options, stage)).Build();
        var shards = data.Finish();
        var bytes = model.ToBytes();
        var files = new List<WrittenFile>(shards);
        if (dryRun)
        {
            files.Add(new WrittenFile(stage.FileName, bytes.Length, ""));
        }
        else
        {
            var path = Path.Combine(directory, stage.FileName);
            using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            files.Add(new WrittenFile(stage.FileName, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }
        return new StageOutput(stage, files, sourceBytes, tensors, bytes.Length, weights.Placed)
        {
            SharedDataFiles = shared?.Values.Select(l => l.File).Distinct().Order(StringComparer.Ordinal).ToArray() ?? [],
        };
    }

    /// <summary>
    /// The embedding and output-projection initializers (and FP8 / int group scales, if any) of the main stages, by name: the
    /// MTP layer has no tables of its own (docs/architecture.md, "MTP").
    /// </summary>
    private static Dictionary<string, ExternalDataLocation> SharedTables(GlmConfig config, IReadOnlyList<StageOutput> mainStages)
    {
        var t = ModelTensors.For(config);
        var names = new[] { t.EmbedTokens.Name, t.OutputProjection.Name }
            .SelectMany(n => new[] { n, n + ModelTensors.ScaleSuffix, n + WeightWriter.GroupScaleSuffix }).ToHashSet(StringComparer.Ordinal);
        var shared = new Dictionary<string, ExternalDataLocation>(StringComparer.Ordinal);
        foreach (var output in mainStages.Where(o => !o.Stage.IsMtp))
            foreach (var (name, location) in output.Placed)
                if (names.Contains(name)) shared[name] = location;
        if (!shared.ContainsKey(t.EmbedTokens.Name) || !shared.ContainsKey(t.OutputProjection.Name))
            throw new InvalidOperationException(
                $"the main stages placed no '{t.EmbedTokens.Name}' / '{t.OutputProjection.Name}' for the MTP stage to share");
        return shared;
    }
}
