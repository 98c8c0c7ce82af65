using System.Security.Cryptography;
using System.Text;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>
/// Converts a checkpoint into artifacts: plans the stages, writes each stage into <c>{output}.partial</c> one tensor
/// at a time, records finished stages so an interrupted run resumes, copies tokenizer files, writes the manifest
/// last and renames the directory into place. Same input and options give byte-identical artifacts.
/// </summary>
public static class ModelConverter
{
    /// <summary>Fixed working memory besides the chunk buffers: runtime, graph building, I/O buffers.</summary>
    private const long FixedOverheadBytes = 160L << 20;

    public static ConversionPlan Plan(ConvertOptions options)
    {
        using var checkpoint = GlmCheckpoint.Open(options.CheckpointDir);
        using var reader = new SourceTensorReader(checkpoint);
        return PlanFor(checkpoint, reader, options);
    }

    public static ConversionPlan Convert(ConvertOptions options, IConversionProgress progress, CancellationToken cancel = default)
    {
        var output = Path.GetFullPath(options.OutputDir);
        // One writer per output: a second run refuses at once rather than interleaving stage files with the first.
        using var outputLock = OutputLock.TryAcquire(output) ?? throw new IOException(
            $"output '{output}' is being written by another conversion (lock file {OutputLock.PathFor(output)} is held); " +
            "wait for it to finish, then rerun");
        if (Directory.Exists(output))
        {
            if (!options.Force)
                throw new IOException($"output directory '{output}' already exists (use --force to replace it)");
        }
        using var checkpoint = GlmCheckpoint.Open(options.CheckpointDir);
        using var reader = new SourceTensorReader(checkpoint);
        var plan = PlanFor(checkpoint, reader, options);
        var fingerprint = Fingerprint(checkpoint, options, plan.Specs);

        var partial = output + ".partial";
        var state = Directory.Exists(partial) ? ConversionState.TryLoad(partial) : null;
        if (state is null || state.Fingerprint != fingerprint)
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            Directory.CreateDirectory(partial);
            state = new ConversionState(fingerprint, []);
        }
        else
        {
            progress.Message($"resuming the interrupted conversion in {partial}");
        }

        progress.Start(plan.SourceBytes, plan.Tensors);
        var completed = new List<CompletedStage>();
        foreach (var planned in plan.Stages)
        {
            cancel.ThrowIfCancellationRequested();
            var stage = planned.Stage;
            var previous = state.Stages.FirstOrDefault(s => s.Index == stage.Index);
            if (previous is not null && FilesIntact(partial, previous.Files))
            {
                completed.Add(previous);
                progress.StageKept(stage, previous.SourceBytes, previous.Tensors);
                continue;
            }
            DeleteStageFiles(partial, stage);
            progress.StageStarted(stage);
            // The dry-run placements of the plan equal the written ones (same code, same order), so the MTP stage can
            // point at the main stages' tables whether they were written now or kept from an interrupted run.
            var written = StageWriter.Write(checkpoint.Config, reader, stage, partial, options, dryRun: false, (name, bytes) =>
            {
                progress.TensorDone(name, bytes);
                if (options.DelayPerTensorMs > 0) Thread.Sleep(options.DelayPerTensorMs);
                cancel.ThrowIfCancellationRequested();
            }, plan.Stages);
            completed.Add(new CompletedStage(stage.Index, written.Files, written.SourceBytes, written.Tensors, written.SharedDataFiles));
            state = new ConversionState(fingerprint, completed.ToArray());
            state.Save(partial);
            progress.StageFinished(stage, written.Files.Select(f => f.Path).ToArray());
        }

