namespace Glm.Onnx.Tests;

/// <summary>Paths to the read-only fixtures in ../shared beside the checkout (CI lays the same copy).</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedDir { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string GlmDir(string name) => Path.Combine(SharedDir, "fixtures", "glm", name);

    public static IReadOnlyList<string> GlmNames { get; } = ["glm5-tiny", "glm52-tiny", "glm52-grouped", "glm52-tiny-fp8"];

    public static string TokenizerDir(string name) => Path.Combine(SharedDir, "fixtures", "tokenizers", name);

    public static string RealLayoutPath => Path.Combine(SharedDir, "fixtures", "real-shapes", "glm52-layout.json");

    /// <summary>A fresh directory under the system temp folder, deleted when disposed.</summary>
    public static TempDir NewTempDir(string prefix = "glm-test") => new(prefix);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Glm.Onnx.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"Glm.Onnx.sln not found above {AppContext.BaseDirectory}");
    }
}

public sealed class TempDir : IDisposable
{
    public TempDir(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
