using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Runtime.Cache;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// One stage graph's ONNX Runtime session with its IOBinding. The stage's cache pools are bound once
/// (<see cref="BindPools"/>); per step only the small batch-description tensors and the stage-to-stage activations are
/// rebound. On a CUDA device the session also owns the allocator its device pools come from.
/// </summary>
internal sealed class StageSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HashSet<string> _inputs;
    private readonly OrtMemoryInfo? _deviceMemory;
    private OrtAllocator? _deviceAllocator;

    public StageSession(StageManifest stage, string path, SessionOptions options, StageDevice device = default)
    {
        Stage = stage;
        Profiling = options.EnableProfiling;
        Device = device;
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"Stage {stage.Index} ('{path}') could not be loaded by ONNX Runtime: {e.Message}", e);
        }
        try
        {
            _inputs = [.. _session.InputMetadata.Keys];
            var required = new List<string>
            {
                stage.EmbedsTokens ? GraphNames.InputIds : GraphNames.HiddenStates,
                GraphNames.CumulativeSequenceLengths, GraphNames.PastSequenceLengths, GraphNames.BlockTable,
            };
            if (stage.ProducesLogits) required.Add(GraphNames.LogitsIndices);
            if (stage.TakesPrevTopk) required.Add(GraphNames.PrevTopkIndices);
            for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++)
                required.Add(GraphNames.LatentPool(layer));
            required.AddRange(stage.IndexLayers.Select(GraphNames.IndexPool));
            var missing = required.Where(n => !_inputs.Contains(n)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException(
                    $"Stage {stage.Index} ('{path}') lacks the contract inputs {string.Join(", ", missing)} (docs/onnx-contract.md, Stage graphs); " +
                    $"it declares {string.Join(", ", _inputs)}.");
            var output = stage.ProducesLogits ? GraphNames.Logits : GraphNames.HiddenStatesOut;
            if (!_session.OutputMetadata.ContainsKey(output))
                throw new InvalidDataException($"Stage {stage.Index} ('{path}') has no output '{output}'.");
            if (stage.EmitsTopk && !_session.OutputMetadata.ContainsKey(GraphNames.TopkIndicesOut))
                throw new InvalidDataException($"Stage {stage.Index} ('{path}') has no output '{GraphNames.TopkIndicesOut}'.");

            Binding = _session.CreateIoBinding();
            if (device.IsCuda)
                _deviceMemory = CudaPlacement.DeviceMemory(device);
        }
        catch
        {
            Binding?.Dispose();
            _session.Dispose();
            throw;
        }
    }

    public StageManifest Stage { get; }

    /// <summary>The fixed size the graph declares for one axis of an input or output, or null when it is symbolic.</summary>
    internal long? DeclaredDimension(string name, int axis)
    {
        var metadata = _session.InputMetadata.TryGetValue(name, out var input) ? input
            : _session.OutputMetadata.TryGetValue(name, out var output) ? output : null;
        return metadata is { Dimensions: var dims } && axis < dims.Length && dims[axis] > 0 ? dims[axis] : null;
    }

    public StageDevice Device { get; }

    /// <summary>Where this stage's inputs should live: host memory, or its CUDA device's memory.</summary>
    public OrtMemoryInfo InputMemory => _deviceMemory ?? OrtMemoryInfo.DefaultInstance;

    /// <summary>Whether <paramref name="layer"/>'s pools are inputs of this stage.</summary>
    public bool OwnsLayer(int layer) =>
        (layer >= Stage.FirstLayer && layer < Stage.EndLayer) || Stage.IndexLayers.Contains(layer);

    /// <summary>
    /// A pool for this stage: host memory on the CPU, else device memory from this session's CUDA allocator (so the
    /// pool must be disposed before this session).
    /// </summary>
    public CachePool AllocatePool(string name, int numBlocks, int blockSize, int width)
    {
        if (_deviceMemory is null)
            return new CachePool(name, numBlocks, blockSize, width);
        try
        {
            _deviceAllocator ??= new OrtAllocator(_session, _deviceMemory);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CudaUnavailableException($"Stage {Stage.Index} on {Device}: the session has no CUDA allocator for its device ({e.Message}).", e);
        }
        return new CachePool(name, numBlocks, blockSize, width, Device, _deviceAllocator);
    }

    /// <summary>Binds the stage's pools once, with their own memory info, so ORT hands the kernels their memory as is.</summary>
    public void BindPools(PagedKvCache cache)
    {
        for (int layer = Stage.FirstLayer; layer < Stage.EndLayer; layer++)
            BindPool(cache.LatentPool(layer));
        foreach (var layer in Stage.IndexLayers)
            BindPool(cache.IndexPool(layer));
    }

    private void BindPool(CachePool pool)
    {
        if (pool.Device != Device)
            throw new InvalidOperationException($"Pool '{pool.Name}' lives on {pool.Device} but stage {Stage.Index} runs on {Device}.");
        Binding.BindInput(pool.Name, pool.Value);
    }

    public OrtIoBinding Binding { get; }

    /// <summary>Whether the session was created with profiling on.</summary>
    public bool Profiling { get; }

    /// <summary>Binds an optional contract input (e.g. positions) only when the graph declares it.</summary>
    public void BindIfDeclared(string name, OrtValue value)
    {
        if (_inputs.Contains(name))
            Binding.BindInput(name, value);
    }

    public void Run(RunOptions options)
    {
        _session.RunWithBinding(options, Binding);
        // Outputs bound to device memory must be complete before the next stage (another session, maybe another
        // device and stream) reads them.
        if (Device.IsCuda)
            Binding.SynchronizeBoundOutputs();
    }

    /// <summary>Ends ONNX Runtime profiling and returns the profile file (only when the options enabled it).</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose()
    {
        Binding.Dispose();
        _deviceAllocator?.Dispose();
        _deviceMemory?.Dispose();
        _session.Dispose();
    }
}