        var extras = ArtifactExtras.Copy(checkpoint.Directory, partial);
        var manifest = ManifestFactory.Create(checkpoint, options, plan.Specs, completed, extras);
        File.Delete(Path.Combine(partial, ConversionState.FileName));
        File.WriteAllText(Path.Combine(partial, ModelManifest.FileName), ModelManifestJson.Serialize(manifest), new UTF8Encoding(false));
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        Directory.Move(partial, output);
        progress.Message($"wrote {output}");
        return plan;
    }

    private static ConversionPlan PlanFor(GlmCheckpoint checkpoint, SourceTensorReader reader, ConvertOptions options)
    {
        RefuseUnexpectedTensors(checkpoint);
        var specs = StagePlanner.Split(checkpoint.Config, options);
        long largest = 0;
        var outputs = new List<StageOutput>();
        foreach (var s in specs)
            outputs.Add(StageWriter.Write(checkpoint.Config, reader, s, "", options, dryRun: true,
                (name, bytes) => largest = Math.Max(largest, bytes), outputs));
        // Chunk buffers: raw source bytes, float32 values and encoded output of one chunk each, plus the largest graph
        // protobuf twice (object model + serialised bytes).
        long chunk = (long)WeightWriter.ChunkElements * (4 + 4 + 4);
        long peak = chunk + 2 * outputs.Max(o => o.GraphBytes) + FixedOverheadBytes;
        return new ConversionPlan(checkpoint.Directory, options.Precision, outputs.ToArray(), outputs.Sum(o => o.SourceBytes), largest, peak)
        {
            Policy = options.Policy(),
        };
    }

    // inspect reports a checkpoint with tensors the config does not explain as incomplete (exit 1); convert refuses it
    // too, rather than silently dropping weights that may mean the config describes a different model.
    private static void RefuseUnexpectedTensors(GlmCheckpoint checkpoint)
    {
        var expected = ExpectedTensors.ForCheckpoint(checkpoint.Config, checkpoint.Tensors).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var unexpected = checkpoint.Tensors.Keys.Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count == 0)
            return;
        var first = checkpoint.Tensors[unexpected[0]];
        throw new CheckpointFormatException(first.FilePath, unexpected[0],
            $"not expected for this config.json ({unexpected.Count} unexpected tensor(s): " +
            $"{string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", ..." : "")}); `glm-convert inspect` lists them all");
    }

    /// <summary>Identity of the inputs and options: a partial output from a different run is never reused.</summary>
    private static string Fingerprint(GlmCheckpoint checkpoint, ConvertOptions o, IReadOnlyList<StageSpec> stages)
    {
        var text = new StringBuilder();
        text.Append(ConverterInfo.Version).Append('|').Append(o.Policy().ToString()).Append('|').Append(o.MaxShardBytes).Append('|').Append(o.BlockSize);
        foreach (var s in stages) text.Append('|').Append(s.FirstLayer).Append('+').Append(s.LayerCount);
        text.Append('|').Append(File.ReadAllText(Path.Combine(checkpoint.Directory, GlmCheckpoint.ConfigFileName)));
        foreach (var f in checkpoint.Files)
            text.Append('|').Append(Path.GetFileName(f.FilePath)).Append(':').Append(new FileInfo(f.FilePath).Length)
                .Append(':').Append(File.GetLastWriteTimeUtc(f.FilePath).Ticks);
        foreach (var t in checkpoint.Tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
            text.Append('|').Append(t.Name).Append(':').Append(t.DType).Append(':').Append(t.ShapeText).Append(':').Append(t.DataOffset);
        return System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static bool FilesIntact(string directory, IReadOnlyList<WrittenFile> files)
    {
        foreach (var f in files)
        {
            var path = Path.Combine(directory, f.Path);
            if (!File.Exists(path) || new FileInfo(path).Length != f.Bytes) return false;
            if (ModelManifestJson.Sha256Hex(path) != f.Sha256) return false;
        }
        return true;
    }

    private static void DeleteStageFiles(string directory, StageSpec stage)
    {
        foreach (var file in Directory.EnumerateFiles(directory, stage.DataPrefix + ".*"))
            File.Delete(file);
    }
}
