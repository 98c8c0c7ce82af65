using System.Text.Json;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The ids that <c>addSpecialTokens: true</c> puts around one encoded sequence: from the tokenizer.json
/// "post_processor" (TemplateProcessing, Roberta/BertProcessing, ByteLevel, Sequence), or, when
/// tokenizer_config.json sets add_bos_token / add_eos_token, the BOS / EOS template transformers builds from
/// those flags instead.
/// </summary>
public sealed record SpecialTokenTemplate(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static SpecialTokenTemplate None { get; } = new([], []);

    internal static SpecialTokenTemplate FromJson(JsonElement? section, string file)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (section is not null)
            Add(section.Value, "post_processor", file, prefix, suffix);
        return new SpecialTokenTemplate(prefix, suffix);
    }

    private static void Add(JsonElement spec, string path, string file, List<int> prefix, List<int> suffix)
    {
        var type = JsonFields.TypeOf(spec, file, path);
        switch (type)
        {
            case "ByteLevel":
                break; // only adjusts offsets
            case "Sequence":
                foreach (var (item, itemPath) in JsonFields.Items(spec, "processors", file, path))
                    Add(item, itemPath, file, prefix, suffix);
                break;
            case "RobertaProcessing":
            case "BertProcessing":
                prefix.Add(PairId(JsonFields.Required(spec, "cls", file, path), file, path + ".cls"));
                suffix.Insert(0, PairId(JsonFields.Required(spec, "sep", file, path), file, path + ".sep"));
                break;
            case "TemplateProcessing":
                AddTemplate(spec, path, file, prefix, suffix);
                break;
            default:
                throw new TokenizerFormatException(
                    $"{file}: '{path}.type' is '{type}', which this loader does not implement; " +
                    "expected one of ByteLevel, Sequence, TemplateProcessing, RobertaProcessing, BertProcessing");
        }
    }

    private static int PairId(JsonElement pair, string file, string path)
    {
        if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2 || !pair[1].TryGetInt32(out var id))
            throw new TokenizerFormatException($"{file}: '{path}' must be [token, id], found {pair.GetRawText()}");
        return id;
    }

    private static void AddTemplate(JsonElement spec, string path, string file, List<int> prefix, List<int> suffix)
    {
        var specialIds = new Dictionary<string, int[]>();
        var specials = JsonFields.Required(spec, "special_tokens", file, path);
        foreach (var entry in specials.EnumerateObject())
        {
            var ids = JsonFields.Required(entry.Value, "ids", file, $"{path}.special_tokens.{entry.Name}");
            specialIds[entry.Name] = ids.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        }

        var seenSequence = false;
        foreach (var (item, itemPath) in JsonFields.Items(spec, "single", file, path))
        {
            if (item.TryGetProperty("Sequence", out _))
            {
                seenSequence = true;
                continue;
            }

            if (!item.TryGetProperty("SpecialToken", out var special))
                throw new TokenizerFormatException(
                    $"{file}: '{itemPath}' must hold 'Sequence' or 'SpecialToken', found {item.GetRawText()}");
            var name = JsonFields.RequiredString(special, "id", file, itemPath + ".SpecialToken");
            if (!specialIds.TryGetValue(name, out var ids))
                throw new TokenizerFormatException(
                    $"{file}: '{itemPath}' names special token '{name}', which '{path}.special_tokens' does not define");
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
    }
}
