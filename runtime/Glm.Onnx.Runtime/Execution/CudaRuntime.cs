using System.Runtime.InteropServices;

namespace Glm.Onnx.Runtime;

/// <summary>
/// The few CUDA runtime calls .NET needs (device count, reading a device pool back), bound from libcudart.so.13 at
/// first use rather than by DllImport, so that CPU-only processes never try to load it.
/// </summary>
internal static unsafe class CudaRuntime
{
    public const string LibraryName = "libcudart.so.13";
    private const int MemcpyDeviceToHost = 2;

    private static readonly Lazy<Functions> Api = new(Bind);

    public static int DeviceCount()
    {
        int count = 0;
        int status = Api.Value.GetDeviceCount(&count);
        // cudaErrorNoDevice (100): a driver without devices is "zero devices", not a failure.
        if (status == 100)
            return 0;
        Check(status, "cudaGetDeviceCount");
        return count;
    }

    /// <summary>Copies device memory to the host after the device finished all queued work (ORT's streams included).</summary>
    public static void CopyToHost(int device, IntPtr source, Span<byte> destination)
    {
        var api = Api.Value;
        Check(api.SetDevice(device), "cudaSetDevice");
        Check(api.DeviceSynchronize(), "cudaDeviceSynchronize");
        fixed (byte* target = destination)
            Check(api.Memcpy(target, (void*)source, (nuint)destination.Length, MemcpyDeviceToHost), "cudaMemcpy");
    }

    private static void Check(int status, string call)
    {
        if (status == 0)
            return;
        var text = Marshal.PtrToStringUTF8(Api.Value.GetErrorString(status)) ?? "unknown error";
        throw new CudaUnavailableException($"{call} failed with CUDA error {status}: {text}.");
    }

    private static Functions Bind()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out var handle))
            throw new CudaUnavailableException($"{LibraryName} (CUDA 13 runtime) could not be loaded; install the CUDA 13 user libraries.");
        IntPtr Get(string name) => NativeLibrary.TryGetExport(handle, name, out var address)
            ? address
            : throw new CudaUnavailableException($"{LibraryName} has no export '{name}'.");
        return new Functions
        {
            GetDeviceCount = (delegate* unmanaged<int*, int>)Get("cudaGetDeviceCount"),
            SetDevice = (delegate* unmanaged<int, int>)Get("cudaSetDevice"),
            DeviceSynchronize = (delegate* unmanaged<int>)Get("cudaDeviceSynchronize"),
            Memcpy = (delegate* unmanaged<void*, void*, nuint, int, int>)Get("cudaMemcpy"),
            GetErrorString = (delegate* unmanaged<int, IntPtr>)Get("cudaGetErrorString"),
        };
    }

    private sealed class Functions
    {
        public required delegate* unmanaged<int*, int> GetDeviceCount { get; init; }
        public required delegate* unmanaged<int, int> SetDevice { get; init; }
        public required delegate* unmanaged<int> DeviceSynchronize { get; init; }
        public required delegate* unmanaged<void*, void*, nuint, int, int> Memcpy { get; init; }
        public required delegate* unmanaged<int, IntPtr> GetErrorString { get; init; }
    }
}
