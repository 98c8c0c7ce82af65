using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Contracts.Stages;
using Glm.Onnx.Runtime.Execution.Pools;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// One stage graph's ONNX Runtime session with its IOBinding, checked against the stage's contract at load. The
/// stage's cache pools are bound once (<see cref="BindPools"/>); per step only the small batch-description tensors and
/// the stage-to-stage activations are rebound. On a CUDA device the session also owns the allocator its device pools
/// come from.
/// </summary>
internal sealed class StageSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtMemoryInfo? _deviceMemory;
    private OrtAllocator? _deviceAllocator;

    public StageSession(StageManifest stage, StageContract contract, string path, SessionSettings settings, StageDevice device)
    {
        Stage = stage;
        Contract = contract;
        Profiling = settings.ProfilePrefix is not null;
        Device = device;
        using (var options = settings.Create(device, stage.Index))
        {
            try
            {
                _session = new InferenceSession(path, options);
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidDataException($"Stage {stage.Index} ('{path}') could not be loaded by ONNX Runtime: {e.Message}", e);
            }
        }
        try
        {
            StageGraphCheck.Check(contract, _session, stage.Index, path);
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

    /// <summary>The graph inputs and outputs this session was checked against, and the executor binds.</summary>
    public StageContract Contract { get; }

    public StageDevice Device { get; }

    /// <summary>Where this stage's device inputs should live: host memory, or its CUDA device's memory.</summary>
    public OrtMemoryInfo InputMemory => _deviceMemory ?? OrtMemoryInfo.DefaultInstance;

    /// <summary>Whether <paramref name="layer"/>'s pools are inputs of this stage.</summary>
    public bool OwnsLayer(int layer) => Contract.Pools.Any(p => p.Layer == layer);

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
        foreach (var tensor in Contract.Pools)
        {
            var pool = tensor.Kind == StageTensorKind.LatentPool ? cache.LatentPool(tensor.Layer) : cache.IndexPool(tensor.Layer);
            if (pool.Device != Device)
                throw new InvalidOperationException($"Pool '{pool.Name}' lives on {pool.Device} but stage {Stage.Index} runs on {Device}.");
            Bind(tensor, pool.Value);
        }
    }

    public OrtIoBinding Binding { get; }

    /// <summary>Whether the session was created with profiling on.</summary>
    public bool Profiling { get; }

    /// <summary>Binds a contract input; an optional one only when the graph declares it.</summary>
    public void Bind(StageTensor input, OrtValue value)
    {
        if (!input.Optional || _session.InputMetadata.ContainsKey(input.Name))
            Binding.BindInput(input.Name, value);
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
