using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Tests.Fakes;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests.Cuda;

/// <summary>
/// Every way a cuda:N stage is refused, checked on this GPU-less machine: with a fake environment for the library,
/// kernel and device checks, and with the real CPU ONNX Runtime package for the provider checks.
/// </summary>
public sealed class CudaPlacementTests : IDisposable
{
    private static readonly StageDevice Cuda0 = new(true, 0);
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-cuda");

    public CudaPlacementTests() => new TinyAttentionModel().Write(_dir.Path);

    public void Dispose() => _dir.Dispose();

    private static bool OrtHasCuda => OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider");

    [Fact]
    public void ACpuStageProbesNothing()
    {
        var environment = new FakeCudaEnvironment { Devices = 0 };
        environment.Providers.Clear();
        CudaPlacement.Verify(StageDevice.Cpu, 0, environment);
        Assert.Empty(environment.Probed);
    }

    [Fact]
    public void AnOrtWithoutTheCudaProviderIsRefusedWithTheBuildFlag()
    {
        var environment = new FakeCudaEnvironment();
        environment.Providers.Remove("CUDAExecutionProvider");
        var e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(new StageDevice(true, 1), 2, environment));
        Assert.StartsWith("Stage 2 is placed on cuda:1", e.Message);
        Assert.Contains("no CUDAExecutionProvider (it has CPUExecutionProvider)", e.Message);
        Assert.Contains("-p:OrtFlavor=Gpu", e.Message);
        Assert.Contains("build.ps1 -Ort Gpu", e.Message);
        Assert.Empty(environment.Probed);
    }

    [Theory]
    [InlineData("libcuda.so.1", "NVIDIA driver")]
    [InlineData("libcudart.so.13", "CUDA 13 runtime")]
    [InlineData("libcublasLt.so.13", "cuBLASLt")]
    [InlineData("libcublas.so.13", "cuBLAS for CUDA 13")]
    [InlineData("libcurand.so.10", "cuRAND")]
    [InlineData("libcudnn.so.9", "cuDNN 9")]
    [InlineData("libonnxruntime_providers_shared.so", "-p:OrtFlavor=Gpu")]
    [InlineData("libonnxruntime_providers_cuda.so", "CUDA execution provider")]
    public void AMissingLibraryIsNamed(string library, string what)
    {
        var environment = new FakeCudaEnvironment();
        environment.MissingLibraries.Add(library);
        var e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(Cuda0, 0, environment));
        Assert.StartsWith($"Stage 0 is placed on cuda:0, but {library} (", e.Message);
        Assert.Contains(what, e.Message);
        Assert.Contains($"{library}: cannot open shared object file", e.Message);
        Assert.Equal(library, environment.Probed[^1]);
    }

    [Fact]
    public void TheRootCauseIsNamedBeforeTheProviderThatDependsOnIt()
    {
        // libonnxruntime_providers_cuda.so cannot load without libcudart; the message must point at libcudart.
        var environment = new FakeCudaEnvironment();
        environment.MissingLibraries.UnionWith(["libcudart.so.13", "libonnxruntime_providers_cuda.so"]);
        var e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(Cuda0, 0, environment));
        Assert.Contains("but libcudart.so.13 (", e.Message);
        Assert.DoesNotContain("providers_cuda", e.Message);
    }

    [Fact]
    public void ACustomOpLibraryWithoutCudaKernelsIsRefused()
    {
        var environment = new FakeCudaEnvironment { CudaKernels = false };
        var e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(Cuda0, 1, environment));
        Assert.Contains("Stage 1 is placed on cuda:0, but libglm_onnx_ops.so was built without CUDA kernels", e.Message);
    }

    [Fact]
    public void AMissingDeviceIndexIsRefusedWithTheDevicesThatExist()
    {
        var environment = new FakeCudaEnvironment { Devices = 2 };
        CudaPlacement.Verify(new StageDevice(true, 1), 0, environment);
        var e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(new StageDevice(true, 2), 0, environment));
        Assert.Contains("cuda:2, but there is no such device: the CUDA runtime sees 2 (cuda:0..cuda:1)", e.Message);

        environment.Devices = 0;
        e = Assert.Throws<CudaUnavailableException>(() => CudaPlacement.Verify(Cuda0, 0, environment));
        Assert.Contains("sees no device", e.Message);
    }

    [Fact]
    public void TheRealLoaderProbeNamesALibraryThatIsNotInstalled()
    {
        // No CUDA 13 on this machine (nor any library by this name anywhere): the loader's own message comes through.
        Assert.False(SystemCudaEnvironment.Instance.TryLoad("libglm-no-such-library.so.13", out var detail));
        Assert.Contains("libglm-no-such-library.so.13", detail);
        Assert.False(SystemCudaEnvironment.Instance.TryLoad("libonnxruntime_providers_glm_none.so", out detail));
        Assert.Contains("not found at " + Path.Combine(AppContext.BaseDirectory, "libonnxruntime_providers_glm_none.so"), detail);
    }

    [Fact]
    public void LoadingOnCudaWithTheCpuPackageFailsWithTheBuildFlag()
    {
        if (OrtHasCuda)
            return; // a Gpu-flavour build: this case cannot arise
        var e = Assert.Throws<CudaUnavailableException>(() =>
            GlmModel.Load(_dir.Path, new GlmModelOptions(["cuda:0"], Cache: new KvCacheOptions(NumBlocks: 4))));
        Assert.Contains("Stage 0 is placed on cuda:0", e.Message);
        Assert.Contains("-p:OrtFlavor=Gpu", e.Message);
    }

    [Fact]
    public void OrtsOwnRefusalToAddTheProviderIsTranslated()
    {
        if (OrtHasCuda)
            return; // a Gpu-flavour build would get past this point and need a GPU
        // Every probe passes, so the CPU package itself is asked for the CUDA provider and refuses.
        var e = Assert.Throws<CudaUnavailableException>(() =>
            GlmModel.Load(_dir.Path, new GlmModelOptions(["cuda:0"], Cache: new KvCacheOptions(NumBlocks: 4)), new FakeCudaEnvironment()));
        Assert.StartsWith("Stage 0 is placed on cuda:0, but ONNX Runtime could not add its CUDAExecutionProvider: ", e.Message);
        Assert.Contains("-p:OrtFlavor=Gpu", e.Message);
        Assert.IsAssignableFrom<OnnxRuntimeException>(e.InnerException);
    }

    [Fact]
    public void AnExplicitCpuListLoadsAndRuns()
    {
        using var model = GlmModel.Load(_dir.Path, new GlmModelOptions(["cpu"], Cache: new KvCacheOptions(NumBlocks: 4), IntraOpThreads: 1));
        Assert.All(model.Cache.Pools, pool => Assert.Equal(StageDevice.Cpu, pool.Device));
    }
}
