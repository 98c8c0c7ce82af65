using System.CommandLine;
using System.Globalization;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.RunCli;

/// <summary>The options every glm-run command shares to load a model, and the loading itself.</summary>
internal sealed class ModelArguments
{
    public Option<string> Model { get; } = new("--model") { Description = "artifacts directory (glm-model.json), or a Hugging Face checkpoint directory, converted at fp32 on first use", Required = true };
    public Option<string[]> Device { get; } = new("--device", "--devices") { Description = "cpu (default), cuda:N, or one device per stage (cuda:0,cuda:1 or cpu cuda:0); CUDA needs the Gpu build (docs/cuda.md)", AllowMultipleArgumentsPerToken = true };
    public Option<long> CacheMb { get; } = new("--cache-mb") { Description = "KV cache budget in MiB (all pools)", DefaultValueFactory = _ => KvCacheOptions.DefaultBudget >> 20 };
    public Option<int?> Blocks { get; } = new("--blocks") { Description = "KV cache blocks (overrides --cache-mb)" };
    public Option<int?> BlockSize { get; } = new("--block-size") { Description = "tokens per cache block (default: the manifest's)" };
    public Option<int> Threads { get; } = new("--threads") { Description = "ONNX Runtime intra-op threads, shared with the custom ops (0 = one per logical processor)" };
    public Option<IntraOpSpinning> Spin { get; } = new("--spin")
    {
        Description = "auto|on|off: ONNX Runtime intra-op threads spin-wait inside a Run; auto (default) spins only when the cores the threads need are idle at load, on for cores that belong to the engine, off for cores shared with other work; bare --spin = on",
        Arity = ArgumentArity.ZeroOrOne,
        // Bare --spin (no value) means on, as the option meant before it took a value.
        DefaultValueFactory = result => result.Parent is System.CommandLine.Parsing.OptionResult { Implicit: false } ? IntraOpSpinning.On : IntraOpSpinning.Auto,
        CustomParser = result => result.Tokens.Count == 0 ? IntraOpSpinning.On
            : result.Tokens[0].Value.All(char.IsAsciiLetter) && Enum.TryParse<IntraOpSpinning>(result.Tokens[0].Value, ignoreCase: true, out var value) ? value
            : Fail(result, $"--spin: expected auto, on or off, got '{result.Tokens[0].Value}'."),
    };
    public Option<string[]> OrtConfig { get; } = new("--ort-config") { Description = "extra ONNX Runtime session config entry KEY=VALUE for every stage session (repeatable), e.g. session.dynamic_block_base=4" };
    public Option<bool> VerifyChecksums { get; } = new("--verify-checksums") { Description = "hash every artifact file against the manifest" };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Device);
        command.Options.Add(CacheMb);
        command.Options.Add(Blocks);
        command.Options.Add(BlockSize);
        command.Options.Add(Threads);
        command.Options.Add(Spin);
        command.Options.Add(OrtConfig);
        command.Options.Add(VerifyChecksums);
    }

    public GlmModel Load(ParseResult parse, int? blocksOverride = null, string? profilePrefix = null)
    {
        CheckCacheBudget(parse);
        var directory = ArtifactsFor(parse.GetValue(Model)!);
        var options = new GlmModelOptions(
            parse.GetValue(Device) is { Length: > 0 } devices ? devices : null,
            parse.GetValue(VerifyChecksums),
            new KvCacheOptions(blocksOverride ?? parse.GetValue(Blocks), parse.GetValue(CacheMb) << 20, parse.GetValue(BlockSize)),
            parse.GetValue(Threads),
            profilePrefix,
            parse.GetValue(Spin),
            ParseConfig(parse.GetValue(OrtConfig)));
        return GlmModel.Load(directory, options);
    }

    // A CPU cache larger than the machine's memory is refused before anything loads (Linux overcommit would otherwise
    // let the allocation succeed and the process die later when the pages are touched). CUDA pools live in device
    // memory, which the allocation itself checks.
    private void CheckCacheBudget(ParseResult parse)
    {
        long mb = parse.GetValue(CacheMb);
        if (parse.GetValue(Blocks) is not null || parse.GetValue(Device) is { Length: > 0 } devices && devices.Any(d => !d.Equals("cpu", StringComparison.OrdinalIgnoreCase)))
            return;
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (total > 0 && mb > total >> 20)
            throw new ArgumentException($"--cache-mb {mb} is more than this machine's memory ({total >> 20} MiB); lower it.");
    }

    /// <summary>
    /// An artifacts directory as given, or for a checkpoint directory (config.json, no manifest) a cached fp32
    /// conversion under the temp folder, keyed by the checkpoint's path and modification time.
    /// </summary>
    private static string ArtifactsFor(string model)
    {
        if (File.Exists(Path.Combine(model, ModelManifest.FileName)) || !File.Exists(Path.Combine(model, "config.json")))
            return model; // GlmModel.Load reports a missing manifest clearly
        var full = Path.GetFullPath(model);
        var stamp = Directory.GetFiles(full).Max(File.GetLastWriteTimeUtc).Ticks.ToString(CultureInfo.InvariantCulture);
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(full + "|" + stamp)))[..16];
        var output = Path.Combine(Path.GetTempPath(), "glm-run-artifacts", key);
        if (File.Exists(Path.Combine(output, ModelManifest.FileName)))
            return output;
        // Several glm-run processes may start on one checkpoint at once: the first converts, the others wait for it
        // and then find the manifest (the converter's own lock, {output}.lock, is a different file).
        using var cacheLock = OutputLock.Acquire(output, TimeSpan.FromHours(2),
            () => Console.Error.WriteLine($"note: waiting for another glm-run to finish converting '{model}' into {output}"),
            suffix: ".glm-run.lock");
        if (!File.Exists(Path.Combine(output, ModelManifest.FileName)))
        {
            Console.Error.WriteLine($"note: '{model}' is a checkpoint; converting it at fp32 into {output}");
            if (Directory.Exists(output))
                Directory.Delete(output, recursive: true);
            ModelConverter.Convert(new ConvertOptions(full, output) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        }
        return output;
    }

    private static IntraOpSpinning Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return IntraOpSpinning.Auto;
    }

    /// <summary>--ort-config KEY=VALUE entries as a dictionary (the last one of a key wins); null when none given.</summary>
    public static IReadOnlyDictionary<string, string>? ParseConfig(string[]? entries)
    {
        if (entries is not { Length: > 0 })
            return null;
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            int eq = entry.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"--ort-config: '{entry}' is not KEY=VALUE (e.g. session.dynamic_block_base=4).");
            config[entry[..eq].Trim()] = entry[(eq + 1)..].Trim();
        }
        return config;
    }

    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out ids[i]) || ids[i] < 0)
                throw new ArgumentException($"{option}: '{parts[i]}' is not a token id (expected comma-separated non-negative integers).");
        if (ids.Length == 0)
            throw new ArgumentException($"{option}: no token ids given.");
        return ids;
    }
}
