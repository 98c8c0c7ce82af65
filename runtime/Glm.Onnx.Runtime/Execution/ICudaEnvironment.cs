namespace Glm.Onnx.Runtime;

/// <summary>
/// What CUDA placement asks of the process it runs in. The real one (<see cref="SystemCudaEnvironment"/>) asks ONNX
/// Runtime, the dynamic loader and the CUDA runtime; tests substitute a fake to check every refusal message on a
/// machine without a GPU.
/// </summary>
public interface ICudaEnvironment
{
    /// <summary>Execution providers compiled into the loaded ONNX Runtime (e.g. CUDAExecutionProvider).</summary>
    IReadOnlyList<string> AvailableProviders();

    /// <summary>
    /// Tries to load a shared library the way ONNX Runtime will; on failure <paramref name="detail"/> says where it
    /// looked or what the loader reported.
    /// </summary>
    bool TryLoad(string library, out string detail);

    /// <summary>Whether libglm_onnx_ops.so registers CUDA kernels (was built with nvcc).</summary>
    bool CustomOpsHaveCudaKernels();

    /// <summary>Number of CUDA devices the runtime sees; throws <see cref="CudaUnavailableException"/> on a CUDA error.</summary>
    int DeviceCount();
}
