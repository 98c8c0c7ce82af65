namespace Glm.Onnx.CustomOps;

/// <summary>
/// Where a native library shipped with the application can be: beside it (the repository build, published apps and
/// .NET tools copy native files there), then each native search directory the .NET host derived from the app's
/// deps.json. A portable build that consumes the Glm.Onnx.Runtime package keeps the library under
/// runtimes/linux-x64/native/, which only the second list names.
/// </summary>
internal static class NativeLibraryLocation
{
    public static IReadOnlyList<string> Candidates(string fileName)
    {
        var directories = new List<string> { AppContext.BaseDirectory };
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
            directories.AddRange(searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return directories
            .Select(directory => Path.GetFullPath(Path.Combine(directory, fileName)))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The first candidate that exists, or null.</summary>
    public static string? Find(string fileName) => Candidates(fileName).FirstOrDefault(File.Exists);
}
