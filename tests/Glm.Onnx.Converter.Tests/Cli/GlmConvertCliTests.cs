using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Glm.Onnx.Tests.Cli;

/// <summary>The real glm-convert program: synth with the tiny GLM tokenizer, and inspect's size guard (issue #11 fix 5).</summary>
public sealed class GlmConvertCliTests
{
    private static (int ExitCode, string Output, TimeSpan Elapsed) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "glm-convert.dll"));
        foreach (var a in arguments) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"glm-convert {string.Join(' ', arguments)} did not finish in 120 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result, clock.Elapsed);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    public void Convert_refuses_a_thread_count_below_one_by_name(string threads)
    {
        using var dir = Fixtures.NewTempDir();
        var (code, output, _) = Run("convert", Fixtures.GlmDir("glm52-tiny"), dir.File("out"), "--precision", "int4", "--threads", threads);
        Assert.True(code == 1, output);
        Assert.Contains($"error: --threads {threads}: expected a positive number of threads", output);
        Assert.DoesNotContain("   at ", output);
        Assert.False(Directory.Exists(dir.File("out")), output);
    }

    [Fact]
    public void Synth_with_tiny_glm_writes_the_tokenizer_and_its_ids_into_the_config()
    {
        using var dir = Fixtures.NewTempDir();
        var (code, output, _) = Run("synth", dir.Path, "--preset", "tiny", "--layers", "2", "--tokenizer", "tiny-glm");
        Assert.True(code == 0, output);
        Assert.True(File.Exists(dir.File("tokenizer.json")), output);
        Assert.True(File.Exists(dir.File("tokenizer_config.json")), output);
        var config = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!;
        // 256 bytes + 23 merges + 20 control tokens; <|endoftext|> is the first control token (id 279).
        Assert.Equal(299, config["vocab_size"]!.GetValue<int>());
        Assert.Equal(279, config["pad_token_id"]!.GetValue<int>());

        (code, output, _) = Run("synth", dir.File("other"), "--preset", "tiny", "--tokenizer", "llama");
        Assert.NotEqual(0, code);
        Assert.Contains("--tokenizer", output);
    }

    [Fact]
    public void Synth_with_mtp_layers_writes_the_mtp_layer_and_inspect_finds_it_complete()
    {
        using var dir = Fixtures.NewTempDir();
        var (code, output, _) = Run("synth", dir.Path, "--preset", "tiny", "--layers", "2", "--mtp-layers", "1");
        Assert.True(code == 0, output);
        var config = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!;
        Assert.Equal(1, config["num_nextn_predict_layers"]!.GetValue<int>());
        using (var checkpoint = Glm.Onnx.Checkpoint.GlmCheckpoint.Open(dir.Path))
            Assert.Contains("model.layers.2.eh_proj.weight", checkpoint.Tensors.Keys);

        (code, output, _) = Run("inspect", dir.Path, "--json");
        Assert.True(code == 0, output);
        var report = JsonNode.Parse(output[output.IndexOf('{')..])!;
        Assert.True(report["complete"]!.GetValue<bool>(), output);
        Assert.Empty(report["missing_tensors"]!.AsArray());
    }

    [Fact]
    public void Inspect_of_a_million_expert_config_fails_fast_naming_the_field()
    {
        using var dir = Fixtures.NewTempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json")))!.AsObject();
        config["n_routed_experts"] = 1_000_000;
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "model.safetensors"), dir.File("model.safetensors"));

        var (code, output, elapsed) = Run("inspect", dir.Path, "--json");
        Assert.Equal(1, code);
        var report = JsonNode.Parse(output[output.IndexOf('{')..])!;
        Assert.False(report["complete"]!.GetValue<bool>());
        var error = report["errors"]!.AsArray().Single()!.GetValue<string>();
        Assert.Contains("n_routed_experts = 1000000", error);
        Assert.Contains("model.layers.1.mlp.gate.weight", error);
        Assert.Empty(report["missing_tensors"]!.AsArray());
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"took {elapsed}");
    }
}
