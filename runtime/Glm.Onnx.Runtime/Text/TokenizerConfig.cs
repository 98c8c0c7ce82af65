using System.Text.Json;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The fields of a Hugging Face tokenizer_config.json this runtime uses: the BOS / EOS / PAD token strings,
/// the add_bos_token / add_eos_token flags (null when the file does not set them), the chat template (a single
/// string, or the "default" entry of a named list) and model_max_length.
/// </summary>
public sealed record TokenizerConfig(
    string? BosToken,
    string? EosToken,
    string? PadToken,
    bool? AddBosToken,
    bool? AddEosToken,
    string? ChatTemplate,
    long? ModelMaxLength)
{
    public static TokenizerConfig Empty { get; } = new(null, null, null, null, null, null, null);

    public static TokenizerConfig Load(string path)
    {
        var file = Path.GetFileName(path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"{path}: not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new TokenizerFormatException($"{path}: expected a JSON object, found {JsonFields.Kind(root)}");
            return new TokenizerConfig(
                TokenString(root, "bos_token", file),
                TokenString(root, "eos_token", file),
                TokenString(root, "pad_token", file),
                OptionalFlag(root, "add_bos_token", file),
                OptionalFlag(root, "add_eos_token", file),
                ChatTemplateOf(root, file),
                root.TryGetProperty("model_max_length", out var max) && max.ValueKind == JsonValueKind.Number &&
                max.TryGetInt64(out var maxValue) ? maxValue : null);
        }
    }

    // A token field is either a plain string or an AddedToken object {"content": ...}.
    private static string? TokenString(JsonElement root, string name, string file)
    {
        var value = JsonFields.Optional(root, name);
        return value?.ValueKind switch
        {
            null => null,
            JsonValueKind.String => value.Value.GetString(),
            JsonValueKind.Object => JsonFields.RequiredString(value.Value, "content", file, name),
            _ => throw new TokenizerFormatException(
                $"{file}: '{name}' must be a string or an object with 'content', found {JsonFields.Kind(value!.Value)}"),
        };
    }

    private static bool? OptionalFlag(JsonElement root, string name, string file) =>
        JsonFields.Optional(root, name) is null ? null : JsonFields.OptionalBool(root, name, false, file, name);

    private static string? ChatTemplateOf(JsonElement root, string file)
    {
        var value = JsonFields.Optional(root, "chat_template");
        if (value is null)
            return null;
        if (value.Value.ValueKind == JsonValueKind.String)
            return value.Value.GetString();
        if (value.Value.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in value.Value.EnumerateArray())
                if (JsonFields.OptionalString(entry, "name", file, "chat_template[]") == "default")
                    return JsonFields.RequiredString(entry, "template", file, "chat_template[default]");
            return null;
        }

        throw new TokenizerFormatException(
            $"{file}: 'chat_template' must be a string or a list of {{name, template}}, found {JsonFields.Kind(value.Value)}");
    }
}
