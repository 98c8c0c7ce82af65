using System.Text.Json;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The parsed content of a Hugging Face tokenizer.json for a byte-level BPE model: vocabulary, merges, added
/// tokens and the normalizer / pre-tokenizer / post-processor pipeline. Anything outside what byte-level BPE
/// needs (WordPiece, Unigram, SentencePiece byte fallback, dropout, Metaspace, ...) is rejected with the JSON
/// path of the field.
/// </summary>
internal sealed record TokenizerJson(
    Dictionary<string, int> Vocabulary,
    List<string> Merges,
    List<AddedToken> AddedTokens,
    TextNormalizer Normalizer,
    PreTokenizerPipeline PreTokenizer,
    SpecialTokenTemplate PostProcessor,
    string? UnknownToken,
    bool FuseUnknown,
    bool IgnoreMerges)
{
    public static TokenizerJson Load(string path)
    {
        const string file = "tokenizer.json";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"{path}: not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            var model = JsonFields.Required(root, "model", file, "$");
            var modelType = JsonFields.OptionalString(model, "type", file, "model") ?? "BPE";
            if (modelType != "BPE")
                throw new TokenizerFormatException($"{file}: 'model.type' is '{modelType}'; expected 'BPE' (byte-level BPE)");
            if (JsonFields.Optional(model, "dropout") is { } dropout && dropout.GetDouble() != 0)
                throw new TokenizerFormatException($"{file}: 'model.dropout' is {dropout.GetRawText()}; BPE dropout is a training feature and is not supported");
            if (JsonFields.OptionalBool(model, "byte_fallback", false, file, "model"))
                throw new TokenizerFormatException($"{file}: 'model.byte_fallback' is true (SentencePiece-style <0xNN> tokens); expected a byte-level BPE with byte_fallback false");
            foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
                if (!string.IsNullOrEmpty(JsonFields.OptionalString(model, affix, file, "model")))
                    throw new TokenizerFormatException($"{file}: 'model.{affix}' is set; byte-level BPE expects it empty or null");

            var preTokenizer = PreTokenizerPipeline.FromJson(JsonFields.Optional(root, "pre_tokenizer"), file);
            if (!preTokenizer.HasByteLevel)
                throw new TokenizerFormatException($"{file}: 'pre_tokenizer' has no ByteLevel step; expected a byte-level BPE tokenizer");
            CheckDecoder(JsonFields.Optional(root, "decoder"), file);

            return new TokenizerJson(
                ReadVocabulary(JsonFields.Required(model, "vocab", file, "model"), file),
                ReadMerges(model, file),
                ReadAddedTokens(root, file),
                TextNormalizer.FromJson(JsonFields.Optional(root, "normalizer"), file),
                preTokenizer,
                SpecialTokenTemplate.FromJson(JsonFields.Optional(root, "post_processor"), file),
                JsonFields.OptionalString(model, "unk_token", file, "model"),
                JsonFields.OptionalBool(model, "fuse_unk", false, file, "model"),
                JsonFields.OptionalBool(model, "ignore_merges", false, file, "model"));
        }
    }

    // Decoding implements the ByteLevel decoder; anything else would change the text.
    private static void CheckDecoder(JsonElement? decoder, string file)
    {
        if (decoder is null)
            throw new TokenizerFormatException($"{file}: 'decoder' is missing; expected a ByteLevel decoder");
        var type = JsonFields.TypeOf(decoder.Value, file, "decoder");
        if (type == "ByteLevel")
            return;
        if (type == "Sequence")
        {
            var steps = JsonFields.Items(decoder.Value, "decoders", file, "decoder").ToList();
            if (steps.Count == 1 && JsonFields.TypeOf(steps[0].Item, file, steps[0].Path) == "ByteLevel")
                return;
        }

        throw new TokenizerFormatException($"{file}: 'decoder.type' is '{type}'; expected ByteLevel (byte-level BPE)");
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement vocab, string file)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException($"{file}: 'model.vocab' must be an object of token -> id, found {JsonFields.Kind(vocab)}");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out var id) || id < 0)
                throw new TokenizerFormatException($"{file}: 'model.vocab' entry '{entry.Name}' has id {entry.Value.GetRawText()}; expected a non-negative integer");
            result[entry.Name] = id;
        }

        return result;
    }

    // Merges come as "a b" strings (older files) or ["a", "b"] pairs (newer files).
    private static List<string> ReadMerges(JsonElement model, string file)
    {
        var merges = new List<string>();
        foreach (var (item, path) in JsonFields.Items(model, "merges", file, "model"))
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                merges.Add(item.GetString()!);
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2 &&
                     item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
            {
                var left = item[0].GetString()!;
                var right = item[1].GetString()!;
                if (left.Contains(' ') || right.Contains(' '))
                    throw new TokenizerFormatException($"{file}: '{path}' merges a token containing a space; byte-level vocabularies never do");
                merges.Add(left + " " + right);
            }
            else
            {
                throw new TokenizerFormatException($"{file}: '{path}' must be \"a b\" or [\"a\", \"b\"], found {item.GetRawText()}");
            }
        }

        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string file)
    {
        var tokens = new List<AddedToken>();
        if (JsonFields.Optional(root, "added_tokens") is null)
            return tokens;
        foreach (var (item, path) in JsonFields.Items(root, "added_tokens", file, "$"))
        {
            var special = JsonFields.OptionalBool(item, "special", false, file, path);
            tokens.Add(new AddedToken(
                JsonFields.RequiredInt(item, "id", file, path),
                JsonFields.RequiredString(item, "content", file, path),
                special,
                JsonFields.OptionalBool(item, "single_word", false, file, path),
                JsonFields.OptionalBool(item, "lstrip", false, file, path),
                JsonFields.OptionalBool(item, "rstrip", false, file, path),
                // Hugging Face's default: special tokens are matched on raw text, others after normalization.
                JsonFields.OptionalBool(item, "normalized", !special, file, path)));
        }

        return tokens;
    }
}
