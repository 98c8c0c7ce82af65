using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.CustomOps;

/// <summary>Locates and registers the native custom-op library (libglm_onnx_ops.so) shipped with the application.</summary>
public static class GlmCustomOps
{
    public const string LibraryFileName = "libglm_onnx_ops.so";

    /// <summary>
    /// Full path of the library: beside the application (the repository build copies it there) or, for an app built
    /// against the Glm.Onnx.Runtime package, in its runtimes/linux-x64/native/ folder. The first place searched
    /// when it is nowhere.
    /// </summary>
    public static string LibraryPath =>
        NativeLibraryLocation.Find(LibraryFileName) ?? NativeLibraryLocation.Candidates(LibraryFileName)[0];

    /// <summary>Registers the op domain with a session's options, failing clearly when the library is missing.</summary>
    public static void Register(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.RegisterCustomOpLibrary(RequireLibrary());
    }

    /// <summary>What the loaded library says it registers: its domain, version and op names.</summary>
    public static NativeOpDescription Describe()
    {
        var handle = NativeLibrary.Load(RequireLibrary());
        var describe = NativeLibrary.GetExport(handle, "GlmOnnxOps_DescribeOps");
        string text;
        unsafe
        {
            var fn = (delegate* unmanaged<IntPtr>)describe;
            text = Marshal.PtrToStringUTF8(fn()) ?? "";
        }
        var parts = text.Split(';');
        if (parts.Length < 2 || !int.TryParse(parts[1], out var version))
            throw new InvalidOperationException($"{LibraryPath}: unexpected op description '{text}'");
        return new NativeOpDescription(parts[0], version, parts[2..]);
    }

    /// <summary>
    /// Whether the library was built with nvcc and registers CUDA-EP kernels too. A library from before this export
    /// existed reads as false.
    /// </summary>
    public static bool HasCudaKernels()
    {
        var handle = NativeLibrary.Load(RequireLibrary());
        if (!NativeLibrary.TryGetExport(handle, "GlmOnnxOps_HasCudaKernels", out var export))
            return false;
        unsafe
        {
            return ((delegate* unmanaged<int>)export)() != 0;
        }
    }

    private static string RequireLibrary()
    {
        if (NativeLibraryLocation.Find(LibraryFileName) is { } path)
            return path;
        var searched = NativeLibraryLocation.Candidates(LibraryFileName);
        throw new FileNotFoundException(
            $"The GLM custom-op library was not found at '{string.Join("', '", searched)}'. Build the solution " +
            "(dotnet build) so that custom-ops/ is compiled and copied beside the application, or reference the " +
            "Glm.Onnx.Runtime package, which ships it under runtimes/linux-x64/native/.", searched[0]);
    }
}

/// <summary>The op domain a native library registers.</summary>
public sealed record NativeOpDescription(string Domain, int Version, IReadOnlyList<string> OpNames);
