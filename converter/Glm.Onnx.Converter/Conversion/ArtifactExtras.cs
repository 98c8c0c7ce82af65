using System.Security.Cryptography;
using System.Text.Json;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>Tokenizer files, chat template and generation config carried over from the checkpoint.</summary>
public sealed record ExtraFiles(IReadOnlyList<WrittenFile> Tokenizer, string? ChatTemplate, WrittenFile? GenerationConfig, IReadOnlyList<WrittenFile> All);

public static class ArtifactExtras
{
    public static readonly string[] TokenizerFileNames =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model"];

    public const string ChatTemplateFile = "chat_template.jinja";
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>
    /// Copies what exists. A chat template embedded in tokenizer_config.json ("chat_template") is also written out as
    /// chat_template.jinja so that consumers find it in one place.
    /// </summary>
    public static ExtraFiles Copy(string checkpointDir, string outputDir)
    {
        var tokenizer = new List<WrittenFile>();
        foreach (var name in TokenizerFileNames)
            if (File.Exists(Path.Combine(checkpointDir, name))) tokenizer.Add(CopyFile(checkpointDir, outputDir, name));

        string? template = null;
        var all = new List<WrittenFile>(tokenizer);
        if (File.Exists(Path.Combine(checkpointDir, ChatTemplateFile)))
        {
            all.Add(CopyFile(checkpointDir, outputDir, ChatTemplateFile));
            template = ChatTemplateFile;
        }
        else if (EmbeddedTemplate(Path.Combine(checkpointDir, "tokenizer_config.json")) is { } text)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            File.WriteAllBytes(Path.Combine(outputDir, ChatTemplateFile), bytes);
            all.Add(new WrittenFile(ChatTemplateFile, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
            template = ChatTemplateFile;
        }

        WrittenFile? generation = null;
        if (File.Exists(Path.Combine(checkpointDir, GenerationConfigFile)))
        {
            generation = CopyFile(checkpointDir, outputDir, GenerationConfigFile);
            all.Add(generation);
        }
        return new ExtraFiles(tokenizer, template, generation, all);
    }

    private static string? EmbeddedTemplate(string tokenizerConfig)
    {
        if (!File.Exists(tokenizerConfig)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerConfig));
            return doc.RootElement.ValueKind == JsonValueKind.Object &&
                   doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()
                : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{tokenizerConfig}: malformed JSON: {e.Message}", e);
        }
    }

    private static WrittenFile CopyFile(string from, string to, string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(from, name));
        File.WriteAllBytes(Path.Combine(to, name), bytes);
        return new WrittenFile(name, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }
}
