using System.Text;
using System.Text.Json;
using Glm.Onnx.Contracts.Text;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// Writes a tiny GLM-style byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) so that a small
/// random-weight model can be driven end to end with real tokens (<c>glm-convert synth --tokenizer tiny-glm</c>):
/// ids 0-255 are the 256 byte tokens (byte b has id b), then one token per merge, then the GLM control tokens of
/// <see cref="GlmControlTokens.All"/>. Any UTF-8 text encodes (bytes are always in the vocabulary); the merges only
/// make common English shorter.
/// </summary>
public static class TinyGlmTokenizer
{
    /// <summary>The name <c>glm-convert synth --tokenizer</c> takes.</summary>
    public const string Name = "tiny-glm";

    /// <summary>tokenizer.json, as Hugging Face names it.</summary>
    public const string TokenizerFileName = "tokenizer.json";

    /// <summary>tokenizer_config.json, as Hugging Face names it.</summary>
    public const string ConfigFileName = "tokenizer_config.json";

    // The GLM-4 family's split pattern (cl100k-style, digits in groups of up to three).
    public const string SplitRegex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // Merges as plain text pairs; the builder maps them to byte-level form (space -> 'Ġ'). Order is rank. Like a
    // trained merge list, every merged token is reachable by BPE (no earlier merge steals its parts): some
    // implementations (ONNX Runtime GenAI) take a whole pre-token that is in the vocabulary without merging.
    private static readonly (string Left, string Right)[] DefaultMerges =
    [
        (" ", "t"), ("h", "e"), ("i", "n"), (" ", "a"), ("e", "r"), ("o", "n"), (" t", "he"), ("r", "e"),
        ("a", "n"), (" ", "s"), ("e", "n"), (" ", "w"), ("o", "r"), ("a", "t"), (" ", "c"),
        ("in", "g"), (" ", "o"), (" o", "f"), ("n", "d"), (" a", "nd"), (" ", "i"), (" i", "s"), ("l", "l"),
    ];

    /// <summary>Number of tokens the written tokenizer defines (byte tokens + merges + control tokens).</summary>
    public static int VocabularySize => 256 + DefaultMerges.Length + GlmControlTokens.All.Count;

    /// <summary>The id of a GLM control token: the control tokens follow the bytes and merges, in vocabulary order.</summary>
    public static int ControlTokenId(string token)
    {
        int index = IndexOf(GlmControlTokens.All, token);
        return index >= 0
            ? 256 + DefaultMerges.Length + index
            : throw new ArgumentException($"'{token}' is not a GLM control token (GlmControlTokens.All)", nameof(token));
    }

    /// <summary>
    /// <paramref name="config"/> with this tokenizer's vocabulary: vocab_size, bos_token_id [gMASK] (every GLM prompt
    /// starts with it), eos_token_id the GLM stop tokens, pad_token_id &lt;|endoftext|&gt;.
    /// </summary>
    public static GlmConfig ApplyTo(GlmConfig config) => config with
    {
        VocabSize = VocabularySize,
        BosTokenId = ControlTokenId(GlmControlTokens.GMask),
        EosTokenIds = GlmControlTokens.StopTokens.Select(t => (long)ControlTokenId(t)).ToArray(),
        PadTokenId = ControlTokenId(GlmControlTokens.EndOfText),
    };

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="directory"/> (created if needed).</summary>
    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, TokenizerFileName), BuildTokenizerJson());
        File.WriteAllBytes(Path.Combine(directory, ConfigFileName), BuildConfigJson());
    }

    public static byte[] BuildTokenizerJson()
    {
        var vocabulary = new List<string>(VocabularySize);
        for (var b = 0; b < 256; b++)
            vocabulary.Add(ByteLevelAlphabet.ToChar((byte)b).ToString());
        var merges = new List<(string, string)>();
        foreach (var (left, right) in DefaultMerges)
        {
            var l = ToByteLevel(left);
            var r = ToByteLevel(right);
            if (!vocabulary.Contains(l) || !vocabulary.Contains(r))
                throw new InvalidOperationException($"merge ({left}, {right}) uses a token no earlier merge produced");
            merges.Add((l, r));
            vocabulary.Add(l + r);
        }

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            var id = vocabulary.Count;
            foreach (var token in GlmControlTokens.All)
            {
                w.WriteStartObject();
                w.WriteNumber("id", id++);
                w.WriteString("content", token);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", SplitRegex);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
            w.WriteEndObject();
            WriteByteLevel(w, null);
            w.WriteEndArray();
            w.WriteEndObject();
            WriteByteLevel(w, "post_processor");
            WriteByteLevel(w, "decoder");
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteString("continuing_subword_prefix", "");
            w.WriteString("end_of_word_suffix", "");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (var i = 0; i < vocabulary.Count; i++)
                w.WriteNumber(vocabulary[i], i);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (l, r) in merges)
            {
                w.WriteStartArray();
                w.WriteStringValue(l);
                w.WriteStringValue(r);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    public static byte[] BuildConfigJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteString("eos_token", GlmControlTokens.EndOfText);
            w.WriteString("pad_token", GlmControlTokens.EndOfText);
            w.WriteString("padding_side", "left");
            w.WriteNumber("model_max_length", 4096);
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteByteLevel(Utf8JsonWriter w, string? property)
    {
        if (property is null)
            w.WriteStartObject();
        else
            w.WriteStartObject(property);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
    }

    private static string ToByteLevel(string text) => ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(text));

    private static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++)
            if (list[i] == item) return i;
        return -1;
    }
}
