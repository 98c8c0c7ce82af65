using System.Diagnostics;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Runtime;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>Interrupted conversions resume to identical bytes; corrupt inputs and artifacts fail with clear errors.</summary>
public sealed class ResumeAndCorruptionTests
{
    private static readonly string Fixture = Fixtures.GlmDir("glm52-tiny");

    [Fact]
    public void KilledConversionRerunResumesAndProducesIdenticalArtifacts()
    {
        using var dir = Fixtures.NewTempDir("glm-resume");
        var clean = dir.File("clean");
        ModelConverter.Convert(new ConvertOptions(Fixture, clean) { LayersPerStage = 2 }, SilentProgress.Instance);

        var resumed = dir.File("resumed");
        // Slow the child down (20 ms per tensor) and kill it once it reports its second stage finished.
        using (var child = StartCli(resumed, delayMs: 20))
        {
            var killedAfter = WaitForLine(child, "stage 1 done", TimeSpan.FromSeconds(60));
            Assert.NotNull(killedAfter);
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        Assert.False(Directory.Exists(resumed), "an interrupted conversion must not leave the output directory in place");
        Assert.True(Directory.Exists(resumed + ".partial"));

        string stderr;
        using (var rerun = StartCli(resumed, delayMs: 0))
        {
            stderr = rerun.StandardError.ReadToEnd();
            rerun.WaitForExit();
            Assert.True(rerun.ExitCode == 0, stderr);
        }
        Assert.Contains("stage 0 (layers 0-1): kept", stderr);
        Assert.Contains("stage 1 (layers 2-3): kept", stderr);
        Assert.False(Directory.Exists(resumed + ".partial"));

        var cleanFiles = Directory.GetFiles(clean).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(cleanFiles, Directory.GetFiles(resumed).Select(Path.GetFileName).Order().ToArray());
        foreach (var name in cleanFiles)
            Assert.True(File.ReadAllBytes(Path.Combine(clean, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(resumed, name!))),
                $"{name} differs between the clean and the resumed conversion");
    }

    [Fact]
    public void TamperedDataFileFailsChecksumAtLoad()
    {
        using var dir = Fixtures.NewTempDir("glm-tamper");
        ModelConverter.Convert(new ConvertOptions(Fixture, dir.File("out")), SilentProgress.Instance);
        var data = dir.File("out/stage-00.00.onnx.data");
        var bytes = File.ReadAllBytes(data);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(data, bytes);

        var e = Assert.Throws<InvalidDataException>(() => GlmModel.Load(dir.File("out"), new GlmModelOptions(VerifyChecksums: true)));
        Assert.Contains("stage-00.00.onnx.data", e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void TruncatedDataFileFailsAtLoadEvenWithoutChecksums()
    {
        using var dir = Fixtures.NewTempDir("glm-trunc");
        ModelConverter.Convert(new ConvertOptions(Fixture, dir.File("out")), SilentProgress.Instance);
        var data = dir.File("out/stage-00.00.onnx.data");
        using (var f = new FileStream(data, FileMode.Open)) f.SetLength(f.Length - 100);

        var e = Assert.Throws<InvalidDataException>(() => GlmModel.Load(dir.File("out")));
        Assert.Contains("stage-00.00.onnx.data", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void MissingManifestIsNotAModel()
    {
        using var dir = Fixtures.NewTempDir("glm-nomanifest");
        var e = Assert.Throws<FileNotFoundException>(() => GlmModel.Load(dir.Path));
        Assert.Contains("glm-model.json", e.Message);
    }

    [Fact]
    public void TruncatedCheckpointFailsAtConvertNamingTheFile()
    {
        using var dir = Fixtures.NewTempDir("glm-badckpt");
        var ckpt = dir.File("ckpt");
        Directory.CreateDirectory(ckpt);
        foreach (var f in Directory.GetFiles(Fixture)) File.Copy(f, Path.Combine(ckpt, Path.GetFileName(f)));
        var weights = Path.Combine(ckpt, "model.safetensors");
        using (var f = new FileStream(weights, FileMode.Open)) f.SetLength(f.Length / 2);

        var e = Assert.ThrowsAny<Exception>(() => ModelConverter.Convert(new ConvertOptions(ckpt, dir.File("out")), SilentProgress.Instance));
        Assert.Contains("model.safetensors", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void CheckpointWithAWrongShapeFailsNamingTensorAndShapes()
    {
        using var dir = Fixtures.NewTempDir("glm-badshape");
        var ckpt = dir.File("ckpt");
        Directory.CreateDirectory(ckpt);
        foreach (var f in Directory.GetFiles(Fixture)) File.Copy(f, Path.Combine(ckpt, Path.GetFileName(f)));
        // Claim a larger hidden size in config.json: every tensor shape then disagrees with the config.
        var config = File.ReadAllText(Path.Combine(ckpt, "config.json")).Replace("\"q_lora_rank\": 48", "\"q_lora_rank\": 40");
        File.WriteAllText(Path.Combine(ckpt, "config.json"), config);

        var e = Assert.ThrowsAny<Exception>(() => ModelConverter.Convert(new ConvertOptions(ckpt, dir.File("out")), SilentProgress.Instance));
        Assert.Contains("q_a_proj.weight", e.Message);
        Assert.Contains("[40, 64]", e.Message);
    }

    [Fact]
    public void ManifestRoundTripsAndRejectsAnotherFormatVersion()
    {
        using var dir = Fixtures.NewTempDir("glm-manifest");
        ModelConverter.Convert(new ConvertOptions(Fixture, dir.File("out")) { LayersPerStage = 3 }, SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        Assert.Equal([0, 3, 6], manifest.Stages.Select(s => s.FirstLayer));
        Assert.True(manifest.Stages[0].EmitsTopk);
        Assert.True(manifest.Stages[1].TakesPrevTopk);
        Assert.Equal([0, 1, 2, 6], manifest.Cache.IndexLayers);
        Assert.Equal(32 + 8, manifest.Cache.LatentWidth);
        Assert.Equal(ModelManifestJson.Serialize(manifest), File.ReadAllText(dir.File("out/glm-model.json")));

        var text = File.ReadAllText(dir.File("out/glm-model.json")).Replace("\"format_version\": 1", "\"format_version\": 99");
        var e = Assert.Throws<InvalidDataException>(() => ModelManifestJson.Parse(text, "glm-model.json"));
        Assert.Contains("format_version", e.Message);
        var missing = File.ReadAllText(dir.File("out/glm-model.json")).Replace("\"cache\":", "\"cache_renamed\":");
        var m = Assert.Throws<InvalidDataException>(() => ModelManifestJson.Parse(missing, "glm-model.json"));
        Assert.Contains("cache", m.Message);
    }

    private static Process StartCli(string output, int delayMs)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "glm-convert.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "convert", Fixture, output, "--layers-per-stage", "2" }) start.ArgumentList.Add(a);
        start.Environment["GLM_CONVERT_TEST_DELAY_MS"] = delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Process.Start(start)!;
    }

    private static string? WaitForLine(Process process, string fragment, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var line = process.StandardError.ReadLine();
            if (line is null) return null;
            if (line.Contains(fragment, StringComparison.Ordinal)) return line;
        }
        return null;
    }
}
