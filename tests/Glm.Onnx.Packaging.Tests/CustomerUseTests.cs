using System.Text.Json;

namespace Glm.Onnx.Tests;

/// <summary>
/// The packages as a customer meets them: a console app in a temp folder (outside the repository, so none of its
/// Directory.Build.props / central versions apply) whose nuget.config maps Glm.Onnx packages to the packed feed
/// only, and glm-run installed from that feed with `dotnet tool install --tool-path`.
/// </summary>
[Collection(PackedFeedCollection.Name)]
public sealed class CustomerUseTests(PackedFeed feed)
{
    private static readonly string TinyChatModel = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");

    [Fact]
    public async Task AConsoleAppChatsThroughIChatClientFromThePackages()
    {
        var app = Path.Combine(feed.Root, "consumer-app");
        Directory.CreateDirectory(app);
        WriteNuGetConfig(app); // beside the project, where restore looks first
        File.WriteAllText(Path.Combine(app, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Glm.Onnx.Runtime.Cpu" Version="{feed.Version}" />
                <PackageReference Include="Glm.Onnx.Converter" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Text.Json;
            using Glm.Onnx.Converter;
            using Glm.Onnx.Converter.Conversion;
            using Glm.Onnx.Runtime.ChatClient;
            using Microsoft.Extensions.AI;

            ModelConverter.Convert(new ConvertOptions(args[0], args[1]) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
            using var client = GlmChatClient.Load(args[1]);
            var response = await client.GetResponseAsync("Hello",
                new ChatOptions { MaxOutputTokens = 8, Temperature = 0f, Reasoning = new() { Effort = ReasoningEffort.None } });
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                text = response.Text,
                finish_reason = response.FinishReason?.Value,
                output_tokens = response.Usage?.OutputTokenCount,
            }));
            """);

        var (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            ["build", "-c", "Release", "--nologo", "-v", "minimal"], app, timeoutSeconds: 240);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("GLMONNX001", output); // the Cpu meta-package brought ONNX Runtime's native library

        var dll = Path.Combine(app, "bin", "Release", "net10.0", "ConsumerApp.dll");
        (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            [dll, TinyChatModel, Path.Combine(feed.Root, "consumer-artifacts")], app, timeoutSeconds: 120);
        Assert.True(code == 0, output);
        var reply = JsonDocument.Parse(output.Split('\n').Single(line => line.StartsWith('{'))).RootElement;
        Assert.False(string.IsNullOrEmpty(reply.GetProperty("text").GetString()), output);
        Assert.Contains(reply.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.InRange(reply.GetProperty("output_tokens").GetInt64(), 1, 8);
    }

    [Fact]
    public async Task ReferencingTheRuntimeWithoutAnOnnxRuntimeFlavourWarns()
    {
        var app = Path.Combine(feed.Root, "no-flavour-app");
        Directory.CreateDirectory(app);
        WriteNuGetConfig(app);
        File.WriteAllText(Path.Combine(app, "NoFlavourApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Glm.Onnx.Runtime" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        // Restore and resolve the package assets only: the check runs right after them, no compile needed.
        var (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            ["msbuild", "-restore", "-t:ResolvePackageAssets", "-nologo", "-v:minimal"], app, timeoutSeconds: 180);
        Assert.True(code == 0, output);
        Assert.Contains("warning GLMONNX001", output);
        Assert.Contains("Glm.Onnx.Runtime.Cpu", output);
    }

    [Fact]
    public async Task GlmRunInstalledAsAToolGenerates()
    {
        var tools = Path.Combine(feed.Root, "tools");
        var config = WriteNuGetConfig(feed.Root);
        var (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            ["tool", "install", "glm-run", "--version", feed.Version, "--tool-path", tools, "--configfile", config],
            feed.Root, timeoutSeconds: 180);
        Assert.True(code == 0, output);

        (code, output) = await ChildProcess.RunAsync(Path.Combine(tools, "glm-run"),
            ["generate", "--model", TinyChatModel, "--prompt", "Hello", "--max-new-tokens", "5", "--ignore-eos", "--json"],
            feed.Root, timeoutSeconds: 120);
        Assert.True(code == 0, output);
        var result = JsonDocument.Parse(output.Split('\n').Single(line => line.StartsWith('{'))).RootElement;
        Assert.Equal(5, result.GetProperty("output_ids").GetArrayLength());
        Assert.Equal("length", result.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task GlmConvertInstalledAsAToolInspects()
    {
        var tools = Path.Combine(feed.Root, "convert-tool");
        var config = WriteNuGetConfig(feed.Root);
        var (code, output) = await ChildProcess.RunAsync(ChildProcess.Dotnet,
            ["tool", "install", "glm-convert", "--version", feed.Version, "--tool-path", tools, "--configfile", config],
            feed.Root, timeoutSeconds: 180);
        Assert.True(code == 0, output);

        (code, output) = await ChildProcess.RunAsync(Path.Combine(tools, "glm-convert"), ["inspect", TinyChatModel, "--json"],
            feed.Root, timeoutSeconds: 60);
        Assert.True(code == 0, output);
        var report = JsonDocument.Parse(output[output.IndexOf('{')..(output.LastIndexOf('}') + 1)]).RootElement;
        Assert.True(report.GetProperty("complete").GetBoolean(), output);
        Assert.Empty(report.GetProperty("missing_tensors").EnumerateArray());
        Assert.True(report.GetProperty("parameters").GetProperty("total").GetInt64() > 0);
    }

    // Glm.Onnx packages (and the tools) from the packed feed only; everything else from nuget.org. Packages are
    // extracted into a folder of this run, so a re-packed build of the same version is never served from a stale
    // cache; the machine's package folder is a read-only fallback for the third-party packages it already holds.
    private string WriteNuGetConfig(string directory)
    {
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(directory, "nuget.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(feed.Root, "packages")}" />
              </config>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
              <packageSources>
                <clear />
                <add key="glm-feed" value="{feed.Directory}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="glm-feed">
                  <package pattern="Glm.Onnx.*" />
                  <package pattern="glm-run" />
                  <package pattern="glm-convert" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        return path;
    }
}
