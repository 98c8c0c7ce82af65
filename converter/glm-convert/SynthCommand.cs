using System.CommandLine;
using System.Globalization;
using Glm.Onnx.Checkpoint;

namespace Glm.Onnx.ConvertCli;

/// <summary>
/// <c>glm-convert synth &lt;output-dir&gt; (--preset tiny|small|glm52 | --config config.json) [--dtype bf16|fp8] [--seed N]
/// [--layers N] [--mtp-layers N] [--shard-size 5GB] [--tokenizer tiny-glm] [--overwrite]</c>: a deterministic
/// random-weight checkpoint in the Hugging Face layout (with the MTP layer when the config's num_nextn_predict_layers,
/// or --mtp-layers, asks for it), optionally with a tokenizer (models/glm-tiny-chat is
/// <c>synth models/glm-tiny-chat --config models/glm-tiny-chat/config.json --tokenizer tiny-glm --seed 52 --overwrite</c>).
/// </summary>
public static class SynthCommand
{
    /// <summary>The command, for <c>root.Subcommands.Add</c>.</summary>
    public static Command Create()
    {
        var output = new Argument<string>("output-dir") { Description = "directory to write (created if absent)" };
        var preset = new Option<string>("--preset")
        {
            Description = "tiny (fixture-sized), small (~0.5B, CPU benchmarks), glm52 (real GLM-5.2 dimensions, use --layers)",
        };
        preset.AcceptOnlyFromAmong([.. SynthPresets.Names]);
        var configFile = new Option<string>("--config") { Description = "any GLM config.json instead of a preset (its quantization_config is kept unless --dtype says otherwise)" };
        var dtype = new Option<string>("--dtype") { Description = "bf16 or fp8 (block 128x128 e4m3 with weight_scale_inv); default bf16 for presets" };
        dtype.AcceptOnlyFromAmong("bf16", "fp8");
        var seed = new Option<ulong>("--seed") { Description = "random seed (same seed, same bytes)", DefaultValueFactory = _ => 0 };
        var layers = new Option<int?>("--layers") { Description = "number of main decoder layers (default: tiny 8, small 12, glm52 4)" };
        var mtpLayers = new Option<int?>("--mtp-layers")
        {
            Description = "num_nextn_predict_layers: MTP layers written after the main ones (default: the preset's 0, or the config's)",
        };
        var shardSize = new Option<string>("--shard-size") { Description = "shard cap, bytes or with KB/MB/GB suffix", DefaultValueFactory = _ => "5GB" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace weights already in output-dir" };
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = $"also write a tokenizer: {TinyGlmTokenizer.Name} ({TinyGlmTokenizer.VocabularySize} tokens: the 256 bytes, a few merges, " +
                "the GLM control tokens); sets the config's vocab_size and bos / eos / pad ids from it",
        };
        tokenizer.AcceptOnlyFromAmong([.. SynthOptions.TokenizerNames]);
        var command = new Command("synth", "Write a random-weight GLM checkpoint (deterministic, streaming)")
        {
            output, preset, configFile, dtype, seed, layers, mtpLayers, shardSize, tokenizer, overwrite,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(preset) is null) == (result.GetValue(configFile) is null))
                result.AddError("give exactly one of --preset or --config");
        });
        command.SetAction(parse =>
        {
            try
            {
                string? dtypeText = parse.GetValue(dtype);
                var config = parse.GetValue(preset) is { } name
                    ? SynthPresets.Get(name, parse.GetValue(layers), dtypeText == "fp8")
                    : SynthPresets.Adapt(GlmConfig.Load(parse.GetValue(configFile)!), parse.GetValue(layers), dtypeText is null ? null : dtypeText == "fp8");
                if (parse.GetValue(mtpLayers) is { } nextn)
                    config = config with { NumNextnPredictLayers = nextn };
                var options = new SynthOptions(parse.GetValue(output)!, config, parse.GetValue(seed),
                    ParseBytes(parse.GetValue(shardSize)!), parse.GetValue(overwrite), parse.GetValue(tokenizer));
                var started = DateTime.UtcNow;
                var result = CheckpointSynthesizer.Write(options);
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {result.WeightFiles.Count} weight file(s), {result.Parameters:N0} parameters, {result.DataBytes:N0} bytes to {Path.GetFullPath(options.OutputDirectory)} in {(DateTime.UtcNow - started).TotalSeconds:F1} s"));
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or CheckpointFormatException or FormatException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>"5GB" / "500MB" / "64KB" (powers of 1000, as Hugging Face's max_shard_size) or plain bytes.</summary>
    internal static long ParseBytes(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        long unit = 1;
        foreach (var (suffix, factor) in new[] { ("GB", 1_000_000_000L), ("MB", 1_000_000L), ("KB", 1_000L), ("B", 1L) })
            if (t.EndsWith(suffix, StringComparison.Ordinal)) { unit = factor; t = t[..^suffix.Length]; break; }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v <= 0)
            throw new FormatException($"--shard-size: expected a positive size like 5GB or 200000, found '{text}'");
        return (long)(v * unit);
    }
}
