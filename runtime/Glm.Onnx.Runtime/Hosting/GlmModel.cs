using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Contracts.Stages;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Execution.Pools;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime;

/// <summary>
/// A loaded artifacts directory: the validated manifest, the paged cache (allocated once) and one ONNX Runtime
/// session per stage with the custom-op library registered. Owns all of them. This is the composition root: it checks
/// the manifest, resolves devices, has the execution layer open sessions and pools, loads the tokenizer and builds
/// engines; it runs nothing itself.
/// </summary>
public sealed class GlmModel : IDisposable
{
    private readonly PagedKvCache _cache;
    private readonly OrtModelExecutor _executor;

    private GlmModel(string directory, ModelManifest manifest, PagedKvCache cache, OrtModelExecutor executor, GlmTokenizer? tokenizer,
        SpinningChoice spinning)
    {
        Spinning = spinning;
        Directory = directory;
        Manifest = manifest;
        _cache = cache;
        _executor = executor;
        Tokenizer = tokenizer;
    }

    public string Directory { get; }

    public ModelManifest Manifest { get; }

    public PagedKvCache Cache => _cache;

    public IModelExecutor Executor => _executor;

    /// <summary>Whether ONNX Runtime's intra-op threads spin inside a Run, and why (<see cref="GlmModelOptions.IntraOpSpinning"/>).</summary>
    public SpinningChoice Spinning { get; }

    /// <summary>The tokenizer the converter copied into the artifacts (null when the manifest lists none).</summary>
    public GlmTokenizer? Tokenizer { get; }

    /// <summary>The tokenizer, or a clear error naming the directory when the artifacts have none.</summary>
    public GlmTokenizer RequireTokenizer() => Tokenizer ?? throw new InvalidDataException(
        $"Model directory '{Directory}' has no {GlmTokenizer.TokenizerFileName} listed in {ModelManifest.FileName}: text input and " +
        "output need the tokenizer (convert a checkpoint that has one, or pass token ids).");

    public static GlmModel Load(string directory, GlmModelOptions? options = null) =>
        Load(directory, options, SystemCudaEnvironment.Instance);

    /// <summary>Loading with the CUDA environment injectable (tests check CUDA refusals on a machine without a GPU).</summary>
    internal static GlmModel Load(string directory, GlmModelOptions? options, ICudaEnvironment cuda)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(cuda);
        options ??= new GlmModelOptions();
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        var manifest = ModelManifestJson.Load(directory); // format, version, op domain and stage layout are checked here
        ModelManifestJson.VerifyFiles(directory, manifest, options.VerifyChecksums);
        var missingOps = manifest.CustomOps.Ops.Except(CustomOpNames.All).ToList();
        if (missingOps.Count > 0)
            throw new InvalidDataException(
                $"{ModelManifest.FileName} requires custom ops {string.Join(", ", missingOps)}, which this build's library does not provide.");
        var devices = StageDevices.Resolve(options.Devices, manifest.Stages.Count);
        for (int i = 0; i < devices.Length; i++)
            CudaPlacement.Verify(devices[i], manifest.Stages[i].Index, cuda);
        var tokenizer = LoadTokenizer(directory, manifest);
        var cacheOptions = options.Cache ?? new KvCacheOptions();
        // The MTP layer's pools are part of the cache (same block ids), allocated with the main layers' pools.
        var geometry = CacheGeometry.Plan(manifest.Cache, manifest.Cache.PoolLayerCount(manifest.Dimensions.NumHiddenLayers), cacheOptions);
        var spinning = SpinningPolicy.Resolve(options.IntraOpSpinning, options.IntraOpThreads);
        var settings = new SessionSettings(options.IntraOpThreads, spinning.Spinning, options.ProfilePrefix, options.SessionConfig);

