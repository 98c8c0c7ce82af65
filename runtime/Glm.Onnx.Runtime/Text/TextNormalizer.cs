using System.Text;
using System.Text.Json;
using Glm.Onnx.Runtime.Text.Unicode;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The tokenizer.json "normalizer" section: Unicode normalization forms, lowercasing, prepend/replace/strip, or
/// a sequence of them. Applied to the text between added tokens before pre-tokenization.
/// </summary>
internal sealed class TextNormalizer
{
    private readonly Func<string, string>[] _steps;

    private TextNormalizer(Func<string, string>[] steps) => _steps = steps;

    public static TextNormalizer Identity { get; } = new([]);

    public bool IsIdentity => _steps.Length == 0;

    public string Normalize(string text)
    {
        foreach (var step in _steps)
            text = step(text);
        return text;
    }

    public static TextNormalizer FromJson(JsonElement? section, string file)
    {
        if (section is null)
            return Identity;
        var steps = new List<Func<string, string>>();
        Add(section.Value, "normalizer", file, steps);
        return new TextNormalizer([.. steps]);
    }

    private static void Add(JsonElement spec, string path, string file, List<Func<string, string>> steps)
    {
        var type = JsonFields.TypeOf(spec, file, path);
        switch (type)
        {
            case "Sequence":
                foreach (var (item, itemPath) in JsonFields.Items(spec, "normalizers", file, path))
                    Add(item, itemPath, file, steps);
                break;
            // Our own tables, not string.Normalize: that is a no-op under InvariantGlobalization (docs/hardening.md).
            case "NFC":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormC));
                break;
            case "NFD":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormD));
                break;
            case "NFKC":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormKC));
                break;
            case "NFKD":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormKD));
                break;
            case "Lowercase":
                steps.Add(static s => s.ToLowerInvariant());
                break;
            case "Prepend":
            {
                var prefix = JsonFields.RequiredString(spec, "prepend", file, path);
                // Hugging Face prepends only to non-empty text.
                steps.Add(s => s.Length == 0 ? s : prefix + s);
                break;
            }
            case "Replace":
            {
                var pattern = JsonFields.Required(spec, "pattern", file, path);
                var content = JsonFields.RequiredString(spec, "content", file, path);
                var regex = SplitPattern.Compile(pattern, file, path + ".pattern");
                steps.Add(s => regex.Replace(s, content));
                break;
            }
            case "Strip":
            {
                var left = JsonFields.OptionalBool(spec, "strip_left", false, file, path);
                var right = JsonFields.OptionalBool(spec, "strip_right", false, file, path);
                steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                break;
            }
            default:
                throw new TokenizerFormatException(
                    $"{file}: '{path}.type' is '{type}', which this loader does not implement; " +
                    "expected one of Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip");
        }
    }
}
