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

    private TextNormalizer(Func<string, string>[] steps, double? maxShrink)
    {
        _steps = steps;
        MaxShrink = maxShrink;
    }

    public static TextNormalizer Identity { get; } = new([], 1);

    /// <summary>
    /// How many times fewer UTF-8 bytes the output can have than the input, or null when unbounded (Replace and
    /// Strip can delete any amount). NFKC / NFKD map a 4-byte mathematical letter to 1 byte (4x); NFC's worst
    /// composition is a 9-byte Hangul L+V+T to 3 bytes (3x, rounded up to 4 for all forms); Lowercase maps the
    /// 3-byte Kelvin sign to "k" (3x). Used for a cheap lower bound on the token count of a text.
    /// </summary>
    public double? MaxShrink { get; }

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
        double? shrink = 1;
        Add(section.Value, "normalizer", file, steps, ref shrink);
        return new TextNormalizer([.. steps], shrink);
    }

    private static void Add(JsonElement spec, string path, string file, List<Func<string, string>> steps, ref double? shrink)
    {
        var type = JsonFields.TypeOf(spec, file, path);
        switch (type)
        {
            case "Sequence":
                foreach (var (item, itemPath) in JsonFields.Items(spec, "normalizers", file, path))
                    Add(item, itemPath, file, steps, ref shrink);
                break;
            // Our own tables, not string.Normalize: that is a no-op under InvariantGlobalization (docs/hardening.md).
            case "NFC":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormC));
                shrink *= 4;
                break;
            case "NFD":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormD));
                shrink *= 4;
                break;
            case "NFKC":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormKC));
                shrink *= 4;
                break;
            case "NFKD":
                steps.Add(static s => UnicodeNormalizer.Normalize(s, NormalizationForm.FormKD));
                shrink *= 4;
                break;
            case "Lowercase":
                steps.Add(static s => s.ToLowerInvariant());
                shrink *= 3;
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
                shrink = null;
                break;
            }
            case "Strip":
            {
                var left = JsonFields.OptionalBool(spec, "strip_left", false, file, path);
                var right = JsonFields.OptionalBool(spec, "strip_right", false, file, path);
                steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                if (left || right)
                    shrink = null;
                break;
            }
            default:
                throw new TokenizerFormatException(
                    $"{file}: '{path}.type' is '{type}', which this loader does not implement; " +
                    "expected one of Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip");
        }
    }
}
