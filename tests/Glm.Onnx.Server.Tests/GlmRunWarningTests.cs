using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// A normal glm-run generate on a converted fixture prints no ONNX Runtime warning (<c>[W:</c> lines: e.g. a Cast
/// too large to constant-fold, re-run on every step) at any precision.
/// </summary>
public sealed class GlmRunWarningTests
{
    public static TheoryData<string, string> Cases() => new()
    {
        { "glm52-tiny", "fp32" }, { "glm52-tiny", "bf16" }, { "glm52-tiny-fp8", "fp8" }, { "glm52-tiny", "int8" }, { "glm52-tiny-fp8", "int4" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GenerateWritesNoOnnxRuntimeWarnings(string fixture, string precision)
    {
        using var dir = Fixtures.NewTempDir("glm-run-warn");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(fixture), dir.File("model")) { Precision = TargetPrecisionNames.Parse(precision) },
            SilentProgress.Instance);
        string configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(Fixtures.RepoRoot, "runtime", "glm-run", "bin", configuration, "net10.0", "linux-x64", "glm-run.dll");
        var dotnet = ProcessRunner.FindOnPath("dotnet") ?? Path.Combine(Path.GetDirectoryName(Environment.ProcessPath!)!, "dotnet");
        var (code, output) = await ProcessRunner.RunAsync(dotnet,
            [dll, "generate", "--model", dir.File("model"), "--input-ids", "1,2,3,4", "--max-new-tokens", "4", "--ignore-eos"],
            Fixtures.RepoRoot, timeoutSeconds: 600);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("[W:", output);
    }
}
