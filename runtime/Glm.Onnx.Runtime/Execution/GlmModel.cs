using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.CustomOps;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime;

/// <summary>
/// A loaded artifacts directory: the validated manifest, the paged cache (allocated once) and one ONNX Runtime
/// session per stage with the custom-op library registered. Owns all of them.
/// </summary>
public sealed class GlmModel : IDisposable
{
    private readonly PagedKvCache _cache;
    private readonly OrtModelExecutor _executor;

    private GlmModel(string directory, ModelManifest manifest, PagedKvCache cache, OrtModelExecutor executor)
    {
        Directory = directory;
        Manifest = manifest;
        _cache = cache;
        _executor = executor;
    }

    public string Directory { get; }

    public ModelManifest Manifest { get; }

    public PagedKvCache Cache => _cache;

    public IModelExecutor Executor => _executor;

    public static GlmModel Load(string directory, GlmModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new GlmModelOptions();
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        var manifest = ModelManifestJson.Load(directory); // format, version, op domain and stage layout are checked here
        ModelManifestJson.VerifyFiles(directory, manifest, options.VerifyChecksums);
        var missingOps = manifest.CustomOps.Ops.Except(CustomOpNames.All).ToList();
        if (missingOps.Count > 0)
            throw new InvalidDataException(
                $"{ModelManifest.FileName} requires custom ops {string.Join(", ", missingOps)}, which this build's library does not provide.");
        var devices = ResolveDevices(manifest, options.Devices);

        var cache = PagedKvCache.Create(manifest.Cache, manifest.Dimensions.NumHiddenLayers, options.Cache ?? new KvCacheOptions());
        var stages = new List<StageSession>();
        try
        {
            for (int i = 0; i < manifest.Stages.Count; i++)
            {
                var stage = manifest.Stages[i];
                using var sessionOptions = CreateSessionOptions(devices[i], options, stage.Index);
                stages.Add(new StageSession(stage, Path.Combine(directory, stage.File), sessionOptions, cache));
            }
            var eos = manifest.Generation.EosTokenIds;
            var info = new ModelExecutorInfo(
                manifest.Dimensions.VocabSize, cache.BlockSize, cache.NumBlocks, manifest.Dimensions.MaxPositionEmbeddings, eos);
            return new GlmModel(directory, manifest, cache, new OrtModelExecutor(stages, info));
        }
        catch
        {
            foreach (var stage in stages)
                stage.Dispose();
            cache.Dispose();
            throw;
        }
    }

    /// <summary>A generation engine over this model (the engine borrows the executor; dispose it before the model).</summary>
    public GenerationEngine CreateEngine(SchedulerOptions? scheduling = null, ITokenDecoder? decoder = null) =>
        new(_executor, scheduling, decoder);

    /// <summary>
    /// Ends ONNX Runtime profiling (<see cref="GlmModelOptions.ProfilePrefix"/>) and returns the profile file of every
    /// stage; empty when the model was loaded without profiling. Call it while no step runs.
    /// </summary>
    public IReadOnlyList<string> EndProfiling() => _executor.EndProfiling();

    public void Dispose()
    {
        _executor.Dispose();
        _cache.Dispose();
    }

    private static StageDevice[] ResolveDevices(ModelManifest manifest, IReadOnlyList<string>? devices)
    {
        int count = manifest.Stages.Count;
        if (devices is null || devices.Count == 0)
            return Enumerable.Repeat(StageDevice.Cpu, count).ToArray();
        if (devices.Count != 1 && devices.Count != count)
            throw new ArgumentException($"{devices.Count} devices given for {count} stages: give one for all stages or one per stage.");
        return Enumerable.Range(0, count).Select(i => StageDevice.Parse(devices[devices.Count == 1 ? 0 : i])).ToArray();
    }

    private static SessionOptions CreateSessionOptions(StageDevice device, GlmModelOptions model, int stage)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            if (model.IntraOpThreads > 0)
                options.IntraOpNumThreads = model.IntraOpThreads;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", model.IntraOpSpinning ? "1" : "0");
            if (model.ProfilePrefix is { } prefix)
            {
                // The prefix first: setting EnableProfiling hands ONNX Runtime the prefix current at that moment.
                options.ProfileOutputPathPrefix = $"{prefix}.stage{stage}";
                options.EnableProfiling = true;
            }
            GlmCustomOps.Register(options);
            if (device.IsCuda)
            {
                // Pools live in host memory; a CUDA stage bound to them would have ORT copy every pool to the device
                // on every Run (the silent full-pool copy design.md warns about). Device-resident pools are not built
                // yet, so refuse rather than run at a fraction of the speed.
                throw new NotSupportedException(
                    $"Stage {stage} on {device}: CUDA placement needs device-resident cache pools, which this runtime does not " +
                    "allocate yet. Run on cpu.");
            }
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }
}
