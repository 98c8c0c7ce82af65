using System.Diagnostics;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter.Conversion;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>
/// Two conversions into one output must not interleave (one once exited 0 with a stage file missing): the second
/// refuses clearly while the first finishes whole. And convert refuses the unexpected tensors inspect reports.
/// </summary>
public sealed class ConcurrentOutputTests
{
    private static readonly string Fixture = Fixtures.GlmDir("glm52-tiny");

    [Fact]
    public void ASecondConversionIntoTheSameOutputRefusesWhileTheFirstFinishes()
    {
        using var dir = Fixtures.NewTempDir("glm-race");
        var output = dir.File("out");
        using var first = StartCli(output, delayMs: 20);
        // Once the first run reports progress it is writing (and holds the output).
        var line = first.StandardError.ReadLine();
        Assert.NotNull(line);

        using (var second = StartCli(output, delayMs: 0))
        {
            var stderr = second.StandardError.ReadToEnd();
            second.WaitForExit();
            Assert.Equal(1, second.ExitCode);
            Assert.Contains("being written by another conversion", stderr);
            Assert.DoesNotContain("   at ", stderr); // one line, no stack trace
        }

        var rest = first.StandardError.ReadToEnd();
        first.WaitForExit();
        Assert.True(first.ExitCode == 0, rest);
        var manifest = ModelManifestJson.Load(output);
        ModelManifestJson.VerifyFiles(output, manifest, checksums: true);
    }

    [Fact]
    public void AHeldLockRefusesInProcessToo()
    {
        using var dir = Fixtures.NewTempDir("glm-lock");
        var output = dir.File("out");
        using (var held = OutputLock.TryAcquire(output))
        {
            Assert.NotNull(held);
            Assert.Null(OutputLock.TryAcquire(output));
            var e = Assert.Throws<IOException>(() => ModelConverter.Convert(new ConvertOptions(Fixture, output), SilentProgress.Instance));
            Assert.Contains(OutputLock.PathFor(output), e.Message);
            Assert.False(Directory.Exists(output + ".partial"));
        }

        // Released: the conversion runs.
        ModelConverter.Convert(new ConvertOptions(Fixture, output), SilentProgress.Instance);
        Assert.True(File.Exists(Path.Combine(output, ModelManifest.FileName)));
    }

    [Fact]
    public void UnexpectedTensorsAreRefusedByConvertAsInspectReportsThem()
    {
        using var dir = Fixtures.NewTempDir("glm-extra");
        File.Copy(Path.Combine(Fixture, "config.json"), dir.File("config.json"));
        using (var source = GlmCheckpoint.Open(Fixture))
        {
            var tensors = source.Tensors.Values.Select(t => (new TensorSpec(t.Name, t.DType, t.Shape), source.GetBytes(t.Name).ToArray())).ToList();
            tensors.Add((new TensorSpec("model.layers.0.mlp.extra.weight", DType.BF16, [2, 2]), new byte[8]));
            SafetensorsWriter.WriteFile(dir.File("model.safetensors"), tensors);
        }

        Assert.Equal(["model.layers.0.mlp.extra.weight"], CheckpointInspector.Inspect(dir.Path).UnexpectedTensors);
        var e = Assert.Throws<CheckpointFormatException>(() =>
            ModelConverter.Convert(new ConvertOptions(dir.Path, dir.File("out")), SilentProgress.Instance));
        Assert.Equal("model.layers.0.mlp.extra.weight", e.TensorName);
        Assert.Contains("unexpected", e.Message);
    }

    private static Process StartCli(string output, int delayMs)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "glm-convert.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "convert", Fixture, output, "--layers-per-stage", "2" })
            start.ArgumentList.Add(a);
        start.Environment["GLM_CONVERT_TEST_DELAY_MS"] = delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Process.Start(start)!;
    }
}
