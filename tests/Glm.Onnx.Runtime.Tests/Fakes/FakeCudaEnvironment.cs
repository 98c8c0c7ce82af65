using Glm.Onnx.Runtime;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>A CUDA environment with every answer set by the test: which providers exist, which libraries load, how many devices.</summary>
public sealed class FakeCudaEnvironment : ICudaEnvironment
{
    public List<string> Providers { get; } = ["CUDAExecutionProvider", "CPUExecutionProvider"];

    public HashSet<string> MissingLibraries { get; } = [];

    public bool CudaKernels { get; set; } = true;

    public int Devices { get; set; } = 1;

    /// <summary>Libraries asked for, in order.</summary>
    public List<string> Probed { get; } = [];

    public IReadOnlyList<string> AvailableProviders() => Providers;

    public bool TryLoad(string library, out string detail)
    {
        Probed.Add(library);
        bool missing = MissingLibraries.Contains(library);
        detail = missing ? $"the loader reported: {library}: cannot open shared object file" : library;
        return !missing;
    }

    public bool CustomOpsHaveCudaKernels() => CudaKernels;

    public int DeviceCount() => Devices;
}
