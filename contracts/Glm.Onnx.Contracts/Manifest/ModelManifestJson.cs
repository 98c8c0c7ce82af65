using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Glm.Onnx.Contracts.Manifest;

/// <summary>Reads, validates and writes <c>glm-model.json</c> (snake_case JSON, indented, deterministic).</summary>
public static class ModelManifestJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        IndentSize = 2,
    };

    public static string Serialize(ModelManifest manifest) => JsonSerializer.Serialize(manifest, Options) + "\n";

    /// <summary>Parses and validates manifest text; <paramref name="source"/> names the file in errors.</summary>
    public static ModelManifest Parse(string json, string source)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid GLM artifact manifest: {e.Message}", e);
        }
        if (manifest is null) throw new InvalidDataException($"{source}: manifest is null");
        Validate(manifest, source);
        return manifest;
    }

    /// <summary>Loads <c>glm-model.json</c> from an artifacts directory and checks its internal consistency.</summary>
    public static ModelManifest Load(string artifactsDir)
    {
        var path = Path.Combine(artifactsDir, ModelManifest.FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"'{artifactsDir}' is not a GLM artifacts directory: {ModelManifest.FileName} is missing " +
                "(the converter writes it last, so an interrupted conversion has none)", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Checks that every file the manifest lists exists with the recorded size and, when asked, the recorded
    /// SHA-256 (reads every byte: slow for real models, so loaders make it optional).
    /// </summary>
    public static void VerifyFiles(string artifactsDir, ModelManifest manifest, bool checksums)
    {
        foreach (var entry in manifest.Files)
        {
            var path = Path.Combine(artifactsDir, entry.Path);
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new FileNotFoundException($"artifact file '{entry.Path}' listed in {ModelManifest.FileName} is missing", path);
            if (info.Length != entry.Bytes)
                throw new InvalidDataException(
                    $"artifact file '{entry.Path}' has {info.Length} bytes, expected {entry.Bytes} (truncated or replaced)");
            if (!checksums) continue;
            var actual = Sha256Hex(path);
            if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException(
                    $"artifact file '{entry.Path}' is corrupt: SHA-256 {actual}, expected {entry.Sha256}");
        }
    }

    public static string Sha256Hex(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static void Validate(ModelManifest m, string source)
    {
        void Fail(string what) => throw new InvalidDataException($"{source}: {what}");

        // The serializer enforces non-null properties but not non-null list elements ("files": [null]).
        for (int i = 0; i < m.Files.Count; i++)
            if (m.Files[i] is null) Fail($"files[{i}] is null, expected {{\"path\", \"bytes\", \"sha256\"}}");
        for (int i = 0; i < m.Stages.Count; i++)
            if (m.Stages[i] is null || m.Stages[i].DataFiles.Any(f => f is null)) Fail($"stages[{i}] is null or lists a null data file");
        if (m.CustomOps.Ops.Any(o => o is null)) Fail("custom_ops.ops lists null");
        if (m.Tokenizer.Files.Any(f => f is null)) Fail("tokenizer.files lists null");
        if (m.Format != ModelManifest.FormatName) Fail($"field 'format' is '{m.Format}', expected '{ModelManifest.FormatName}'");
        if (m.FormatVersion != ModelManifest.CurrentFormatVersion)
            Fail($"field 'format_version' is {m.FormatVersion}, this build reads version {ModelManifest.CurrentFormatVersion}");
        if (m.CustomOps.Domain != CustomOpNames.Domain || m.CustomOps.Version > CustomOpNames.DomainVersion)
            Fail($"requires custom-op domain {m.CustomOps.Domain} v{m.CustomOps.Version}, this build provides " +
                 $"{CustomOpNames.Domain} v{CustomOpNames.DomainVersion}");
        if (m.Stages.Count == 0) Fail("field 'stages' is empty");
        int next = 0;
        for (int i = 0; i < m.Stages.Count; i++)
        {
            var s = m.Stages[i];
            if (s.Index != i) Fail($"stages[{i}].index is {s.Index}, expected {i}");
            if (s.FirstLayer != next) Fail($"stages[{i}].first_layer is {s.FirstLayer}, expected {next} (stages must be contiguous)");
            if (s.LayerCount <= 0) Fail($"stages[{i}].layer_count is {s.LayerCount}, expected > 0");
            if (s.EmbedsTokens != (i == 0)) Fail($"stages[{i}].embeds_tokens must be true only for the first stage");
            if (s.ProducesLogits != (i == m.Stages.Count - 1)) Fail($"stages[{i}].produces_logits must be true only for the last stage");
            foreach (var f in s.DataFiles.Prepend(s.File))
                if (!m.Files.Any(e => e.Path == f)) Fail($"stages[{i}] file '{f}' is not listed in 'files' (no checksum)");
            next = s.EndLayer;
        }
        if (next != m.Dimensions.NumHiddenLayers)
            Fail($"stages cover layers [0, {next}), expected [0, {m.Dimensions.NumHiddenLayers})");
        if (m.Stages.Any(s => s.IsMtp)) Fail("field 'stages' lists an MTP stage: it belongs in 'mtp_stage'");
        if (m.MtpStage is { } mtp)
        {
            if (!mtp.IsMtp) Fail("mtp_stage.is_mtp must be true");
            if (mtp.FirstLayer != m.Dimensions.NumHiddenLayers || mtp.LayerCount != 1)
                Fail($"mtp_stage covers layers [{mtp.FirstLayer}, {mtp.EndLayer}), expected [{m.Dimensions.NumHiddenLayers}, {m.Dimensions.NumHiddenLayers + 1})");
            if (m.Cache.MtpLayers is not { Count: 1 } || m.Cache.MtpLayers[0] != mtp.FirstLayer)
                Fail($"cache.mtp_layers must be [{mtp.FirstLayer}] when mtp_stage is present");
            if (!m.Stages[^1].EmitsFinalHidden)
                Fail("the last stage must have emits_final_hidden: the MTP stage reads the main model's final hidden state");
            foreach (var f in mtp.DataFiles.Prepend(mtp.File))
                if (!m.Files.Any(e => e.Path == f)) Fail($"mtp_stage file '{f}' is not listed in 'files' (no checksum)");
        }
        else if (m.Cache.MtpLayers is { Count: > 0 })
        {
            Fail("cache.mtp_layers is set but there is no mtp_stage");
        }
        if (m.Cache.LatentWidth != m.Cache.KvLoraRank + m.Cache.QkRopeHeadDim)
            Fail($"cache.latent_width is {m.Cache.LatentWidth}, expected kv_lora_rank + qk_rope_head_dim = {m.Cache.KvLoraRank + m.Cache.QkRopeHeadDim}");
        if (m.Cache.BlockSize <= 0) Fail($"cache.block_size is {m.Cache.BlockSize}, expected > 0");
        foreach (var e in m.Files)
            if (Path.IsPathRooted(e.Path) || e.Path.Contains("..", StringComparison.Ordinal))
                Fail($"file path '{e.Path}' must be relative to the artifacts directory");
    }
}
