using System.Runtime.InteropServices;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime;

/// <summary>The process's real CUDA environment: ONNX Runtime's provider list, the dynamic loader, libcudart.</summary>
public sealed class SystemCudaEnvironment : ICudaEnvironment
{
    public static SystemCudaEnvironment Instance { get; } = new();

    private SystemCudaEnvironment()
    {
    }

    public IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    public bool TryLoad(string library, out string detail)
    {
        // ORT loads its provider libraries from the directory of libonnxruntime.so, so look there first (the build
        // output for a RID-specific build, runtimes/linux-x64/native for a portable one); system libraries go
        // through the loader's search path (LD_LIBRARY_PATH, ld.so.cache) as ORT's own dlopen would.
        if (library.StartsWith("libonnxruntime", StringComparison.Ordinal))
        {
            var searched = new List<string>();
            foreach (var directory in OrtDirectories())
            {
                var path = Path.Combine(directory, library);
                searched.Add(path);
                if (File.Exists(path))
                {
                    bool loaded = Open(path, out var error);
                    detail = loaded ? path : $"{path} exists but the loader refused it: {error}";
                    return loaded;
                }
            }
            detail = $"not found at {string.Join(" or ", searched)}";
            return false;
        }
        if (Open(library, out var message))
        {
            detail = library;
            return true;
        }
        detail = $"the loader reported: {message}";
        return false;
    }

    public bool CustomOpsHaveCudaKernels() => GlmCustomOps.HasCudaKernels();

    public int DeviceCount() => CudaRuntime.DeviceCount();

    private static IEnumerable<string> OrtDirectories()
    {
        var baseDirectory = AppContext.BaseDirectory;
        yield return baseDirectory;
        yield return Path.Combine(baseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        yield return Path.Combine(baseDirectory, "runtimes", "linux-x64", "native");
    }

    // dlopen itself rather than NativeLibrary.TryLoad: TryLoad retries name variants and hides the loader's message,
    // and that message (which dependency is missing) is the useful part. The handle is kept: ORT loads the same
    // library moments later and gets this one back.
    private static bool Open(string library, out string error)
    {
        const int RtldNow = 2;
        // Clears any stale message and, being the first call, makes .NET bind dlerror now: binding it after the
        // failed dlopen would run the loader again and wipe the message we want.
        DlError();
        if (DlOpen(library, RtldNow) != IntPtr.Zero)
        {
            error = "";
            return true;
        }
        error = Marshal.PtrToStringUTF8(DlError()) ?? "no loader message";
        return false;
    }

    [DllImport("libc.so.6", EntryPoint = "dlopen")]
    private static extern IntPtr DlOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    [DllImport("libc.so.6", EntryPoint = "dlerror")]
    private static extern IntPtr DlError();
}
