using System.Security.Cryptography;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>The outcome of building one stage: its files (graph last) and what it read from the checkpoint.</summary>
public sealed record StageOutput(StageSpec Stage, IReadOnlyList<WrittenFile> Files, long SourceBytes, int Tensors, long GraphBytes);

/// <summary>Builds one stage graph and writes it with its data shards (or, in a dry run, only sizes them).</summary>
public static class StageWriter
{
    public static StageOutput Write(GlmConfig config, SourceTensorReader reader, StageSpec stage, string directory,
        ConvertOptions options, bool dryRun, Action<string, long> onTensor)
    {
        long sourceBytes = 0;
        int tensors = 0;
        using var data = new ExternalDataWriter(directory, stage.DataPrefix, options.MaxShardBytes, dryRun);
        var weights = new WeightWriter(reader, data, options.Precision, (name, bytes) =>
        {
            sourceBytes += bytes;
            tensors++;
            onTensor(name, bytes);
        });
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
        return new StageOutput(stage, files, sourceBytes, tensors, bytes.Length);
    }
}
