using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime;

/// <summary>
/// Everything a stage on cuda:N needs before its session exists: a CUDA-capable ONNX Runtime package, the CUDA 13
/// user libraries its provider links, a custom-op library with CUDA kernels, the device itself; then the provider
/// appended to the session options. Each refusal names the stage, the device and what is missing.
/// </summary>
public static class CudaPlacement
{
    public const string ProviderName = "CUDAExecutionProvider";

    private const string GpuBuildHint = "build with -p:OrtFlavor=Gpu (or build.ps1 -Ort Gpu) so the application ships Microsoft.ML.OnnxRuntime.Gpu";

    /// <summary>
    /// The shared libraries ORT 1.31's CUDA provider needs, dependencies first so that the first failure is the root
    /// cause (libonnxruntime_providers_cuda.so itself fails to load whenever any of the others is missing). The list
    /// is the provider's DT_NEEDED entries plus cuDNN, which it loads on demand.
    /// </summary>
    public static IReadOnlyList<(string Library, string What)> RequiredLibraries { get; } =
    [
        ("libcuda.so.1", "the NVIDIA driver; install a driver that supports CUDA 13"),
        (CudaRuntime.LibraryName, "CUDA 13 runtime; install the CUDA 13 user libraries (cuda-cudart-13) or add them to LD_LIBRARY_PATH"),
        ("libcublasLt.so.13", "cuBLASLt for CUDA 13 (libcublas-13)"),
        ("libcublas.so.13", "cuBLAS for CUDA 13 (libcublas-13)"),
        ("libcurand.so.10", "cuRAND of CUDA 13 (libcurand-13)"),
        ("libcudnn.so.9", "cuDNN 9 for CUDA 13 (libcudnn9-cuda-13)"),
        ("libonnxruntime_providers_shared.so", $"ONNX Runtime's provider bridge, shipped by the Gpu package; {GpuBuildHint}"),
        ("libonnxruntime_providers_cuda.so", $"ONNX Runtime's CUDA execution provider, shipped by the Gpu package; {GpuBuildHint}"),
    ];

    /// <summary>Checks that <paramref name="device"/> can host <paramref name="stage"/>; throws <see cref="CudaUnavailableException"/> if not.</summary>
    public static void Verify(StageDevice device, int stage, ICudaEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!device.IsCuda)
            return;
        var where = $"Stage {stage} is placed on {device}";
        var providers = environment.AvailableProviders();
        if (!providers.Contains(ProviderName))
            throw new CudaUnavailableException(
                $"{where}, but the ONNX Runtime in this build has no {ProviderName} (it has {string.Join(", ", providers)}): " +
                $"this is the CPU package; {GpuBuildHint}.");
        foreach (var (library, what) in RequiredLibraries)
            if (!environment.TryLoad(library, out var detail))
                throw new CudaUnavailableException($"{where}, but {library} ({what}) could not be loaded: {detail}.");
        if (!environment.CustomOpsHaveCudaKernels())
            throw new CudaUnavailableException(
                $"{where}, but libglm_onnx_ops.so was built without CUDA kernels (no working nvcc at build time), so ONNX Runtime " +
                "would run the CPU kernels on host copies of the device cache pools and lose every cache write. Rebuild with " +
                "CUDA 13's nvcc on PATH (custom-ops: GLM_OPS_CUDA=ON; see docs/cuda.md).");
        int count = environment.DeviceCount();
        if (device.DeviceId >= count)
            throw new CudaUnavailableException(
                count == 0
                    ? $"{where}, but the CUDA runtime sees no device (check nvidia-smi and CUDA_VISIBLE_DEVICES)."
                    : $"{where}, but there is no such device: the CUDA runtime sees {count} (cuda:0..cuda:{count - 1}).");
    }

    /// <summary>Appends the CUDA execution provider for the stage's device, turning ORT's refusal into a clear error.</summary>
    public static void AppendProvider(SessionOptions options, StageDevice device, int stage)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!device.IsCuda)
            throw new ArgumentException($"Stage {stage}: {device} is not a CUDA device.", nameof(device));
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = device.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // The cache pools are allocated once through this provider's allocator and are large; the default
                // power-of-two arena growth would reserve up to twice their size.
                ["arena_extend_strategy"] = "kSameAsRequested",
            });
            options.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new CudaUnavailableException(
                $"Stage {stage} is placed on {device}, but ONNX Runtime could not add its {ProviderName}: {e.Message} " +
                $"With the CPU package (the default), {GpuBuildHint}; with the Gpu package, check the CUDA 13 libraries (docs/cuda.md).", e);
        }
    }

    /// <summary>Device memory of cuda:N as ORT's CUDA allocator names it.</summary>
    public static OrtMemoryInfo DeviceMemory(StageDevice device) =>
        device.IsCuda
            ? new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, device.DeviceId, OrtMemType.Default)
            : throw new ArgumentException($"{device} is not a CUDA device.", nameof(device));
}
