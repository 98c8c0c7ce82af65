using System.IO.Compression;
using System.Xml.Linq;

namespace Glm.Onnx.Tests;

/// <summary>
/// Runs `build.ps1 pack -NoBuild` once for the collection: every package and tool of the current build, in a fresh
/// temp folder that serves as the only feed for Glm.Onnx packages.
/// </summary>
public sealed class PackedFeed : IAsyncLifetime
{
    private readonly TempDir _root = Fixtures.NewTempDir("glm-packaging");

    public string Root => _root.Path;

    public string Directory => Path.Combine(_root.Path, "feed");

    /// <summary>The version every package got (read back from the Glm.Onnx.Runtime file name).</summary>
    public string Version { get; private set; } = "";

    public string PackOutput { get; private set; } = "";

    public static string Configuration =>
        AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    public async Task InitializeAsync()
    {
        var (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            ["pwsh", "-NoProfile", "-File", Path.Combine(Fixtures.RepoRoot, "build.ps1"), "pack", "-NoBuild",
             "-Configuration", Configuration, "-PackageOutput", Directory],
            Fixtures.RepoRoot, timeoutSeconds: 300);
        PackOutput = output;
        if (code != 0)
            throw new InvalidOperationException($"build.ps1 pack failed (exit {code}); run `dotnet tool restore` first if pwsh is missing:\n{output}");
        const string prefix = "Glm.Onnx.Runtime.";
        var runtime = System.IO.Directory.GetFiles(Directory, prefix + "*.nupkg")
            .Select(Path.GetFileNameWithoutExtension)
            .Select(name => name![prefix.Length..])
            .Single(rest => char.IsDigit(rest[0]));
        Version = runtime;
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    public string Package(string id) => RequireFile($"{id}.{Version}.nupkg");

    public string Symbols(string id) => RequireFile($"{id}.{Version}.snupkg");

    private string RequireFile(string name)
    {
        var path = Path.Combine(Directory, name);
        Assert.True(File.Exists(path), $"{name} was not packed; the feed has: {string.Join(", ", System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName))}\n{PackOutput}");
        return path;
    }

    /// <summary>Entry names of a package (forward slashes, as stored).</summary>
    public static IReadOnlySet<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The package's .nuspec (namespace stripped, so tests can name elements plainly).</summary>
    public static XElement Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        var root = XElement.Load(stream);
        foreach (var element in root.DescendantsAndSelf())
            element.Name = element.Name.LocalName;
        return root;
    }

    /// <summary>id -> version range of every dependency of the package's net10.0 group.</summary>
    public static IReadOnlyDictionary<string, string> Dependencies(string package) =>
        Nuspec(package).Descendants("dependencies").Elements("group")
            .Single(g => (string?)g.Attribute("targetFramework") is "net10.0")
            .Elements("dependency")
            .ToDictionary(d => (string)d.Attribute("id")!, d => (string)d.Attribute("version")!);
}

[CollectionDefinition(Name)]
public sealed class PackedFeedCollection : ICollectionFixture<PackedFeed>
{
    public const string Name = "packed feed";
}