        // Sessions first: a CUDA stage's pools come from its session's allocator. The cache is disposed before the
        // sessions (device pools are freed through those allocators).
        var stages = new List<StageSession>();
        StageSession? draft = null;
        PagedKvCache? cache = null;
        try
        {
            StageSession Open(StageManifest stage, StageDevice device) => new(stage,
                StageContract.For(stage, manifest.Dimensions, manifest.Cache), Path.Combine(directory, stage.File), settings, device);
            for (int i = 0; i < manifest.Stages.Count; i++)
                stages.Add(Open(manifest.Stages[i], devices[i]));
            // The MTP stage runs where the last stage runs: it reads that stage's final hidden states and shares the
            // lm_head bytes on disk (docs/architecture.md, "MTP").
            if (manifest.MtpStage is { } mtp)
                draft = Open(mtp, devices[^1]);
            var sessions = draft is null ? stages : [.. stages, draft];
            cache = PagedKvCache.Create(geometry, (layer, name, numBlocks, blockSize, width) =>
                sessions.FirstOrDefault(s => s.OwnsLayer(layer)) is { } owner
                    ? owner.AllocatePool(name, numBlocks, blockSize, width)
                    : new CachePool(name, numBlocks, blockSize, width));
            foreach (var stage in sessions)
                stage.BindPools(cache);
            var info = new ModelExecutorInfo(
                manifest.Dimensions.VocabSize, cache.BlockSize, cache.NumBlocks, manifest.Dimensions.MaxPositionEmbeddings,
                manifest.Generation.EosTokenIds, cacheOptions.BlockOrder,
                HiddenSize: manifest.Stages[^1].EmitsFinalHidden ? manifest.Dimensions.HiddenSize : 0,
                HasDraftStage: draft is not null,
                IndexTopK: manifest.Dimensions.IndexTopK,
                ShareDraftTopK: manifest.SourceConfig.ValueKind == System.Text.Json.JsonValueKind.Object &&
                    manifest.SourceConfig.TryGetProperty("index_share_for_mtp_iteration", out var share) &&
                    share.ValueKind == System.Text.Json.JsonValueKind.True);
            return new GlmModel(directory, manifest, cache, new OrtModelExecutor(stages, draft, info), tokenizer, spinning);
        }
        catch
        {
            cache?.Dispose();
            foreach (var stage in stages)
                stage.Dispose();
            draft?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A generation engine over this model (the engine borrows the executor; dispose it before the model). Without an
    /// explicit decoder the engine decodes text with the model's tokenizer, when it has one. A model with an MTP stage drafts speculative requests with it unless <paramref name="drafter"/> says otherwise.
    public GenerationEngine CreateEngine(SchedulerOptions? scheduling = null, ITokenDecoder? decoder = null,
        EngineTelemetryOptions? telemetry = null, Drafting.IDrafter? drafter = null) =>
        new(_executor, scheduling, decoder ?? (Tokenizer is { } tokenizer ? new GlmTokenDecoder(tokenizer) : null), telemetry, drafter);

    // The manifest lists the tokenizer files the converter copied; tokenizer_config.json is optional.
    private static GlmTokenizer? LoadTokenizer(string directory, ModelManifest manifest)
    {
        if (!manifest.Tokenizer.Files.Contains(GlmTokenizer.TokenizerFileName))
            return null;
        var config = manifest.Tokenizer.Files.Contains(GlmTokenizer.ConfigFileName)
            ? Path.Combine(directory, GlmTokenizer.ConfigFileName)
            : null;
        return GlmTokenizer.Load(Path.Combine(directory, GlmTokenizer.TokenizerFileName), config);
    }

    /// <summary>
    /// Ends ONNX Runtime profiling (<see cref="GlmModelOptions.ProfilePrefix"/>) and returns the profile file of every
    /// stage; empty when the model was loaded without profiling. Call it while no step runs.
    /// </summary>
    public IReadOnlyList<string> EndProfiling() => _executor.EndProfiling();

    public void Dispose()
    {
        // Pools first: device pools are freed through their stage session's allocator.
        _cache.Dispose();
        _executor.Dispose();
    }
}
