namespace Glm.Onnx.Tests;

/// <summary>
/// What each package holds and depends on, read back from the .nupkg / .snupkg files. The expected names and
/// versions are written out here (docs/packaging.md is the contract), not derived from the project files.
/// </summary>
[Collection(PackedFeedCollection.Name)]
public sealed class PackageContentTests(PackedFeed feed)
{
    [Fact]
    public void RuntimeShipsContractsCustomOpsAndTheNativeLibraryAndDependsOnTheManagedApiOnly()
    {
        var package = feed.Package("Glm.Onnx.Runtime");
        var entries = PackedFeed.Entries(package);
        foreach (var expected in new[]
                 {
                     "lib/net10.0/Glm.Onnx.Runtime.dll", "lib/net10.0/Glm.Onnx.Contracts.dll", "lib/net10.0/Glm.Onnx.CustomOps.dll",
                     "lib/net10.0/Glm.Onnx.Grammar.dll", "runtimes/linux-x64/native/libglm_onnx_ops.so", "buildTransitive/Glm.Onnx.Runtime.targets", "README.md",
                 })
            Assert.True(entries.Contains(expected), $"Glm.Onnx.Runtime lacks {expected}: {string.Join(", ", entries.Order())}");

        var dependencies = PackedFeed.Dependencies(package);
        Assert.Equal(["Microsoft.Extensions.AI.Abstractions", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.ML.OnnxRuntime.Managed",
            "Microsoft.ML.Tokenizers"], dependencies.Keys.Order());
        Assert.Equal("1.31.1", dependencies["Microsoft.ML.OnnxRuntime.Managed"]);

        var nuspec = PackedFeed.Nuspec(package);
        Assert.Equal("MIT", (string?)nuspec.Descendants("license").Single());
        Assert.Equal("README.md", (string?)nuspec.Descendants("readme").Single());

        var symbols = PackedFeed.Entries(feed.Symbols("Glm.Onnx.Runtime"));
        foreach (var pdb in new[] { "Glm.Onnx.Runtime.pdb", "Glm.Onnx.Contracts.pdb", "Glm.Onnx.CustomOps.pdb" })
            Assert.Contains("lib/net10.0/" + pdb, symbols);
    }

    [Theory]
    [InlineData("Glm.Onnx.Runtime.Cpu", "Microsoft.ML.OnnxRuntime", "1.31.1")]
    [InlineData("Glm.Onnx.Runtime.Gpu", "Microsoft.ML.OnnxRuntime.Gpu", "1.31.0")]
    public void FlavourPackagesPinTheRuntimeAndAddOneNativeOnnxRuntime(string id, string native, string nativeVersion)
    {
        var package = feed.Package(id);
        var dependencies = PackedFeed.Dependencies(package);
        Assert.Equal(2, dependencies.Count);
        Assert.Equal($"[{feed.Version}]", dependencies["Glm.Onnx.Runtime"]);
        Assert.Equal(nativeVersion, dependencies[native]);
        var entries = PackedFeed.Entries(package);
        Assert.DoesNotContain(entries, e => e.EndsWith(".dll", StringComparison.Ordinal));
        Assert.Contains("README.md", entries);
    }

    [Fact]
    public void ServerDependsOnTheRuntimePackageAspNetCoreAndOpenTelemetry()
    {
        var package = feed.Package("Glm.Onnx.Server");
        Assert.Contains("lib/net10.0/Glm.Onnx.Server.dll", PackedFeed.Entries(package));
        var dependencies = PackedFeed.Dependencies(package);
        // OpenTelemetry exports the runtime's meter at /metrics (docs/deploy.md).
        Assert.Equal(["Glm.Onnx.Runtime", "OpenTelemetry.Exporter.Prometheus.AspNetCore", "OpenTelemetry.Extensions.Hosting"],
            dependencies.Keys.Order());
        var frameworks = PackedFeed.Nuspec(package).Descendants("frameworkReference").Select(f => (string?)f.Attribute("name"));
        Assert.Contains("Microsoft.AspNetCore.App", frameworks);
    }

    [Fact]
    public void ConverterShipsTheCheckpointReaderAndTakesContractsFromTheRuntimePackage()
    {
        var package = feed.Package("Glm.Onnx.Converter");
        var entries = PackedFeed.Entries(package);
        Assert.Contains("lib/net10.0/Glm.Onnx.Converter.dll", entries);
        Assert.Contains("lib/net10.0/Glm.Onnx.Checkpoint.dll", entries);
        Assert.DoesNotContain("lib/net10.0/Glm.Onnx.Contracts.dll", entries);
        Assert.Equal(["Glm.Onnx.Runtime"], PackedFeed.Dependencies(package).Keys);
        Assert.Contains("lib/net10.0/Glm.Onnx.Checkpoint.pdb", PackedFeed.Entries(feed.Symbols("Glm.Onnx.Converter")));
    }

    [Theory]
    [InlineData("glm-run")]
    [InlineData("glm-convert")]
    public void CommandLineProgramsAreDotnetTools(string id)
    {
        var package = feed.Package(id);
        var nuspec = PackedFeed.Nuspec(package);
        Assert.Contains("DotnetTool", nuspec.Descendants("packageType").Select(p => (string?)p.Attribute("name")));
        var entries = PackedFeed.Entries(package);
        Assert.Contains(entries, e => e.StartsWith("tools/net10.0/", StringComparison.Ordinal) && e.EndsWith($"/{id}.dll", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.EndsWith("/libglm_onnx_ops.so", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.EndsWith("/libonnxruntime.so", StringComparison.Ordinal));
    }
}
